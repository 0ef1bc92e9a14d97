# A listening server for the fault tests. It listens on 127.0.0.1, prints
# "port N", then accepts and prints each outcome on its own line: "ok" (the
# connection is closed at once) or the errno name ("EMFILE", "ENFILE").
# With the argument "paced" it accepts once per line read from stdin, so a
# test decides when each accept happens; otherwise it loops on accept().
# Runs on Python 2.7 and 3.x.
import errno
import socket
import sys

paced = sys.argv[1:] == ["paced"]
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.bind(("127.0.0.1", 0))
srv.listen(16)
sys.stdout.write("port %d\n" % srv.getsockname()[1])
sys.stdout.flush()
while True:
    if paced and not sys.stdin.readline():
        break
    try:
        conn, _ = srv.accept()
    except (OSError, IOError, socket.error) as e:
        outcome = errno.errorcode.get(e.errno, "errno %s" % e.errno)
    else:
        conn.close()
        outcome = "ok"
    sys.stdout.write(outcome + "\n")
    sys.stdout.flush()
