package driver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"time"
)

// Capabilities is the set of capability names a target has (the Cap…
// constants: "tcp", "forking", "trace", …).
type Capabilities []string

// Has reports whether every name is in c.
func (c Capabilities) Has(names ...string) bool {
	for _, n := range names {
		if !slices.Contains(c, n) {
			return false
		}
	}
	return true
}

// Info describes an implementation, as its hello does.
type Info struct {
	Name         string       `json:"name"`     // "reference", "cpython"
	Version      string       `json:"version"`  // "3.11.7"
	Language     string       `json:"language"` // "go", "python"
	Capabilities Capabilities `json:"capabilities"`
}

// Target is an implementation under test. A Target is shared by the whole
// run; each spec starts its own Session.
type Target interface {
	Info() Info
	// Start creates, binds and activates a server as cfg says (or only
	// creates it when cfg.BindAndActivate is false). The context bounds
	// the start, not the session.
	Start(ctx context.Context, cfg ServerConfig) (Session, error)
	// Close releases what the target holds across sessions.
	Close() error
}

// Session is one server of a target and the means to drive it. Every
// method that waits takes a context and returns ErrNoReply when the
// context ends first: a target that stops answering is a verdict (HANG),
// not a reason for the harness to hang.
type Session interface {
	// Address is the bound address: "host:port", or a socket path.
	Address() string
	// Dial opens a client connection of the session's family. A Unix
	// datagram client is bound to a fresh path, so that it can be
	// replied to, unless unbound is true.
	Dial(ctx context.Context, unbound bool) (net.Conn, error)
	// HandleRequest runs handle_request() and returns its result.
	HandleRequest(ctx context.Context) (Result, error)
	// ServeForever starts serve_forever(pollInterval) in the background
	// and returns once the call has begun; its return is traced.
	ServeForever(ctx context.Context, pollInterval time.Duration) error
	// Shutdown runs shutdown() from the control side and returns when it
	// returned.
	Shutdown(ctx context.Context) (Result, error)
	// ServerClose runs server_close().
	ServerClose(ctx context.Context) (Result, error)
	// State reports what the server keeps.
	State(ctx context.Context) (State, error)
	// Trace is the session's event log, live.
	Trace() *Trace
	// Close ends the session whatever its state: stops the loop, closes
	// the server, kills and reaps every process and goroutine it started.
	Close() error
}

// Result is how a call returned: a value (Python's repr, "None" for
// None) or an exception.
type Result struct {
	Value     string     `json:"value,omitempty"`
	Exception *Exception `json:"exception,omitempty"`
}

// Raised reports whether the call raised.
func (r Result) Raised() bool { return r.Exception != nil }

func (r Result) String() string {
	if r.Exception != nil {
		return "raised " + r.Exception.String()
	}
	return "returned " + r.Value
}

// Exception is an error a call raised, by kind. Type is Python's class
// name where there is one (OSError, ValueError, SystemExit, RuntimeError)
// and the Go error's kind otherwise.
type Exception struct {
	Type    string `json:"type"`
	Message string `json:"message,omitempty"`
	// Kind classifies Type for target-neutral rules.
	Kind ExceptionKind `json:"kind"`
}

func (e *Exception) String() string {
	if e.Message == "" {
		return e.Type
	}
	return e.Type + ": " + e.Message
}

// ExceptionKind is what a rule needs to know of an exception.
type ExceptionKind string

const (
	// Ordinary is an Exception subclass: handle_error's business.
	Ordinary ExceptionKind = "ordinary"
	// Fatal is a BaseException that is not an Exception (SystemExit,
	// KeyboardInterrupt; impl.FatalError): it passes handle_error by.
	Fatal ExceptionKind = "fatal"
	// Closed is the error of using a closed server.
	Closed ExceptionKind = "closed"
	// Misuse is an error that names a wrong call (shutdown from the serving
	// thread, serve_forever twice).
	Misuse ExceptionKind = "misuse"
)

// State is what a server keeps between requests.
type State struct {
	Serving bool `json:"serving"` // serve_forever is running
	Closed  bool `json:"closed"`  // server_close was called
	// ActiveChildren is the number of children a forking server tracks.
	ActiveChildren int `json:"active_children"`
	// Threads is the number of request threads a threading server keeps
	// a record of (to join), -1 when it keeps none.
	Threads int `json:"threads"`
	// PID of the server process.
	PID int `json:"pid"`
	// Timeout is the server's timeout attribute as Python would print it:
	// "None", "300", "0.5".
	Timeout string `json:"timeout"`
	// ShutdownRequested is the server's own record that shutdown() asked
	// the running serve_forever to stop (CPython's __shutdown_request);
	// nil when the target does not say. A shutdown call in the trace only
	// says the call began: the flag is set a moment later, on another
	// thread, and a spec about what the loop does once it is set waits
	// for it here.
	ShutdownRequested *bool `json:"shutdown_requested,omitempty"`
}

// Errors a session returns for the harness, not for the target.
var (
	// ErrNoReply: the context ended before the target answered.
	ErrNoReply = errors.New("driver: the target did not answer in time")
	// ErrSessionClosed: the session was closed.
	ErrSessionClosed = errors.New("driver: the session is closed")
	// ErrNotBlocked: no thread of the server was blocked in a wait, so a
	// signal meant to interrupt one was not sent.
	ErrNotBlocked = errors.New("driver: no thread of the server is blocked in a wait; the signal was not sent")
)

// UnsupportedError is returned by Start for a configuration the target
// cannot build (a family or dispatch it lacks): the spec is N/A.
type UnsupportedError struct{ What string }

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("driver: the target does not support %s", e.What)
}

// ContextManager is a Session whose server can be used as a context
// manager (Python's with statement, Go's defer Close): ExitContext leaves
// the block, as an exception-free exit would.
type ContextManager interface {
	ExitContext(ctx context.Context) (Result, error)
}

// StderrReader is a Session that captures what the server writes to its
// standard error (handle_error's reports), children included.
type StderrReader interface {
	Stderr() string
}

// Signaller is a Session that can deliver signals to the server's process
// while the server runs. The adapter has installed a handler that returns
// normally (so a signal only interrupts system calls: EINTR), unless the
// signal is SIGUSR2, whose handler raises an exception (SHD-12).
//
// A session that can see the server's threads (its server is a process
// of its own) delivers the signal only to the threads /proc shows blocked
// in a readiness wait, and returns ErrNotBlocked, sending nothing, when
// none is: every signal it sends interrupts a wait.
type Signaller interface {
	// Signal delivers sig ("SIGUSR1", "SIGALRM", "SIGUSR2") once.
	Signal(ctx context.Context, sig string) error
}

// ForeignChildren is a Session that can start, in the server's own
// process, a child process the server did not fork: what a program that
// embeds the server also runs. FRK-07 asks that the server never reaps it.
type ForeignChildren interface {
	StartForeignChild(ctx context.Context) (ForeignChild, error)
}

// ForeignChild is a child of the server's process that its owner, not the
// server, waits for.
type ForeignChild interface {
	// Exit makes the child exit with status ForeignChildStatus.
	Exit(ctx context.Context) error
	// Reap waits for the child as its owner does. Stolen is true when the
	// owner found no child to wait for (ECHILD): somebody else in the
	// process reaped it. Status is the exit status otherwise.
	Reap(ctx context.Context) (status int, stolen bool, err error)
}

// ForeignChildStatus is the exit status of a foreign child told to exit.
const ForeignChildStatus = 7

// Inspector is a Session whose server runs in a process the harness can
// look at from outside (/proc): the hygiene oracle compares what the
// process holds after a spec with what it held after it started.
type Inspector interface {
	Inspect(ctx context.Context) (Hygiene, error)
}

// Hygiene is what a server process holds at one moment.
type Hygiene struct {
	PID int `json:"pid"`
	// Zombies are children of the server that exited and were not reaped.
	Zombies int `json:"zombies"`
	// Children are live children of the server (request children).
	Children int `json:"children"`
	FDs      int `json:"fds"`
	// FDNames are what the descriptors refer to, as /proc/PID/fd's links
	// read: "socket:[1234]", "pipe:[99]", "/dev/null".
	FDNames []string `json:"fd_names,omitempty"`
	Threads int      `json:"threads"`
	// CPU is the user and system time the process has used so far.
	CPU time.Duration `json:"cpu_ns"`
	// Runnable is how long the process's threads have been on a CPU or
	// waiting in a run queue for one: what it wanted of the CPU, which
	// unlike CPU does not shrink when other processes load the machine.
	// 0 where the kernel keeps no scheduler statistics.
	Runnable time.Duration `json:"runnable_ns,omitempty"`
	// Age is how long the process has run.
	Age time.Duration `json:"age_ns"`
}
