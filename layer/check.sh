#!/usr/bin/env bash
# Tests the Lambda layer zip(s) that `make layer` puts in dist/ (see layer/README.md):
#   - the zip holds extensions/sidecache (0755) and the client packages of clients/ under
#     python/sidecache and nodejs/node_modules/sidecache, nothing else; what
#     examples/container/Dockerfile copies from it is there (layer/check_contents.py);
#   - zip and binary are under the size limits below;
#   - the binary is an ELF for the layer's architecture, position-independent (Type: DYN, so
#     ASLR applies to its code), needs only glibc's own libraries and no glibc symbol version
#     newer than GLIBC_MAX (Amazon Linux 2 runtimes have glibc 2.26); the release binary
#     (target/release/sidecache, or RELEASE_BIN) must be DYN too when it has been built;
#   - it runs: `sidecache --version` prints `sidecache <version>`; a standalone start answers
#     GET /ping, then exits 0 on SIGTERM; in Lambda mode (layer/check_lambda.py: moto and a
#     minimal Extensions API) it registers, reads a parameter and a secret from moto, writes an
#     S3 object into its cache directory, and exits 0 on a SHUTDOWN event; meanwhile handlers
#     using the unzipped layer's clients (Python, Node.js require and ES import, with the search
#     paths Lambda sets) read a parameter through it (layer/check_clients.py).
# An arm64 binary runs here as `qemu-aarch64-static BIN` (binfmt_misc is not mounted).
# Both zips are required; LAYER_ARCHS=x86_64 (the opt-out of `make layer`) leaves arm64 out.
# Ends with `layer: N passed, M failed`; exits non-zero when anything failed.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIST="${LAYER_DIST_DIR:-$ROOT/dist}"
LAYER_ARCHS="${LAYER_ARCHS:-x86_64 arm64}"
# The python with moto and boto3 (the root Makefile's venv) for the Lambda-mode checks.
MOTO_PYTHON="${MOTO_PYTHON:-$ROOT/.venv/bin/python}"

# Limits, with headroom over the measured x86_64 sizes (layer/README.md): binary 9.6 MB, zip 4.0 MB.
# A lost release profile (default profile: ~20 MB) fails the binary limit.
ZIP_MAX_BYTES=$((8 * 1024 * 1024))     # 8 MiB per zip
BIN_MAX_BYTES=$((16 * 1024 * 1024))    # 16 MiB unpacked binary
GLIBC_MAX=2.26                         # glibc of the Amazon Linux 2 Lambda runtimes
# Shared libraries the binary may need: glibc's and libgcc_s, present on every Lambda runtime.
ALLOWED_LIBS="libc.so.6 libm.so.6 libpthread.so.0 libdl.so.2 librt.so.1 libutil.so.1 libgcc_s.so.1 ld-linux-x86-64.so.2 ld-linux-aarch64.so.1"

passed=0
failed=0
skipped=0
ok()   { passed=$((passed + 1)); echo "  ok    $*"; }
fail() { failed=$((failed + 1)); echo "  FAIL  $*"; }
skip() { skipped=$((skipped + 1)); echo "  skip  $*"; }

need() {
  local tool
  for tool in "$@"; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      echo "layer: check.sh needs '$tool' (Debian: apt-get install unzip binutils curl nodejs)" >&2
      exit 2
    fi
  done
}
need unzip zipinfo readelf curl python3 node
if ! "$MOTO_PYTHON" -c 'import moto, boto3' 2>/dev/null; then
  echo "layer: check.sh needs moto and boto3 in $MOTO_PYTHON (run: make venv, or set MOTO_PYTHON)" >&2
  exit 2
fi

WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# Expected version: the sidecache crate's own.
expected_version="$(sed -n 's/^version *= *"\([^"]*\)".*/\1/p' "$ROOT/extension/Cargo.toml" | head -n 1)"

# "2.26" <= "2.26"? Compares dotted versions numerically.
version_le() { [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | tail -n 1)" = "$2" ]; }

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Starts the binary standalone on a free loopback port, asks GET /ping, stops it with SIGTERM.
# Arguments: the command that runs the binary (runner prefix, if any, then the binary).
smoke_start() {
  local port pid body code i status
  port="$(free_port)"
  mkdir -p "$WORK/s3"
  env -i PATH="$PATH" HOME="$WORK" \
    SIDECACHE_TOKEN=layer-check PARAMETERS_SECRETS_EXTENSION_HTTP_PORT="$port" \
    SIDECACHE_S3_DIR="$WORK/s3" AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true \
    "$@" >"$WORK/run.log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  code=000
  # 30 s: an emulated binary (qemu) on a busy machine starts far slower than a native one.
  for i in $(seq 1 300); do
    code="$(curl -s -o "$WORK/ping.json" -w '%{http_code}' "http://127.0.0.1:$port/ping" 2>/dev/null)" && [ "$code" = 200 ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  body="$(cat "$WORK/ping.json" 2>/dev/null)"
  if [ "$code" = 200 ] && printf '%s' "$body" | grep -q '"status":"ok"'; then
    ok "starts standalone and answers GET /ping: $body"
  else
    fail "standalone start: GET /ping gave HTTP $code '$body'; its log:"
    sed 's/^/          /' "$WORK/run.log" | tail -n 20
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    wait "$pid"
    fail "exited by itself with status $? before SIGTERM"
    return
  fi
  kill -TERM "$pid" 2>/dev/null
  for i in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    fail "still running 5 s after SIGTERM"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  else
    wait "$pid"
    status=$?
    if [ "$status" = 0 ]; then ok "exits 0 on SIGTERM"; else fail "exit status $status on SIGTERM"; fi
  fi
}

# Runs a checker that prints `  ok    ...` / `  FAIL  ...` lines and counts them here.
count_checks() {
  local line status failed_before=$failed
  "$@" >"$WORK/checker.out" 2>&1
  status=$?
  while IFS= read -r line; do
    echo "$line"
    case "$line" in
      "  ok    "*) passed=$((passed + 1)) ;;
      "  FAIL  "*) failed=$((failed + 1)) ;;
    esac
  done <"$WORK/checker.out"
  # A crash of the checker itself (no FAIL line printed) must not pass unnoticed.
  if [ "$status" != 0 ] && [ "$failed" = "$failed_before" ]; then
    fail "$(basename "$2") exited with status $status"
  fi
}

# A position-independent executable is `Type: DYN` in its ELF header (`EXEC` when linked at a
# fixed address, which defeats ASLR for its code and is flagged by image scanners).
check_pie() {
  local type
  type="$(readelf -h "$1" 2>/dev/null | sed -n 's/^ *Type: *\([A-Z]*\).*/\1/p')"
  if [ "$type" = DYN ]; then
    ok "$2 is position-independent (Type: DYN)"
  else
    fail "$2 is not position-independent: ELF Type ${type:-unknown}, expected DYN"
  fi
}

check_zip() {
  local arch="$1" machine="$2" zip="$DIST/sidecache-layer-$1.zip"
  local dir="$WORK/$arch" bin entries mode size needed lib glibc_max versions
  echo "layer: $zip"

  size="$(stat -c %s "$zip")"
  if [ "$size" -le "$ZIP_MAX_BYTES" ]; then
    ok "zip size $size bytes <= $ZIP_MAX_BYTES"
  else
    fail "zip size $size bytes > $ZIP_MAX_BYTES"
  fi

  # What the zip holds, and the container example's copies of it; its ok/FAIL lines are counted.
  count_checks python3 "$ROOT/layer/check_contents.py" "$zip"

  # The whole tree, as Lambda unpacks it under /opt (the clients are used from it below).
  mkdir -p "$dir"
  if ! unzip -q "$zip" -d "$dir" 2>"$WORK/unzip.err"; then
    fail "cannot unzip the layer: $(cat "$WORK/unzip.err")"
    return
  fi
  bin="$dir/extensions/sidecache"
  [ -f "$bin" ] || return

  size="$(stat -c %s "$bin")"
  if [ "$size" -le "$BIN_MAX_BYTES" ]; then
    ok "binary size $size bytes <= $BIN_MAX_BYTES"
  else
    fail "binary size $size bytes > $BIN_MAX_BYTES"
  fi

  if readelf -h "$bin" 2>/dev/null | grep -q "Machine: *$machine"; then
    ok "ELF for $machine"
  else
    fail "not an ELF for $machine: $(readelf -h "$bin" 2>&1 | grep -m1 -E 'Machine|Error')"
  fi
  check_pie "$bin" "extensions/sidecache"

  needed="$(readelf -d "$bin" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')"
  local bad=""
  for lib in $needed; do
    case " $ALLOWED_LIBS " in *" $lib "*) ;; *) bad="$bad $lib" ;; esac
  done
  if [ -n "$needed" ] && [ -z "$bad" ]; then
    ok "needs only glibc/libgcc libraries: $needed"
  else
    fail "needs libraries a Lambda runtime may not have:${bad:- (none listed: not dynamically linked?)}"
  fi

  # Every GLIBC_x.y version the binary requires (.gnu.version_r), highest last.
  versions="$(readelf -V -W "$bin" 2>/dev/null | grep -o 'Name: GLIBC_[0-9.]*' | sed 's/Name: GLIBC_//' | sort -uV)"
  glibc_max="$(printf '%s\n' "$versions" | tail -n 1)"
  if [ -z "$glibc_max" ]; then
    fail "no GLIBC symbol versions found (readelf -V): not a glibc binary?"
  elif version_le "$glibc_max" "$GLIBC_MAX"; then
    ok "highest glibc symbol version GLIBC_$glibc_max <= GLIBC_$GLIBC_MAX"
  else
    fail "requires GLIBC_$glibc_max > GLIBC_$GLIBC_MAX (Amazon Linux 2 runtimes cannot load it); symbols:"
    readelf -W --dyn-syms "$bin" |
      awk '{ for (i = 1; i <= NF; i++) if ($i ~ /@@?GLIBC_[0-9.]+$/) { split($i, a, /@+GLIBC_/); print a[2], a[1] } }' |
      sort -uV | while read -r v sym; do version_le "$v" "$GLIBC_MAX" || echo "          $sym@GLIBC_$v"; done
  fi

  # How to run it here: natively, or under qemu-user for the other architecture.
  local run=()
  case "$(uname -m)/$arch" in
    x86_64/x86_64 | aarch64/arm64) ;;
    x86_64/arm64) run=(qemu-aarch64-static) ;;
    aarch64/x86_64) run=(qemu-x86_64-static) ;;
    *)
      fail "an $arch binary cannot run on this $(uname -m) machine: --version and start not checked"
      return
      ;;
  esac
  if [ "${#run[@]}" -gt 0 ] && ! command -v "${run[0]}" >/dev/null 2>&1; then
    fail "${run[0]} is missing (Debian package qemu-user-static; make layer installs it): $arch binary not run"
    return
  fi
  [ "${#run[@]}" -gt 0 ] && echo "layer: running the $arch binary as '${run[*]} extensions/sidecache'"
  local out
  out="$("${run[@]}" "$bin" --version 2>&1)"
  if [[ "$out" =~ ^sidecache\ [0-9]+\.[0-9]+\.[0-9]+ ]] &&
     { [ -z "$expected_version" ] || [ "$out" = "sidecache $expected_version" ]; }; then
    ok "--version prints '$out'"
  else
    fail "--version printed '$out', expected 'sidecache ${expected_version:-<version>}'"
  fi
  smoke_start "${run[@]}" "$bin"
  # Lambda mode against moto, with the layer's clients used from the unzipped tree.
  count_checks "$MOTO_PYTHON" "$ROOT/layer/check_lambda.py" --tree "$dir" "$bin" "${run[@]}"
}

found=0
if [ -f "$DIST/sidecache-layer-x86_64.zip" ]; then
  found=1
  check_zip x86_64 "Advanced Micro Devices X86-64"
else
  echo "layer: $DIST/sidecache-layer-x86_64.zip is missing (run: make layer)"
  fail "x86_64 zip present"
fi
case " $LAYER_ARCHS " in
  *" arm64 "*)
    if [ -f "$DIST/sidecache-layer-arm64.zip" ]; then
      found=$((found + 1))
      check_zip arm64 "AArch64"
    else
      echo "layer: $DIST/sidecache-layer-arm64.zip is missing (run: make layer)"
      fail "arm64 zip present"
    fi
    ;;
  *) echo "layer: arm64 not checked (LAYER_ARCHS=$LAYER_ARCHS)" ;;
esac

# The release binary (make release; the one `make bench` measures) is linked like the layer's.
RELEASE_BIN="${RELEASE_BIN:-$ROOT/target/release/sidecache}"
if [ -f "$RELEASE_BIN" ]; then
  echo "layer: $RELEASE_BIN"
  check_pie "$RELEASE_BIN" "the release binary"
else
  echo "layer: $RELEASE_BIN not built (make release): its ELF type not checked"
fi

echo "layer: checked $found zip(s); limits: zip $ZIP_MAX_BYTES bytes, binary $BIN_MAX_BYTES bytes, glibc <= $GLIBC_MAX"
if [ "$skipped" -gt 0 ]; then
  echo "layer: $passed passed, $failed failed, $skipped skipped"
else
  echo "layer: $passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
