"""The fork-per-request TCP echo server of fork_reaper.py and fork_noreap.py,
written on the bare socket module for CPython 2.7 and 3.x.

It binds SOCKSPEC_ADDRESS, prints the address it is bound to as its first
line of output, and forks a child per connection; the child answers one
request line and exits. A request is a line of sockspec's request language
(spec/driver/script.go) of which a black box needs two verbs: "echo TEXT"
writes TEXT and a newline, "sleep SECONDS" pauses; steps are separated by
";". Other verbs are ignored: the rules that use them are N/A for a black
box. What becomes of the children is each script's business: it sets
its SIGCHLD disposition before calling serve().
"""
import errno
import os
import socket
import sys
import time


def env_address():
    """SOCKSPEC_ADDRESS as (host, port); an IPv6 host may be in brackets."""
    host, _, port = os.environ["SOCKSPEC_ADDRESS"].rpartition(":")
    return host.strip("[]"), int(port)


def announce(sock):
    host, port = sock.getsockname()[:2]
    if ":" in host:
        sys.stdout.write("[%s]:%d\n" % (host, port))
    else:
        sys.stdout.write("%s:%d\n" % (host, port))
    sys.stdout.flush()


def answer(line):
    """The reply to one request line."""
    out = []
    for step in line.decode("utf-8", "replace").rstrip("\n").split(";"):
        verb, _, arg = step.partition(" ")
        if verb == "echo":
            out.append(arg + "\n")
        elif verb == "sleep":
            time.sleep(float(arg))
    return "".join(out).encode("utf-8")


def serve_one(conn):
    """The child's whole life: one request answered, then exit without
    cleanup."""
    try:
        conn.sendall(answer(conn.makefile("rb").readline()))
    finally:
        conn.close()
        os._exit(0)


def serve():
    host, port = env_address()
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(16)
    announce(listener)
    while True:
        try:
            conn, _ = listener.accept()
        except socket.error as e:
            # Python 2 hands a SIGCHLD's interruption to the caller; Python 3
            # retries by itself (PEP 475).
            if e.errno == errno.EINTR:
                continue
            raise
        if os.fork() == 0:
            listener.close()
            serve_one(conn)
        conn.close()
