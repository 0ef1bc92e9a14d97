package impl_test

import (
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/sockspec/sockspec/impl"
	"github.com/sockspec/sockspec/internal/inject"
	"github.com/sockspec/sockspec/netsim"
)

func openFDs(t testing.TB) int {
	t.Helper()
	e, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(e)
}

// NET-01: a failed bind leaves no descriptor behind.
func TestNET01FailedBindLeaksNothing(t *testing.T) {
	s := newServer(t, impl.Config{Family: impl.TCP})
	before := openFDs(t)
	for i := 0; i < 50; i++ {
		_, err := impl.New(impl.Config{Family: impl.TCP, Address: s.Address(), Handler: scripted})
		if !errors.Is(err, syscall.EADDRINUSE) || !strings.Contains(err.Error(), "another socket holds the port") {
			t.Fatalf("bind to a used port: %v", err)
		}
	}
	if after := openFDs(t); after != before {
		t.Fatalf("descriptors %d → %d after 50 failed binds", before, after)
	}
}

// NET-02: server_address is the bound address, port 0 resolved.
func TestNET02AddressAfterBind(t *testing.T) {
	s := newServer(t, impl.Config{Family: impl.TCP})
	host, port, err := net.SplitHostPort(s.Address())
	if err != nil || host != "127.0.0.1" || port == "0" {
		t.Fatalf("address %q", s.Address())
	}
}

func sockoptOf(t testing.TB, sock any, opt int) int {
	t.Helper()
	rc, err := sock.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	var gerr error
	rc.Control(func(fd uintptr) { v, gerr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, opt) })
	if gerr != nil {
		t.Fatal(gerr)
	}
	return v
}

// NET-03: SO_REUSEADDR is what AllowReuseAddress says, default off (Go
// itself would turn it on).
func TestNET03ReuseAddress(t *testing.T) {
	for _, allow := range []bool{false, true} {
		s := newServer(t, impl.Config{Family: impl.TCP, AllowReuseAddress: allow})
		if got := sockoptOf(t, s.Listener(), syscall.SO_REUSEADDR); (got != 0) != allow {
			t.Fatalf("allow=%v: SO_REUSEADDR=%d", allow, got)
		}
	}
}

// NET-03: with reuse off, a port in TIME_WAIT cannot be bound again; with it
// on, it can.
func TestNET03TimeWaitRebind(t *testing.T) {
	for _, allow := range []bool{false, true} {
		s := newServer(t, impl.Config{Family: impl.TCP, AllowReuseAddress: allow})
		addr := s.Address()
		c := dial(t, s)
		c.send("echo tw")
		if err := s.HandleRequest(ctxT(t)); err != nil { // the server closes first: TIME_WAIT on its side
			t.Fatal(err)
		}
		c.readAll()
		c.conn.Close()
		s.ServerClose()
		if !allow && !inTimeWait(t, addr) {
			t.Skip("the kernel kept no TIME_WAIT socket (is net.ipv4.tcp_max_tw_buckets full?)")
		}
		s2, err := impl.New(impl.Config{Family: impl.TCP, Address: addr, Handler: scripted, AllowReuseAddress: allow})
		if allow && err != nil {
			t.Fatalf("rebind with reuse: %v", err)
		}
		if !allow && !errors.Is(err, syscall.EADDRINUSE) {
			t.Fatalf("rebind without reuse: %v, want EADDRINUSE", err)
		}
		if s2 != nil {
			s2.ServerClose()
		}
	}
}

// inTimeWait reports whether a TCP socket on addr's port is in TIME_WAIT.
func inTimeWait(t testing.TB, addr string) bool {
	t.Helper()
	if _, err := exec.LookPath("ss"); err != nil {
		t.Skip("ss (iproute2) is not installed")
	}
	_, port, _ := net.SplitHostPort(addr)
	out, err := exec.Command("ss", "-tanH", "state", "time-wait", "sport = :"+port).Output()
	if err != nil {
		t.Fatal(err)
	}
	return len(bytes.TrimSpace(out)) > 0
}

// NET-04: AllowReusePort lets two servers bind one port; Unix servers
// ignore it (Linux rejects SO_REUSEPORT there, gh-128916).
func TestNET04ReusePort(t *testing.T) {
	for _, f := range []impl.Family{impl.TCP, impl.UDP} {
		a := newServer(t, impl.Config{Family: f, AllowReusePort: true})
		b, err := impl.New(impl.Config{Family: f, Address: a.Address(), Handler: scripted, AllowReusePort: true})
		if err != nil {
			t.Fatalf("%v: second bind with reuse port: %v", f, err)
		}
		b.ServerClose()
		if _, err := impl.New(impl.Config{Family: f, Address: a.Address(), Handler: scripted}); !errors.Is(err, syscall.EADDRINUSE) {
			t.Fatalf("%v: second bind without reuse port: %v", f, err)
		}
	}
	newServer(t, impl.Config{Family: impl.UnixStream, AllowReusePort: true})
}

// NET-05: the listen backlog is RequestQueueSize (5 by default), as ss
// shows it in Send-Q.
func TestNET05Backlog(t *testing.T) {
	if _, err := exec.LookPath("ss"); err != nil {
		t.Skip("ss (iproute2) is not installed")
	}
	for _, n := range []int{0, 17} {
		s := newServer(t, impl.Config{Family: impl.TCP, RequestQueueSize: n})
		_, port, _ := net.SplitHostPort(s.Address())
		out, err := exec.Command("ss", "-ltnH", "sport = :"+port).Output()
		if err != nil {
			t.Fatal(err)
		}
		f := strings.Fields(string(out))
		want := n
		if n == 0 {
			want = impl.DefaultRequestQueueSize
		}
		if len(f) < 3 || f[2] != strconv.Itoa(want) {
			t.Fatalf("ss says %q, want Send-Q %d", out, want)
		}
	}
}

// NET-07: a datagram longer than MaxPacketSize is cut to it, and the
// server's socket stays open after the request.
func TestNET07Truncation(t *testing.T) {
	var got []byte
	s := newServer(t, impl.Config{Family: impl.UDP, Handler: impl.DatagramHandlerFunc(func(h *impl.DatagramHandler, r *impl.Request) error {
		got = h.Packet
		return nil
	})})
	c := dial(t, s)
	if _, err := c.conn.Write(bytes.Repeat([]byte("x"), 10000)); err != nil {
		t.Fatal(err)
	}
	if err := s.HandleRequest(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if len(got) != 8192 {
		t.Fatalf("handler saw %d bytes, want 8192", len(got))
	}
	c.send("second")
	if err := s.HandleRequest(ctxT(t)); err != nil {
		t.Fatalf("socket closed after a request? %v", err)
	}
}

// NET-08: the reply datagram is always sent, empty or after a failure.
func TestNET08ReplyAlwaysSent(t *testing.T) {
	for name, f := range map[string]func(*impl.DatagramHandler, *impl.Request) error{
		"empty": func(*impl.DatagramHandler, *impl.Request) error { return nil },
		"after failure": func(h *impl.DatagramHandler, r *impl.Request) error {
			h.Wfile.WriteString("partial")
			return errors.New("failed")
		},
	} {
		t.Run(name, func(t *testing.T) {
			s := newServer(t, impl.Config{Family: impl.UDP, Handler: impl.DatagramHandlerFunc(f)})
			c := dial(t, s)
			c.send("x")
			if err := s.HandleRequest(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			reply, err := c.readAll()
			if err != nil {
				t.Fatalf("no reply datagram: %v", err)
			}
			if want := map[string]string{"empty": "", "after failure": "partial"}[name]; reply != want {
				t.Fatalf("reply %q, want %q", reply, want)
			}
		})
	}
}

// NET-10: the reference removes the socket file it created, so the path can
// be bound again (CPython leaves it).
func TestNET10SocketFileRemoved(t *testing.T) {
	for _, f := range []impl.Family{impl.UnixStream, impl.UnixDatagram} {
		path := filepath.Join(shortTempDir(t), "s.sock")
		s := newServer(t, impl.Config{Family: f, Address: path})
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("%v: socket file missing while serving: %v", f, err)
		}
		s.ServerClose()
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%v: socket file left after close: %v", f, err)
		}
		newServer(t, impl.Config{Family: f, Address: path})
	}
}

// NET-10: a stale socket file is reported with what to do about it.
func TestNET10StaleFileError(t *testing.T) {
	path := filepath.Join(shortTempDir(t), "s.sock")
	newServer(t, impl.Config{Family: impl.UnixStream, Address: path})
	_, err := impl.New(impl.Config{Family: impl.UnixStream, Address: path, Handler: scripted})
	if err == nil || !strings.Contains(err.Error(), "remove it") {
		t.Fatalf("got %v", err)
	}
}

// NET-11: a Unix datagram client that never bound cannot be replied to;
// that is a failure that reaches handle_error.
func TestNET11UnboundUnixDatagramClient(t *testing.T) {
	var got error
	s := newServer(t, impl.Config{Family: impl.UnixDatagram,
		Handler:   impl.LineTransform(func(b []byte) []byte { return b }),
		Overrides: impl.Overrides{HandleError: func(s *impl.Server, r *impl.Request, err error) error { got = err; return nil }}})
	conn, err := net.Dial("unixgram", s.Address())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write([]byte("hello"))
	if err := s.HandleRequest(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(got, impl.ErrNoReplyAddress) {
		t.Fatalf("handle_error got %v", got)
	}
}

// NET-12: with DeferBind the server has no socket and keeps the configured
// address until ServerBind.
func TestNET12DeferBind(t *testing.T) {
	s := newServer(t, impl.Config{Family: impl.TCP, Address: "127.0.0.1:0", DeferBind: true})
	if s.Address() != "127.0.0.1:0" || s.Listener() != nil {
		t.Fatalf("before bind: %q %v", s.Address(), s.Listener())
	}
	if err := s.HandleRequest(ctxT(t)); !errors.Is(err, impl.ErrNotBound) {
		t.Fatalf("HandleRequest before bind: %v", err)
	}
	if err := s.ServerBind(); err != nil {
		t.Fatal(err)
	}
	if err := s.ServerActivate(); err != nil {
		t.Fatal(err)
	}
	if s.Address() == "127.0.0.1:0" {
		t.Fatal("address not resolved after bind")
	}
	c := dial(t, s)
	c.send("echo bound")
	if err := s.HandleRequest(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.readAll(); got != "bound\n" {
		t.Fatalf("reply %q", got)
	}
}

// Bad configuration is refused with an error that names the field.
func TestConfigErrors(t *testing.T) {
	cases := map[string]impl.Config{
		"Config.Family":           {Address: "x", Handler: scripted},
		"Config.Address":          {Family: impl.TCP, Handler: scripted},
		"Config.Handler":          {Family: impl.TCP, Address: "127.0.0.1:0"},
		"Config.PollInterval":     {Family: impl.TCP, Address: "127.0.0.1:0", Handler: scripted, PollInterval: -1},
		"Config.RequestQueueSize": {Family: impl.TCP, Address: "127.0.0.1:0", Handler: scripted, RequestQueueSize: -1},
		"Config.MaxChildren":      {Family: impl.TCP, Address: "127.0.0.1:0", Handler: scripted, MaxChildren: -1},
		"Config.MaxPacketSize":    {Family: impl.UDP, Address: "127.0.0.1:0", Handler: scripted, MaxPacketSize: -1},
		"Config.Dispatch":         {Family: impl.TCP, Address: "127.0.0.1:0", Handler: scripted, Dispatch: 9},
	}
	for field, cfg := range cases {
		if _, err := impl.New(cfg); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: got %v", field, err)
		}
	}
}

// NET-10: only a socket file on disk is removed; the name of an in-memory
// Unix socket is no file, and a file of that name is none of the server's.
func TestNET10InMemoryNameNotRemoved(t *testing.T) {
	path := filepath.Join(shortTempDir(t), "s.sock")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s := newServer(t, impl.Config{Family: impl.UnixDatagram, Address: path, Network: &netsim.Network{}})
	s.ServerClose()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("a file the server never created was removed: %v", err)
	}
}

// NET-03, NET-04: a Network wrapping impl.ListenConfig keeps BaseServer's
// socket options.
func TestListenConfigKeepsOptions(t *testing.T) {
	cfg := impl.Config{Family: impl.TCP, AllowReusePort: true}
	s := newServer(t, impl.Config{Family: impl.TCP, AllowReusePort: true,
		Network: &inject.FaultyNetwork{Inner: impl.ListenConfig(cfg)}})
	ln := s.Listener().(interface{ Unwrap() net.Listener }).Unwrap()
	if got := sockoptOf(t, ln, syscall.SO_REUSEADDR); got != 0 {
		t.Fatalf("SO_REUSEADDR=%d, want 0", got)
	}
	if got := sockoptOf(t, ln, 0xf); got != 1 {
		t.Fatalf("SO_REUSEPORT=%d, want 1", got)
	}
}
