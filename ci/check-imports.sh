#!/usr/bin/env bash
# The packages that other implementations' authors may copy or vendor import
# the standard library only (DESIGN.md §1). Fail when one of them grows a
# dependency outside it.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
for pkg in ./impl ./netsim ./spec/driver ./spec/rules; do
  [ -d "$pkg" ] || continue
  bad=$(go list -deps -f '{{if not .Standard}}{{.ImportPath}}{{end}}' "$pkg" | grep -v '^github.com/sockspec/sockspec' || true)
  if [ -n "$bad" ]; then
    echo "check-imports: $pkg imports outside the standard library:" >&2
    echo "$bad" | sed 's/^/  /' >&2
    status=1
  fi
  # Within the module, these packages must not import the harness either;
  # the rules may name the protocol's capabilities (spec/driver).
  allowed="github.com/sockspec/sockspec/${pkg#./}"
  [ "$pkg" = ./spec/rules ] && allowed="$allowed|github.com/sockspec/sockspec/spec/driver"
  inner=$(go list -deps -f '{{if not .Standard}}{{.ImportPath}}{{end}}' "$pkg" | grep '^github.com/sockspec/sockspec' | grep -v -x -E "$allowed" || true)
  if [ -n "$inner" ]; then
    echo "check-imports: $pkg imports other sockspec packages:" >&2
    echo "$inner" | sed 's/^/  /' >&2
    status=1
  fi
done
# The suite knows targets only through spec/driver's registry: no adapter
# is a dependency of spec, spec/driver or spec/rules (tests aside).
for pkg in ./spec ./spec/driver ./spec/rules; do
  adapters=$(go list -deps -f '{{.ImportPath}}' "$pkg" | grep '^github.com/sockspec/sockspec/adapters/' || true)
  if [ -n "$adapters" ]; then
    echo "check-imports: $pkg imports adapters (the CLI wires targets, see cmd/sockspec/targets.go):" >&2
    echo "$adapters" | sed 's/^/  /' >&2
    status=1
  fi
done
[ $status -eq 0 ] && echo "check-imports: ok"
exit $status
