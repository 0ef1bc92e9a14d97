"""An echo server of any family that prints nothing: sockspec can only see it
ready in /proc/net. It serves in its own loop, one request at a time."""
import os
import socket

import forkecho

family = os.environ["SOCKSPEC_FAMILY"]
stream = family in ("tcp", "unix_stream")
kind = socket.SOCK_STREAM if stream else socket.SOCK_DGRAM
if family in ("tcp", "udp"):
    sock = socket.socket(socket.AF_INET, kind)
    sock.bind(forkecho.env_address())
else:
    sock = socket.socket(socket.AF_UNIX, kind)
    sock.bind(os.environ["SOCKSPEC_ADDRESS"])
if stream:
    sock.listen(5)
while True:
    if stream:
        conn, _ = sock.accept()
        conn.sendall(forkecho.answer(conn.makefile("rb").readline()))
        conn.close()
    else:
        data, peer = sock.recvfrom(8192)
        sock.sendto(forkecho.answer(data.split(b"\n")[0] + b"\n"), peer)
