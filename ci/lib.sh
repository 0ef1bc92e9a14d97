# Shell functions the ci/ scripts share; source it after setting $bin (a
# built sockspec) and $status.

# installed_cpythons SCRIPT: sets $cpythons to the versions of $CPYTHON
# (default 2.7 and 3.11) that are installed. A missing one is reported and
# skipped, or makes $status 1 when REQUIRE_CPYTHON=1.
installed_cpythons() {
  local script=$1 v
  cpythons=""
  for v in ${CPYTHON:-2.7 3.11}; do
    # A filter that matches no spec: the run only resolves the target.
    if "$bin" run --target "cpython:$v" --label-filter 'rule:none' 2>&1 | grep -q "no Python $v"; then
      if [ "${REQUIRE_CPYTHON:-0}" = 1 ]; then
        echo "$script: Python $v is not installed (pyenv install $v)" >&2
        status=1
      else
        echo "$script: skipping cpython:$v: not installed (pyenv install $v)" >&2
      fi
      continue
    fi
    cpythons="$cpythons $v"
  done
}

# unexpected LOG: prints the rows of a run's verdict table whose outcome
# its expectations did not foresee and its harness failures; for a run
# that died before its table, its last lines, which say why.
unexpected() {
  local log=$1
  awk '$4 == "no" || $4 == "NO:"' "$log" | sed 's/^/  /'
  grep -E '^harness failure' "$log" | sed 's/^/  /' || true
  if ! grep -qE '^PASS [0-9]' "$log"; then
    tail -20 "$log" | sed 's/^/  | /'
  fi
}
