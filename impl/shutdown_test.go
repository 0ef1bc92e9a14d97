package impl_test

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/sockspec/sockspec/impl"
)

// hour is a poll interval no test may wait out: a test that passes with it
// proves the loop was woken, not that it polled.
const hour = time.Hour

// SHD-01: Shutdown returns only after ServeForever has returned, and wakes
// the loop at once instead of waiting for the poll interval (gh-88932).
func TestSHD01ShutdownWaitsForLoopAndWakesIt(t *testing.T) {
	rec := &recorder{}
	s := newServer(t, impl.Config{Family: impl.TCP, Trace: rec.Trace()})
	done := serve(t, s, hour)
	// The loop is serving once it answered a request.
	c := dial(t, s)
	c.send("echo up")
	if got, _ := c.readAll(); got != "up\n" {
		t.Fatalf("reply %q", got)
	}
	if err := s.Shutdown(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.Returns(impl.HookServeForever)); n != 1 {
		t.Fatal("Shutdown returned before ServeForever did")
	}
	if err := recv(t, done, "ServeForever"); err != nil {
		t.Fatalf("ServeForever returned %v after Shutdown, want nil", err)
	}
}

// SHD-01: Shutdown gives up when its context ends while the loop is busy
// in a synchronous request.
func TestSHD01ShutdownHonoursContext(t *testing.T) {
	s := newServer(t, impl.Config{Family: impl.TCP})
	serve(t, s, hour)
	c := dial(t, s)
	c.send("hold")
	c.readLine() // the handler runs on the serving goroutine now
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	c.send("go")
	if got := c.readLine(); got != "released\n" {
		t.Fatalf("reply %q", got)
	}
}

// SHD-02: Shutdown on the serving goroutine requests the stop and returns a
// typed error instead of deadlocking: from a synchronous handler, from
// verify_request and from service_actions.
func TestSHD02ShutdownFromServingGoroutine(t *testing.T) {
	fromHandler := func(cfg *impl.Config, got chan<- error) {
		cfg.Handler = impl.StreamHandlerFunc(func(h *impl.StreamHandler, r *impl.Request) error {
			got <- r.Server.Shutdown(context.Background())
			return nil
		})
	}
	fromVerify := func(cfg *impl.Config, got chan<- error) {
		cfg.Overrides.VerifyRequest = func(s *impl.Server, r *impl.Request) bool {
			got <- s.Shutdown(context.Background())
			return true
		}
	}
	fromService := func(cfg *impl.Config, got chan<- error) {
		cfg.Overrides.ServiceActions = func(s *impl.Server) error {
			got <- s.Shutdown(context.Background())
			return nil
		}
	}
	for name, install := range map[string]func(*impl.Config, chan<- error){
		"handler": fromHandler, "verify_request": fromVerify, "service_actions": fromService,
	} {
		t.Run(name, func(t *testing.T) {
			got := make(chan error, 10)
			cfg := impl.Config{Family: impl.TCP}
			install(&cfg, got)
			s := newServer(t, cfg)
			done := serve(t, s, hour)
			dial(t, s).send("echo x")
			if err := recv(t, got, "Shutdown to return"); !errors.Is(err, impl.ErrShutdownFromServingGoroutine) {
				t.Fatalf("Shutdown returned %v", err)
			}
			if err := recv(t, done, "ServeForever to stop"); err != nil {
				t.Fatalf("ServeForever returned %v", err)
			}
		})
	}
}

// SHD-02 under Threading: a handler on its own goroutine may call Shutdown
// and wait; the loop is free to stop.
func TestSHD02ShutdownFromRequestGoroutineWaits(t *testing.T) {
	got := make(chan error, 1)
	s := newServer(t, impl.Config{Family: impl.TCP, Dispatch: impl.Threading,
		Handler: impl.StreamHandlerFunc(func(h *impl.StreamHandler, r *impl.Request) error {
			got <- r.Server.Shutdown(context.Background())
			return nil
		})})
	done := serve(t, s, hour)
	dial(t, s).send("x")
	if err := recv(t, got, "Shutdown"); err != nil {
		t.Fatal(err)
	}
	if err := recv(t, done, "ServeForever"); err != nil {
		t.Fatal(err)
	}
}

// SHD-03: Shutdown before any ServeForever returns at once, and the next
// ServeForever serves normally.
func TestSHD03ShutdownBeforeServeForever(t *testing.T) {
	s := newServer(t, impl.Config{Family: impl.TCP})
	if err := s.Shutdown(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	serve(t, s, hour)
	c := dial(t, s)
	c.send("echo served")
	if got, _ := c.readAll(); got != "served\n" {
		t.Fatalf("ServeForever after an early Shutdown did not serve: %q", got)
	}
}

// SHD-04, SHD-05: a Shutdown after ServeForever returned leaves no stale
// flag, and ServeForever runs again, as long as wanted.
func TestSHD04NoStaleFlagAndSHD05Restart(t *testing.T) {
	s := newServer(t, impl.Config{Family: impl.TCP})
	for round := 0; round < 3; round++ {
		done := make(chan error, 1)
		go func() { done <- s.ServeForever(context.Background(), hour) }()
		c := dial(t, s)
		c.send("echo again")
		if got, _ := c.readAll(); got != "again\n" {
			t.Fatalf("round %d: reply %q", round, got)
		}
		if err := s.Shutdown(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		if err := recv(t, done, "ServeForever"); err != nil {
			t.Fatal(err)
		}
		if err := s.Shutdown(ctxT(t)); err != nil { // the stale call
			t.Fatal(err)
		}
	}
}

// SHD-07: no request is taken after Shutdown; SHD-08: the listening socket
// stays open (connections queue) until ServerClose, which resets them.
func TestSHD07NoRequestAfterShutdownSHD08SocketStaysOpen(t *testing.T) {
	rec := &recorder{}
	s := newServer(t, impl.Config{Family: impl.TCP, Trace: rec.Trace()})
	done := serve(t, s, hour)
	rec.waitForCall(t, impl.HookServeForever, 1)
	if err := s.Shutdown(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	recv(t, done, "ServeForever")
	c := dial(t, s) // completes in the kernel: the socket still listens
	c.send("echo nobody")
	if n := rec.Count(impl.HookGetRequest); n != 0 {
		t.Fatalf("get_request called %d times after shutdown", n)
	}
	if err := s.ServerClose(); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(c.conn); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("queued client after ServerClose: %v, want ECONNRESET", err)
	}
	if conn, err := net.Dial("tcp", s.Address()); err == nil {
		conn.Close()
		t.Fatal("connect after ServerClose succeeded")
	} else if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("connect after ServerClose: %v, want ECONNREFUSED", err)
	}
}

// SHD-09: ServerClose while ServeForever runs ends the loop with
// ErrServerClosed instead of spinning.
func TestSHD09ServerCloseStopsLoop(t *testing.T) {
	for _, f := range families {
		t.Run(f.String(), func(t *testing.T) {
			rec := &recorder{}
			s := newServer(t, impl.Config{Family: f, Trace: rec.Trace()})
			done := serve(t, s, hour)
			c := dial(t, s)
			c.send("echo x")
			if got, _ := c.readAll(); got != "x\n" {
				t.Fatalf("reply %q", got)
			}
			if err := s.ServerClose(); err != nil {
				t.Fatal(err)
			}
			if err := recv(t, done, "ServeForever"); !errors.Is(err, impl.ErrServerClosed) {
				t.Fatalf("ServeForever returned %v", err)
			}
			// One request, so one get_request and a bounded number of
			// iterations: a spin would show thousands.
			if n := rec.Count(impl.HookGetRequest); n != 1 {
				t.Fatalf("get_request called %d times", n)
			}
			if n := rec.Count(impl.HookServiceActions); n > 2 {
				t.Fatalf("service_actions called %d times: the loop spun after close", n)
			}
		})
	}
}

// SHD-10: HandleRequest and ServeForever after ServerClose return a clear
// error; SHD-11: Close is ServerClose and may be called again.
func TestSHD10AfterCloseSHD11Closer(t *testing.T) {
	s := newServer(t, impl.Config{Family: impl.TCP})
	var c io.Closer = s
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := s.HandleRequest(ctxT(t)); !errors.Is(err, impl.ErrServerClosed) {
		t.Fatalf("HandleRequest after close: %v", err)
	}
	if err := s.ServeForever(ctxT(t), 0); !errors.Is(err, impl.ErrServerClosed) {
		t.Fatalf("ServeForever after close: %v", err)
	}
}

// Cancelling the context stops ServeForever, also when it is cancelled
// before the loop started (the start-up race of Issue #2302).
func TestServeForeverContext(t *testing.T) {
	for i := 0; i < 20; i++ {
		s := newServer(t, impl.Config{Family: impl.TCP})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.ServeForever(ctx, hour) }()
		cancel()
		if err := recv(t, done, "ServeForever"); !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v", err)
		}
	}
}

// SHD-12: a loop whose context is cancelled with a cause (a Go program's
// signal handler) ends with that cause, and a later Shutdown returns at
// once: nothing of the interrupted loop is left behind.
func TestSHD12ServeForeverEndsWithTheCause(t *testing.T) {
	s := newServer(t, impl.Config{Family: impl.TCP})
	raised := errors.New("SIGUSR2 handler raised")
	ctx, cancel := context.WithCancelCause(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.ServeForever(ctx, hour) }()
	cancel(raised)
	if err := recv(t, done, "ServeForever"); !errors.Is(err, raised) {
		t.Fatalf("ServeForever returned %v, want the cause %v", err, raised)
	}
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	if err := s.Shutdown(sctx); err != nil {
		t.Fatalf("Shutdown after the interrupted loop: %v", err)
	}
}

// Only one loop serves at a time.
func TestAlreadyServing(t *testing.T) {
	s := newServer(t, impl.Config{Family: impl.TCP})
	c := dial(t, s)
	c.send("hold")
	done := make(chan error, 1)
	go func() { done <- s.HandleRequest(context.Background()) }()
	c.readLine()
	if err := s.ServeForever(ctxT(t), 0); !errors.Is(err, impl.ErrAlreadyServing) {
		t.Fatalf("got %v", err)
	}
	c.send("go")
	if err := recv(t, done, "HandleRequest"); err != nil {
		t.Fatal(err)
	}
}
