package netsim_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"syscall"
	"testing"

	"github.com/sockspec/sockspec/netsim"
)

// Port 0 picks free ports in a fixed order, so runs are repeatable.
func TestListenAssignsPortsInOrder(t *testing.T) {
	n := &netsim.Network{}
	a := listen(t, n, "tcp", "127.0.0.1:0")
	b := listen(t, n, "tcp", "127.0.0.1:0")
	u, err := n.ListenPacket(context.Background(), "udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	if got := a.Addr().String(); got != "127.0.0.1:32768" {
		t.Errorf("first port %s", got)
	}
	if got := b.Addr().String(); got != "127.0.0.1:32769" {
		t.Errorf("second port %s", got)
	}
	if got := u.LocalAddr().String(); got != "127.0.0.1:32768" {
		t.Errorf("udp has its own ports: %s", got)
	}
	if _, ok := a.Addr().(*net.TCPAddr); !ok {
		t.Errorf("Addr is %T, want *net.TCPAddr", a.Addr())
	}
	if _, ok := u.LocalAddr().(*net.UDPAddr); !ok {
		t.Errorf("LocalAddr is %T, want *net.UDPAddr", u.LocalAddr())
	}
}

// A bound address is in use, for the same address and across the
// wildcard, until the socket closes.
func TestListenAddressInUse(t *testing.T) {
	n := &netsim.Network{}
	ln := listen(t, n, "tcp", "127.0.0.1:0")
	_, err := n.Listen(context.Background(), "tcp", ln.Addr().String())
	wantSyscall(t, err, "listen", "bind", syscall.EADDRINUSE)
	port := ln.Addr().(*net.TCPAddr).Port
	_, err = n.Listen(context.Background(), "tcp", net.JoinHostPort("", strconv.Itoa(port)))
	wantSyscall(t, err, "listen", "bind", syscall.EADDRINUSE)
	other := listen(t, n, "tcp", net.JoinHostPort("127.0.0.2", strconv.Itoa(port)))
	other.Close()

	pc, err := n.ListenPacket(context.Background(), "udp", "127.0.0.1:9000")
	if err != nil {
		t.Fatal(err)
	}
	_, err = n.ListenPacket(context.Background(), "udp", "127.0.0.1:9000")
	wantSyscall(t, err, "listen", "bind", syscall.EADDRINUSE)
	pc.Close()

	ln.Close()
	again := listen(t, n, "tcp", ln.Addr().String())
	if again.Addr().String() != ln.Addr().String() {
		t.Fatalf("rebound to %v", again.Addr())
	}
	if _, err := n.ListenPacket(context.Background(), "udp", "127.0.0.1:9000"); err != nil {
		t.Fatalf("udp port not freed by Close: %v", err)
	}
}

// Unix names share one namespace across stream and datagram sockets, as
// paths do, and are freed on Close.
func TestUnixNames(t *testing.T) {
	n := &netsim.Network{}
	ln := listen(t, n, "unix", "srv")
	if a, ok := ln.Addr().(*net.UnixAddr); !ok || a.Name != "srv" || a.Net != "unix" {
		t.Fatalf("Addr %#v", ln.Addr())
	}
	_, err := n.Listen(context.Background(), "unix", "srv")
	wantSyscall(t, err, "listen", "bind", syscall.EADDRINUSE)
	_, err = n.ListenPacket(context.Background(), "unixgram", "srv")
	wantSyscall(t, err, "listen", "bind", syscall.EADDRINUSE)
	ln.Close()
	pc, err := n.ListenPacket(context.Background(), "unixgram", "srv")
	if err != nil {
		t.Fatalf("name not freed: %v", err)
	}
	pc.Close()
}

// Dialing nothing fails as connect(2) does: ECONNREFUSED on a TCP port,
// ENOENT for a Unix name that no socket has.
func TestDialNothing(t *testing.T) {
	n := &netsim.Network{}
	_, err := n.Dial(ctxT(t), "tcp", "127.0.0.1:1")
	wantSyscall(t, err, "dial", "connect", syscall.ECONNREFUSED)
	var oe *net.OpError
	if errors.As(err, &oe); oe.Addr.String() != "127.0.0.1:1" || oe.Net != "tcp" {
		t.Errorf("error names %v %v", oe.Net, oe.Addr)
	}
	if err.Error() != "dial tcp 127.0.0.1:1: connect: connection refused" {
		t.Errorf("message %q", err)
	}
	_, err = n.Dial(ctxT(t), "unix", "nobody")
	wantSyscall(t, err, "dial", "connect", syscall.ENOENT)
	_, err = n.Dial(ctxT(t), "unixgram", "nobody")
	wantSyscall(t, err, "dial", "connect", syscall.ENOENT)

	pc, _ := n.ListenPacket(context.Background(), "unixgram", "dgram")
	defer pc.Close()
	_, err = n.Dial(ctxT(t), "unix", "dgram")
	wantSyscall(t, err, "dial", "connect", syscall.EPROTOTYPE)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ln := listen(t, n, "tcp", "127.0.0.1:0")
	if _, err := n.Dial(ctx, "tcp", ln.Addr().String()); !errors.Is(err, context.Canceled) {
		t.Errorf("dial with a cancelled context: %v", err)
	}
}

func TestBadNetworkAndAddress(t *testing.T) {
	n := &netsim.Network{}
	var une net.UnknownNetworkError
	if _, err := n.Listen(context.Background(), "unixpacket", "x"); !errors.As(err, &une) {
		t.Errorf("unixpacket: %v", err)
	}
	if _, err := n.Listen(context.Background(), "udp", "127.0.0.1:0"); !errors.As(err, &une) {
		t.Errorf("stream listen on udp: %v", err)
	}
	if _, err := n.ListenPacket(context.Background(), "tcp", "127.0.0.1:0"); !errors.As(err, &une) {
		t.Errorf("packet listen on tcp: %v", err)
	}
	var ae *net.AddrError
	if _, err := n.Listen(context.Background(), "tcp", "127.0.0.1"); !errors.As(err, &ae) {
		t.Errorf("missing port: %v", err)
	}
	var de *net.DNSError
	if _, err := n.Listen(context.Background(), "tcp", "example.invalid:80"); !errors.As(err, &de) {
		t.Errorf("host name: %v", err)
	}
	if _, err := n.Listen(context.Background(), "unix", ""); err == nil {
		t.Error("empty unix name accepted")
	}
	ln := listen(t, n, "tcp", "localhost:0")
	if ln.Addr().String() != "127.0.0.1:32768" {
		t.Errorf("localhost bound as %v", ln.Addr())
	}
}

// A client of a wildcard listener dials the loopback address and both ends
// see concrete addresses.
func TestConnAddresses(t *testing.T) {
	n := &netsim.Network{}
	ln := listen(t, n, "tcp", ":7000")
	c := dial(t, n, "tcp", "127.0.0.1:7000")
	s := accept(t, ln)
	if c.LocalAddr().String() != s.RemoteAddr().String() || c.RemoteAddr().String() != s.LocalAddr().String() {
		t.Fatalf("client %v→%v, server %v→%v", c.LocalAddr(), c.RemoteAddr(), s.LocalAddr(), s.RemoteAddr())
	}
	if s.LocalAddr().String() != "127.0.0.1:7000" {
		t.Errorf("server end is %v", s.LocalAddr())
	}

	ul := listen(t, n, "unix", "sock")
	uc := dial(t, n, "unix", "sock")
	us := accept(t, ul)
	if uc.LocalAddr().String() != "@" || us.RemoteAddr().String() != "@" || us.LocalAddr().String() != "sock" {
		t.Errorf("unix client %v, server sees %v on %v", uc.LocalAddr(), us.RemoteAddr(), us.LocalAddr())
	}
}

// The record of wire events tells what happened, in order.
func TestEvents(t *testing.T) {
	n := &netsim.Network{}
	ln := listen(t, n, "tcp", "127.0.0.1:0")
	c := dial(t, n, "tcp", ln.Addr().String())
	s := accept(t, ln)
	c.Write([]byte("hello"))
	c.(*netsim.Conn).CloseWrite()
	if got, _ := readAll(t, s); got != "hello" {
		t.Fatalf("read %q", got)
	}
	s.Close()
	c.Close()
	ln.Close()

	var kinds []netsim.EventKind
	for _, e := range n.Events() {
		kinds = append(kinds, e.Kind)
	}
	want := []netsim.EventKind{netsim.EventListen, netsim.EventConnect, netsim.EventAccept, netsim.EventData,
		netsim.EventShutdown, netsim.EventClose, netsim.EventClose, netsim.EventUnbind}
	if len(kinds) != len(want) {
		t.Fatalf("events %v", n.Events())
	}
	for i := range want {
		if kinds[i] != want[i] {
			t.Fatalf("events %v", n.Events())
		}
	}
	data := n.Events()[3]
	if data.Size != 5 || data.From != c.LocalAddr().String() || data.To != ln.Addr().String() || data.Seq != 4 {
		t.Errorf("data event %v", data)
	}
	e, err := n.WaitEvent(ctxT(t), func(e netsim.Event) bool { return e.Kind == netsim.EventAccept })
	if err != nil || e.Seq != 3 {
		t.Errorf("WaitEvent: %v %v", e, err)
	}

	quiet := &netsim.Network{NoEvents: true}
	listen(t, quiet, "tcp", "127.0.0.1:0")
	if len(quiet.Events()) != 0 {
		t.Errorf("NoEvents recorded %v", quiet.Events())
	}
}
