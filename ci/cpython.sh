#!/usr/bin/env bash
# Runs the suite against the CPython interpreters named in CPYTHON
# (default: 2.7 and 3.11), each judged by its shipped expectations file
# (adapters/cpython/expect). An interpreter that is not installed is
# reported and skipped, unless REQUIRE_CPYTHON=1.
set -euo pipefail
cd "$(dirname "$0")/.."
versions=${CPYTHON:-"2.7 3.11"}
bin=$(mktemp -d)/sockspec
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build -o "$bin" ./cmd/sockspec
status=0
for v in $versions; do
  # A filter that matches no spec: the run only resolves the target.
  if "$bin" run --target "cpython:$v" --label-filter 'rule:none' 2>&1 | grep -q "no Python $v"; then
    if [ "${REQUIRE_CPYTHON:-0}" = 1 ]; then
      echo "cpython.sh: Python $v is not installed (pyenv install $v)" >&2
      status=1
    else
      echo "cpython.sh: skipping cpython:$v: not installed (pyenv install $v)"
    fi
    continue
  fi
  echo "cpython.sh: cpython:$v"
  start=$(date +%s)
  # The expected failures print long traces: the log keeps them, the
  # console gets the summary.
  mkdir -p "reports/cpython-$v"
  if ! "$bin" run --target "cpython:$v" --report-dir "reports/cpython-$v" > "reports/cpython-$v/run.log" 2>&1; then
    status=1
  fi
  sed -n '/^sockspec: cpython/,/^PASS [0-9]/p' "reports/cpython-$v/run.log"
  echo "cpython.sh: the whole output is in reports/cpython-$v/run.log"
  echo "cpython.sh: cpython:$v took $(( $(date +%s) - start )) s"
done
exit $status
