# Tries a fork or a thread start per line read from stdin and prints the
# outcome on its own line: "ok", the errno name of a failed fork ("EAGAIN"),
# or "TYPE: MESSAGE" of a failed thread start. The requests:
#   fork     fork a child that exits at once
#   thread   start a thread that ends at once
#   nested   fork a child that itself forks; its failure is "child ERRNO"
#   sleeper  start a thread that stays, blocked, until the process ends
# Prints "ready" first. Runs on Python 2.7 and 3.x.
import errno
import os
import sys
import threading


def nested():
    pid = os.fork()
    if pid == 0:
        try:
            grandchild = os.fork()
            if grandchild == 0:
                os._exit(0)
            os.waitpid(grandchild, 0)
            os._exit(0)
        except OSError as e:
            os._exit(e.errno)
    _, status = os.waitpid(pid, 0)
    code = os.WEXITSTATUS(status)
    if code:
        return "child " + errno.errorcode.get(code, str(code))
    return "ok"


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
        elif what == "nested":
            sys.stdout.write(nested() + "\n")
            sys.stdout.flush()
            continue
        elif what == "sleeper":
            t = threading.Thread(target=threading.Event().wait)
            t.daemon = True
            t.start()
        else:
            raise ValueError("unknown request %r" % what)
        outcome = "ok"
    except OSError as e:
        outcome = errno.errorcode.get(e.errno, "errno %s" % e.errno)
    except Exception as e:
        outcome = "%s: %s" % (type(e).__name__, e)
    sys.stdout.write(outcome + "\n")
    sys.stdout.flush()
