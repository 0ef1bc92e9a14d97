#!/bin/sh
# A hello that the Go types accept (a null version reads as "") but the
# protocol's schema refuses (version is a string): only
# --validate-protocol catches it.
echo '{"type":"hello","protocol":1,"name":"schema-breaker","version":null,"capabilities":["tcp"]}'
exec cat >/dev/null
