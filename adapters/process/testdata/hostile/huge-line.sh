#!/bin/sh
# Says hello, then a 10 MB line.
echo '{"type":"hello","protocol":1,"name":"hostile","version":"0","language":"sh","capabilities":["tcp","udp","unix_stream","unix_dgram","trace"]}'
read line
head -c 10000000 /dev/zero | tr '\0' x
echo
exec sleep 600
