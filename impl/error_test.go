package impl_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/sockspec/sockspec/impl"
	"github.com/sockspec/sockspec/internal/testkit"
)

// ERR-01: the default handle_error writes a report framed by 40 dashes that
// names the client and the error, with the stack for a panic.
func TestERR01DefaultReport(t *testing.T) {
	for _, script := range []string{"fail", "panic"} {
		t.Run(script, func(t *testing.T) {
			var log testkit.Buffer
			s := newServer(t, impl.Config{Family: impl.TCP, ErrorLog: &log})
			c := dial(t, s)
			c.send(script)
			if err := s.HandleRequest(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			out := log.String()
			dashes := strings.Repeat("-", 40)
			wantAddr := c.conn.LocalAddr().String()
			if !strings.HasPrefix(out, dashes+"\n") || !strings.HasSuffix(out, dashes+"\n") ||
				!strings.Contains(out, "Exception occurred during processing of request from "+wantAddr) {
				t.Fatalf("report:\n%s", out)
			}
			want := map[string]string{"fail": "handler failed on purpose", "panic": "goroutine "}[script]
			if !strings.Contains(out, want) {
				t.Fatalf("report lacks %q:\n%s", want, out)
			}
		})
	}
}

// ERR-02, ERR-03: handle_error receives the very error, in every dispatch
// mode; for a child it runs in the child, and its report reaches ErrorLog.
func TestERR03ErrorsReachHandleErrorInEveryMode(t *testing.T) {
	for _, d := range []impl.Dispatch{impl.Sync, impl.Threading, impl.Forking} {
		t.Run(d.String(), func(t *testing.T) {
			var log testkit.Buffer
			rec := &recorder{}
			s := newServer(t, impl.Config{Family: impl.TCP, Dispatch: d, ErrorLog: &log, Trace: rec.Trace()})
			c := dial(t, s)
			c.send("fail")
			if err := s.HandleRequest(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			c.readAll()
			s.ServerClose()
			ret := rec.Returns(impl.HookHandleError)
			if len(ret) != 1 {
				t.Fatalf("handle_error returned %d times", len(ret))
			}
			if !strings.Contains(log.String(), "handler failed on purpose") {
				t.Fatalf("ErrorLog:\n%s", log.String())
			}
		})
	}
}

// ERR-04: get_request failures never reach handle_error (see ORD-04 and
// RES-01 for the paths).

// ERR-05: a failing handle_error still shuts the request down, and its error
// leaves HandleRequest.
func TestERR05FailingHandleErrorDoesNotLeak(t *testing.T) {
	broken := errors.New("handle_error broke")
	for _, d := range []impl.Dispatch{impl.Sync, impl.Threading} {
		t.Run(d.String(), func(t *testing.T) {
			rec := &recorder{}
			s := newServer(t, impl.Config{Family: impl.TCP, Dispatch: d, Trace: rec.Trace(), Overrides: impl.Overrides{
				HandleError: func(*impl.Server, *impl.Request, error) error { return broken },
			}})
			c := dial(t, s)
			c.send("fail")
			err := s.HandleRequest(ctxT(t))
			if d == impl.Sync && !errors.Is(err, broken) {
				t.Fatalf("HandleRequest returned %v, want handle_error's error", err)
			}
			if _, err := c.readAll(); err != nil {
				t.Fatalf("client did not get EOF: %v", err)
			}
			s.ServerClose()
			if n := rec.Count(impl.HookShutdownRequest); n != 1 {
				t.Fatalf("shutdown_request ran %d times", n)
			}
		})
	}
}

// ERR-06: a request child exits 0 after success and 1 after a failure, a
// fatal error included.
func TestERR06ChildExitStatus(t *testing.T) {
	for script, want := range map[string]string{"echo ok": "0", "fail": "1", "fatal": "1", "panic": "1"} {
		t.Run(script, func(t *testing.T) {
			rec := &recorder{}
			s := newServer(t, impl.Config{Family: impl.TCP, Dispatch: impl.Forking, Trace: rec.Trace()})
			c := dial(t, s)
			c.send(script)
			if err := s.HandleRequest(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			c.readAll()
			s.ServerClose()
			exits := rec.Returns(impl.HookChildExit)
			if len(exits) != 1 || exits[0].Result != want {
				t.Fatalf("child exits %+v, want status %s", exits, want)
			}
		})
	}
}
