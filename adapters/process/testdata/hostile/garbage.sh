#!/bin/sh
# Says hello, then a line that is no JSON.
echo '{"type":"hello","protocol":1,"name":"hostile","version":"0","language":"sh","capabilities":["tcp","udp","unix_stream","unix_dgram","trace"]}'
read line
echo 'this is not json'
exec sleep 600
