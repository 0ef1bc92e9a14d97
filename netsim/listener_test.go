package netsim_test

import (
	"context"
	"errors"
	"net"
	"os"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sockspec/sockspec/impl"
	"github.com/sockspec/sockspec/netsim"
)

// WaitReady reports a pending connection without taking it, and a
// goroutine blocked in it is durably blocked inside a bubble.
func TestListenerWaitReady(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := &netsim.Network{}
		ln := listen(t, n, "tcp", "127.0.0.1:0")
		rw := ln.(impl.ReadyWaiter)
		if rw.Ready() {
			t.Fatal("ready with nothing queued")
		}
		start := time.Now()
		ready := async(func() (int, error) { return 0, rw.WaitReady() })
		synctest.Wait()
		if !blocked(ready) {
			t.Fatal("WaitReady returned with nothing queued")
		}
		dial(t, n, "tcp", ln.Addr().String())
		if r := recv(t, ready, "WaitReady"); r.err != nil {
			t.Fatalf("WaitReady: %v", r.err)
		}
		if !rw.Ready() || ln.(*netsim.Listener).Pending() != 1 {
			t.Fatal("the wait took the connection")
		}
		if err := rw.WaitReady(); err != nil {
			t.Fatalf("WaitReady with a connection queued: %v", err)
		}
		accept(t, ln)
		if rw.Ready() {
			t.Fatal("ready after Accept took the only connection")
		}
		if d := time.Since(start); d != 0 {
			t.Fatalf("virtual time moved %v", d)
		}
	})
}

// Each deadline ends its own call at exactly its (virtual) time and leaves
// the other call alone: a readiness wait that timed out must not fail the
// Accept that takes a connection still queued.
func TestListenerDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := &netsim.Network{}
		ln := listen(t, n, "tcp", "127.0.0.1:0")
		rw := ln.(impl.ReadyWaiter)
		start := time.Now()
		rw.SetReadyDeadline(start.Add(time.Second))
		if err := rw.WaitReady(); err != os.ErrDeadlineExceeded {
			t.Fatalf("WaitReady: %v", err)
		}
		if d := time.Since(start); d != time.Second {
			t.Fatalf("WaitReady returned after %v", d)
		}

		// A passed deadline wins over a pending connection, as on a
		// real socket, but only for the call it bounds.
		dial(t, n, "tcp", ln.Addr().String())
		if err := rw.WaitReady(); err != os.ErrDeadlineExceeded {
			t.Fatalf("WaitReady past the deadline: %v", err)
		}
		accept(t, ln)
		rw.SetReadyDeadline(time.Time{})

		ln.(interface{ SetDeadline(time.Time) error }).SetDeadline(time.Now().Add(time.Minute))
		start = time.Now()
		_, err := ln.Accept()
		wantTimeout(t, err, "accept")
		if d := time.Since(start); d != time.Minute {
			t.Fatalf("Accept returned after %v", d)
		}
		dial(t, n, "tcp", ln.Addr().String())
		if err := rw.WaitReady(); err != nil {
			t.Fatalf("WaitReady with only an accept deadline passed: %v", err)
		}
	})
}

// A deadline set in the past while WaitReady blocks wakes it at once: what
// impl's Shutdown does to stop a serving loop. An Accept blocked meanwhile
// keeps waiting.
func TestListenerPastDeadlineWakes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := &netsim.Network{}
		ln := listen(t, n, "tcp", "127.0.0.1:0")
		rw := ln.(impl.ReadyWaiter)
		start := time.Now()
		waiting := async(func() (int, error) { return 0, rw.WaitReady() })
		accepting := async(func() (int, error) { _, err := ln.Accept(); return 0, err })
		synctest.Wait()
		if !blocked(waiting) || !blocked(accepting) {
			t.Fatal("returned early")
		}
		rw.SetReadyDeadline(time.Unix(1, 0))
		if r := recv(t, waiting, "WaitReady"); r.err != os.ErrDeadlineExceeded {
			t.Fatalf("WaitReady: %v", r.err)
		}
		if d := time.Since(start); d != 0 {
			t.Fatalf("woken after %v", d)
		}
		synctest.Wait()
		if !blocked(accepting) {
			t.Fatal("the readiness deadline ended Accept")
		}
		ln.Close()
		wantClosed(t, recv(t, accepting, "Accept").err, "accept")
	})
}

// Close wakes WaitReady and Accept with net.ErrClosed.
func TestListenerClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := &netsim.Network{}
		ln := listen(t, n, "tcp", "127.0.0.1:0")
		rw := ln.(impl.ReadyWaiter)
		waiting := async(func() (int, error) { return 0, rw.WaitReady() })
		accepting := async(func() (int, error) { _, err := ln.Accept(); return 0, err })
		synctest.Wait()
		if err := ln.Close(); err != nil {
			t.Fatal(err)
		}
		if r := recv(t, waiting, "WaitReady"); r.err != net.ErrClosed {
			t.Fatalf("WaitReady: %v", r.err)
		}
		wantClosed(t, recv(t, accepting, "Accept").err, "accept")
		wantClosed(t, ln.Close(), "close")
		wantClosed(t, rw.SetReadyDeadline(time.Now()), "set")
		if rw.Ready() {
			t.Fatal("a closed listener is ready")
		}
	})
}

// The accept queue holds the backlog; a dial beyond it waits, in order,
// until Accept makes room.
func TestListenerBacklog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := &netsim.Network{}
		ln := listen(t, n, "tcp", "127.0.0.1:0")
		fl := ln.(*netsim.Listener)
		if fl.Backlog() != netsim.DefaultBacklog {
			t.Fatalf("default backlog %d", fl.Backlog())
		}
		if err := fl.SetBacklog(2); err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		dial(t, n, "tcp", addr)
		dial(t, n, "tcp", addr)
		third := make(chan net.Conn, 1)
		fourth := make(chan net.Conn, 1)
		go func() { c, _ := n.Dial(context.Background(), "tcp", addr); third <- c }()
		synctest.Wait()
		go func() { c, _ := n.Dial(context.Background(), "tcp", addr); fourth <- c }()
		synctest.Wait()
		if len(third) != 0 || len(fourth) != 0 || fl.Pending() != 2 {
			t.Fatalf("queue beyond the backlog: %d pending", fl.Pending())
		}
		accept(t, ln)
		c3 := <-third
		defer c3.Close()
		synctest.Wait()
		if len(fourth) != 0 {
			t.Fatal("the later dial went first")
		}
		if err := fl.SetBacklog(3); err != nil { // growing lets the waiting dial in
			t.Fatal(err)
		}
		c4 := <-fourth
		defer c4.Close()
		if fl.Pending() != 3 {
			t.Fatalf("%d pending", fl.Pending())
		}
		accept(t, ln)
		accept(t, ln)
		if s := accept(t, ln); s.RemoteAddr().String() != c4.LocalAddr().String() {
			t.Fatal("connections accepted out of order")
		}
		var waited int
		for _, e := range n.Events() {
			if e.Kind == netsim.EventBacklogFull {
				waited++
			}
		}
		if waited != 2 {
			t.Fatalf("%d backlog-full events: %v", waited, n.Events())
		}
	})
}

// A dial waiting for room gives up when its context ends, and leaves no
// connection behind.
func TestListenerBacklogDialTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := &netsim.Network{Backlog: 1}
		ln := listen(t, n, "tcp", "127.0.0.1:0")
		dial(t, n, "tcp", ln.Addr().String())
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		start := time.Now()
		_, err := n.Dial(ctx, "tcp", ln.Addr().String())
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 3*time.Second {
			t.Fatalf("dial: %v after %v", err, time.Since(start))
		}
		var oe *net.OpError
		if !errors.As(err, &oe) || oe.Op != "dial" {
			t.Fatalf("error shape %#v", err)
		}
		accept(t, ln)
		if p := ln.(*netsim.Listener).Pending(); p != 0 {
			t.Fatalf("the abandoned dial was queued: %d pending", p)
		}
	})
}

// Closing a listener resets the connections it never accepted and refuses
// the dials waiting for room.
func TestListenerCloseResetsQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := &netsim.Network{Backlog: 1}
		ln := listen(t, n, "tcp", "127.0.0.1:0")
		queued := dial(t, n, "tcp", ln.Addr().String())
		waiting := async(func() (int, error) {
			_, err := n.Dial(context.Background(), "tcp", ln.Addr().String())
			return 0, err
		})
		synctest.Wait()
		ln.Close()
		wantSyscall(t, recv(t, waiting, "dial").err, "dial", "connect", syscall.ECONNREFUSED)
		_, err := queued.Read(make([]byte, 1))
		wantSyscall(t, err, "read", "read", syscall.ECONNRESET)
		if _, err := n.Dial(context.Background(), "tcp", ln.Addr().String()); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("dial after close: %v", err)
		}
	})
}

func TestListenerBacklogClamped(t *testing.T) {
	n := &netsim.Network{}
	fl := listen(t, n, "tcp", "127.0.0.1:0").(*netsim.Listener)
	fl.SetBacklog(0)
	if fl.Backlog() != 1 {
		t.Errorf("backlog 0 became %d", fl.Backlog())
	}
	fl.SetBacklog(1 << 20)
	if fl.Backlog() != 4096 {
		t.Errorf("huge backlog became %d", fl.Backlog())
	}
}
