package fakes_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sockspec/sockspec/fakes"
	"github.com/sockspec/sockspec/impl"
)

// stubSpawner starts nothing: its children exit at once with status 0.
type stubSpawner struct{ spawned atomic.Int32 }

func (s *stubSpawner) Spawn(impl.ChildSpec) (impl.Child, error) {
	return stubChild(1<<22 + s.spawned.Add(1)), nil
}

type stubChild int

func (c stubChild) PID() int           { return int(c) }
func (c stubChild) Wait() (int, error) { return 0, nil }

func TestSpawner(t *testing.T) {
	inner := &stubSpawner{}
	var fired []int
	s := &fakes.Spawner{Inner: inner, Fail: fakes.Nth(1, 3), OnFire: func(n int) { fired = append(fired, n) }}
	for i, wantFail := range []bool{true, false, true, false} {
		c, err := s.Spawn(impl.ChildSpec{})
		if failed := err != nil; failed != wantFail {
			t.Fatalf("call %d: child %v, error %v", i+1, c, err)
		}
		if err == nil {
			continue
		}
		var pe *os.PathError
		if !errors.As(err, &pe) || pe.Op != "fork/exec" || pe.Path == "" || !errors.Is(err, syscall.EAGAIN) {
			t.Fatalf("error %#v (%v): want os.StartProcess's shape", err, err)
		}
	}
	if s.Calls() != 4 || s.Failures() != 2 || inner.spawned.Load() != 2 {
		t.Fatalf("calls %d, failures %d, started %d", s.Calls(), s.Failures(), inner.spawned.Load())
	}
	if len(fired) != 2 || fired[0] != 1 || fired[1] != 3 {
		t.Fatalf("OnFire saw %v; want the failing calls 1 and 3", fired)
	}
	other := &fakes.Spawner{Inner: impl.ExecSpawner{Path: "/bin/prog"}, Fail: fakes.Always(), Errno: syscall.ENOMEM}
	_, err := other.Spawn(impl.ChildSpec{})
	if !errors.Is(err, syscall.ENOMEM) || err.Error() != "fork/exec /bin/prog: cannot allocate memory" {
		t.Fatalf("error %v", err)
	}
}

// osNetwork is the operating system's network, without faults.
var osNetwork = &fakes.FaultyNetwork{}

func init() {
	// A recipe for the forking server below; its children are stubs, so
	// the recipe is never built in a child.
	impl.RegisterChild("fakes-echo", func([]byte) (impl.Config, error) { return impl.Config{Handler: echo}, nil })
}

// FRK-10 with Spawner, on the operating system's loopback network (a
// child needs a real descriptor): a failed fork takes the handle_error
// path, and the next request is handed to a child.
func TestServerForkFailure(t *testing.T) {
	inner := &stubSpawner{}
	sp := &fakes.Spawner{Inner: inner, Fail: fakes.Nth(1)}
	var log bytes.Buffer
	s := newServer(t, impl.Config{Family: impl.TCP, Dispatch: impl.Forking, Fork: impl.ForkRecipe{Name: "fakes-echo"},
		Spawner: sp, ErrorLog: &log, Timeout: impl.After(bound)})
	for range 2 {
		c := dial(t, osNetwork, "tcp", s.Address())
		c.Write([]byte("x\n"))
		if err := s.HandleRequest(ctxT(t)); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.Contains(log.String(), "fork/exec") || !strings.Contains(log.String(), "resource temporarily unavailable") {
		t.Fatalf("handle_error report:\n%s", log.String())
	}
	if sp.Calls() != 2 || inner.spawned.Load() != 1 {
		t.Fatalf("calls %d, children %d", sp.Calls(), inner.spawned.Load())
	}
}

// RES-01 on the operating system's network: FaultyNetwork keeps what the
// server needs of a kernel listener, and the queued connection survives
// the injected EMFILE.
func TestServerEMFILEOnOSNetwork(t *testing.T) {
	rec := &recorder{}
	f := &fakes.FaultyNetwork{Accept: []fakes.Fault{{When: fakes.Nth(1), Errno: syscall.EMFILE}}}
	s := newServer(t, impl.Config{Family: impl.TCP, Network: f, Timeout: impl.After(bound), Trace: rec.trace()})
	c := dial(t, f, "tcp", s.Address())
	c.Write([]byte("real\n"))
	for range 2 {
		if err := s.HandleRequest(ctxT(t)); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := readAll(t, c); got != "real\n" || err != nil {
		t.Fatalf("reply %q %v", got, err)
	}
	gets := rec.returns(impl.HookGetRequest)
	if len(gets) != 2 || !errors.Is(gets[0].Err, syscall.EMFILE) || gets[1].Err != nil {
		t.Fatalf("get_request returned %v", gets)
	}
}

func TestGoStarter(t *testing.T) {
	g := &fakes.GoStarter{Fail: fakes.Nth(2)}
	ran := make(chan int, 3)
	for i := 1; i <= 3; i++ {
		err := g.Go(func() { ran <- i })
		if (err != nil) != (i == 2) {
			t.Fatalf("call %d: %v", i, err)
		}
		if err != nil && (!errors.Is(err, fakes.ErrCantStartThread) || !errors.Is(err, syscall.EAGAIN)) {
			t.Fatalf("error %v", err)
		}
	}
	got := map[int]bool{}
	for range 2 {
		select {
		case i := <-ran:
			got[i] = true
		case <-time.After(bound):
			t.Fatal("a started function did not run")
		}
	}
	if !got[1] || !got[3] || len(ran) != 0 {
		t.Fatalf("ran %v", got)
	}
	if g.Calls() != 3 || g.Failures() != 1 {
		t.Fatalf("calls %d, failures %d", g.Calls(), g.Failures())
	}
}

func TestClock(t *testing.T) {
	var c fakes.Clock
	if !c.Now().Equal(fakes.Epoch) {
		t.Fatalf("zero Clock starts at %v", c.Now())
	}
	start := c.Now()
	now := c.After(0)
	if got := <-now; !got.Equal(start) {
		t.Fatalf("After(0) fired with %v", got)
	}
	late := c.After(3 * time.Second)
	early := c.After(time.Second)
	also := c.After(time.Second)
	if c.Pending() != 3 {
		t.Fatalf("%d pending", c.Pending())
	}
	if d, ok := c.NextIn(); d != time.Second || !ok {
		t.Fatalf("next in %v %v", d, ok)
	}
	c.Advance(999 * time.Millisecond)
	if len(early) != 0 {
		t.Fatal("fired early")
	}
	c.Advance(time.Millisecond)
	if got := <-early; !got.Equal(start.Add(time.Second)) {
		t.Fatalf("fired with %v", got)
	}
	if got := <-also; !got.Equal(start.Add(time.Second)) {
		t.Fatalf("fired with %v", got)
	}
	if d, ok := c.AdvanceToNext(); d != 2*time.Second || !ok {
		t.Fatalf("AdvanceToNext %v %v", d, ok)
	}
	if got := <-late; !got.Equal(start.Add(3 * time.Second)) {
		t.Fatalf("fired with %v", got)
	}
	if _, ok := c.AdvanceToNext(); ok || c.Pending() != 0 {
		t.Fatal("a timer is left")
	}
	c.Advance(time.Hour)
	if !c.Now().Equal(start.Add(time.Hour + 3*time.Second)) {
		t.Fatalf("now %v", c.Now())
	}

	other := fakes.NewClock(time.Unix(100, 0))
	if !other.Now().Equal(time.Unix(100, 0)) {
		t.Fatalf("NewClock starts at %v", other.Now())
	}
}

// AwaitTimers waits, by channel, until the code under test asks for a
// timer; it gives up when its context ends.
func TestClockAwaitTimers(t *testing.T) {
	c := &fakes.Clock{}
	ready := c.WhenPending(2)
	c.After(time.Second)
	select {
	case <-ready:
		t.Fatal("ready with one timer")
	default:
	}
	fired := make(chan time.Time, 1)
	go func() { fired <- <-c.After(time.Minute) }()
	if err := c.AwaitTimers(ctxT(t), 2); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ready:
	default:
		t.Fatal("WhenPending channel not closed")
	}
	c.Advance(time.Minute)
	select {
	case <-fired:
	case <-time.After(bound):
		t.Fatal("the goroutine's timer did not fire")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.AwaitTimers(ctx, 5); !errors.Is(err, context.Canceled) {
		t.Fatalf("AwaitTimers: %v", err)
	}
}
