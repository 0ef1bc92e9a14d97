#!/usr/bin/env bash
# Runs the suite against the CPython interpreters named in CPYTHON
# (default: 2.7 and 3.11), each judged by its shipped expectations file
# (adapters/cpython/expect). An interpreter that is not installed is
# reported and skipped, unless REQUIRE_CPYTHON=1. Each run uses PROCS
# processes (sockspec run --procs; 0, the default, is sockspec's choice).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp -d)/sockspec
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build -o "$bin" ./cmd/sockspec
status=0
failed=()
. ci/lib.sh
installed_cpythons cpython.sh
for v in $cpythons; do
  echo "cpython.sh: cpython:$v"
  start=$(date +%s)
  # The expected failures print long traces: the log keeps them, the
  # console gets the summary.
  mkdir -p "reports/cpython-$v"
  if ! "$bin" run --target "cpython:$v" --procs "${PROCS:-0}" --report-dir "reports/cpython-$v" > "reports/cpython-$v/run.log" 2>&1; then
    status=1
    failed+=("$v")
  fi
  sed -n '/^sockspec: cpython/,/^PASS [0-9]/p' "reports/cpython-$v/run.log"
  echo "cpython.sh: the whole output is in reports/cpython-$v/run.log and, for a run in several processes, reports/cpython-$v/processes/K/output.txt"
  echo "cpython.sh: cpython:$v took $(( $(date +%s) - start )) s"
done
# A CI log is often read from its end: repeat there what went wrong.
for v in "${failed[@]}"; do
  echo "cpython.sh: cpython:$v did not end as expected:"
  unexpected "reports/cpython-$v/run.log"
done
exit $status
