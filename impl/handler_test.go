package impl_test

import (
	"errors"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/sockspec/sockspec/impl"
)

// HND-01: TCP_NODELAY follows DisableNagle; Nagle stays on by default, as
// in CPython.
func TestHND01Nagle(t *testing.T) {
	for _, disable := range []bool{false, true} {
		got := make(chan int, 1)
		s := newServer(t, impl.Config{Family: impl.TCP, Handler: impl.StreamHandlerFuncWith(impl.StreamOptions{DisableNagle: disable},
			func(h *impl.StreamHandler, r *impl.Request) error {
				rc, _ := r.Conn.(*net.TCPConn).SyscallConn()
				rc.Control(func(fd uintptr) {
					v, _ := syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_NODELAY)
					got <- v
				})
				return nil
			})})
		dial(t, s).send("x")
		if err := s.HandleRequest(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		if v := <-got; (v != 0) != disable {
			t.Fatalf("DisableNagle=%v: TCP_NODELAY=%d", disable, v)
		}
	}
}

// HND-01: with WBufSize 0 a write reaches the client before the handler
// returns; with a buffer it arrives when finish flushes it.
func TestHND01WriteBuffering(t *testing.T) {
	for _, wbuf := range []int{0, 4096} {
		seen := make(chan string, 1)
		var c *client
		s := newServer(t, impl.Config{Family: impl.TCP, Handler: impl.StreamHandlerFuncWith(impl.StreamOptions{WBufSize: wbuf},
			func(h *impl.StreamHandler, r *impl.Request) error {
				if _, err := h.Wfile.Write([]byte("early\n")); err != nil {
					return err
				}
				// Is the line already readable by the client?
				c.conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
				buf := make([]byte, 16)
				n, _ := c.conn.Read(buf)
				c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
				seen <- string(buf[:n])
				return nil
			})})
		c = dial(t, s)
		c.send("x")
		if err := s.HandleRequest(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		got := <-seen
		rest, _ := c.readAll()
		if wbuf == 0 && got != "early\n" {
			t.Fatalf("unbuffered write not sent at once: %q", got)
		}
		if wbuf > 0 && (got != "" || rest != "early\n") {
			t.Fatalf("buffered write: during handle %q, after finish %q", got, rest)
		}
	}
}

// HND-01: a large write is sent whole, never short.
func TestHND01NoShortWrites(t *testing.T) {
	big := make([]byte, 8<<20)
	s := newServer(t, impl.Config{Family: impl.TCP, Dispatch: impl.Threading, Handler: impl.StreamHandlerFunc(func(h *impl.StreamHandler, r *impl.Request) error {
		// Read the request first: closing with unread input would reset.
		if _, err := h.Rfile.ReadBytes('\n'); err != nil {
			return err
		}
		n, err := h.Wfile.Write(big)
		if n != len(big) {
			return errors.New("short write")
		}
		return err
	})})
	c := dial(t, s)
	c.send("x")
	if err := s.HandleRequest(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	got, err := c.readAll()
	if err != nil || len(got) != len(big) {
		t.Fatalf("client read %d bytes, %v", len(got), err)
	}
}

// HND-02: finish ignores a failed flush (the client went away).
func TestHND02FinishIgnoresFlushError(t *testing.T) {
	rec := &recorder{}
	var c *client
	s := newServer(t, impl.Config{Family: impl.TCP, Trace: rec.Trace(), Handler: impl.StreamHandlerFuncWith(impl.StreamOptions{WBufSize: 1 << 20},
		func(h *impl.StreamHandler, r *impl.Request) error {
			c.conn.(*net.TCPConn).SetLinger(0)
			c.conn.Close() // the peer resets
			_, err := h.Wfile.Write(make([]byte, 1<<19))
			return err
		})})
	c = dial(t, s)
	c.send("x")
	if err := s.HandleRequest(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	for _, e := range rec.Returns(impl.HookFinish) {
		if e.Err != nil {
			t.Fatalf("finish failed: %v", e.Err)
		}
	}
}

// TMO-08: the stream handler's timeout bounds reads; a timed-out read is a
// failure that reaches handle_error.
func TestTMO08HandlerTimeout(t *testing.T) {
	var got error
	s := newServer(t, impl.Config{Family: impl.TCP,
		Handler: impl.StreamHandlerFuncWith(impl.StreamOptions{Timeout: 20 * time.Millisecond}, func(h *impl.StreamHandler, r *impl.Request) error {
			_, err := h.Rfile.ReadByte()
			return err
		}),
		Overrides: impl.Overrides{HandleError: func(s *impl.Server, r *impl.Request, err error) error { got = err; return nil }}})
	c := dial(t, s) // connects and never sends
	if err := s.HandleRequest(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(got, os.ErrDeadlineExceeded) {
		t.Fatalf("handle_error got %v, want a deadline error", got)
	}
	c.readAll()
}
