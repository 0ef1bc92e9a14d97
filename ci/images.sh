#!/usr/bin/env bash
# Builds the container tier's images: the reference, the bookworm base and
# CPython ${CPYTHON:-3.11 2.7}. Current images are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
exec go run ./containers/cmd/images --cpython "${CPYTHON:-3.11 2.7}" "$@"
