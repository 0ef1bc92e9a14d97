package netsim_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// bound is the longest any wait of these tests may take. Inside a synctest
// bubble it is virtual and costs nothing.
const bound = 10 * time.Second

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	t.Cleanup(cancel)
	return ctx
}

// dialer is what both Network and FaultyNetwork offer clients.
type dialer interface {
	Dial(ctx context.Context, network, address string) (net.Conn, error)
}

func dial(t testing.TB, d dialer, network, address string) net.Conn {
	t.Helper()
	c, err := d.Dial(ctxT(t), network, address)
	if err != nil {
		t.Fatalf("dial %s %s: %v", network, address, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func listen(t testing.TB, n interface {
	Listen(ctx context.Context, network, address string) (net.Listener, error)
}, network, address string) net.Listener {
	t.Helper()
	ln, err := n.Listen(context.Background(), network, address)
	if err != nil {
		t.Fatalf("listen %s %s: %v", network, address, err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

func accept(t testing.TB, ln net.Listener) net.Conn {
	t.Helper()
	c, err := ln.Accept()
	if err != nil {
		t.Fatalf("accept: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// readAll reads c to its end with a deadline, and returns what it got and
// the error that ended it (nil for io.EOF).
func readAll(t testing.TB, c net.Conn) (string, error) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(bound))
	b, err := io.ReadAll(c)
	return string(b), err
}

// wantSyscall checks that err is a *net.OpError with op wrapping an
// *os.SyscallError of call with errno: the shape of a real socket error.
func wantSyscall(t testing.TB, err error, op, call string, errno syscall.Errno) {
	t.Helper()
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != op {
		t.Fatalf("error %#v (%v): want a *net.OpError with Op %q", err, err, op)
	}
	var se *os.SyscallError
	if !errors.As(err, &se) || se.Syscall != call {
		t.Fatalf("error %v: want an *os.SyscallError of %s", err, call)
	}
	if !errors.Is(err, errno) {
		t.Fatalf("error %v: want errno %v", err, errno)
	}
}

// wantTimeout checks the shape of a deadline error.
func wantTimeout(t testing.TB, err error, op string) {
	t.Helper()
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != op || !oe.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("error %#v (%v): want a %s timeout", err, err, op)
	}
}

// wantClosed checks the shape of a use-after-Close error.
func wantClosed(t testing.TB, err error, op string) {
	t.Helper()
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != op || !errors.Is(err, net.ErrClosed) {
		t.Fatalf("error %#v (%v): want %s on a closed socket", err, err, op)
	}
}

// result is the outcome of a call run on its own goroutine.
type result struct {
	n   int
	err error
}

// async runs f on a goroutine and returns the channel its result arrives on.
func async(f func() (int, error)) <-chan result {
	ch := make(chan result, 1)
	go func() {
		n, err := f()
		ch <- result{n, err}
	}()
	return ch
}

// recv waits for a result, failing the test after the bound.
func recv(t testing.TB, ch <-chan result, what string) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(bound):
		t.Fatalf("%s did not return within %v", what, bound)
	}
	return result{}
}

// blocked reports whether no result has arrived yet, without taking it;
// inside a synctest bubble call it after synctest.Wait, so that the answer
// is settled.
func blocked(ch <-chan result) bool { return len(ch) == 0 }
