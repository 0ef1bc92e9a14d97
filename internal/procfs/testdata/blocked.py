# Blocks in the wait named by its argument, for the /proc tests: "select"
# (select.select on a pipe), "poll" (select.poll), "accept" (a listening
# socket), or "family": a zombie child (exited, never reaped) and a live
# one, with the parent blocked in select. Prints "ready" just before it
# blocks. Runs on Python 2.7 and 3.x.
import os
import select
import socket
import sys

mode = sys.argv[1]
r, w = os.pipe()
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.bind(("127.0.0.1", 0))
srv.listen(1)
if mode == "family":
    if os.fork() == 0:
        os._exit(0)
    if os.fork() == 0:
        select.select([r], [], [])
        os._exit(0)
sys.stdout.write("ready\n")
sys.stdout.flush()
if mode == "poll":
    p = select.poll()
    p.register(r, select.POLLIN)
    p.poll()
elif mode == "accept":
    srv.accept()
else:
    select.select([r], [], [])
