"""A forking echo server that never waits for its children: each one stays a
zombie until the server exits."""
import signal

import forkecho

# The default, stated: SIG_IGN would make the kernel reap the children.
signal.signal(signal.SIGCHLD, signal.SIG_DFL)
forkecho.serve()
