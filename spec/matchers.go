package spec

import (
	"fmt"
	"strings"

	"github.com/onsi/gomega/gcustom"
	"github.com/onsi/gomega/types"

	"github.com/sockspec/sockspec/spec/driver"
)

// Events a formatted trace keeps from its start and its end.
const (
	traceHead = 120
	traceTail = 30
)

// FormatTrace renders events one a line, for failure messages: the actual
// trace is what a reader of a failing verdict needs first.
func FormatTrace(es []driver.Event) string {
	var b strings.Builder
	for i, e := range es {
		// A spinning loop traces without end: keep the head and the tail.
		if len(es) > traceHead+traceTail && i == traceHead {
			fmt.Fprintf(&b, "  … %d events left out\n", len(es)-traceHead-traceTail)
		}
		if len(es) > traceHead+traceTail && i >= traceHead && i < len(es)-traceTail {
			continue
		}
		fmt.Fprintf(&b, "  %4d pid=%d %s\n", e.Seq, e.PID, e)
	}
	if b.Len() == 0 {
		return "  (no events)\n"
	}
	return b.String()
}

// Calls lists the hooks called in es, optionally only of one request.
func Calls(es []driver.Event, request string) []string {
	return driver.Calls(es, func(e driver.Event) bool { return request == "" || e.Request == request })
}

// RequestIDs lists the requests of es in the order they first appear.
func RequestIDs(es []driver.Event) []string {
	seen := map[string]bool{}
	var out []string
	for _, e := range es {
		if e.Request != "" && !seen[e.Request] {
			seen[e.Request] = true
			out = append(out, e.Request)
		}
	}
	return out
}

// PipelineHooks are the hooks of one request's pipeline.
var PipelineHooks = []string{
	driver.HookGetRequest, driver.HookVerifyRequest, driver.HookProcessRequest, driver.HookFinishRequest,
	driver.HookSetup, driver.HookHandle, driver.HookFinish, driver.HookShutdownRequest, driver.HookCloseRequest,
	driver.HookHandleError,
}

// OnlyHooks keeps the events of the given hooks.
func OnlyHooks(es []driver.Event, hooks ...string) []driver.Event {
	var out []driver.Event
	for _, e := range es {
		for _, h := range hooks {
			if e.Hook == h {
				out = append(out, e)
				break
			}
		}
	}
	return out
}

// traceMatcher judges a trace and prints it in full when it fails.
type traceMatcher struct {
	want  string
	match func([]driver.Event) bool
}

func (m traceMatcher) events(actual any) ([]driver.Event, error) {
	switch a := actual.(type) {
	case []driver.Event:
		return a, nil
	case *Server:
		return a.Events(), nil
	}
	return nil, fmt.Errorf("trace matcher: got %T, want []driver.Event or *spec.Server", actual)
}

func (m traceMatcher) Match(actual any) (bool, error) {
	es, err := m.events(actual)
	if err != nil {
		return false, err
	}
	return m.match(es), nil
}

func (m traceMatcher) FailureMessage(actual any) string {
	es, _ := m.events(actual)
	return fmt.Sprintf("Expected %s; the trace was:\n%s", m.want, FormatTrace(es))
}

func (m traceMatcher) NegatedFailureMessage(actual any) string {
	es, _ := m.events(actual)
	return fmt.Sprintf("Expected NOT %s; the trace was:\n%s", m.want, FormatTrace(es))
}

// HaveTracedInOrder succeeds when the calls of hooks appear in the trace in
// this order, other calls in between allowed.
func HaveTracedInOrder(hooks ...string) types.GomegaMatcher {
	return traceMatcher{want: "the calls " + strings.Join(hooks, " → ") + " in this order", match: func(es []driver.Event) bool {
		i := 0
		for _, e := range es {
			if i < len(hooks) && e.Phase == driver.Call && e.Hook == hooks[i] {
				i++
			}
		}
		return i == len(hooks)
	}}
}

// HaveTracedExactly succeeds when the calls of the pipeline hooks, in
// order, are exactly hooks (other hooks are ignored).
func HaveTracedExactly(hooks ...string) types.GomegaMatcher {
	return traceMatcher{want: "the pipeline calls to be exactly " + strings.Join(hooks, " → "), match: func(es []driver.Event) bool {
		got := driver.Calls(OnlyHooks(es, PipelineHooks...), nil)
		return strings.Join(got, ",") == strings.Join(hooks, ",")
	}}
}

// HaveTracedTimes succeeds when hook was called n times.
func HaveTracedTimes(hook string, n int) types.GomegaMatcher {
	return traceMatcher{want: fmt.Sprintf("%d calls of %s", n, hook), match: func(es []driver.Event) bool {
		return driver.Count(es, hook, driver.Call) == n
	}}
}

// HaveTracedOnce succeeds when hook was called exactly once.
func HaveTracedOnce(hook string) types.GomegaMatcher { return HaveTracedTimes(hook, 1) }

// HaveNotTraced succeeds when hook was never called.
func HaveNotTraced(hook string) types.GomegaMatcher { return HaveTracedTimes(hook, 0) }

// HaveRaised succeeds for a Result that raised an exception of kind.
func HaveRaised(kind driver.ExceptionKind) types.GomegaMatcher {
	return gcustom.MakeMatcher(func(r driver.Result) (bool, error) {
		return r.Exception != nil && r.Exception.Kind == kind, nil
	}).WithTemplate(fmt.Sprintf("Expected the call to raise a %s exception, but it {{.Actual}}", kind))
}

// HaveReturned succeeds for a Result without an exception.
func HaveReturned() types.GomegaMatcher {
	return gcustom.MakeMatcher(func(r driver.Result) (bool, error) {
		return r.Exception == nil, nil
	}).WithTemplate("Expected the call to return, but it {{.Actual}}")
}
