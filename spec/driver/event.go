package driver

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Hook names, as CPython spells the BaseServer and handler methods.
const (
	HookServerBind      = "server_bind"
	HookServerActivate  = "server_activate"
	HookServeForever    = "serve_forever"
	HookHandleRequest   = "handle_request"
	HookGetRequest      = "get_request"
	HookVerifyRequest   = "verify_request"
	HookProcessRequest  = "process_request"
	HookFinishRequest   = "finish_request"
	HookSetup           = "setup"
	HookHandle          = "handle"
	HookFinish          = "finish"
	HookShutdownRequest = "shutdown_request"
	HookCloseRequest    = "close_request"
	HookHandleError     = "handle_error"
	HookHandleTimeout   = "handle_timeout"
	HookServiceActions  = "service_actions"
	HookCollectChildren = "collect_children"
	HookShutdown        = "shutdown"
	HookServerClose     = "server_close"
	// HookChildExit is a forked child's end, seen by the parent when it
	// reaps it; Result is the exit status.
	HookChildExit = "child_exit"
	// HookFault is a fault that fired; Result names it.
	HookFault = "fault"
	// HookAcceptBackoff is a pause after a failed get_request (RES-01), of
	// implementations that back off; Result is the pause.
	HookAcceptBackoff = "accept_backoff"
)

// Phase says whether an event is a hook's call or its return.
type Phase string

const (
	Call   Phase = "call"
	Return Phase = "return"
)

// Event is one hook call or return.
type Event struct {
	Hook  string `json:"hook"`
	Phase Phase  `json:"phase"`
	// Seq orders the events of one process.
	Seq int64 `json:"seq"`
	PID int   `json:"pid"`
	// Thread identifies the thread (goroutine) within the process.
	Thread string `json:"thread,omitempty"`
	// Time is monotonic, from the session's start: when the harness got
	// the event, which puts it in one timeline with the clients' doings.
	Time time.Duration `json:"time"`
	// Stamp is when the event happened on the adapter's own clock (the
	// wire's time field, kept before the harness stamps Time), 0 when the
	// adapter sends none. Two events of one process compare by it free
	// of what the transport added: an event held up in a container's
	// attach stream arrives late, but happened on time.
	Stamp time.Duration `json:"-"`
	// Request is the request the event belongs to (an id unique within
	// the session), empty for server-level hooks.
	Request string `json:"request,omitempty"`
	// Client is the client address of the request, "" when none.
	Client string `json:"client,omitempty"`
	// Result is the return value of a Return event (repr), or the exit
	// status of child_exit.
	Result string `json:"result,omitempty"`
	// Exception is what a Return event raised; for handle_error's call,
	// the exception it is handling.
	Exception *Exception `json:"exception,omitempty"`
}

func (e Event) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", e.Hook, e.Phase)
	if e.Request != "" {
		fmt.Fprintf(&b, " req=%s", e.Request)
	}
	if e.Result != "" {
		fmt.Fprintf(&b, " -> %s", e.Result)
	}
	if e.Exception != nil {
		fmt.Fprintf(&b, " !%s", e.Exception)
	}
	return b.String()
}

// Trace is a session's event log: appended to by the target, read and
// waited on by specs. It is safe for concurrent use.
type Trace struct {
	mu     sync.Mutex
	events []Event
	notify chan struct{}
}

// Append adds events and wakes the waiters.
func (t *Trace) Append(es ...Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.events = append(t.events, es...)
	if t.notify != nil {
		close(t.notify)
		t.notify = nil
	}
}

// Events returns a copy of the log.
func (t *Trace) Events() []Event {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Event(nil), t.events...)
}

// Wait blocks until cond holds for the log, or ctx ends (ErrNoReply).
func (t *Trace) Wait(ctx context.Context, cond func([]Event) bool) error {
	for {
		t.mu.Lock()
		if cond(t.events) {
			t.mu.Unlock()
			return nil
		}
		if t.notify == nil {
			t.notify = make(chan struct{})
		}
		ch := t.notify
		t.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ErrNoReply
		}
	}
}

// Count is the number of events of hook in phase.
func Count(es []Event, hook string, phase Phase) int {
	n := 0
	for _, e := range es {
		if e.Hook == hook && e.Phase == phase {
			n++
		}
	}
	return n
}

// Calls lists the hooks called, in order, of the events that keep holds for.
func Calls(es []Event, keep func(Event) bool) []string {
	var out []string
	for _, e := range es {
		if e.Phase == Call && (keep == nil || keep(e)) {
			out = append(out, e.Hook)
		}
	}
	return out
}
