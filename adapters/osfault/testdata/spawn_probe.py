# Tries a fork or a thread start per line read from stdin ("fork",
# "thread") and prints the outcome on its own line: "ok", the errno name of
# a failed fork ("EAGAIN"), or "TYPE: MESSAGE" of a failed thread start.
# Prints "ready" first. Runs on Python 2.7 and 3.x.
import errno
import os
import sys
import threading

sys.stdout.write("ready\n")
sys.stdout.flush()
for line in iter(sys.stdin.readline, ""):
    what = line.strip()
    try:
        if what == "fork":
            pid = os.fork()
            if pid == 0:
                os._exit(0)
            os.waitpid(pid, 0)
        elif what == "thread":
            t = threading.Thread(target=lambda: None)
            t.start()
            t.join()
        else:
            raise ValueError("unknown request %r" % what)
        outcome = "ok"
    except OSError as e:
        outcome = errno.errorcode.get(e.errno, "errno %s" % e.errno)
    except Exception as e:
        outcome = "%s: %s" % (type(e).__name__, e)
    sys.stdout.write(outcome + "\n")
    sys.stdout.flush()
