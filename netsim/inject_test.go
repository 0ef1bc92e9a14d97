package netsim_test

import (
	"errors"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/sockspec/sockspec/impl"
	"github.com/sockspec/sockspec/internal/inject"
	"github.com/sockspec/sockspec/netsim"
)

// A failing Accept takes nothing: the connection stays queued, the
// listener stays ready, and the next Accept gets it.
func TestFaultyAcceptKeepsConnection(t *testing.T) {
	n := &netsim.Network{}
	f := &inject.FaultyNetwork{Inner: n, Accept: []inject.Fault{
		{When: inject.Range(1, 2), Errno: syscall.EMFILE},
		{When: inject.Nth(2, 3), Errno: syscall.ECONNABORTED}, // 2 is taken by the first
	}}
	ln := listen(t, f, "tcp", "127.0.0.1:0")
	rw, ok := ln.(impl.ReadyWaiter)
	if !ok {
		t.Fatalf("%T hides the inner listener's readiness", ln)
	}
	if _, ok := ln.(impl.BacklogSetter); !ok {
		t.Fatalf("%T hides SetBacklog", ln)
	}
	c := dial(t, f, "tcp", ln.Addr().String())
	for i, want := range []syscall.Errno{syscall.EMFILE, syscall.EMFILE, syscall.ECONNABORTED} {
		_, err := ln.Accept()
		wantSyscall(t, err, "accept", "accept4", want)
		if !rw.Ready() || n.Events()[len(n.Events())-1].Kind != netsim.EventConnect {
			t.Fatalf("failed accept %d took the connection", i+1)
		}
	}
	s := accept(t, ln)
	if s.RemoteAddr().String() != c.LocalAddr().String() {
		t.Fatal("accepted some other connection")
	}
	if f.AcceptCalls() != 4 {
		t.Fatalf("%d accept calls", f.AcceptCalls())
	}
	inj := f.Injected()
	if len(inj) != 3 || inj[0].Call != 1 || inj[2].Call != 3 || inj[2].Op != "accept" || !errors.Is(inj[2].Err, syscall.ECONNABORTED) {
		t.Fatalf("injections %+v", inj)
	}
	var oe *net.OpError
	if errors.As(inj[0].Err, &oe); oe.Addr.String() != ln.Addr().String() || oe.Net != "tcp" {
		t.Fatalf("error names %v %v", oe.Net, oe.Addr)
	}
}

// A failing ReadFrom leaves the datagram queued.
func TestFaultyReadFromKeepsDatagram(t *testing.T) {
	f := &inject.FaultyNetwork{Inner: &netsim.Network{}, ReadFrom: []inject.Fault{{When: inject.Nth(1), Errno: syscall.ENOBUFS}}}
	srv := listenPacket(t, f, "udp", "127.0.0.1:0")
	if _, ok := srv.(impl.ReadyWaiter); !ok {
		t.Fatalf("%T hides readiness", srv)
	}
	cl := dial(t, f, "udp", srv.LocalAddr().String())
	cl.Write([]byte("dgram"))
	buf := make([]byte, 16)
	_, _, err := srv.ReadFrom(buf)
	wantSyscall(t, err, "read", "recvfrom", syscall.ENOBUFS)
	if !srv.(impl.ReadyWaiter).Ready() {
		t.Fatal("the failed read took the datagram")
	}
	if k, _, err := srv.ReadFrom(buf); string(buf[:k]) != "dgram" || err != nil {
		t.Fatalf("read %q %v", buf[:k], err)
	}
	if f.ReadFromCalls() != 2 {
		t.Fatalf("%d calls", f.ReadFromCalls())
	}
}

// Over the operating system's network the wrapper keeps what impl needs of
// a kernel socket (SyscallConn, File, SetDeadline) and no readiness of its
// own; a real pending connection survives the injected EMFILE.
func TestFaultyOSNetwork(t *testing.T) {
	f := &inject.FaultyNetwork{Accept: []inject.Fault{{When: inject.Nth(1), Errno: syscall.EMFILE}}}
	ln := listen(t, f, "tcp", "127.0.0.1:0")
	if _, ok := ln.(syscall.Conn); !ok {
		t.Fatalf("%T has no SyscallConn", ln)
	}
	if _, ok := ln.(interface{ File() (*os.File, error) }); !ok {
		t.Fatalf("%T has no File", ln)
	}
	if _, ok := ln.(impl.ReadyWaiter); ok {
		t.Fatalf("%T claims readiness it cannot report", ln)
	}
	dl := ln.(interface{ SetDeadline(time.Time) error })
	dl.SetDeadline(time.Now().Add(bound))
	c := dial(t, f, "tcp", ln.Addr().String())
	_, err := ln.Accept()
	wantSyscall(t, err, "accept", "accept4", syscall.EMFILE)
	s := accept(t, ln)
	if s.RemoteAddr().String() != c.LocalAddr().String() {
		t.Fatal("accepted some other connection")
	}

	pc := listenPacket(t, f, "udp", "127.0.0.1:0")
	if _, ok := pc.(syscall.Conn); !ok {
		t.Fatalf("%T has no SyscallConn", pc)
	}
}
