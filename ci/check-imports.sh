#!/usr/bin/env bash
# The import rules of docs/DESIGN.md, "Import rules", checked on the
# packages' non-test files with go list:
#   1. impl, netsim and spec/driver import the standard library only;
#      spec/rules may add spec/driver (the capabilities it names live there),
#      netsim/proxy may add netsim (the link model it applies).
#      Other implementations' authors copy or vendor these packages.
#   2. The suite (spec, spec/driver, spec/rules) imports no target under
#      adapters/, directly or through another package: targets are opened
#      through the registry the CLI wires, so a new target never touches spec/.
#   3. No non-test file imports fakes/, except the mutants of spec/mutants:
#      test doubles never stand in for a feature of a real run.
# Each broken rule prints one line naming the package and what it imports.
set -euo pipefail
cd "$(dirname "$0")/.."
mod=github.com/sockspec/sockspec
status=0

fail() {
  echo "check-imports: $*" >&2
  status=1
}

# deps PKG: the non-standard packages PKG depends on, itself excluded.
deps() {
  go list -deps -f '{{if not .Standard}}{{.ImportPath}}{{end}}' "$1" | grep -v -x "$mod/${1#./}" || true
}

# Rule 1.
for pkg in ./impl ./netsim ./netsim/proxy ./spec/driver ./spec/rules; do
  [ -d "$pkg" ] || continue
  allowed="^$"
  [ "$pkg" = ./spec/rules ] && allowed="^$mod/spec/driver\$"
  [ "$pkg" = ./netsim/proxy ] && allowed="^$mod/netsim\$"
  for dep in $(deps "$pkg"); do
    if ! [[ "$dep" =~ $allowed ]]; then
      fail "$pkg must import the standard library only, but depends on $dep"
    fi
  done
done

# Rule 2.
for pkg in ./spec ./spec/driver ./spec/rules; do
  for dep in $(deps "$pkg"); do
    case "$dep" in
      "$mod"/adapters/*|"$mod"/containers*|"$mod"/cmd/*)
        fail "$pkg must not know concrete targets, but depends on $dep (open targets through driver.Registry)" ;;
    esac
  done
done

# Rule 3.
while read -r pkg imports; do
  case "$pkg" in
    "$mod"/fakes|"$mod"/spec/mutants) continue ;;
  esac
  for imp in $imports; do
    [ "$imp" = "$mod/fakes" ] && fail "$pkg imports $mod/fakes outside its tests: test doubles are for tests only"
  done
done < <(go list -f '{{.ImportPath}} {{join .Imports " "}}' ./...)

if [ $status -eq 0 ]; then
  echo "check-imports: ok"
fi
exit $status
