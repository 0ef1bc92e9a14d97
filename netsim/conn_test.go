package netsim_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sockspec/sockspec/netsim"
)

// pair returns both ends of a new TCP connection of n.
func pair(t testing.TB, n *netsim.Network) (client, server *netsim.Conn) {
	t.Helper()
	ln := listen(t, n, "tcp", "127.0.0.1:0")
	c := dial(t, n, "tcp", ln.Addr().String())
	s := accept(t, ln)
	return c.(*netsim.Conn), s.(*netsim.Conn)
}

// Writes are buffered: unlike net.Pipe, Write returns before the peer
// reads, and the peer gets the bytes in order, whole.
func TestConnBuffered(t *testing.T) {
	c, s := pair(t, &netsim.Network{})
	msg := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
	if n, err := c.Write(msg); n != len(msg) || err != nil {
		t.Fatalf("write %d %v", n, err)
	}
	if n, err := s.Write([]byte("reply")); n != 5 || err != nil {
		t.Fatalf("write back %d %v", n, err)
	}
	if s.Unread() != len(msg) {
		t.Fatalf("%d bytes unread", s.Unread())
	}
	c.CloseWrite()
	got, err := readAll(t, s)
	if err != nil || got != string(msg) {
		t.Fatalf("read %d bytes, %v", len(got), err)
	}
	buf := make([]byte, 16)
	if n, err := c.Read(buf); string(buf[:n]) != "reply" || err != nil {
		t.Fatalf("read back %q %v", buf[:n], err)
	}
}

// A Write larger than the buffer waits for the reader, and a write
// deadline ends the wait with what was sent so far.
func TestConnWriteWaitsForRoom(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s := pair(t, &netsim.Network{StreamBuffer: 8})
		writing := async(func() (int, error) { return c.Write([]byte("0123456789ABCDEFGHIJ")) })
		synctest.Wait()
		if !blocked(writing) || s.Unread() != 8 {
			t.Fatalf("write of 20 into 8: blocked=%v unread=%d", blocked(writing), s.Unread())
		}
		got, _ := io.ReadAll(io.LimitReader(s, 20))
		if r := recv(t, writing, "Write"); r.n != 20 || r.err != nil || string(got) != "0123456789ABCDEFGHIJ" {
			t.Fatalf("write %d %v, read %q", r.n, r.err, got)
		}

		start := time.Now()
		c.SetWriteDeadline(start.Add(2 * time.Second))
		n, err := c.Write(make([]byte, 20))
		wantTimeout(t, err, "write")
		if n != 8 || time.Since(start) != 2*time.Second {
			t.Fatalf("wrote %d, returned after %v", n, time.Since(start))
		}
	})
}

// CloseWrite is a half close: the peer reads the rest, then EOF, and can
// still answer; this end can no longer write.
func TestConnCloseWrite(t *testing.T) {
	c, s := pair(t, &netsim.Network{})
	c.Write([]byte("request"))
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatalf("second CloseWrite: %v", err)
	}
	_, err := c.Write([]byte("more"))
	wantSyscall(t, err, "write", "write", syscall.EPIPE)
	if got, err := readAll(t, s); got != "request" || err != nil {
		t.Fatalf("server read %q %v", got, err)
	}
	if _, err := s.Write([]byte("answer")); err != nil {
		t.Fatalf("answer after the peer's half close: %v", err)
	}
	s.Close()
	if got, err := readAll(t, c); got != "answer" || err != nil {
		t.Fatalf("client read %q %v", got, err)
	}
}

// Close with nothing unread is an orderly close: the peer reads EOF.
func TestConnCloseOrderly(t *testing.T) {
	c, s := pair(t, &netsim.Network{})
	s.Write([]byte("bye"))
	s.Close()
	if got, err := readAll(t, c); got != "bye" || err != nil {
		t.Fatalf("read %q %v", got, err)
	}
	// The first write to the closed peer is lost and answered by RST; the
	// next one fails with EPIPE, and reads still see EOF.
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatalf("first write after the peer closed: %v", err)
	}
	_, err := c.Write([]byte("x"))
	wantSyscall(t, err, "write", "write", syscall.EPIPE)
	if n, err := c.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("read %d %v", n, err)
	}
}

// Close with bytes unread resets the connection: the peer reads what it
// still has, then ECONNRESET once, then EOF; its writes fail.
func TestConnCloseWithUnreadDataResets(t *testing.T) {
	n := &netsim.Network{}
	c, s := pair(t, n)
	s.Write([]byte("x"))
	c.Write([]byte("never read"))
	s.Close()
	buf := make([]byte, 8)
	if k, err := c.Read(buf); k != 1 || err != nil {
		t.Fatalf("read %d %v", k, err)
	}
	_, err := c.Read(buf)
	wantSyscall(t, err, "read", "read", syscall.ECONNRESET)
	if err.Error() != "read tcp "+c.LocalAddr().String()+"->"+c.RemoteAddr().String()+": read: connection reset by peer" {
		t.Errorf("message %q", err)
	}
	if _, err := c.Read(buf); err != io.EOF {
		t.Fatalf("read after the reset: %v", err)
	}
	_, err = c.Write([]byte("y"))
	wantSyscall(t, err, "write", "write", syscall.EPIPE)
	var reset bool
	for _, e := range n.Events() {
		reset = reset || e.Kind == netsim.EventReset && e.From == s.LocalAddr().String()
	}
	if !reset {
		t.Fatalf("no reset event: %v", n.Events())
	}
}

// A writer blocked on a full buffer learns of the peer's reset.
func TestConnResetWakesWriter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s := pair(t, &netsim.Network{StreamBuffer: 4})
		writing := async(func() (int, error) { return c.Write([]byte("0123456789")) })
		synctest.Wait()
		s.Close()
		r := recv(t, writing, "Write")
		if r.n != 4 {
			t.Fatalf("wrote %d before the reset", r.n)
		}
		wantSyscall(t, r.err, "write", "write", syscall.ECONNRESET)
	})
}

// Read deadlines: exact virtual timing, a past deadline wakes a blocked
// Read, the zero time clears it.
func TestConnReadDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s := pair(t, &netsim.Network{})
		buf := make([]byte, 4)
		start := time.Now()
		c.SetReadDeadline(start.Add(1500 * time.Millisecond))
		_, err := c.Read(buf)
		wantTimeout(t, err, "read")
		if d := time.Since(start); d != 1500*time.Millisecond {
			t.Fatalf("read returned after %v", d)
		}
		s.Write([]byte("data"))
		_, err = c.Read(buf) // a passed deadline wins over data
		wantTimeout(t, err, "read")

		c.SetReadDeadline(time.Time{})
		if k, err := c.Read(buf); k != 4 || err != nil {
			t.Fatalf("read %d %v", k, err)
		}
		reading := async(func() (int, error) { return c.Read(buf) })
		synctest.Wait()
		if !blocked(reading) {
			t.Fatal("read returned with nothing sent")
		}
		c.SetDeadline(time.Unix(1, 0))
		wantTimeout(t, recv(t, reading, "Read").err, "read")
	})
}

// After Close every call fails with net.ErrClosed, and Close wakes a
// blocked Read of the same end.
func TestConnClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, _ := pair(t, &netsim.Network{})
		reading := async(func() (int, error) { return c.Read(make([]byte, 1)) })
		synctest.Wait()
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		wantClosed(t, recv(t, reading, "Read").err, "read")
		_, err := c.Write([]byte("x"))
		wantClosed(t, err, "write")
		wantClosed(t, c.Close(), "close")
		wantClosed(t, c.CloseWrite(), "close")
		wantClosed(t, c.SetDeadline(time.Now()), "set")
		wantClosed(t, c.SetReadDeadline(time.Now()), "set")
		wantClosed(t, c.SetWriteDeadline(time.Now()), "set")
	})
}

// Unix stream connections behave the same; their errors name unix.
func TestUnixConn(t *testing.T) {
	n := &netsim.Network{}
	ln := listen(t, n, "unix", "srv")
	c := dial(t, n, "unix", "srv")
	s := accept(t, ln)
	c.Write([]byte("ping"))
	c.(*netsim.Conn).CloseWrite()
	if got, err := readAll(t, s); got != "ping" || err != nil {
		t.Fatalf("read %q %v", got, err)
	}
	s.Close()
	_, err := s.Read(nil)
	wantClosed(t, err, "read")
	if oe := new(net.OpError); !errors.As(err, &oe) || oe.Net != "unix" {
		t.Fatalf("error %v", err)
	}
}
