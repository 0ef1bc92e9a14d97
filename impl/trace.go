package impl

import (
	"os"
	"time"
)

// Hook names a step of the BaseServer pipeline, spelled as CPython spells the
// method, so that traces of the reference and of CPython read alike.
type Hook string

// The steps a Server traces.
const (
	HookGetRequest      Hook = "get_request"
	HookVerifyRequest   Hook = "verify_request"
	HookProcessRequest  Hook = "process_request"
	HookFinishRequest   Hook = "finish_request"
	HookSetup           Hook = "setup"
	HookHandle          Hook = "handle"
	HookFinish          Hook = "finish"
	HookShutdownRequest Hook = "shutdown_request"
	HookCloseRequest    Hook = "close_request"
	HookHandleError     Hook = "handle_error"
	HookHandleTimeout   Hook = "handle_timeout"
	HookServiceActions  Hook = "service_actions"
	HookCollectChildren Hook = "collect_children"
	HookServerBind      Hook = "server_bind"
	HookServerActivate  Hook = "server_activate"
	HookServerClose     Hook = "server_close"
	HookShutdown        Hook = "shutdown"
	HookServeForever    Hook = "serve_forever"
	HookHandleRequest   Hook = "handle_request"
	// HookChildExit is not a CPython method: it records that a request child
	// was reaped, with its exit status in Result.
	HookChildExit Hook = "child_exit"
	// HookAcceptBackoff records a pause after a failed get_request (RES-01),
	// with the pause in Result.
	HookAcceptBackoff Hook = "accept_backoff"
)

// Phase tells a call from its return.
type Phase uint8

const (
	Call Phase = iota + 1
	Return
)

func (p Phase) String() string {
	if p == Call {
		return "call"
	}
	return "return"
}

// Event is one traced step.
type Event struct {
	Hook  Hook
	Phase Phase
	// Request is the request's number on this server (from 1), or 0 for steps
	// that are not about one request.
	Request uint64
	// ClientAddr is the peer address, as a string ("" when there is none).
	ClientAddr string
	// PID is the process that ran the step: the server, or a request child.
	PID int
	// Goroutine is the goroutine that ran the step, within PID: what tells
	// the serving loop from request goroutines (THR-07).
	Goroutine uint64
	// Time is when the step was called or returned.
	Time time.Time
	// Err is the error a step returned (Return events), or, on the Call
	// event of handle_error, the error it is called to handle.
	Err error
	// Result is a step's result when it has one: "true"/"false" for
	// verify_request, the exit status for child_exit, the pause for
	// accept_backoff, the child's pid for process_request under Forking.
	Result string
}

// ServerTrace receives events as steps are called and return, in the style
// of net/http/httptrace. Either func may be nil. They are called on the
// goroutine that runs the step (request goroutines included), and, for steps
// run in a request child, on a goroutine of the parent that relays them, so
// they must be safe for concurrent use and should return quickly.
type ServerTrace struct {
	Call   func(Event)
	Return func(Event)
}

func (t *ServerTrace) emit(e Event) {
	if t == nil {
		return
	}
	if e.Phase == Call && t.Call != nil {
		t.Call(e)
	}
	if e.Phase == Return && t.Return != nil {
		t.Return(e)
	}
}

// tracer stamps events with the process id and the time.
type tracer struct {
	trace *ServerTrace
	clock Clock
	pid   int
}

func newTracer(t *ServerTrace, c Clock) tracer { return tracer{trace: t, clock: c, pid: os.Getpid()} }

func (t tracer) call(h Hook, r *Request) { t.callWith(h, r, nil) }

// callWith traces a call that is about an error: handle_error's.
func (t tracer) callWith(h Hook, r *Request, cause error) {
	if t.trace == nil {
		return
	}
	t.trace.emit(Event{Hook: h, Phase: Call, Request: r.id(), ClientAddr: r.addr(), PID: t.pid, Goroutine: goid(), Time: t.clock.Now(), Err: cause})
}

func (t tracer) ret(h Hook, r *Request, err error, result string) {
	if t.trace == nil {
		return
	}
	t.trace.emit(Event{Hook: h, Phase: Return, Request: r.id(), ClientAddr: r.addr(), PID: t.pid, Goroutine: goid(), Time: t.clock.Now(), Err: err, Result: result})
}
