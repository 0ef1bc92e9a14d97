package impl_test

import (
	"context"
	"net"
	"os"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sockspec/sockspec/impl"
	"github.com/sockspec/sockspec/netsim"
)

// These tests run the server on an in-memory network inside a synctest
// bubble, where time is virtual: a wait of a second costs none, and the
// times the trace records are exact.

// TMO-02: when the wait expires with nothing pending, HandleRequest calls
// handle_timeout once, after exactly the timeout, and never get_request.
func TestTMO02TimeoutExpires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		s := newServer(t, impl.Config{Family: impl.TCP, Network: &netsim.Network{}, Timeout: impl.After(time.Second), Trace: rec.Trace()})
		start := time.Now()
		if err := s.HandleRequest(context.Background()); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != time.Second {
			t.Fatalf("returned after %v, want 1s", d)
		}
		if rec.Count(impl.HookHandleTimeout) != 1 || rec.Count(impl.HookGetRequest) != 0 {
			t.Fatalf("calls %v, want one handle_timeout and no get_request", rec.Calls())
		}
	})
}

// TMO-03: a timeout of zero is one poll that does not block: handle_timeout
// at once when nothing is pending, the request when one is.
func TestTMO03ZeroTimeoutPolls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := &netsim.Network{}
		rec := &recorder{}
		s := newServer(t, impl.Config{Family: impl.TCP, Network: n, Timeout: impl.After(0), Trace: rec.Trace(),
			Handler: impl.LineTransform(func(b []byte) []byte { return b })})
		start := time.Now()
		if err := s.HandleRequest(context.Background()); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != 0 || rec.Count(impl.HookHandleTimeout) != 1 {
			t.Fatalf("after %v, %d handle_timeout calls; want at once, 1", d, rec.Count(impl.HookHandleTimeout))
		}
		c, err := n.Dial(context.Background(), "tcp", s.Address())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte("x\n"))
		if err := s.HandleRequest(context.Background()); err != nil {
			t.Fatal(err)
		}
		if rec.Count(impl.HookHandleTimeout) != 1 || rec.Count(impl.HookProcessRequest) != 1 {
			t.Fatalf("the pending request was not served: %v", rec.Calls())
		}
	})
}

// wakingNetwork is an in-memory network whose listeners wake their first
// readiness wait early with nothing pending, as a signal or a wake-up of
// the poller does.
type wakingNetwork struct {
	*netsim.Network
	after time.Duration
}

func (w *wakingNetwork) Listen(ctx context.Context, network, address string) (net.Listener, error) {
	ln, err := w.Network.Listen(ctx, network, address)
	if err != nil {
		return nil, err
	}
	return &wakingListener{Listener: ln.(*netsim.Listener), after: w.after}, nil
}

type wakingListener struct {
	*netsim.Listener
	after time.Duration
	woke  bool
}

func (l *wakingListener) WaitReady() error {
	if !l.woke {
		l.woke = true
		time.Sleep(l.after) // virtual time: the moment of the early wake-up
		return os.ErrDeadlineExceeded
	}
	return l.Listener.WaitReady()
}

// TMO-04: the deadline is computed once; an early wake-up waits only for
// what is left of it, so HandleRequest returns after the timeout and not
// later.
func TestTMO04DeadlineHoldsAcrossWakeUps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		s := newServer(t, impl.Config{Family: impl.TCP, Network: &wakingNetwork{Network: &netsim.Network{}, after: 400 * time.Millisecond},
			Timeout: impl.After(time.Second), Trace: rec.Trace()})
		start := time.Now()
		if err := s.HandleRequest(context.Background()); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != time.Second {
			t.Fatalf("returned after %v, want 1s", d)
		}
		if n := rec.Count(impl.HookHandleTimeout); n != 1 {
			t.Fatalf("%d handle_timeout calls, want 1", n)
		}
	})
}

// serviceTimes serves for the given virtual time and returns the times of
// the service_actions calls.
func serviceTimes(t *testing.T, cfg impl.Config, poll, span time.Duration, during func(s *impl.Server)) (start time.Time, times []time.Duration, rec *recorder) {
	rec = &recorder{}
	cfg.Trace = rec.Trace()
	s := newServer(t, cfg)
	start = time.Now()
	done := make(chan error, 1)
	go func() { done <- s.ServeForever(context.Background(), poll) }()
	if during != nil {
		during(s)
	}
	time.Sleep(span - time.Since(start)) // virtual time
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, e := range rec.Events() {
		if e.Hook == impl.HookServiceActions && e.Phase == impl.Call {
			times = append(times, e.Time.Sub(start))
		}
	}
	return start, times, rec
}

// TMO-05, TMO-07: ServeForever ignores the server's timeout, never calls
// handle_timeout, waits poll_interval per idle iteration and calls
// service_actions once per iteration.
func TestTMO05ServeForeverIgnoresTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := impl.Config{Family: impl.TCP, Network: &netsim.Network{}, Timeout: impl.After(10 * time.Millisecond)}
		_, times, rec := serviceTimes(t, cfg, 100*time.Millisecond, 450*time.Millisecond, nil)
		want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond, 400 * time.Millisecond}
		if !equalDurations(times, want) {
			t.Fatalf("service_actions at %v, want %v", times, want)
		}
		if n := rec.Count(impl.HookHandleTimeout); n != 0 {
			t.Fatalf("%d handle_timeout calls from ServeForever", n)
		}
	})
}

// TMO-07: an iteration that served a request ends with service_actions too,
// and the next wait starts afresh.
func TestTMO07ServiceActionsAfterRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := &netsim.Network{}
		cfg := impl.Config{Family: impl.TCP, Network: n, Handler: impl.LineTransform(func(b []byte) []byte { return b })}
		_, times, _ := serviceTimes(t, cfg, 100*time.Millisecond, 300*time.Millisecond, func(s *impl.Server) {
			time.Sleep(50 * time.Millisecond)
			c, err := n.Dial(context.Background(), "tcp", s.Address())
			if err != nil {
				t.Fatal(err)
			}
			c.Write([]byte("x\n"))
			c.Close()
		})
		want := []time.Duration{50 * time.Millisecond, 150 * time.Millisecond, 250 * time.Millisecond}
		if !equalDurations(times, want) {
			t.Fatalf("service_actions at %v, want %v", times, want)
		}
	})
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
