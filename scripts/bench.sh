#!/usr/bin/env bash
# `make bench`: measures the release binary against moto and prints one markdown table
# (what each row means: docs/performance.md), then the handler cold-path table of the clients.
# Not a test; about 1.5 minutes after the builds.
#
#   make bench                      # builds target/release/sidecache and the moto venv first
#   scripts/bench.sh                # same, when both already exist
#   BENCH_PROFILE=1 scripts/bench.sh
#       also builds an unstripped twin of the release binary (cargo profile `bench-symbols`,
#       target/bench-symbols/, 5-10 min the first time) and prints the callgrind top functions
#       of the cache-hit path.
#   BENCH_IDLE_WAIT=300 scripts/bench.sh  # first wait (up to 300 s) for an idle machine
#   SIDECACHE_BIN=path scripts/bench.sh   # measure another build
#   BENCH_PEER_BIN=path scripts/bench.sh  # the agent's figures beside ours (make bench-peer)
#   BENCH_BASELINE_BIN=path scripts/bench.sh
#       another sidecache build (an earlier commit's target/release/sidecache) measured beside
#       this one in rows 9-13, starts interleaved: on a noisy host the CPU rows of two runs
#       cannot be compared, two columns of one run can.
#
# Installs wrk and valgrind with apt when they are missing. Everything started here (moto,
# sidecache, valgrind) is stopped on exit; logs, wrk output and callgrind files stay in the
# printed /tmp/sidecache-bench.* directory.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${SIDECACHE_BIN:-target/release/sidecache}
PY=.venv/bin/python

missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v valgrind >/dev/null 2>&1 || missing+=(valgrind)
if ((${#missing[@]})); then
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  echo "bench: installing ${missing[*]} with apt" >&2
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi
for tool in strip callgrind_annotate; do
  command -v "$tool" >/dev/null 2>&1 || { echo "bench: $tool not found" >&2; exit 1; }
done
[ -x "$PY" ] || { echo "bench: no $PY; run 'make bench' (it creates the moto virtualenv)" >&2; exit 1; }
[ -x "$BIN" ] || { echo "bench: no $BIN; run 'make bench' (it builds the release binary)" >&2; exit 1; }

profile_args=()
if [ -n "${BENCH_PROFILE:-}" ]; then
  # Same settings as [profile.release] (it inherits them) but symbols kept, in its own
  # directory: target/release/sidecache is left alone.
  echo "bench: building the unstripped twin (cargo --profile bench-symbols)" >&2
  ${CARGO:-cargo} build --quiet -p sidecache --profile bench-symbols \
    --config 'profile.bench-symbols.inherits="release"' \
    --config 'profile.bench-symbols.strip=false'
  profile_args=(--profile-bin target/bench-symbols/sidecache)
fi

workdir=$(mktemp -d /tmp/sidecache-bench.XXXXXX)
driver=
cleanup() {
  [ -z "$driver" ] || kill "$driver" 2>/dev/null || true
  if [ -f "$workdir/pids" ]; then
    while read -r pid; do kill "$pid" 2>/dev/null || true; done <"$workdir/pids"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

peer_args=()
[ -z "${BENCH_PEER_BIN:-}" ] || peer_args=(--peer-bin "$BENCH_PEER_BIN")
[ -z "${BENCH_BASELINE_BIN:-}" ] || peer_args+=(--baseline-bin "$BENCH_BASELINE_BIN")

"$PY" scripts/bench/run.py --bin "$BIN" --workdir "$workdir" "${profile_args[@]}" "${peer_args[@]}" &
driver=$!
wait "$driver"
driver=

# Stock AWS SDK clients through sidecache (docs/sdk.md): instructions per SDK-style hit beside the
# GET hit, one SigV4 verification, the handler's CPU per warm read (scripts/bench/sdk_rows.py).
"$PY" scripts/bench/sdk_rows.py --bin "$BIN"

# AppConfig: a hit on the agent's path beside a parameter hit, and RSS with 20 profiles of
# 64 KiB (scripts/bench/appconfig_rows.py).
"$PY" scripts/bench/appconfig_rows.py --bin "$BIN"

# The handler's cold path per language: import + first value, our clients beside the raw floor,
# the AWS docs' snippets, fetch and the AWS SDKs (scripts/bench/client_rows.py).
"$PY" scripts/bench/client_rows.py --bin "$BIN"

# The arm64 layer binary: its size, and its start-up under qemu (information only).
python3 scripts/bench/arm64.py
