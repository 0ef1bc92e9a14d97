#!/bin/sh
# Builds its server, then reads commands and answers none, ignoring SIGTERM and bye.
trap '' TERM
echo '{"type":"hello","protocol":1,"name":"hostile","version":"0","language":"sh","capabilities":["tcp","udp","unix_stream","unix_dgram","trace"]}'
read line
echo '{"type":"reply","id":1,"result":{"value":"None"},"address":"127.0.0.1:9"}'
while read line; do :; done
exec sleep 600
