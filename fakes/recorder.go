package fakes

import (
	"sync"

	"github.com/sockspec/sockspec/impl"
)

// Recorder keeps every hook event of a server, in the order the server
// reported them, for a test to read while the server still runs. Give a
// server its Trace; the zero value is ready.
type Recorder struct {
	mu     sync.Mutex
	events []impl.Event
}

// Trace is the server trace that records into r.
func (r *Recorder) Trace() *impl.ServerTrace {
	add := func(e impl.Event) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.events = append(r.events, e)
	}
	return &impl.ServerTrace{Call: add, Return: add}
}

// Events is a copy of what was recorded so far.
func (r *Recorder) Events() []impl.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]impl.Event(nil), r.events...)
}

// Calls lists the hooks called, in order, keeping only the calls every
// filter accepts (a request's id, a process).
func (r *Recorder) Calls(filter ...func(impl.Event) bool) []string {
	var out []string
next:
	for _, e := range r.Events() {
		if e.Phase != impl.Call {
			continue
		}
		for _, f := range filter {
			if !f(e) {
				continue next
			}
		}
		out = append(out, string(e.Hook))
	}
	return out
}

// Returns lists the returns of hook h, in order.
func (r *Recorder) Returns(h impl.Hook) []impl.Event {
	var out []impl.Event
	for _, e := range r.Events() {
		if e.Phase == impl.Return && e.Hook == h {
			out = append(out, e)
		}
	}
	return out
}

// Count is how often hook h was called.
func (r *Recorder) Count(h impl.Hook) int {
	n := 0
	for _, c := range r.Calls() {
		if c == string(h) {
			n++
		}
	}
	return n
}
