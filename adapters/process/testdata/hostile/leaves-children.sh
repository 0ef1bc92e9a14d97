#!/bin/sh
# Builds its server after starting children that would outlive it.
echo '{"type":"hello","protocol":1,"name":"hostile","version":"0","language":"sh","capabilities":["tcp","udp","unix_stream","unix_dgram","trace"]}'
read line
sleep 600 &
sleep 600 &
echo '{"type":"reply","id":1,"result":{"value":"None"},"address":"127.0.0.1:9"}'
while read line; do
  case "$line" in *'"bye"'*) exit 0;; esac
done
