package netsim_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"path/filepath"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sockspec/sockspec/fakes"
	"github.com/sockspec/sockspec/impl"
	"github.com/sockspec/sockspec/internal/inject"
	"github.com/sockspec/sockspec/netsim"
)

// These tests run the real server of impl on the doubles, the way the
// specification suite will.

var echo = impl.LineTransform(func(b []byte) []byte { return b })

// recorder keeps a server's trace.
type recorder = fakes.Recorder

func newServer(t testing.TB, cfg impl.Config) *impl.Server {
	t.Helper()
	if cfg.Address == "" {
		cfg.Address = "127.0.0.1:0"
	}
	if cfg.Handler == nil {
		cfg.Handler = echo
	}
	s, err := impl.New(cfg)
	if err != nil {
		t.Fatalf("impl.New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// HandleRequest's timeout runs on the bubble's virtual clock over the fake
// network: a one-second timeout passes in no wall time, and a request is
// then served with no time passing at all.
func TestServerTimeoutCostsNoWallTime(t *testing.T) {
	const timeout = time.Second
	wall := time.Now()
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		n := &netsim.Network{}
		s, err := impl.New(impl.Config{Family: impl.TCP, Address: "127.0.0.1:0", Network: n,
			Handler: impl.LineTransform(func(b []byte) []byte { return b }), Timeout: impl.After(timeout),
			Trace: rec.Trace()})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()

		start := time.Now()
		if err := s.HandleRequest(context.Background()); err != nil {
			t.Fatalf("HandleRequest: %v", err)
		}
		if d := time.Since(start); d != timeout {
			t.Fatalf("handle_timeout after %v of virtual time, want %v", d, timeout)
		}
		if got := len(rec.Returns(impl.HookHandleTimeout)); got != 1 {
			t.Fatalf("handle_timeout ran %d times", got)
		}

		c := dial(t, n, "tcp", s.Address())
		c.Write([]byte("hello\n"))
		start = time.Now()
		if err := s.HandleRequest(context.Background()); err != nil {
			t.Fatalf("HandleRequest: %v", err)
		}
		if got, err := readAll(t, c); got != "hello\n" || err != nil {
			t.Fatalf("reply %q %v", got, err)
		}
		if d := time.Since(start); d != 0 {
			t.Fatalf("serving took %v of virtual time", d)
		}
		if got := len(rec.Returns(impl.HookHandleTimeout)); got != 1 {
			t.Fatalf("handle_timeout ran %d times", got)
		}
	})
	if d := time.Since(wall); d >= timeout {
		t.Fatalf("the test took %v of wall time, at least its timeout", d)
	}
}

// RES-01 on the fake network: an injected EMFILE leaves the connection
// queued and silent; the next HandleRequest serves it.
func TestServerEMFILEKeepsConnectionQueued(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		n := &netsim.Network{}
		f := &inject.FaultyNetwork{Inner: n, Accept: []inject.Fault{{When: inject.Nth(1), Errno: syscall.EMFILE}}}
		s := newServer(t, impl.Config{Family: impl.TCP, Network: f, Timeout: impl.After(time.Second), Trace: rec.Trace()})
		c := dial(t, f, "tcp", s.Address())
		c.Write([]byte("after emfile\n"))

		if err := s.HandleRequest(context.Background()); err != nil {
			t.Fatalf("first HandleRequest: %v", err)
		}
		gets := rec.Returns(impl.HookGetRequest)
		if len(gets) != 1 || !errors.Is(gets[0].Err, syscall.EMFILE) {
			t.Fatalf("get_request returned %v", gets)
		}
		if n := len(rec.Returns(impl.HookHandleError)) + len(rec.Returns(impl.HookHandle)); n != 0 {
			t.Fatal("the failed accept reached a handler or handle_error")
		}
		if !s.Listener().(impl.ReadyWaiter).Ready() || n.Events()[len(n.Events())-1].Kind == netsim.EventAccept {
			t.Fatal("the failed accept took the connection")
		}
		if b := rec.Returns(impl.HookAcceptBackoff); len(b) != 1 || b[0].Result != "5ms" {
			t.Fatalf("back-off %v", b)
		}

		if err := s.HandleRequest(context.Background()); err != nil {
			t.Fatalf("second HandleRequest: %v", err)
		}
		if got, err := readAll(t, c); got != "after emfile\n" || err != nil {
			t.Fatalf("reply %q %v", got, err)
		}
		if len(rec.Returns(impl.HookHandleTimeout)) != 0 || f.AcceptCalls() != 2 {
			t.Fatalf("timeouts %d, accept calls %d", len(rec.Returns(impl.HookHandleTimeout)), f.AcceptCalls())
		}
	})
}

// The accept back-off asks the Clock for its pauses; with a manual Clock
// the test sees each one and decides when it ends.
func TestServerBackoffOnManualClock(t *testing.T) {
	clock := &fakes.Clock{}
	f := &inject.FaultyNetwork{Inner: &netsim.Network{}, Accept: []inject.Fault{{When: inject.Range(1, 3), Errno: syscall.ENFILE}}}
	s := newServer(t, impl.Config{Family: impl.TCP, Network: f, Clock: clock})
	served := async(func() (int, error) { return 0, s.ServeForever(context.Background(), time.Hour) })
	c := dial(t, f, "tcp", s.Address())
	c.Write([]byte("patience\n"))
	for _, want := range []time.Duration{5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond} {
		if err := clock.AwaitTimers(ctxT(t), 1); err != nil {
			t.Fatalf("no back-off timer: %v", err)
		}
		if d, _ := clock.AdvanceToNext(); d != want {
			t.Fatalf("pause %v, want %v", d, want)
		}
	}
	if got, err := readAll(t, c); got != "patience\n" || err != nil {
		t.Fatalf("reply %q %v", got, err)
	}
	if err := s.Shutdown(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if r := recv(t, served, "ServeForever"); r.err != nil {
		t.Fatal(r.err)
	}
	if f.AcceptCalls() != 4 {
		t.Fatalf("%d accept calls: the loop spun", f.AcceptCalls())
	}
}

// Shutdown wakes a ServeForever that waits with an hour's poll interval at
// once: the fake listener's WaitReady honours a deadline moved into the past.
func TestServerShutdownWakesAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newServer(t, impl.Config{Family: impl.TCP, Network: &netsim.Network{}})
		served := async(func() (int, error) { return 0, s.ServeForever(context.Background(), time.Hour) })
		synctest.Wait()
		start := time.Now()
		if err := s.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		if r := recv(t, served, "ServeForever"); r.err != nil {
			t.Fatal(r.err)
		}
		if d := time.Since(start); d != 0 {
			t.Fatalf("Shutdown took %v of virtual time", d)
		}
	})
}

// Every family serves on the fake network.
func TestServerFamilies(t *testing.T) {
	for _, fam := range []impl.Family{impl.TCP, impl.UDP, impl.UnixStream, impl.UnixDatagram} {
		t.Run(fam.String(), func(t *testing.T) {
			dir := t.TempDir() // unix names that exist nowhere on disk
			synctest.Test(t, func(t *testing.T) {
				n := &netsim.Network{}
				addr := "127.0.0.1:0"
				if fam == impl.UnixStream || fam == impl.UnixDatagram {
					addr = filepath.Join(dir, "srv")
				}
				s := newServer(t, impl.Config{Family: fam, Address: addr, Network: n, Timeout: impl.After(time.Second)})
				var c net.Conn
				switch fam {
				case impl.UnixDatagram:
					// A reply needs a named client socket.
					pc := listenPacket(t, n, "unixgram", filepath.Join(dir, "client"))
					pc.WriteTo([]byte("ping\n"), s.Addr())
					c = packetClient{pc}
				default:
					c = dial(t, n, fam.String(), s.Address())
					c.Write([]byte("ping\n"))
				}
				if err := s.HandleRequest(context.Background()); err != nil {
					t.Fatal(err)
				}
				buf := make([]byte, 16)
				c.SetReadDeadline(time.Now().Add(bound))
				k, err := c.Read(buf)
				if string(buf[:k]) != "ping\n" || err != nil {
					t.Fatalf("reply %q %v", buf[:k], err)
				}
			})
		})
	}
}

// packetClient reads a datagram socket as a net.Conn for the table above.
type packetClient struct{ net.PacketConn }

func (p packetClient) Read(b []byte) (int, error) {
	n, _, err := p.ReadFrom(b)
	return n, err
}
func (p packetClient) Write(b []byte) (int, error) { return 0, errors.ErrUnsupported }
func (p packetClient) RemoteAddr() net.Addr        { return nil }

// THR-05 with GoStarter: a failed goroutine start takes the handle_error
// path and the request is shut down; the next one is served.
func TestServerThreadStartFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := &netsim.Network{}
		gs := &inject.GoStarter{Fail: inject.Nth(1)}
		var log bytes.Buffer
		s := newServer(t, impl.Config{Family: impl.TCP, Network: n, Dispatch: impl.Threading, Go: gs.Go,
			ErrorLog: &log, Timeout: impl.After(time.Second)})
		first := dial(t, n, "tcp", s.Address())
		first.Write([]byte("one\n"))
		if err := s.HandleRequest(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got, _ := readAll(t, first); got != "" {
			t.Fatalf("a request whose goroutine never started answered %q", got)
		}
		if !bytes.Contains(log.Bytes(), []byte("can't start new thread")) {
			t.Fatalf("handle_error report:\n%s", log.String())
		}
		second := dial(t, n, "tcp", s.Address())
		second.Write([]byte("two\n"))
		if err := s.HandleRequest(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got, err := readAll(t, second); got != "two\n" || err != nil {
			t.Fatalf("reply %q %v", got, err)
		}
		s.Close() // joins the request goroutine inside the bubble
		if gs.Calls() != 2 || gs.Failures() != 1 {
			t.Fatalf("calls %d, failures %d", gs.Calls(), gs.Failures())
		}
	})
}
