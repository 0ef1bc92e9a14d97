#!/bin/sh
# Answers a command that was never sent.
echo '{"type":"hello","protocol":1,"name":"hostile","version":"0","language":"sh","capabilities":["tcp","udp","unix_stream","unix_dgram","trace"]}'
read line
echo '{"type":"reply","id":1,"result":{"value":"None"},"address":"127.0.0.1:9"}'
read line
echo '{"type":"reply","id":77,"result":{"value":"None"}}'
exec sleep 600
