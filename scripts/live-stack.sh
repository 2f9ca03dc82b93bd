# Sourced by scripts/test-examples.sh and scripts/test-clients.sh, which both run moto and a
# sidecache on free ports: a private work directory and the started processes (`pids`), both
# gone on exit however the script ends, plus `free_port` and `wait_for`.
# Set before sourcing: PY (the venv's python) and LABEL (`examples`, `clients`: names the work
# directory and prefixes messages).

work=$(mktemp -d "${TMPDIR:-/tmp}/sidecache-$LABEL.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { # URL LOG: until the URL answers, or fail showing the log
  for _ in $(seq 150); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "test-$LABEL: $1 did not come up; its log:" >&2
  cat "$2" >&2
  exit 1
}
