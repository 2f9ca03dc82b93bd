#!/usr/bin/env bash
# Runs fuzz targets one after another, each for SECONDS seconds on one core, and prints a table
# of what each did (docs/reliability.md, "Fuzzing"). Exits non-zero when any target crashed (the
# input is in fuzz/artifacts/<target>/; `cargo fuzz fmt <target> <file>` shows it).
#
#   fuzz/run.sh SECONDS [TARGET...]     (no target: all of them)
#
# Runs what `make fuzz-build` built (`cargo fuzz build -s none -O`), so no target is rebuilt
# between runs. New inputs go to fuzz/target/corpus/<target>/ (git-ignored, kept between runs);
# the committed seeds in fuzz/corpus/<target>/ are read, never written. Logs:
# fuzz/target/logs/<target>.log.
set -uo pipefail
cd "$(dirname "$0")/.."
bin=fuzz/target/x86_64-unknown-linux-gnu/release

seconds=${1:?usage: fuzz/run.sh SECONDS [TARGET...]}
shift
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(query appconfig request json_input sigv4 s3 extensions_api config)
fi
mkdir -p fuzz/target/logs
failed=()
rows=()
for target in "${targets[@]}"; do
  work=fuzz/target/corpus/$target
  mkdir -p "$work" "fuzz/artifacts/$target"
  log=fuzz/target/logs/$target.log
  start=$(date +%s)
  if [ ! -x "$bin/$target" ]; then
    echo "fuzz: $bin/$target is not built: make fuzz-build" >&2
    exit 2
  fi
  "$bin/$target" "$work" "fuzz/corpus/$target" \
    -dict="fuzz/dict/$target.dict" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="fuzz/artifacts/$target/" >"$log" 2>&1
  status=$?
  took=$(($(date +%s) - start))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
  corpus=$(ls "$work" | wc -l)
  crashes=$(ls "fuzz/artifacts/$target" | grep -cE '^(crash|oom|timeout|leak)-')
  rows+=("$(printf '| %-14s | %5s | %12s | %7s | %6s | %6s | %7s |' "$target" "$took" "${execs:-?}" "${rate:-?}" "${cov:-?}" "$corpus" "$crashes")")
  if [ $status -ne 0 ]; then
    failed+=("$target")
    echo "fuzz: $target FAILED (exit $status), see $log:" >&2
    grep -E 'panicked|SUMMARY|Test unit written|ERROR' "$log" | head -8 >&2
  fi
done
echo "| target         |     s |   executions |  exec/s |  edges | corpus | crashes |"
echo "|----------------|-------|--------------|---------|--------|--------|---------|"
printf '%s\n' "${rows[@]}"
if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz: crashed: ${failed[*]}" >&2
  exit 1
fi
