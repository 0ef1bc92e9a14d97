#!/bin/sh
# Builds its server, then writes events without end.
echo '{"type":"hello","protocol":1,"name":"hostile","version":"0","language":"sh","capabilities":["tcp","udp","unix_stream","unix_dgram","trace"]}'
read line
echo '{"type":"reply","id":1,"result":{"value":"None"},"address":"127.0.0.1:9"}'
exec yes '{"type":"event","hook":"service_actions","phase":"call","pid":1}'
