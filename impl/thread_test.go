package impl_test

import (
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sockspec/sockspec/impl"
	"github.com/sockspec/sockspec/internal/testkit"
)

// THR-01: process_request returns at once; the request runs on its own
// goroutine while the loop goes on.
func TestTHR01RequestOnItsOwnGoroutine(t *testing.T) {
	s := newServer(t, impl.Config{Family: impl.TCP, Dispatch: impl.Threading})
	held := dial(t, s)
	held.send("hold")
	if err := s.HandleRequest(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	held.readLine()
	// A second request is served while the first is still held.
	c := dial(t, s)
	c.send("echo meanwhile")
	if err := s.HandleRequest(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.readAll(); got != "meanwhile\n" {
		t.Fatalf("reply %q", got)
	}
	held.send("go")
	if got := held.readLine(); got != "released\n" {
		t.Fatalf("held reply %q", got)
	}
}

// THR-03: ServerClose joins request goroutines unless they are daemons or
// block_on_close is off.
func TestTHR03BlockOnClose(t *testing.T) {
	cases := map[string]impl.Config{
		"joined":            {},
		"daemon":            {DaemonThreads: true},
		"no-block-on-close": {NoBlockOnClose: true},
	}
	for name, cfg := range cases {
		t.Run(name, func(t *testing.T) {
			rec := &recorder{}
			cfg.Family, cfg.Dispatch, cfg.Trace = impl.TCP, impl.Threading, rec.Trace()
			s := newServer(t, cfg)
			c := dial(t, s)
			c.send("hold")
			if err := s.HandleRequest(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			c.readLine()
			closed := make(chan error, 1)
			go func() { closed <- s.ServerClose() }()
			joined := name == "joined"
			if !joined {
				recv(t, closed, "ServerClose") // returns while the request is held
			}
			c.send("go")
			c.readAll()
			if joined {
				recv(t, closed, "ServerClose")
				var order []string
				for _, e := range rec.Events() {
					if e.Phase == impl.Return && (e.Hook == impl.HookCloseRequest || e.Hook == impl.HookServerClose) {
						order = append(order, string(e.Hook))
					}
				}
				if !slices.Equal(order, []string{"close_request", "server_close"}) {
					t.Fatalf("ServerClose did not wait for the request: %v", order)
				}
			}
			rec.waitFor(t, impl.HookCloseRequest, 1) // the goroutine has finished
		})
	}
}

// THR-02: exactly one shutdown_request per request, whatever the handler
// did (see also ORD-07), and a fatal error does not reach handle_error.
func TestTHR02FatalInRequestGoroutine(t *testing.T) {
	rec := &recorder{}
	s := newServer(t, impl.Config{Family: impl.TCP, Dispatch: impl.Threading, Trace: rec.Trace()})
	c := dial(t, s)
	c.send("fatal")
	if err := s.HandleRequest(ctxT(t)); err != nil {
		t.Fatalf("a fatal error in a request goroutine stopped the loop: %v", err)
	}
	c.readAll()
	s.ServerClose()
	if rec.Count(impl.HookHandleError) != 0 || rec.Count(impl.HookShutdownRequest) != 1 {
		t.Fatalf("trace %v", rec.Calls())
	}
}

// THR-05: a request goroutine that cannot start takes the handle_error
// path; the client gets EOF and ServerClose does not fail on it.
func TestTHR05GoroutineStartFailure(t *testing.T) {
	var calls atomic.Int32
	var got error
	s := newServer(t, impl.Config{Family: impl.TCP, Dispatch: impl.Threading,
		Go: func(f func()) error {
			if calls.Add(1) == 1 {
				return errors.New("can't start new thread")
			}
			go f()
			return nil
		},
		Overrides: impl.Overrides{HandleError: func(s *impl.Server, r *impl.Request, err error) error { got = err; return nil }}})
	c := dial(t, s)
	c.send("echo x")
	if err := s.HandleRequest(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if got == nil || !strings.Contains(got.Error(), "can't start") {
		t.Fatalf("handle_error got %v", got)
	}
	if reply, err := c.readAll(); reply != "" || err != nil {
		t.Fatalf("client %q %v", reply, err)
	}
	c2 := dial(t, s)
	c2.send("echo y")
	if err := s.HandleRequest(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if reply, _ := c2.readAll(); reply != "y\n" {
		t.Fatalf("reply %q", reply)
	}
	if err := s.ServerClose(); err != nil {
		t.Fatalf("ServerClose after a failed start: %v", err)
	}
}

// THR-07: concurrent failures write whole reports, never interleaved.
func TestTHR07ReportsDoNotInterleave(t *testing.T) {
	var log testkit.Buffer
	s := newServer(t, impl.Config{Family: impl.TCP, Dispatch: impl.Threading, ErrorLog: &log})
	serve(t, s, hour)
	const n = 8
	done := make(chan struct{}, n)
	for i := 0; i < n; i++ {
		go func() {
			defer func() { done <- struct{}{} }()
			c := dial(t, s)
			c.send("panic")
			c.readAll()
		}()
	}
	for i := 0; i < n; i++ {
		recv(t, done, "clients")
	}
	s.ServerClose()
	dashes := strings.Repeat("-", 40)
	reports := strings.Split(strings.TrimSpace(log.String()), dashes+"\n"+dashes)
	if len(reports) != n {
		t.Fatalf("%d reports, want %d:\n%s", len(reports), n, log.String())
	}
	for _, r := range reports {
		if strings.Count(r, "Exception occurred") != 1 {
			t.Fatalf("interleaved report:\n%s", r)
		}
	}
}
