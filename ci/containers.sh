#!/usr/bin/env bash
# The container tier's parity check: the reference and CPython 3.11 judged
# in containers must give, rule by rule, the outcomes the process tier
# gives (sockspec report compare). The CPython run is judged by its
# expectations as ci/cpython.sh judges the process; a CPython process run
# of ci/cpython.sh in reports/cpython-3.11 is reused when present. Needs
# a Docker engine and the images of 'make images'. PROCS as ci/cpython.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp -d)/sockspec
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build -o "$bin" ./cmd/sockspec
out=reports/containers
mkdir -p "$out"
status=0

# run NAME TARGET: the suite against TARGET into $out/NAME; its exit status
# says whether it ended as expected.
run() {
  local start=$(date +%s)
  if ! "$bin" run --target "$2" --procs "${PROCS:-0}" --report-dir "$out/$1" > "$out/$1.log" 2>&1; then
    echo "containers.sh: $2 did not end as expected (its log: $out/$1.log):"
    sed -n '/^RULE/,/^PASS [0-9]/p' "$out/$1.log" | tail -n 25
    status=1
  fi
  echo "containers.sh: $2 took $(( $(date +%s) - start )) s: $(grep -E '^PASS [0-9]+ ·' "$out/$1.log" | tail -n 1)"
}

# compare A B: the two runs' rule outcomes must be the same.
compare() {
  if ! "$bin" report compare "$1" "$2"; then
    status=1
  fi
}

run process-reference reference-process
run container-reference container:reference
compare "$out/process-reference" "$out/container-reference"

baseline=reports/cpython-3.11
if [ ! -f "$baseline/report.json" ]; then
  baseline="$out/process-cpython-3.11"
  run process-cpython-3.11 cpython:3.11
fi
run container-cpython-3.11 container:cpython:3.11
compare "$baseline" "$out/container-cpython-3.11"
exit $status
