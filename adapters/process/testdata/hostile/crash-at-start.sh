#!/bin/sh
# Dies before its hello.
echo "hostile: crashing at start" >&2
exit 3
