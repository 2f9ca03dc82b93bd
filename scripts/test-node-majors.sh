#!/usr/bin/env bash
# `make node-majors`: the Node.js client's connection and transport tests on each Node.js major
# that Lambda runs and src/transport.mjs reads sidecache on through a libuv handle
# (HANDLE_MAJORS), besides the machine's own node that `make clients` uses. Those handles are
# Node's internals: this is what shows that each listed major still drives them as the client
# does. Each Node.js build comes from the npm registry (node-linux-<arch>, the official binaries
# repackaged), pinned below, into target/node-majors/ once (~50 MB each). Both transports run:
# the handle where the major is listed, and node:net (SIDECACHE_CLIENT_TRANSPORT=net).
set -euo pipefail
cd "$(dirname "$0")/.."
VERSIONS=(22.23.5 24.22.3 26.12.1)
case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64) arch=arm64 ;;
  *) echo "node-majors: no Node.js package for $(uname -m)" >&2; exit 1 ;;
esac
cache=$PWD/target/node-majors
mkdir -p "$cache"
status=0
for version in "${VERSIONS[@]}"; do
  node_dir=$cache/node-$version-$arch
  if [ ! -x "$node_dir/bin/node" ]; then
    echo "node-majors: fetching node-linux-$arch@$version from the npm registry"
    tarball=$(cd "$cache" && npm pack --silent "node-linux-$arch@$version")
    rm -rf "$node_dir.tmp" && mkdir -p "$node_dir.tmp"
    tar xzf "$cache/$tarball" -C "$node_dir.tmp" && rm -f "$cache/$tarball"
    mv "$node_dir.tmp/package" "$node_dir" && rm -rf "$node_dir.tmp"
  fi
  for transport in default net; do
    echo "== Node.js $("$node_dir/bin/node" --version), transport: $transport"
    # The child processes the tests start are the same node (process.execPath).
    (cd clients/node && SIDECACHE_CLIENT_TRANSPORT=$([ "$transport" = net ] && echo net) \
      "$node_dir/bin/node" --test --test-reporter=spec test/transport.test.js test/connections.test.js) || status=1
  done
done
exit "$status"
