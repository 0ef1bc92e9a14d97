package rules

import (
	"fmt"
	"sort"

	"github.com/sockspec/sockspec/spec/driver"
)

// Family capability sets that rules name often.
var (
	streams   = []string{driver.CapTCP, driver.CapUnixStream}
	datagrams = []string{driver.CapUDP, driver.CapUnixDgram}
	unixes    = []string{driver.CapUnixStream, driver.CapUnixDgram}
)

// registry is the contract. Keep it sorted by ID within an area; the
// golden file shows every change.
var registry = []Rule{
	// ORD — the request pipeline.
	{ID: "ORD-01", Level: Must, Title: "request pipeline order",
		Text:    "handle_request MUST call get_request, verify_request, process_request, finish_request (the handler's setup, handle, finish), shutdown_request and close_request, in that order, once each for a request that succeeds.",
		Needs:   []string{driver.CapTrace},
		Sources: []string{"SEMANTICS ORD-01", "Issue #6382"}},
	{ID: "ORD-02", Level: Must, Title: "shutdown_request half-closes then closes",
		Text:     "For a stream server, shutdown_request MUST shut the connection down for writing and then call close_request, so that the client reads end of file after the reply.",
		Families: streams,
		Sources:  []string{"SEMANTICS ORD-02", "Issue #6382"}},
	{ID: "ORD-03", Level: Must, Title: "verify_request false",
		Text:    "When verify_request returns false, the server MUST call shutdown_request once and MUST NOT call process_request or handle_error; the client gets end of file and no data.",
		Needs:   []string{driver.CapTrace},
		Sources: []string{"SEMANTICS ORD-03", "edge case E8", "bpo-26309", "test_socketserver.MiscTestCase.test_shutdown_request_called_if_verify_request_false"}},
	{ID: "ORD-04", Level: Must, Title: "get_request failure is silent",
		Text:    "An OSError from get_request MUST make handle_request return without calling verify_request, handle_error, shutdown_request or handle_timeout, and serve_forever MUST go on serving.",
		Needs:   []string{driver.CapTrace, driver.CapAcceptFaults},
		Sources: []string{"SEMANTICS ORD-04"}},
	{ID: "ORD-05", Level: Must, Title: "handler exception: handle_error then shutdown_request",
		Text:    "When process_request raises an ordinary exception, the server MUST call handle_error with the request and client address, then shutdown_request, and handle_request MUST return normally.",
		Needs:   []string{driver.CapTrace},
		Sources: []string{"SEMANTICS ORD-05"}},
	{ID: "ORD-06", Level: Must, Title: "fatal exception propagates",
		Text:    "When process_request raises a fatal exception (SystemExit, KeyboardInterrupt), the server MUST call shutdown_request, MUST NOT call handle_error, and the exception MUST leave handle_request or serve_forever.",
		Needs:   []string{driver.CapTrace},
		Sources: []string{"SEMANTICS ORD-06", "edge case E6", "Issue #23430", "test_socketserver.ErrorHandlerTest.test_sync_not_handled"}},
	{ID: "ORD-07", Level: Must, Title: "shutdown_request once per request",
		Text:    "A synchronous server MUST call shutdown_request exactly once for every request it took, whichever way the request ended, save when handle_error itself raised.",
		Needs:   []string{driver.CapTrace},
		Sources: []string{"SEMANTICS ORD-07"}},
	{ID: "ORD-08", Level: Must, Title: "handler setup, handle, finish",
		Text:    "The request handler MUST run setup, then handle, then finish; finish MUST run when handle raises, and neither handle nor finish may run when setup raises.",
		Needs:   []string{driver.CapTrace},
		Sources: []string{"SEMANTICS ORD-08", "Issue #14574"}},
	{ID: "ORD-09", Level: Must, Title: "handle_request returns handle_timeout's value",
		Text:    "When the wait expires, handle_request MUST return what handle_timeout returned.",
		Sources: []string{"SEMANTICS ORD-09"}},
	{ID: "ORD-10", Level: Must, Title: "request object and client address",
		Text:    "The request MUST be the accepted connection for stream servers and the datagram with the server socket for datagram servers, and client_address MUST be the peer's address.",
		Needs:   []string{driver.CapTrace},
		Sources: []string{"SEMANTICS ORD-10"}},

	// TMO — timeouts, serve_forever and service_actions.
	{ID: "TMO-01", Level: Must, Title: "effective timeout",
		Text:    "handle_request MUST wait for the smaller of the socket's timeout and the server's timeout, for the one set when only one is, and without limit when neither is.",
		Sources: []string{"SEMANTICS TMO-01", "SourceForge patch 742598"}},
	{ID: "TMO-02", Level: Must, Title: "expired wait calls handle_timeout",
		Text:    "When handle_request's wait expires with nothing ready, the server MUST call handle_timeout once and MUST NOT call get_request.",
		Needs:   []string{driver.CapTrace},
		Sources: []string{"SEMANTICS TMO-02"}},
	{ID: "TMO-03", Level: Must, Title: "zero timeout polls once",
		Text:    "With a timeout of zero, handle_request MUST poll once without blocking and call handle_timeout at once when nothing is pending.",
		Needs:   []string{driver.CapTrace},
		Sources: []string{"SEMANTICS TMO-03"}},
	{ID: "TMO-04", Level: Must, Title: "deadline holds across interruptions",
		Text:    "handle_request's deadline MUST be computed once: signals that interrupt the wait MUST NOT stretch it.",
		Needs:   []string{driver.CapSignals},
		Sources: []string{"SEMANTICS TMO-04", "edge case E11", "PEP 475", "Issue #23285", "Issue #19849"}},
	{ID: "TMO-05", Level: Must, Title: "serve_forever ignores the timeout",
		Text:    "serve_forever MUST ignore both timeouts, wait at most poll_interval per iteration and never call handle_timeout.",
		Needs:   []string{driver.CapTrace},
		Sources: []string{"SEMANTICS TMO-05"}},
	{ID: "TMO-06", Level: Must, Title: "forking default timeout",
		Text:    "A forking server MUST default its timeout to 300 seconds, where other servers have none.",
		Needs:   []string{driver.CapForking},
		Sources: []string{"SEMANTICS TMO-06"}},
	{ID: "TMO-07", Level: Must, Title: "service_actions every iteration",
		Text:    "serve_forever MUST call service_actions once per iteration, after a poll that timed out and after a handled request, and handle_request MUST NOT call it.",
		Needs:   []string{driver.CapTrace, driver.CapServiceActions},
		Sources: []string{"SEMANTICS TMO-07", "edge case E12", "Issue #11109"}},
	{ID: "TMO-08", Level: Must, Title: "stream handler timeout",
		Text:     "A stream handler's timeout MUST apply to the connection, so that a read from a silent client fails into handle_error.",
		Needs:    []string{driver.CapHandlerTimeout},
		Families: streams,
		Sources:  []string{"SEMANTICS TMO-08"}},

	// SHD — shutdown, server_close and the context manager.
	{ID: "SHD-01", Level: Must, Title: "shutdown waits for the loop",
		Text:    "shutdown MUST return only after the running serve_forever has returned.",
		Needs:   []string{driver.CapTrace},
		Sources: []string{"SEMANTICS SHD-01"}},
	{ID: "SHD-02", Level: Should, Title: "shutdown from the serving thread",
		Text:    "shutdown called from the thread that runs serve_forever (a synchronous handler, service_actions, verify_request) SHOULD request the stop and return instead of deadlocking.",
		Sources: []string{"SEMANTICS SHD-02", "edge case E1", "bpo-39797"},
		Why:     "CPython waits for a loop that can only stop after shutdown returns: the process hangs for ever."},
	{ID: "SHD-03", Level: Should, Title: "shutdown before serve_forever",
		Text:    "shutdown called before any serve_forever SHOULD return at once.",
		Sources: []string{"SEMANTICS SHD-03", "edge case E1", "certbot PR #1200"},
		Why:     "CPython blocks until some serve_forever completes, which on the only thread is never."},
	{ID: "SHD-04", Level: Should, Title: "no stale shutdown flag",
		Text:    "A shutdown that finds no serve_forever running SHOULD NOT make the next serve_forever return at once.",
		Needs:   []string{driver.CapTrace},
		Sources: []string{"SEMANTICS SHD-04", "edge case E4"},
		Why:     "In CPython the flag outlives the loop it was meant for, and a later serve_forever ends before serving anything."},
	{ID: "SHD-05", Level: Must, Title: "serve_forever again",
		Text:    "serve_forever MUST be able to run again on the same server after it returned.",
		Sources: []string{"SEMANTICS SHD-05"}},
	{ID: "SHD-07", Level: Must, Title: "nothing taken after shutdown",
		Text:    "Once shutdown was requested, serve_forever MUST NOT take another request nor call service_actions before it returns.",
		Needs:   []string{driver.CapTrace},
		Sources: []string{"SEMANTICS SHD-07", "edge case E3", "bpo-35017"}},
	{ID: "SHD-08", Level: Must, Title: "shutdown keeps the socket",
		Text:    "shutdown MUST leave the listening socket open, so that new connections wait in the backlog, and server_close MUST close it, so that they are refused.",
		Needs:   []string{driver.CapTCP},
		Sources: []string{"SEMANTICS SHD-08"}},
	{ID: "SHD-09", Level: Should, Title: "server_close while serving",
		Text:    "server_close while serve_forever runs SHOULD end the loop cleanly instead of leaving it spinning on a closed socket.",
		Needs:   []string{driver.CapTrace},
		Sources: []string{"SEMANTICS SHD-09", "edge case E5"},
		Why:     "CPython's loop polls the closed descriptor, gets EBADF from accept and tries again, at full CPU, until shutdown."},
	{ID: "SHD-10", Level: Must, Title: "use after server_close",
		Text:    "handle_request and serve_forever called after server_close MUST raise an error.",
		Sources: []string{"SEMANTICS SHD-10"}},
	{ID: "SHD-11", Level: Must, Title: "context manager",
		Text:    "Leaving the server's with block MUST call server_close and MUST NOT call shutdown.",
		Needs:   []string{driver.CapContextManager},
		Sources: []string{"SEMANTICS SHD-11", "Issue #26404", "bpo-32558", "test_socketserver.SocketServerTest.test_context_manager"}},
	{ID: "SHD-12", Level: Must, Title: "a raising signal handler ends serve_forever",
		Text:    "An exception raised by a signal handler while serve_forever waits MUST end serve_forever with that exception, and a later shutdown MUST return at once.",
		Needs:   []string{driver.CapSignals, driver.CapTrace},
		Sources: []string{"SEMANTICS SHD-12", "SEMANTICS EIN-04", "PEP 475"}},
	{ID: "SHD-13", Level: Should, Title: "shutdown wakes the loop",
		Text:    "shutdown SHOULD wake an idle serve_forever at once instead of waiting for its next poll.",
		Sources: []string{"edge case E2", "gh-88932", "bpo-44769", "gh-85265", "bpo-41093"},
		Why:     "CPython only looks at the stop flag between polls, so shutdown takes up to poll_interval, and callers shorten the interval at the cost of idle wake-ups."},

	// ERR — handle_error.
	{ID: "ERR-01", Level: Must, Title: "default handle_error report",
		Text:    "The default handle_error MUST write a report naming the client address and the exception to standard error.",
		Sources: []string{"SEMANTICS ERR-01", "edge case E7", "Issue #23430", "GH-19767"}},
	{ID: "ERR-02", Level: Must, Title: "handle_error sees the exception",
		Text:    "handle_error MUST be called while the exception it handles is current, so that it can report that exception.",
		Needs:   []string{driver.CapTrace},
		Sources: []string{"SEMANTICS ERR-02"}},
	{ID: "ERR-03", Level: Must, Title: "only ordinary exceptions reach handle_error",
		Text:    "Only ordinary exceptions (Exception subclasses) MUST reach handle_error, in every dispatch mode; fatal ones MUST NOT.",
		Needs:   []string{driver.CapTrace},
		Sources: []string{"SEMANTICS ERR-03", "edge case E6", "Issue #23430", "test_socketserver.ErrorHandlerTest"}},
	{ID: "ERR-04", Level: Must, Title: "no handle_error for get_request failures",
		Text:    "handle_error MUST NOT be called for a get_request failure, EMFILE included.",
		Needs:   []string{driver.CapTrace, driver.CapAcceptFaults},
		Sources: []string{"SEMANTICS ERR-04"}},
	{ID: "ERR-05", Level: Should, Title: "handle_error raising",
		Text:    "When handle_error itself raises, the request SHOULD still be shut down, so the client gets end of file.",
		Sources: []string{"SEMANTICS ERR-05", "edge case E30"},
		Why:     "A synchronous CPython server skips shutdown_request and leaves the connection to the garbage collector."},
	{ID: "ERR-06", Level: Must, Title: "child exit status",
		Text:    "A request child MUST exit with status 0 when the request succeeded and 1 when an exception escaped it, fatal ones included.",
		Needs:   []string{driver.CapForking},
		Sources: []string{"SEMANTICS ERR-06", "edge case E31"}},

	// FRK — forking.
	{ID: "FRK-01", Level: Must, Title: "a child per request",
		Text:    "A forking server's process_request MUST serve the request in a new child process and return at once in the parent.",
		Needs:   []string{driver.CapForking},
		Sources: []string{"SEMANTICS FRK-01"}},
	{ID: "FRK-02", Level: Must, Title: "parent only closes",
		Text:    "The parent MUST only close its copy of the request, and shutdown_request MUST run in the child.",
		Needs:   []string{driver.CapForking, driver.CapTrace},
		Sources: []string{"SEMANTICS FRK-02", "Issue #6382"}},
	{ID: "FRK-06", Level: Should, Title: "max_children on every path",
		Text:    "max_children SHOULD hold under a handle_request loop as well as under serve_forever.",
		Needs:   []string{driver.CapForking, driver.CapMaxChildren},
		Sources: []string{"SEMANTICS FRK-06", "edge case E15", "Issue #11109"},
		Why:     "CPython 3 collects children only in service_actions and handle_timeout, so a handle_request loop forks without limit and zombies pile up."},
	{ID: "FRK-07", Level: Should, Title: "only own children reaped",
		Text:    "A forking server SHOULD wait only for the children it forked, at max_children too, and never reap another child of its process.",
		Needs:   []string{driver.CapForking, driver.CapMaxChildren, driver.CapForeignChild},
		Sources: []string{"SEMANTICS FRK-07", "edge case E14", "SEMANTICS FRK-05", "Issue 1540386"},
		Why:     "At the limit CPython waits with waitpid(-1), which takes any child of the process: the real owner of that child then gets ECHILD and loses its exit status."},
	{ID: "FRK-08", Level: Must, Title: "children reaped while serving",
		Text:    "serve_forever MUST reap a child that exited within about one poll interval.",
		Needs:   []string{driver.CapForking},
		Sources: []string{"SEMANTICS FRK-08", "edge case E12", "Issue #11109", "gh-90093"}},
	{ID: "FRK-09", Level: Must, Title: "server_close and children",
		Text:    "With block_on_close, server_close MUST wait until every request child has exited; without it, it MUST NOT wait.",
		Needs:   []string{driver.CapForking, driver.CapBlockOnClose},
		Sources: []string{"SEMANTICS FRK-09", "edge case E16", "bpo-31151", "bpo-33540"}},
	{ID: "FRK-10", Level: Must, Title: "fork failure",
		Text:    "A failed fork MUST go to handle_error and then shutdown_request, and the server MUST go on serving.",
		Needs:   []string{driver.CapForking},
		Sources: []string{"SEMANTICS FRK-10", "SEMANTICS RES-02"}},
	{ID: "FRK-13", Level: Must, Title: "forked datagram reply",
		Text:     "A forked datagram request MUST reply through the server socket the child inherited, and the parent MUST keep that socket open.",
		Needs:    []string{driver.CapForking},
		Families: datagrams,
		Sources:  []string{"SEMANTICS FRK-13", "edge case E29", "SEMANTICS FRK-03"}},

	// THR — threading.
	{ID: "THR-01", Level: Must, Title: "a thread per request",
		Text:    "A threading server's process_request MUST serve the request in a new thread and return at once.",
		Needs:   []string{driver.CapThreading},
		Sources: []string{"SEMANTICS THR-01", "edge case E36"}},
	{ID: "THR-02", Level: Must, Title: "request thread shuts down once",
		Text:    "A request thread MUST call shutdown_request exactly once, whatever the handler raised.",
		Needs:   []string{driver.CapThreading, driver.CapTrace},
		Sources: []string{"SEMANTICS THR-02"}},
	{ID: "THR-03", Level: Must, Title: "server_close joins threads",
		Text:    "With block_on_close, server_close MUST join the non-daemon request threads and MUST NOT wait for daemon threads or when block_on_close is off.",
		Needs:   []string{driver.CapThreading, driver.CapBlockOnClose, driver.CapDaemonThreads},
		Sources: []string{"SEMANTICS THR-03", "edge case E17", "bpo-31233", "bpo-33540"}},
	{ID: "THR-04", Level: Must, Title: "thread bookkeeping is bounded",
		Text:    "The record of request threads MUST NOT grow with the number of requests served.",
		Needs:   []string{driver.CapThreading},
		Sources: []string{"SEMANTICS THR-04", "edge case E18", "bpo-37193", "test_socketserver.MiscTestCase.test_threads_reaped"}},
	{ID: "THR-05", Level: Must, Title: "thread start failure",
		Text:    "A thread that cannot start MUST go to handle_error and shutdown_request, and a later server_close MUST still succeed.",
		Needs:   []string{driver.CapThreading},
		Sources: []string{"SEMANTICS THR-05", "edge case E19", "SEMANTICS RES-03"}},
	{ID: "THR-07", Level: Must, Title: "handle_error in the request thread",
		Text:    "A threading server MUST call handle_error in the request's own thread.",
		Needs:   []string{driver.CapThreading, driver.CapTrace},
		Sources: []string{"SEMANTICS THR-07"}},

	// NET — TCP, UDP, Unix.
	{ID: "NET-01", Level: Must, Title: "failed bind closes the socket",
		Text:    "When bind or listen fails, the constructor MUST raise and MUST close the socket it made.",
		Sources: []string{"SEMANTICS NET-01", "edge case E9", "bpo-22435", "test_socketserver.MiscTestCase.test_tcpserver_bind_leak", "SEMANTICS RES-04"}},
	{ID: "NET-02", Level: Must, Title: "server_address after bind",
		Text:    "After server_bind, server_address MUST be the bound address, with port 0 resolved to the real port.",
		Sources: []string{"SEMANTICS NET-02", "edge case E22", "gh-128916"}},
	{ID: "NET-03", Level: Must, Title: "allow_reuse_address",
		Text:     "Without allow_reuse_address, binding a port in TIME_WAIT MUST fail with EADDRINUSE; with it, it MUST succeed.",
		Families: []string{driver.CapTCP},
		Sources:  []string{"SEMANTICS NET-03"}},
	{ID: "NET-04", Level: Must, Title: "allow_reuse_port",
		Text:     "With allow_reuse_port, two servers MUST be able to bind the same port.",
		Needs:    []string{driver.CapReusePort},
		Families: []string{driver.CapTCP, driver.CapUDP},
		Sources:  []string{"SEMANTICS NET-04", "edge case E23", "bpo-16594", "gh-120485"}},
	{ID: "NET-05", Level: Must, Title: "listen backlog",
		Text:     "server_activate MUST listen with request_queue_size, 5 unless configured.",
		Families: streams,
		Sources:  []string{"SEMANTICS NET-05", "edge case E24", "gh-80184"}},
	{ID: "NET-07", Level: Must, Title: "datagram size",
		Text:     "A datagram server MUST read at most max_packet_size bytes (8192 unless configured) of a datagram and drop the rest.",
		Families: datagrams,
		Sources:  []string{"SEMANTICS NET-07", "edge case E33", "gh-128319"}},
	{ID: "NET-08", Level: Must, Title: "datagram reply in finish",
		Text:     "A datagram handler MUST send its reply in finish, even when empty and even when handle raised.",
		Families: datagrams,
		Sources:  []string{"SEMANTICS NET-08", "edge case E33", "SF #543318"}},
	{ID: "NET-10", Level: Should, Title: "Unix socket file removed",
		Text:     "server_close SHOULD remove the socket file the server created, so that the path can be bound again.",
		Families: unixes,
		Sources:  []string{"SEMANTICS NET-10", "edge case E34"},
		Why:      "CPython leaves the file behind and the next bind of the path fails with EADDRINUSE until somebody unlinks it."},
	{ID: "NET-11", Level: Must, Title: "reply to an unbound Unix client",
		Text:     "A datagram reply to a Unix client that has no address MUST fail into handle_error and leave the server serving.",
		Families: []string{driver.CapUnixDgram},
		Sources:  []string{"SEMANTICS NET-11", "edge case E35"}},
	{ID: "NET-12", Level: Must, Title: "bind_and_activate false",
		Text:    "With bind_and_activate false, the server MUST NOT bind or listen until server_bind and server_activate run, and server_address MUST keep the value given.",
		Sources: []string{"SEMANTICS NET-12"}},
	{ID: "NET-13", Level: Must, Title: "a silent client blocks no one",
		Text:     "A threading or forking stream server MUST go on serving other clients while one client has connected and sends nothing.",
		Families: streams,
		Sources:  []string{"SEMANTICS THR-01", "SEMANTICS FRK-01", "docs/DESIGN.md, \"Faults\": a client that connects and never sends"}},
	{ID: "NET-14", Level: Must, Title: "a reset client stops nothing",
		Text:     "A client that resets its connection in the middle of a request MUST NOT end serve_forever, and the next client MUST be served.",
		Families: streams,
		Sources:  []string{"SEMANTICS ORD-05", "docs/DESIGN.md, \"Faults\": a client that resets in mid-request"}},
	{ID: "NET-15", Level: Must, Title: "a slow client blocks no one",
		Text:     "A threading or forking stream server MUST serve other clients while one client trickles its request a byte at a time, and MUST serve the slow request whole once it is complete.",
		Families: streams,
		Sources:  []string{"SEMANTICS THR-01", "SEMANTICS FRK-01", "docs/DESIGN.md, \"Faults\": a client that trickles its request (slowloris)"}},
	{ID: "NET-16", Level: Must, Title: "a half-closed client gets its reply",
		Text:     "A client that shuts down its sending side after its request MUST still get the whole reply and then EOF.",
		Families: streams,
		Sources:  []string{"SEMANTICS ORD-02", "docs/DESIGN.md, \"Faults\": a client that half-closes"}},
	{ID: "NET-17", Level: Must, Title: "a connection storm leaves the server serving",
		Text:    "After 50 clients connect at once to a server whose request_queue_size is 5, every connection the server accepted MUST get its whole reply, and a client that connects after the storm MUST be served.",
		Needs:   []string{driver.CapTCP},
		Sources: []string{"SEMANTICS NET-05", "edge case E24", "docs/DESIGN.md, \"Faults\": a storm of connections against the backlog"}},

	// HND — stream handler details.
	{ID: "HND-01", Level: Must, Title: "wfile writes everything",
		Text:     "A stream handler's unbuffered wfile MUST send everything it is given, at once, without partial writes.",
		Families: streams,
		Sources:  []string{"SEMANTICS HND-01", "edge case E25", "Issue #26721", "test_socketserver.SocketWriterTest"}},
	{ID: "HND-02", Level: Must, Title: "finish ignores flush errors",
		Text:     "A stream handler's finish MUST ignore an error flushing to a client that went away, and MUST NOT close the connection itself.",
		Families: streams,
		Sources:  []string{"SEMANTICS HND-02", "edge case E26", "Issue #14574"}},

	// EIN — EINTR.
	{ID: "EIN-04", Level: Must, Title: "returning signal handlers are invisible",
		Text:    "A signal whose handler returns MUST NOT disturb serve_forever: no error, no lost request, no extra iteration visible to the handler.",
		Needs:   []string{driver.CapSignals},
		Sources: []string{"SEMANTICS EIN-04", "PEP 475", "Issue #23285", "SEMANTICS EIN-01", "edge case E10"}},

	// RES — resource exhaustion.
	{ID: "RES-01", Level: Should, Title: "accept back-off",
		Text:    "An EMFILE or ENFILE from accept SHOULD make the server back off instead of polling again at once, and the pending connection SHOULD be served once descriptors are free.",
		Sources: []string{"SEMANTICS RES-01", "edge case E20"},
		Why:     "CPython leaves the connection queued, so the socket stays readable and the loop burns a CPU core until a descriptor frees up."},
}

// Retired lists IDs that named rules once and are never given out again,
// and catalogue IDs that were reserved without a rule.
var Retired = []string{"SHD-06", "RES-03", "RES-04"}

// notRules are the catalogue entries that are no rule of their own.
var notRules = []NotARule{
	{"SEMANTICS FRK-03", "which descriptors a child keeps open is the implementation's business; what a client sees of it, the forked datagram reply through the shared socket, is FRK-13"},
	{"SEMANTICS FRK-04", "Python's stdout buffering at os._exit is the interpreter's behaviour, not the server's; the process adapters pin PYTHONUNBUFFERED instead"},
	{"SEMANTICS FRK-11", "ECHILD from the kernel (SIGCHLD ignored) needs the server process's signal dispositions changed, which only the process tier can arrange; it is specified with the edge-case reproductions"},
	{"SEMANTICS FRK-12", "which class names a module exports is version trivia, not behaviour"},
	{"SEMANTICS THR-06", "what the interpreter does with threads at exit is the runtime's behaviour, not the server's"},
	{"SEMANTICS THR-08", "when the block_on_close attribute is read is CPython version trivia; THR-03 covers what server_close does"},
	{"SEMANTICS NET-06", "which readiness primitive a server uses is its business; a 2.7-only fd limit, reproduced with the edge cases"},
	{"SEMANTICS NET-09", "replies through the shared socket from concurrent threads are FRK-13's rule for threads and need no rule of their own; not probed in CPython either"},
	{"SEMANTICS EIN-02", "the livelock of 2.7's _eintr_retry is what TMO-04 and EIN-04 forbid: a target that restarts its wait with the full timeout fails them"},
	{"SEMANTICS EIN-03", "an interrupted accept in 2.7 is a get_request failure, ORD-04"},
	{"SEMANTICS EIN-05", "2.7's waitpid retry loop is an implementation detail of collect_children (see FRK-05)"},
	{"SEMANTICS RES-05", "the 2.7 fd limit of select, NET-06"},
	{"edge case E13", "a race of the 2.6-era collect_children (list.remove), fixed in 2014; FRK-08 covers reaping"},
	{"edge case E21", "2.7's select on fd 1024 and above: see SEMANTICS NET-06"},
	{"edge case E27", "Forking names on platforms without fork: export trivia, see SEMANTICS FRK-12"},
	{"edge case E28", "ForkingUnix* class names: export trivia, see SEMANTICS FRK-12"},
	{"edge case E32", "child stdout lost at os._exit: see SEMANTICS FRK-04"},
}

// Catalogue lists every entry of the semantics catalogue (docs/SEMANTICS.md:
// the rule-numbered entries and the edge cases). Each must be a rule's ID or source, a retired
// ID, or a not-a-rule; a test keeps it so.
var Catalogue = func() []string {
	var ids []string
	add := func(area string, nums ...int) {
		for _, n := range nums {
			ids = append(ids, fmt.Sprintf("%s-%02d", area, n))
		}
	}
	add("ORD", span(1, 10)...)
	add("TMO", span(1, 8)...)
	add("SHD", span(1, 12)...)
	add("ERR", span(1, 6)...)
	add("FRK", span(1, 13)...)
	add("THR", span(1, 8)...)
	add("NET", span(1, 12)...)
	add("HND", 1, 2)
	add("EIN", span(1, 5)...)
	add("RES", span(1, 5)...)
	for n := 1; n <= 36; n++ {
		ids = append(ids, fmt.Sprintf("E%d", n))
	}
	return ids
}()

func span(from, to int) []int {
	var out []int
	for n := from; n <= to; n++ {
		out = append(out, n)
	}
	return out
}

var byID = func() map[string]Rule {
	m := make(map[string]Rule, len(registry))
	for i := range registry {
		r := &registry[i]
		r.Area = areaOf(r.ID)
		m[r.ID] = *r
	}
	return m
}()

func areaOf(id string) string {
	for i := range id {
		if id[i] == '-' {
			return id[:i]
		}
	}
	return id
}

// All returns every rule, sorted by area in the catalogue's order and then
// by ID. The slice is the caller's.
func All() []Rule {
	out := make([]Rule, 0, len(registry))
	for _, r := range registry {
		out = append(out, byID[r.ID])
	}
	order := map[string]int{}
	for i, a := range Areas {
		order[a] = i
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Area != out[j].Area {
			return order[out[i].Area] < order[out[j].Area]
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// Areas lists the rule areas in the catalogue's order.
var Areas = []string{"ORD", "TMO", "SHD", "ERR", "FRK", "THR", "NET", "HND", "EIN", "RES", "EDG"}

// Lookup finds a rule by ID.
func Lookup(id string) (Rule, bool) {
	r, ok := byID[id]
	return r, ok
}

// NotRules lists the catalogue entries that are deliberately no rule.
func NotRules() []NotARule {
	return append([]NotARule(nil), notRules...)
}
