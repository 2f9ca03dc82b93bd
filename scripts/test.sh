#!/usr/bin/env bash
# `make test`: everything CI checks, as timed stages in two lanes, with each stage's time
# printed at the end (also when a stage fails).
#
#   cpu lane: lint -> debug build -> x86_64 layer -> arm64 layer -> arm64 e2e (qemu) -> cargo test
#   io lane:  installs -> node-majors, cfn-lint, cdk-synth -> (debug build) clients, sdk,
#             examples -> (layers) check-layer
#
# Why two lanes: the cargo builds are the CPU work (and run one at a time: two at once only fight
# over the 2 cores and the target directory's lock), while installs wait on the network and the
# client and SDK suites mostly wait on moto; a release build's last minutes (LTO, one codegen
# unit) use one core. A stage that needs another lane's stage waits for it, and stops its lane if
# that stage failed. Each stage's output goes to target/test-stages/STAGE.log and is printed
# whole when the stage ends, so the two lanes' output never interleaves.
#
# Stages are the Makefile's own targets; TEST_STAGES_SERIAL=1 runs the same stages one after
# another in one lane (to measure each stage alone).
set -uo pipefail
cd "$(dirname "$0")/.."

MAKE=${MAKE:-make}
DIR=target/test-stages
rm -rf "$DIR"
mkdir -p "$DIR"
START=$(date +%s.%N)

now() { date +%s.%N; }

# run_stage NAME COMMAND...: runs, logs, records "NAME LANE SECONDS STATUS", prints the log.
run_stage() {
  local name=$1 lane=$2
  shift 2
  local log=$DIR/$name.log began status
  began=$(now)
  echo "==> [$lane] $name: started at +$(elapsed "$START")s" >&2
  "$@" >"$log" 2>&1
  status=$?
  local took
  took=$(elapsed "$began")
  echo "$name $lane $took $status" >>"$DIR/times"
  echo "$status" >"$DIR/$name.done"
  {
    flock 9
    echo "==> [$lane] $name: $([ "$status" -eq 0 ] && echo ok || echo "FAILED (exit $status)") in ${took}s"
    cat "$log"
    echo "<== [$lane] $name"
  } 9>"$DIR/print.lock"
  return "$status"
}

elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }'; }

# await NAME: waits for another lane's stage; fails if it failed.
await() {
  while [ ! -f "$DIR/$1.done" ]; do sleep 1; done
  [ "$(cat "$DIR/$1.done")" = 0 ] || { echo "==> $1 failed: stages after it are skipped" >&2; return 1; }
}

m() { "$MAKE" --no-print-directory "$@"; }

cpu_lane() {
  run_stage lint cpu m lint &&
    run_stage build cpu m build &&
    run_stage test-build cpu cargo test --workspace --no-run &&
    await layer-tools &&
    run_stage layer-x86_64 cpu m -C layer x86_64 &&
    run_stage layer-arm64 cpu m -C layer arm64 &&
    await venv &&
    run_stage test-arm64 cpu m test-arm64 &&
    await faketime &&
    run_stage cargo-test cpu cargo test --workspace
}

io_lane() {
  local ok=0
  run_stage venv io m venv || return 1
  run_stage faketime io m faketime || ok=1
  # apt first (the arm64 toolchain), then pip and npm; the cpu lane waits for these before the
  # layers.
  run_stage layer-tools io m -C layer tools || ok=1
  run_stage installs io m test-installs || ok=1
  run_stage node-majors io m node-majors || ok=1
  run_stage cfn-lint io m cfn-lint || ok=1
  run_stage cdk-synth io m cdk-synth || ok=1
  await build || return 1
  run_stage clients io m clients || ok=1
  run_stage sdk-python io m sdk-python || ok=1
  run_stage sdk-node io m sdk-node || ok=1
  run_stage examples io m examples || ok=1
  await layer-arm64 || return 1
  run_stage check-layer io m check-layer || ok=1
  return "$ok"
}

if [ -n "${TEST_STAGES_SERIAL:-}" ]; then
  # One lane, the installs first.
  status=0
  for stage in venv faketime layer-tools installs lint build test-build layer-x86_64 layer-arm64 \
    node-majors cfn-lint cdk-synth clients sdk-python sdk-node examples check-layer test-arm64 \
    cargo-test; do
    case $stage in
      layer-x86_64) cmd=(m -C layer x86_64) ;;
      layer-arm64) cmd=(m -C layer arm64) ;;
      layer-tools) cmd=(m -C layer tools) ;;
      installs) cmd=(m test-installs) ;;
      test-build) cmd=(cargo test --workspace --no-run) ;;
      cargo-test) cmd=(cargo test --workspace) ;;
      *) cmd=(m "$stage") ;;
    esac
    run_stage "$stage" serial "${cmd[@]}" || { status=1; break; }
  done
else
  cpu_lane &
  cpu=$!
  io_lane &
  io=$!
  status=0
  wait "$cpu" || status=1
  wait "$io" || status=1
fi

total=$(elapsed "$START")
{
  echo
  echo "make test: stage times (wall seconds; the lanes overlap)"
  printf '%-14s %-6s %8s  %s\n' stage lane seconds result
  while read -r name lane took st; do
    printf '%-14s %-6s %8s  %s\n' "$name" "$lane" "$took" "$([ "$st" -eq 0 ] && echo ok || echo "FAILED ($st)")"
  done <"$DIR/times"
  echo "total: ${total}s ($(awk -v t="$total" 'BEGIN { printf "%.1f", t / 60 }') min)$([ "$status" -eq 0 ] && echo ", all passed" || echo ", FAILED")"
} | tee "$DIR/summary.txt"
exit "$status"
