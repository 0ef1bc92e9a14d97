package impl_test

import (
	"context"
	"errors"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sockspec/sockspec/impl"
)

// emfile is the error accept(2) gives when the process is out of descriptors.
var emfile = &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}

// RES-01: EMFILE on accept is silent (no handle_error), the loop backs off
// with growing pauses instead of spinning, and the pending connection is
// served once accept works again.
func TestRES01AcceptExhaustionBacksOff(t *testing.T) {
	const failures = 5
	rec := &recorder{}
	var calls atomic.Int32
	s := newServer(t, impl.Config{Family: impl.TCP, Trace: rec.Trace(), Overrides: impl.Overrides{
		GetRequest: func(s *impl.Server, ctx context.Context) (*impl.Request, error) {
			if calls.Add(1) <= failures {
				return nil, emfile // the connection stays queued, as with the real EMFILE
			}
			return s.Base().GetRequest(ctx)
		},
	}})
	serve(t, s, hour)
	c := dial(t, s)
	c.send("echo survived")
	if got, err := c.readAll(); got != "survived\n" {
		t.Fatalf("reply %q %v", got, err)
	}
	if n := rec.Count(impl.HookHandleError); n != 0 {
		t.Fatalf("handle_error called %d times for accept failures", n)
	}
	pauses := rec.Returns(impl.HookAcceptBackoff)
	if len(pauses) != failures {
		t.Fatalf("%d pauses for %d failures", len(pauses), failures)
	}
	var prev time.Duration
	for _, p := range pauses {
		d, err := time.ParseDuration(p.Result)
		if err != nil || d <= prev {
			t.Fatalf("pauses do not grow: %v", pauses)
		}
		prev = d
	}
	if n := calls.Load(); n != failures+1 {
		t.Fatalf("get_request called %d times: the loop spun", n)
	}
}

// RES-01: Shutdown is not held up by a back-off pause.
func TestRES01ShutdownDuringBackoff(t *testing.T) {
	rec := &recorder{}
	s := newServer(t, impl.Config{Family: impl.TCP, Trace: rec.Trace(), Overrides: impl.Overrides{
		GetRequest: func(*impl.Server, context.Context) (*impl.Request, error) { return nil, emfile },
	}})
	done := serve(t, s, hour)
	dial(t, s).send("x")
	rec.waitForCall(t, impl.HookAcceptBackoff, 3)
	if err := s.Shutdown(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if err := recv(t, done, "ServeForever"); err != nil {
		t.Fatal(err)
	}
}

// RES-01 with the real thing: the process runs out of descriptors while a
// connection waits; accept fails with EMFILE, the loop backs off, and once
// descriptors are available again the connection is served.
func TestRES01RealEMFILE(t *testing.T) {
	rec := &recorder{}
	s := newServer(t, impl.Config{Family: impl.TCP, Trace: rec.Trace()})
	c := dial(t, s)
	c.send("echo after emfile")

	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Skip(err)
	}
	low := old
	low.Cur = uint64(lowestFreeFD(t)) // every descriptor below the limit is taken
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Skipf("cannot lower RLIMIT_NOFILE: %v", err)
	}
	restored := false
	restore := func() {
		if !restored {
			restored = true
			if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
				t.Errorf("restoring RLIMIT_NOFILE: %v", err)
			}
		}
	}
	defer restore()

	serve(t, s, hour)
	rec.waitForCall(t, impl.HookAcceptBackoff, 2)
	restore()
	got, err := c.readAll()
	if got != "after emfile\n" {
		t.Fatalf("reply %q %v", got, err)
	}
	if n := rec.Count(impl.HookHandleError); n != 0 {
		t.Fatalf("handle_error called %d times", n)
	}
	var sawEMFILE bool
	for _, e := range rec.Returns(impl.HookGetRequest) {
		sawEMFILE = sawEMFILE || errors.Is(e.Err, syscall.EMFILE)
	}
	if !sawEMFILE {
		t.Fatalf("get_request never failed with EMFILE: %v", rec.Calls())
	}
}

// lowestFreeFD is the descriptor the next open would get.
func lowestFreeFD(t testing.TB) int {
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	fd := int(f.Fd())
	f.Close()
	return fd
}
