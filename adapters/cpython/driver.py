# -*- coding: utf-8 -*-
"""sockspec adapter for the interpreter's own socketserver (SocketServer on 2.7).

Speaks the driver protocol of spec/driver/PROTOCOL.md on standard input and
standard output: one JSON object a line. Standard error is free text.

    python driver.py

It runs unchanged on CPython 2.7 and 3.6 to 3.13 and on PyPy. It never copies
socketserver: it builds the server from the module's own classes, subclasses
them to trace every hook, and replaces the module's `os` and `threading` names
with thin proxies so that os.fork, os.waitpid and Thread.start, as the mix-ins
call them, can be traced (child_exit) and failed on purpose (faults).

Threads: the main thread runs the serving calls (handle_request and
serve_forever) so that a signal sent to the process interrupts the wait of the
server, as in a real program; a reader thread reads the commands, and every
other command runs on a thread of its own. A serving call that arrives while
the main thread is busy runs on a thread of its own too.
"""
from __future__ import print_function, absolute_import, division

import errno
import json
import os
import platform
import signal
import socket
import sys
import threading
import time
import warnings
from collections import OrderedDict

try:
    import socketserver as _ss
except ImportError:  # Python 2
    import SocketServer as _ss

try:
    import queue as _queue
except ImportError:  # Python 2
    import Queue as _queue

try:
    from _thread import get_ident as _get_ident
except ImportError:  # Python 2
    from thread import get_ident as _get_ident

PY2 = sys.version_info[0] == 2
if PY2:
    _text_type = unicode  # noqa: F821 (Python 2 only)
else:
    _text_type = str

PROTOCOL = 1
MAX_LINE = 4096  # PIPE_BUF: one message is one write(2) of at most this

# fork() with threads alive is what ForkingMixIn does; 3.12+ warns about it.
warnings.filterwarnings("ignore", category=DeprecationWarning, message=".*fork.*")

# The real functions, taken before anything is patched.
_real_fork = os.fork
_real_waitpid = os.waitpid
_real_exit = os._exit

MAIN_PID = os.getpid()


# --------------------------------------------------------------------------
# Output: one os.write per message, under a lock; standard error unbuffered.

_tl = threading.local()


class _TextSink(object):
    """What print and traceback need of a text stream, without a buffer."""

    softspace = 0  # Python 2's print statement uses it
    encoding = "utf-8"
    errors = "replace"
    closed = False

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        pass

    def isatty(self):
        return False


class _FdWriter(_TextSink):
    """A text stream on a file descriptor, without a buffer: what a forked
    child writes is out before it calls os._exit, and nothing the parent
    buffered is written twice by a child."""

    def __init__(self, fd):
        self.fd = fd

    def write(self, s):
        if not isinstance(s, bytes):
            s = _text_type(s).encode("utf-8", "replace")
        held = getattr(_tl, "held_stderr", None)
        if held is not None and self.fd == 2:
            held.append(s)  # a handle_error report, written whole when it ends
        else:
            _write_all(self.fd, s)
        return len(s)

    def fileno(self):
        return self.fd


def _write_all(fd, data):
    while data:
        try:
            n = os.write(fd, data)
        except OSError as e:
            if e.errno == errno.EINTR:
                continue
            return
        data = data[n:]


class _StdoutMessages(_TextSink):
    """sys.stdout as protocol messages: fd 1 carries nothing else, and what
    the server prints (Python 2's handle_error prints its report) reaches
    the harness as an output message, told apart from standard error."""

    def write(self, s):
        if s:
            send({"type": "output", "stream": "stdout", "text": text(s)})
        return len(s)


sys.stderr = _FdWriter(2)
sys.stdout = _StdoutMessages()


def log(*parts):
    try:
        sys.stderr.write("driver.py[%d]: %s\n" % (os.getpid(), " ".join(text(p) for p in parts)))
    except Exception:
        pass


def text(x):
    """str(x) as text that JSON can carry, whatever the interpreter."""
    if isinstance(x, _text_type):
        return x
    if isinstance(x, bytes) and PY2:
        return x.decode("utf-8", "replace")
    try:
        s = str(x)
    except Exception:
        try:
            s = _text_type(x)
        except Exception:
            s = repr(x)
    if isinstance(s, bytes):
        s = s.decode("utf-8", "replace")
    return s


_out = {"lock": threading.Lock(), "seq": 0}


_KEY_ORDER = dict((k, i) for i, k in enumerate((
    "type", "id", "protocol", "name", "version", "language", "capabilities", "hook", "phase", "seq", "pid", "thread",
    "request", "client", "result", "exception", "error", "state", "address", "child", "status", "stolen",
    "stream", "text")))


def _ordered(d):
    out = OrderedDict()
    for k in sorted(d, key=lambda k: (_KEY_ORDER.get(k, 99), k)):
        v = d[k]
        out[k] = _ordered(v) if isinstance(v, dict) else v
    return out


def _encode(msg):
    return json.dumps(_ordered(msg), separators=(",", ":")).encode("utf-8")


def _shrink(msg):
    """Cuts the longest strings of msg until its line fits MAX_LINE."""
    for _ in range(40):
        line = _encode(msg)
        if len(line) < MAX_LINE:
            return line
        best = None  # (length, container, key)
        stack = [msg]
        while stack:
            d = stack.pop()
            for k, v in d.items():
                if isinstance(v, dict):
                    stack.append(v)
                elif isinstance(v, _text_type) and k not in ("type", "hook", "phase", "kind"):
                    if best is None or len(v) > best[0]:
                        best = (len(v), d, k)
        if best is None or best[0] < 8:
            break
        n, d, k = best
        d[k] = d[k][: max(4, min(n // 2, n - (len(line) - MAX_LINE) - 16))] + u"\u2026"
    return _encode({"type": msg.get("type", "reply"), "id": msg.get("id", 0), "error": "message too long"})


def send(msg):
    """Writes one message line with a single write(2)."""
    lock = _out["lock"]
    with lock:
        if msg.get("type") == "event":
            _out["seq"] += 1
            msg["seq"] = _out["seq"]
        try:
            line = _encode(msg)
            if len(line) >= MAX_LINE:
                line = _shrink(msg)
        except Exception as e:  # a value JSON cannot carry: say so, do not die
            line = _encode({"type": "event", "hook": msg.get("hook", "fault"), "phase": msg.get("phase", "call"),
                            "seq": msg.get("seq", 0), "pid": os.getpid(), "result": "unencodable: " + text(e)}) \
                if msg.get("type") == "event" else _encode({"type": "reply", "id": msg.get("id", 0),
                                                            "error": "unencodable reply: " + text(e)})
        _write_all(1, line + b"\n")


# --------------------------------------------------------------------------
# Exceptions as the protocol describes them.

def exc_type_name(e):
    t = type(e)
    name = getattr(t, "__name__", "Exception")
    mod = getattr(t, "__module__", "")
    if mod in ("builtins", "exceptions", "__main__", None, ""):
        return name
    return "%s.%s" % (mod, name)


def _errno_of(e):
    n = getattr(e, "errno", None)
    if isinstance(n, int):
        return n
    args = getattr(e, "args", ())
    if args and isinstance(args[0], int):
        return args[0]
    return None


def exc_kind(e):
    if not isinstance(e, Exception):
        return "fatal"
    if isinstance(e, ValueError) and "file descriptor" in text(e).lower():
        return "closed"
    if isinstance(e, (OSError, IOError, EnvironmentError, socket.error)) or exc_type_name(e) == "select.error":
        if _errno_of(e) == errno.EBADF:
            return "closed"
    return "ordinary"


def exc_json(e):
    return {"type": exc_type_name(e), "message": text(e), "kind": exc_kind(e)}


# --------------------------------------------------------------------------
# Events and requests.

_reqs = {"lock": threading.Lock(), "next": 0, "map": {}, "order": [], "child": {}}


def fmt_addr(a):
    """A client or server address as the protocol spells it."""
    if a is None:
        return ""
    if isinstance(a, tuple) and len(a) >= 2:
        host = text(a[0])
        if ":" in host:
            return "[%s]:%s" % (host, a[1])
        return "%s:%s" % (host, a[1])
    if isinstance(a, bytes):
        return a.decode("utf-8", "replace")
    return text(a)


def register_request(request, client_address):
    """A fresh id for a request get_request returned."""
    with _reqs["lock"]:
        _reqs["next"] += 1
        rid = str(_reqs["next"])
        ctx = (request, rid, fmt_addr(client_address))  # the object is kept: its id() stays unique
        _reqs["map"][id(request)] = ctx
        _reqs["order"].append(id(request))
        if len(_reqs["order"]) > 20000:
            old = _reqs["order"].pop(0)
            if _reqs["map"].get(old, (None,))[0] is not request:
                _reqs["map"].pop(old, None)
    return rid, ctx[2]


def request_ctx(request, client_address=None):
    ctx = _reqs["map"].get(id(request))
    if ctx is not None and ctx[0] is request:
        return ctx[1], ctx[2]
    if client_address is not None:
        return None, fmt_addr(client_address)
    return None, None


# The adapter's own clock for the events' "time": the harness measures
# durations between events of one process with it, free of transport
# delays. 2.7 has no monotonic clock; the wall clock does for spans of
# seconds.
_clock = getattr(time, "monotonic", time.time)


def emit(hook, phase, rid=None, client=None, result=None, exception=None, pid=None):
    msg = {"type": "event", "hook": hook, "phase": phase, "seq": 0,
           "pid": pid if pid is not None else os.getpid(), "thread": str(_get_ident()),
           "time": int(_clock() * 1e9)}
    if rid is not None:
        msg["request"] = rid
        msg["client"] = client or ""
    elif client:
        msg["client"] = client
    if result is not None:
        msg["result"] = text(result)
    if exception is not None:
        msg["exception"] = exception
    send(msg)


def traced(hook, rid, client, func, args=(), kw=None, call_exception=None, after_call=None):
    """Runs func between a call and a return event of hook."""
    emit(hook, "call", rid, client, exception=call_exception)
    if after_call is not None:
        after_call()
    try:
        r = func(*args, **(kw or {}))
    except BaseException:
        emit(hook, "return", rid, client, exception=exc_json(sys.exc_info()[1]))
        raise
    emit(hook, "return", rid, client, result=_short(r))
    return r


def _short(r):
    s = text(r)
    if len(s) > 1000:
        s = s[:1000] + u"\u2026"
    return s


class ConfigError(Exception):
    """A start command the adapter cannot carry out: replied as an error."""


# --------------------------------------------------------------------------
# Faults.

class Faults(object):
    def __init__(self, faults):
        self.lock = threading.Lock()
        self.rules = {}
        self.counts = {}
        if faults is not None and not isinstance(faults, list):
            raise ConfigError("config.faults: want a list")
        for f in faults or ():
            if not isinstance(f, dict):
                raise ConfigError("config.faults: %r is not an object" % (f,))
            op = f.get("op")
            if op not in ("accept", "recvfrom", "fork", "thread_start"):
                raise ConfigError("fault op %r: want accept, recvfrom, fork or thread_start" % (op,))
            name = f.get("errno") or ""
            code = getattr(errno, text(name), None) if name else None
            if not isinstance(code, int):
                raise ConfigError("fault errno %r: not an errno name of this system" % (name,))
            nth = f.get("nth")
            if not isinstance(nth, int) or nth < 1:
                raise ConfigError("fault nth %r: want an integer >= 1" % (nth,))
            count = f.get("count") or 1
            if not isinstance(count, int) or count < 1:
                raise ConfigError("fault count %r: want an integer >= 0" % (f.get("count"),))
            self.rules.setdefault(op, []).append((nth, nth + count - 1, code, text(name)))

    def hit(self, op):
        """Counts an occurrence of op; returns (errno, name, n) when it must fail."""
        if op not in self.rules:
            return None
        with self.lock:
            n = self.counts.get(op, 0) + 1
            self.counts[op] = n
        for first, last, code, name in self.rules[op]:
            if first <= n <= last:
                cur = getattr(_tl, "request", None) if op in ("fork", "thread_start") else None
                rid, client = cur if cur is not None else (None, None)
                emit("fault", "call", rid, client, result="%s %s (occurrence %d)" % (op, name, n))
                return code, name, n
        return None


_state = {"faults": Faults([]), "foreign": {}, "in_child": False, "main_job": False}


# --------------------------------------------------------------------------
# The module's os and threading, seen through proxies.

def exit_status(status):
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status)
    return status


def _after_fork_child():
    """In a request child: fresh locks (another thread may have held one at
    fork time), and no copy of a foreign child's pipe."""
    _out["lock"] = threading.Lock()
    _reqs["lock"] = threading.Lock()
    _state["faults"].lock = threading.Lock()
    _state["in_child"] = True
    srv = SESSION.server
    if srv is not None:
        type(srv)._sockspec_cv = threading.Condition(threading.Lock())
    for fd in list(_state["foreign"].values()):
        try:
            os.close(fd)
        except OSError:
            pass
    _state["foreign"] = {}


def _module_fork():
    f = _state["faults"].hit("fork")
    if f is not None:
        raise OSError(f[0], os.strerror(f[0]))
    pid = _real_fork()
    if pid == 0:
        _after_fork_child()
    else:
        cur = getattr(_tl, "request", None)
        if cur is not None:
            _reqs["child"][pid] = cur
    return pid


def _module_waitpid(pid, options):
    r = _real_waitpid(pid, options)
    cpid, status = r
    if cpid:
        rid, client = _reqs["child"].pop(cpid, (None, None))
        st = exit_status(status)
        emit("child_exit", "call", rid, client, result=st, pid=cpid)
        emit("child_exit", "return", rid, client, result=st, pid=cpid)
    return r


class _ModuleProxy(object):
    """A module whose attributes are the real module's, save a few."""

    def __init__(self, module, **overrides):
        self.__dict__["_module"] = module
        self.__dict__.update(overrides)

    def __getattr__(self, name):
        return getattr(self.__dict__["_module"], name)


class _RequestThread(threading.Thread):
    """socketserver's request threads, whose start can be failed on purpose."""

    def start(self):
        if _state["faults"].hit("thread_start") is not None:
            raise RuntimeError("can't start new thread")
        return threading.Thread.start(self)


_ss.os = _ModuleProxy(os, fork=_module_fork, waitpid=_module_waitpid)
_ss.threading = _ModuleProxy(threading, Thread=_RequestThread)


# --------------------------------------------------------------------------
# Request scripts (spec/driver/script.go).

_NO_ARG = ("size", "setup-raise", "hold", "shutdown", "pid")


def _is_int(s):
    t = s[1:] if s[:1] in ("+", "-") else s
    return t.isdigit() and all(c in "0123456789" for c in t)


def parse_script(line):
    line = line.rstrip("\r\n")
    if not line.strip():
        raise ValueError('driver: empty script: send at least one step, e.g. "echo hi"')
    steps = []
    for i, part in enumerate(line.split(";")):
        verb, _, arg = part.strip().partition(" ")
        arg = arg.strip()
        problem = None
        if verb == "echo":
            pass
        elif verb in _NO_ARG:
            if arg:
                problem = "%s takes no argument" % verb
        elif verb == "raise":
            if arg not in ("", "fatal", "interrupt"):
                problem = 'raise takes nothing, "fatal" or "interrupt"'
        elif verb == "sleep":
            try:
                ok = float(arg) >= 0 and "_" not in arg
            except ValueError:
                ok = False
            if not ok:
                problem = u"sleep takes a number of seconds \u2265 0"
        elif verb == "exit":
            if not _is_int(arg) or not 0 <= int(arg) <= 255:
                problem = "exit takes a code from 0 to 255"
        else:
            problem = ('unknown verb "%s": want echo, size, raise, setup-raise, sleep, hold, shutdown, pid or exit'
                       % verb)
        if problem:
            raise ValueError('driver: script step %d "%s": %s' % (i + 1, part, problem))
        steps.append((verb, arg))
    if len(steps) > 1 and any(v == "setup-raise" for v, _ in steps):
        raise ValueError('driver: script "%s": setup-raise must be the only step' % line)
    return steps


def make_handler(base, stream, handler_timeout):
    """The script handler: a StreamRequestHandler or DatagramRequestHandler."""

    def ctx(self):
        return request_ctx(self.request, self.client_address)

    def _setup(self):
        base.setup(self)
        if stream:
            line = self.rfile.readline()
            self._sockspec_size = len(line)
        else:
            data = self.request[0]
            self._sockspec_size = len(data)
            line = data.split(b"\n", 1)[0]
        self._sockspec_script = parse_script(line.decode("utf-8", "replace"))
        if self._sockspec_script[0][0] == "setup-raise":
            raise ValueError("setup raised, as the request script asked")

    def setup(self):
        rid, client = ctx(self)
        return traced("setup", rid, client, _setup, (self,))

    def _write(self, s):
        if not isinstance(s, bytes):
            s = s.encode("utf-8")
        self.wfile.write(s)

    def _flush(self):
        flush = getattr(self.wfile, "flush", None)
        if flush is not None:
            flush()

    def _handle(self):
        for verb, arg in self._sockspec_script:
            if verb == "echo":
                _write(self, arg + u"\n")
            elif verb == "size":
                _write(self, u"%d\n" % self._sockspec_size)
            elif verb == "raise":
                if arg == "fatal":
                    raise SystemExit("raised by the request script")
                if arg == "interrupt":
                    raise KeyboardInterrupt("raised by the request script")
                raise ValueError("raised by the request script")
            elif verb == "sleep":
                time.sleep(float(arg))
            elif verb == "hold":
                if not stream:
                    raise ValueError("hold needs a stream request")
                _write(self, u"held\n")
                _flush(self)
                line = self.rfile.readline()
                if not line.endswith(b"\n"):
                    raise ValueError("waiting for the release line: end of file")
                _write(self, u"released\n")
            elif verb == "shutdown":
                try:
                    self.server.shutdown()
                except Exception as e:
                    _write(self, u"shutdown raised %s\n" % exc_type_name(e))
                else:
                    _write(self, u"shutdown returned\n")
            elif verb == "pid":
                _write(self, u"%d\n" % os.getpid())
            elif verb == "exit":
                if not _state["in_child"]:
                    raise ValueError("exit is for requests served in a child process")
                if stream:
                    _flush(self)
                _real_exit(int(arg))

    def handle(self):
        rid, client = ctx(self)
        return traced("handle", rid, client, _handle, (self,))

    def finish(self):
        rid, client = ctx(self)
        return traced("finish", rid, client, base.finish, (self,))

    attrs = {"setup": setup, "handle": handle, "finish": finish}
    if handler_timeout is not None:
        attrs["timeout"] = handler_timeout
    return type("ScriptHandler", (base, object), attrs)


# --------------------------------------------------------------------------
# The server.

FAMILIES = {
    "tcp": ("TCPServer", True),
    "udp": ("UDPServer", False),
    "unix_stream": ("UnixStreamServer", True),
    "unix_dgram": ("UnixDatagramServer", False),
}
DISPATCHES = {"sync": None, "threading": "ThreadingMixIn", "forking": "ForkingMixIn"}


def _await_serve_forever_return(srv):
    """shutdown() returns once serve_forever's finally has set its event, a
    moment before serve_forever returns to the adapter, which then writes its
    return event. Wait for that event, so that the trace shows what happened:
    the loop had ended when shutdown returned. The wait ends when no loop
    runs, when a new loop has begun (it cleared the event), and at the latest
    after a second: it orders two events, it never decides an outcome."""
    if getattr(_tl, "serving", 0):
        return  # the serving thread itself: no other loop to wait for
    ev = getattr(srv, "_BaseServer__is_shut_down", None)
    deadline = time.time() + 1.0
    with srv._sockspec_cv:
        while srv._sockspec_serving > 0:
            if ev is not None and not ev.is_set():
                return
            left = deadline - time.time()
            if left <= 0:
                return
            srv._sockspec_cv.wait(min(left, 0.05))


def make_server_class(base, cfg):
    """Subclasses base so that every BaseServer hook is traced."""
    verify_reject = bool(cfg.get("verify_reject"))
    timeout_result = cfg.get("handle_timeout_result")
    error_raises = bool(cfg.get("handle_error_raises"))
    attrs = {}

    def plain(hook):
        real = getattr(base, hook)

        def method(self, *args, **kw):
            return traced(hook, None, None, real, (self,) + args, kw)
        method.__name__ = hook
        return method

    for hook in ("server_bind", "server_activate", "handle_request"):
        attrs[hook] = plain(hook)
    for hook in ("service_actions", "collect_children"):
        if hasattr(base, hook):
            attrs[hook] = plain(hook)

    def serve_forever(self, *args, **kw):
        cb = getattr(_tl, "on_serve_call", None)
        _tl.on_serve_call = None
        with self._sockspec_cv:
            self._sockspec_serving += 1
        _tl.serving = getattr(_tl, "serving", 0) + 1
        try:
            return traced("serve_forever", None, None, base.serve_forever, (self,) + args, kw, after_call=cb)
        finally:
            _tl.serving -= 1
            with self._sockspec_cv:
                self._sockspec_serving -= 1
                self._sockspec_cv.notify_all()

    def shutdown(self):
        def body():
            r = base.shutdown(self)
            _await_serve_forever_return(self)
            return r
        return traced("shutdown", None, None, body)

    def server_close(self):
        self._sockspec_closed = True
        return traced("server_close", None, None, base.server_close, (self,))

    def get_request(self):
        def body():
            op = "accept" if self._sockspec_stream else "recvfrom"
            f = _state["faults"].hit(op)
            if f is not None:
                raise socket.error(f[0], os.strerror(f[0]))
            return base.get_request(self)
        emit("get_request", "call")
        try:
            r = body()
        except BaseException:
            emit("get_request", "return", exception=exc_json(sys.exc_info()[1]))
            raise
        rid, client = register_request(r[0], r[1])
        emit("get_request", "return", rid, client, result=_short(r))
        return r

    def verify_request(self, request, client_address):
        rid, client = request_ctx(request, client_address)
        if verify_reject:
            return traced("verify_request", rid, client, lambda: False)
        return traced("verify_request", rid, client, base.verify_request, (self, request, client_address))

    def process_request(self, request, client_address):
        rid, client = request_ctx(request, client_address)
        prev = getattr(_tl, "request", None)
        _tl.request = (rid, client)
        try:
            return traced("process_request", rid, client, base.process_request, (self, request, client_address))
        finally:
            _tl.request = prev

    def finish_request(self, request, client_address):
        rid, client = request_ctx(request, client_address)
        return traced("finish_request", rid, client, base.finish_request, (self, request, client_address))

    def shutdown_request(self, request):
        rid, client = request_ctx(request)
        return traced("shutdown_request", rid, client, base.shutdown_request, (self, request))

    def close_request(self, request):
        rid, client = request_ctx(request)
        return traced("close_request", rid, client, base.close_request, (self, request))

    def handle_error(self, request, client_address):
        rid, client = request_ctx(request, client_address)
        handling = sys.exc_info()[1]
        call_exc = exc_json(handling) if handling is not None else None

        def body():
            # The report goes to standard error in one write, so that it is
            # read whole and never mixed with another thread's or child's.
            _tl.held_stderr = []
            try:
                base.handle_error(self, request, client_address)
            finally:
                held, _tl.held_stderr = _tl.held_stderr, None
                _write_all(2, b"".join(held))
            if error_raises:
                raise ValueError("handle_error raised, as the configuration asked")
        return traced("handle_error", rid, client, body, call_exception=call_exc)

    def handle_timeout(self):
        def body():
            r = base.handle_timeout(self)
            if timeout_result is not None:
                return timeout_result
            return r
        return traced("handle_timeout", None, None, body)

    attrs.update(serve_forever=serve_forever, shutdown=shutdown, server_close=server_close, get_request=get_request,
                 verify_request=verify_request, process_request=process_request, finish_request=finish_request,
                 shutdown_request=shutdown_request, close_request=close_request, handle_error=handle_error,
                 handle_timeout=handle_timeout)
    return type("SockspecServer", (base,), attrs)


def parse_address(family, address):
    if family in ("unix_stream", "unix_dgram"):
        if not address:
            raise ConfigError("config.address: a socket path is required for %s" % family)
        if PY2 and isinstance(address, _text_type):
            address = address.encode(sys.getfilesystemencoding() or "utf-8")
        return address, None
    address = address or "127.0.0.1:0"
    host, sep, port = address.rpartition(":")
    if not sep:
        raise ConfigError("config.address %r: want host:port" % (address,))
    af = None
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        af = socket.AF_INET6
    elif ":" in host:
        af = socket.AF_INET6
    try:
        port = int(port)
    except ValueError:
        raise ConfigError("config.address %r: the port is not a number" % (address,))
    return (str(host), port), af


def _num(cfg, key):
    v = cfg.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
        raise ConfigError("config.%s %r: want a number of seconds >= 0" % (key, v))
    return v


class Session(object):
    def __init__(self):
        self.server = None
        self.bind_lock = threading.Lock()
        self.bound = True

    def build(self, cfg):
        if not isinstance(cfg, dict):
            raise ConfigError("config must be an object")
        family = cfg.get("family")
        dispatch = cfg.get("dispatch") or "sync"
        if family not in FAMILIES:
            raise ConfigError("config.family %r: want tcp, udp, unix_stream or unix_dgram" % (family,))
        if dispatch not in DISPATCHES:
            raise ConfigError("config.dispatch %r: want sync, threading or forking" % (dispatch,))
        fam_name, stream = FAMILIES[family]
        fam = getattr(_ss, fam_name, None)
        if fam is None:
            raise ConfigError("this interpreter's socketserver has no %s" % fam_name)
        mixin = None
        if DISPATCHES[dispatch]:
            mixin = getattr(_ss, DISPATCHES[dispatch], None)
            if mixin is None:
                raise ConfigError("this interpreter's socketserver has no %s" % DISPATCHES[dispatch])
        address, af = parse_address(family, cfg.get("address"))
        timeout = _num(cfg, "timeout")
        socket_timeout = _num(cfg, "socket_timeout")
        handler_timeout = _num(cfg, "handler_timeout")
        _state["faults"] = Faults(cfg.get("faults"))

        bases = ((mixin,) if mixin else ()) + (fam, object)
        base_attrs = {}
        if af is not None:
            base_attrs["address_family"] = af
        if "timeout" in cfg and timeout is not None:
            base_attrs["timeout"] = timeout
        if cfg.get("allow_reuse_address"):
            base_attrs["allow_reuse_address"] = True
        if cfg.get("allow_reuse_port"):
            base_attrs["allow_reuse_port"] = True
        for key in ("request_queue_size", "max_packet_size", "max_children"):
            v = cfg.get(key)
            if v:
                if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                    raise ConfigError("config.%s %r: want an integer >= 0" % (key, v))
                base_attrs[key] = v
        if cfg.get("block_on_close") is not None and mixin is not None and hasattr(mixin, "block_on_close"):
            base_attrs["block_on_close"] = bool(cfg.get("block_on_close"))
        if cfg.get("daemon_threads"):
            base_attrs["daemon_threads"] = True
        base = type("Base", bases, base_attrs)
        cls = make_server_class(base, cfg)
        cls._sockspec_stream = stream
        cls._sockspec_serving = 0
        cls._sockspec_closed = False
        cls._sockspec_cv = threading.Condition(threading.Lock())
        handler = make_handler(_ss.StreamRequestHandler if stream else _ss.DatagramRequestHandler, stream,
                               handler_timeout)
        bind = cfg.get("bind_and_activate")
        bind = True if bind is None else bool(bind)
        self.bound = bind
        srv = cls(address, handler, bind)
        self.server = srv
        if socket_timeout is not None:
            srv.socket.settimeout(socket_timeout)
        return srv

    def ensure_bound(self):
        with self.bind_lock:
            if self.bound:
                return
            self.bound = True
            self.server.server_bind()
            self.server.server_activate()

    def address(self):
        if self.server is None:
            return None
        return fmt_addr(getattr(self.server, "server_address", None))

    def state(self):
        srv = self.server
        threads = getattr(srv, "_threads", None)
        return {
            "serving": srv._sockspec_serving > 0,
            "closed": bool(srv._sockspec_closed),
            "active_children": len(getattr(srv, "active_children", None) or ()),
            "threads": len(threads) if isinstance(threads, list) else -1,
            "pid": os.getpid(),
            "timeout": text(srv.timeout),
            # BaseServer.__shutdown_request, as every version names it: set
            # by shutdown() on its own thread, a moment after its call is
            # traced.
            "shutdown_requested": bool(getattr(srv, "_BaseServer__shutdown_request", False)),
        }


SESSION = Session()


# --------------------------------------------------------------------------
# Commands.

def reply(cid, **fields):
    msg = {"type": "reply", "id": cid}
    msg.update(fields)
    if "address" not in msg and "error" not in msg:
        addr = SESSION.address()
        if addr:
            msg["address"] = addr
    send(msg)


def reply_call(cid, func):
    """Runs a server call and replies with how it returned."""
    try:
        r = func()
    except BaseException as e:
        reply(cid, result={"exception": exc_json(e)})
    else:
        reply(cid, result={"value": text(r)})


def _main_job(func):
    """Marks the main thread as serving while func runs (see the SIGUSR2 handler)."""
    def run():
        if threading.current_thread() is not _MAIN_THREAD:
            return func()
        _state["main_job"] = True
        try:
            return func()
        finally:
            _state["main_job"] = False
    return run


def cmd_handle_request(cid, cmd):
    srv = SESSION.server

    def call():
        SESSION.ensure_bound()
        return _main_job(srv.handle_request)()
    reply_call(cid, call)


def cmd_serve_forever(cid, cmd):
    srv = SESSION.server
    poll = cmd.get("poll_interval")
    if poll is None:
        poll = 0.5
    if isinstance(poll, bool) or not isinstance(poll, (int, float)) or poll < 0:
        reply(cid, error="serve_forever: poll_interval %r: want a number of seconds >= 0" % (poll,))
        return
    replied = [False]

    def on_call():
        replied[0] = True
        reply(cid)

    try:
        SESSION.ensure_bound()
    except BaseException as e:
        reply(cid, result={"exception": exc_json(e)})
        return
    _tl.on_serve_call = on_call
    try:
        _main_job(lambda: srv.serve_forever(poll))()
    except BaseException as e:
        if not replied[0]:
            reply(cid, result={"exception": exc_json(e)})
        else:
            log("serve_forever raised", exc_type_name(e) + ":", e)
    finally:
        _tl.on_serve_call = None
    if not replied[0]:
        reply(cid, result={"value": "None"})


def cmd_shutdown(cid, cmd):
    reply_call(cid, SESSION.server.shutdown)


def cmd_server_close(cid, cmd):
    reply_call(cid, SESSION.server.server_close)


def cmd_exit_context(cid, cmd):
    srv = SESSION.server
    if not hasattr(srv, "__exit__"):
        reply(cid, error="exit_context: this interpreter's BaseServer is not a context manager (no __exit__)")
        return
    reply_call(cid, lambda: srv.__exit__(None, None, None))


def cmd_state(cid, cmd):
    reply(cid, state=SESSION.state())


SIGNALS = {"SIGUSR1": signal.SIGUSR1, "SIGALRM": signal.SIGALRM, "SIGUSR2": signal.SIGUSR2}


def cmd_signal(cid, cmd):
    name = cmd.get("signal")
    if name not in SIGNALS:
        reply(cid, error="signal %r: want SIGUSR1, SIGALRM or SIGUSR2" % (name,))
        return
    os.kill(os.getpid(), SIGNALS[name])
    reply(cid, result={"value": "None"})


def _close_fds_but(keep):
    try:
        fds = [int(n) for n in os.listdir("/proc/self/fd")]
    except Exception:
        fds = range(3, 1024)
    for fd in fds:
        if fd > 2 and fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass


def cmd_foreign_start(cid, cmd):
    r, w = os.pipe()
    pid = _real_fork()
    if pid == 0:  # the foreign child: wait for EOF on the pipe, then exit 7
        try:
            _close_fds_but((r,))
            while True:
                try:
                    if not os.read(r, 1):
                        break
                except OSError as e:
                    if e.errno != errno.EINTR:
                        break
        finally:
            _real_exit(7)
    os.close(r)
    _state["foreign"][pid] = w
    reply(cid, child=pid)


def _child_of(cid, cmd):
    child = cmd.get("child")
    if isinstance(child, bool) or not isinstance(child, int) or child <= 0:
        reply(cid, error="%s: child %r: want the handle foreign_start replied" % (cmd.get("cmd"), child))
        return None
    return child


def cmd_foreign_exit(cid, cmd):
    child = _child_of(cid, cmd)
    if child is None:
        return
    fd = _state["foreign"].pop(child, None)
    if fd is None:
        reply(cid, error="foreign_exit: no foreign child %d (or it was told already)" % child)
        return
    os.close(fd)
    reply(cid, result={"value": "None"})


def cmd_foreign_reap(cid, cmd):
    child = _child_of(cid, cmd)
    if child is None:
        return
    while True:
        try:
            _, status = _real_waitpid(child, 0)
        except OSError as e:
            if e.errno == errno.EINTR:
                continue
            if e.errno == errno.ECHILD:
                reply(cid, stolen=True)
                return
            reply(cid, error="foreign_reap: waitpid(%d): %s" % (child, e))
            return
        reply(cid, status=exit_status(status))
        return


COMMANDS = {
    "handle_request": cmd_handle_request,
    "serve_forever": cmd_serve_forever,
    "shutdown": cmd_shutdown,
    "server_close": cmd_server_close,
    "exit_context": cmd_exit_context,
    "state": cmd_state,
    "signal": cmd_signal,
    "foreign_start": cmd_foreign_start,
    "foreign_exit": cmd_foreign_exit,
    "foreign_reap": cmd_foreign_reap,
}
NEEDS_SERVER = ("handle_request", "serve_forever", "shutdown", "server_close", "exit_context", "state")
ON_MAIN = ("handle_request", "serve_forever")


def cmd_start(cid, cmd):
    if SESSION.server is not None:
        reply(cid, error="start: this adapter already has its server (one server per adapter)")
        return
    cfg = cmd.get("config")
    try:
        SESSION.build(cfg)
    except ConfigError as e:
        reply(cid, error="start: %s" % text(e))
        return
    except BaseException as e:
        reply(cid, result={"exception": exc_json(e)})
        return
    reply(cid, result={"value": "None"}, address=SESSION.address())


class MainExecutor(object):
    """Runs serving calls on the main thread when it is free, so that signals
    sent to the process interrupt them; on a thread of their own otherwise."""

    def __init__(self):
        self.q = _queue.Queue()
        self.lock = threading.Lock()
        self.busy = False

    def submit(self, job):
        with self.lock:
            if not self.busy:
                self.busy = True
                self.q.put(job)
                return
        spawn(job)

    def loop(self):
        while True:
            try:
                job = self.q.get()
            except BaseException as e:  # a signal handler raised while idle
                log("main thread:", exc_type_name(e), e)
                continue
            try:
                job()
            except BaseException as e:
                log("main thread job:", exc_type_name(e), e)
            finally:
                with self.lock:
                    self.busy = False


EXECUTOR = MainExecutor()


def spawn(job):
    t = threading.Thread(target=job, name="sockspec-command")
    t.daemon = True
    t.start()


def guarded(cid, name, func, cmd):
    def job():
        try:
            func(cid, cmd)
        except BaseException as e:  # a bug of the adapter: say so, never leave the command unanswered
            log("command", name, "failed:", exc_type_name(e), e)
            try:
                reply(cid, error="%s: the adapter failed: %s: %s" % (name, exc_type_name(e), text(e)))
            except BaseException:
                pass
    return job


def dispatch(line):
    try:
        cmd = json.loads(line.decode("utf-8"))
    except Exception as e:
        log("not a JSON command:", repr(line[:200]), e)
        return
    if not isinstance(cmd, dict):
        log("not a JSON object:", repr(line[:200]))
        return
    cid = cmd.get("id")
    name = cmd.get("cmd")
    if isinstance(cid, bool) or not isinstance(cid, int) or cid <= 0:
        log("command without a positive id:", repr(line[:200]))
        return
    if name == "bye":
        _real_exit(0)
    if name == "start":
        guarded(cid, name, cmd_start, cmd)()
        return
    func = COMMANDS.get(name)
    if func is None:
        reply(cid, error='unknown command "%s"' % text(name))
        return
    if name in NEEDS_SERVER and SESSION.server is None:
        reply(cid, error="%s: no server: start it first (or its start failed)" % name)
        return
    job = guarded(cid, name, func, cmd)
    try:
        if name in ON_MAIN:
            EXECUTOR.submit(job)
        else:
            spawn(job)
    except Exception as e:  # no thread to run it on
        reply(cid, error="%s: the adapter could not start a thread for it: %s" % (name, text(e)))


def read_commands():
    buf = b""
    while True:
        try:
            chunk = os.read(0, 65536)
        except OSError as e:
            if e.errno == errno.EINTR:
                continue
            log("reading standard input:", e)
            _real_exit(0)
        except BaseException as e:
            log("reading standard input:", exc_type_name(e), e)
            continue
        if not chunk:
            if buf.strip():
                dispatch(buf)
            _real_exit(0)
        buf += chunk
        while True:
            i = buf.find(b"\n")
            if i < 0:
                break
            line, buf = buf[:i], buf[i + 1:]
            if line.strip():
                try:
                    dispatch(line)
                except BaseException as e:
                    log("dispatch:", exc_type_name(e), e)


# --------------------------------------------------------------------------
# Signals and start-up.

class SignalRaised(Exception):
    """What the SIGUSR2 handler raises."""


def _quiet_handler(signum, frame):
    pass


def _raising_handler(signum, frame):
    # Python runs handlers on the main thread; raise only into a serving call
    # that runs there, never into the adapter's own bookkeeping.
    if _state["main_job"] and os.getpid() == MAIN_PID:
        raise SignalRaised("SIGUSR2 handler raised")
    log("SIGUSR2 while no serving call runs on the main thread: ignored")


def capabilities():
    caps = ["tcp", "udp", "unix_stream", "unix_dgram", "threading", "forking", "trace", "socket_timeout",
            "handler_timeout", "daemon_threads", "max_children", "signals", "fault.accept", "fault.spawn",
            "foreign_child"]
    if hasattr(_ss.BaseServer, "service_actions"):
        caps.append("service_actions")
    if hasattr(_ss.BaseServer, "__enter__"):
        caps.append("context_manager")
    if hasattr(_ss.ThreadingMixIn, "block_on_close"):
        caps.append("block_on_close")
    if hasattr(_ss.TCPServer, "allow_reuse_port"):
        caps.append("allow_reuse_port")
    return caps


_MAIN_THREAD = threading.current_thread()


def main():
    signal.signal(signal.SIGUSR1, _quiet_handler)
    signal.signal(signal.SIGALRM, _quiet_handler)
    signal.signal(signal.SIGUSR2, _raising_handler)
    send({"type": "hello", "protocol": PROTOCOL, "name": platform.python_implementation().lower(),
          "version": platform.python_version(), "language": "python", "capabilities": capabilities()})
    reader = threading.Thread(target=read_commands, name="sockspec-reader")
    reader.daemon = True
    reader.start()
    EXECUTOR.loop()


if __name__ == "__main__":
    main()
