package inject_test

import (
	"errors"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/sockspec/sockspec/fakes"
	"github.com/sockspec/sockspec/impl"
	"github.com/sockspec/sockspec/internal/inject"
)

// bound is how long a test waits for what must happen.
const bound = 5 * time.Second

func TestSpawner(t *testing.T) {
	inner := &fakes.StubSpawner{}
	var fired []int
	s := &inject.Spawner{Inner: inner, Fail: inject.Nth(1, 3), OnFire: func(n int) { fired = append(fired, n) }}
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
	if s.Calls() != 4 || s.Failures() != 2 || inner.Spawned() != 2 {
		t.Fatalf("calls %d, failures %d, started %d", s.Calls(), s.Failures(), inner.Spawned())
	}
	if len(fired) != 2 || fired[0] != 1 || fired[1] != 3 {
		t.Fatalf("OnFire saw %v; want the failing calls 1 and 3", fired)
	}
	other := &inject.Spawner{Inner: impl.ExecSpawner{Path: "/bin/prog"}, Fail: inject.Always(), Errno: syscall.ENOMEM}
	_, err := other.Spawn(impl.ChildSpec{})
	if !errors.Is(err, syscall.ENOMEM) || err.Error() != "fork/exec /bin/prog: cannot allocate memory" {
		t.Fatalf("error %v", err)
	}
}

func TestGoStarter(t *testing.T) {
	g := &inject.GoStarter{Fail: inject.Nth(2)}
	ran := make(chan int, 3)
	for i := 1; i <= 3; i++ {
		err := g.Go(func() { ran <- i })
		if (err != nil) != (i == 2) {
			t.Fatalf("call %d: %v", i, err)
		}
		if err != nil && (!errors.Is(err, inject.ErrCantStartThread) || !errors.Is(err, syscall.EAGAIN)) {
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
