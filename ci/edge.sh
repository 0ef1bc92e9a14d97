#!/usr/bin/env bash
# Reproduces every edge case of 'sockspec reproduce --list' against the
# reference (in process and as a process) and the CPython versions in
# CPYTHON (default 2.7 and 3.11; a missing one is skipped unless
# REQUIRE_CPYTHON=1), each judged by its expectations; then the two
# fork-per-request black boxes of adapters/blackbox/testdata, whose
# verdicts must tell the reaping one from the one that never reaps.
# Each reproduction's timeline goes to reports/edge/TARGET/CASE.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp -d)/sockspec
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build -o "$bin" ./cmd/sockspec
cases=$("$bin" reproduce --list | tail -n +2 | awk '{print $1}')
status=0
failed=()

# reproduce TARGET_LABEL WANT CASE ARGS...: runs one case, keeps its
# output, and checks the exit status is WANT.
reproduce() {
  local label=$1 want=$2 case=$3
  shift 3
  local dir="reports/edge/$label"
  mkdir -p "$dir"
  local got=0
  "$bin" reproduce "$case" "$@" > "$dir/$case.txt" 2>&1 || got=$?
  if [ "$got" != "$want" ]; then
    echo "edge.sh: $label $case: exit status $got, want $want (see $dir/$case.txt)" >&2
    tail -20 "$dir/$case.txt" >&2
    status=1
    failed+=("$label $case: exit status $got, want $want")
  fi
  printf '  %-24s %s\n' "$case" "$(grep -E '^PASS [0-9]' "$dir/$case.txt" | tail -1)"
}

targets="reference reference-process"
. ci/lib.sh
installed_cpythons edge.sh
for v in $cpythons; do
  targets="$targets cpython:$v"
done
for t in $targets; do
  echo "edge.sh: $t"
  start=$(date +%s)
  for c in $cases; do
    reproduce "${t/:/-}" 0 "$c" --target "$t"
  done
  echo "edge.sh: $t took $(( $(date +%s) - start ))s"
done

# The black boxes, judged from outside: both keep serving whatever their
# clients do; only the one with a SIGCHLD reaper leaves no zombie.
python=$(command -v python3 || true)
if [ -n "$python" ]; then
  testdata=$PWD/adapters/blackbox/testdata
  for server in fork_reaper fork_noreap; do
    echo "edge.sh: exec:$server.py"
    want=0
    [ "$server" = fork_noreap ] && want=1
    reproduce "exec-$server" "$want" zombies-serve-forever --target "exec:$python -B $testdata/$server.py" --dispatch forking
    for c in silent-client slowloris reset-client half-close; do
      reproduce "exec-$server" 0 "$c" --target "exec:$python -B $testdata/$server.py" --dispatch forking
    done
  done
fi
# A CI log is often read from its end: repeat there what went wrong.
for f in "${failed[@]}"; do
  echo "edge.sh: failed: $f"
done
exit $status
