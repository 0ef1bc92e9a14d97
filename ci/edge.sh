#!/usr/bin/env bash
# Reproduces every edge case of 'sockspec reproduce --list' against the
# reference (in process and as a process), the CPython versions in
# CPYTHON (default 2.7 and 3.11; a missing one is skipped unless
# REQUIRE_CPYTHON=1) and CPython 3.11 in a container, each judged by its
# expectations; then the two
# fork-per-request black boxes of adapters/blackbox/testdata, whose
# verdicts must tell the reaping one from the one that never reaps.
# Each reproduction's timeline goes to reports/edge/TARGET/CASE.txt.
#
# The targets run at the same time, EDGE_JOBS of them at once (default 4;
# EDGE_JOBS=1 runs one after the other), each its cases one after the
# other; each target's lines are printed when it ends. The cases mostly
# wait (a deadline, a signal every 0.1 s), so they share two cores well.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp -d)/sockspec
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build -o "$bin" ./cmd/sockspec
cases=$("$bin" reproduce --list | tail -n +2 | awk '{print $1}')
status=0
logs=$(dirname "$bin")
failures="$logs/failed"
: > "$failures"

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
    echo "edge.sh: $label $case: exit status $got, want $want (see $dir/$case.txt)"
    tail -20 "$dir/$case.txt"
    echo "$label $case: exit status $got, want $want" >> "$failures"
  fi
  printf '  %-24s %s\n' "$case" "$(grep -E '^PASS [0-9]' "$dir/$case.txt" | tail -1)"
}

# every_case TARGET: every case against TARGET.
every_case() {
  local t=$1 c
  for c in $cases; do
    reproduce "${t/:/-}" 0 "$c" --target "$t"
  done
}

# black_box SERVER: the cases of a black box, judged from outside: both
# keep serving whatever their clients do; only the one with a SIGCHLD
# reaper leaves no zombie.
black_box() {
  local server=$1 want=0 c
  [ "$server" = fork_noreap ] && want=1
  reproduce "exec-$server" "$want" zombies-serve-forever --target "exec:$python -B $testdata/$server.py" --dispatch forking
  for c in silent-client slowloris reset-client half-close; do
    reproduce "exec-$server" 0 "$c" --target "exec:$python -B $testdata/$server.py" --dispatch forking
  done
}

# unit NAME COMMAND...: runs COMMAND in the background, its lines kept for
# when it ends, once fewer than EDGE_JOBS units run.
units=()
unit() {
  local name=$1
  shift
  while [ "$(jobs -rp | wc -l)" -ge "${EDGE_JOBS:-4}" ]; do
    wait -n || true
  done
  units+=("$name")
  (
    start=$(date +%s)
    echo "edge.sh: $name"
    "$@"
    echo "edge.sh: $name took $(( $(date +%s) - start ))s"
  ) > "$logs/unit-${#units[@]}.log" 2>&1 &
}

targets="reference reference-process"
. ci/lib.sh
installed_cpythons edge.sh
for v in $cpythons; do
  targets="$targets cpython:$v"
done
# The container tier, where an engine answers and the image is built
# (make images): the faults reach the server through its host pid.
if docker image inspect sockspec/cpython:3.11 >/dev/null 2>&1; then
  targets="$targets container:cpython:3.11"
elif [ "${CI:-}" = true ]; then
  echo "edge.sh: CI=true and no sockspec/cpython:3.11 image: run make images first" >&2
  exit 1
fi
for t in $targets; do
  unit "$t" every_case "$t"
done
python=$(command -v python3 || true)
testdata=$PWD/adapters/blackbox/testdata
if [ -n "$python" ]; then
  for server in fork_reaper fork_noreap; do
    unit "exec:$server.py" black_box "$server"
  done
fi
wait
for i in "${!units[@]}"; do
  cat "$logs/unit-$((i + 1)).log"
done
# A CI log is often read from its end: repeat there what went wrong.
while read -r f; do
  echo "edge.sh: failed: $f"
  status=1
done < "$failures"
exit $status
