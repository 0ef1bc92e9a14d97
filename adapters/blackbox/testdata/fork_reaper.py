"""A forking echo server that reaps each child from its SIGCHLD handler."""
import errno
import os
import signal

import forkecho


def reap(signum, frame):
    # Signals coalesce: one SIGCHLD may stand for several exits, so the
    # handler waits until no exited child is left.
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except OSError as e:
            if e.errno == errno.ECHILD:
                return
            raise
        if pid == 0:
            return


signal.signal(signal.SIGCHLD, reap)
forkecho.serve()
