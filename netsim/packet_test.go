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

func listenPacket(t testing.TB, n interface {
	ListenPacket(ctx context.Context, network, address string) (net.PacketConn, error)
}, network, address string) net.PacketConn {
	t.Helper()
	pc, err := n.ListenPacket(context.Background(), network, address)
	if err != nil {
		t.Fatalf("listen %s %s: %v", network, address, err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc
}

// Datagrams keep their boundaries, a short buffer truncates, and a reply
// reaches a client from Dial.
func TestPacketDatagrams(t *testing.T) {
	n := &netsim.Network{}
	srv := listenPacket(t, n, "udp", "127.0.0.1:0")
	cl := dial(t, n, "udp", srv.LocalAddr().String())
	cl.Write([]byte("first datagram"))
	cl.Write([]byte("second"))
	buf := make([]byte, 5)
	k, from, err := srv.ReadFrom(buf)
	if k != 5 || string(buf) != "first" || err != nil {
		t.Fatalf("truncated read %d %q %v", k, buf[:k], err)
	}
	if from.String() != cl.LocalAddr().String() {
		t.Fatalf("from %v, client is %v", from, cl.LocalAddr())
	}
	big := make([]byte, 64)
	if k, _, _ := srv.ReadFrom(big); string(big[:k]) != "second" {
		t.Fatalf("the rest of a truncated datagram leaked: %q", big[:k])
	}
	if _, err := srv.WriteTo([]byte("reply"), from); err != nil {
		t.Fatal(err)
	}
	cl.SetReadDeadline(time.Now().Add(bound))
	if k, err := cl.Read(big); string(big[:k]) != "reply" || err != nil {
		t.Fatalf("client read %q %v", big[:k], err)
	}
	if _, ok := from.(*net.UDPAddr); !ok {
		t.Fatalf("from is %T", from)
	}
}

// WaitReady and its deadline, which ReadFrom does not see, and the read
// deadline, which WaitReady does not see.
func TestPacketReadyWaiter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := &netsim.Network{}
		srv := listenPacket(t, n, "udp", "127.0.0.1:0")
		rw := srv.(impl.ReadyWaiter)
		start := time.Now()
		rw.SetReadyDeadline(start.Add(time.Second))
		if err := rw.WaitReady(); err != os.ErrDeadlineExceeded || time.Since(start) != time.Second {
			t.Fatalf("WaitReady: %v after %v", err, time.Since(start))
		}
		srv.SetReadDeadline(time.Now())
		_, _, err := srv.ReadFrom(make([]byte, 1))
		wantTimeout(t, err, "read")
		srv.SetReadDeadline(time.Time{})
		rw.SetReadyDeadline(time.Time{})

		waiting := async(func() (int, error) { return 0, rw.WaitReady() })
		synctest.Wait()
		if !blocked(waiting) || rw.Ready() {
			t.Fatal("ready with nothing sent")
		}
		cl := dial(t, n, "udp", srv.LocalAddr().String())
		cl.Write([]byte("x"))
		if r := recv(t, waiting, "WaitReady"); r.err != nil {
			t.Fatal(r.err)
		}
		if !rw.Ready() || srv.(*netsim.PacketConn).Pending() != 1 {
			t.Fatal("the wait took the datagram")
		}
		srv.ReadFrom(make([]byte, 1))

		waiting = async(func() (int, error) { return 0, rw.WaitReady() })
		synctest.Wait()
		rw.SetReadyDeadline(time.Unix(1, 0))
		if r := recv(t, waiting, "WaitReady"); r.err != os.ErrDeadlineExceeded {
			t.Fatalf("past deadline: %v", r.err)
		}
		rw.SetReadyDeadline(time.Time{})
		waiting = async(func() (int, error) { return 0, rw.WaitReady() })
		synctest.Wait()
		srv.Close()
		if r := recv(t, waiting, "WaitReady"); r.err != net.ErrClosed {
			t.Fatalf("after close: %v", r.err)
		}
		if time.Since(start) != time.Second {
			t.Fatalf("virtual time %v", time.Since(start))
		}
	})
}

// A full UDP queue drops datagrams; nothing blocks.
func TestUDPQueueFullDrops(t *testing.T) {
	n := &netsim.Network{PacketQueue: 2}
	srv := listenPacket(t, n, "udp", "127.0.0.1:0")
	cl := dial(t, n, "udp", srv.LocalAddr().String())
	for _, m := range []string{"a", "b", "c"} {
		if _, err := cl.Write([]byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	if p := srv.(*netsim.PacketConn).Pending(); p != 2 {
		t.Fatalf("%d queued", p)
	}
	var drops int
	for _, e := range n.Events() {
		if e.Kind == netsim.EventDrop {
			drops++
		}
	}
	if drops != 1 {
		t.Fatalf("%d drops: %v", drops, n.Events())
	}
	// Nothing bound there: dropped, no error, as UDP does.
	if _, err := srv.WriteTo([]byte("x"), &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9}); err != nil {
		t.Fatal(err)
	}
}

// A full Unix datagram queue makes the sender wait for room, until its
// write deadline.
func TestUnixgramQueueFullWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := &netsim.Network{PacketQueue: 1}
		srv := listenPacket(t, n, "unixgram", "srv")
		cl := dial(t, n, "unixgram", "srv")
		cl.Write([]byte("1"))
		sending := async(func() (int, error) { return cl.Write([]byte("2")) })
		synctest.Wait()
		if !blocked(sending) {
			t.Fatal("send into a full queue returned")
		}
		buf := make([]byte, 4)
		srv.ReadFrom(buf)
		if r := recv(t, sending, "Write"); r.n != 1 || r.err != nil {
			t.Fatalf("write %d %v", r.n, r.err)
		}
		start := time.Now()
		cl.SetWriteDeadline(start.Add(time.Second))
		_, err := cl.Write([]byte("3"))
		wantTimeout(t, err, "write")
		if time.Since(start) != time.Second {
			t.Fatalf("timed out after %v", time.Since(start))
		}
	})
}

// An unnamed Unix client has no address to answer; a named one has.
func TestUnixgramAddresses(t *testing.T) {
	n := &netsim.Network{}
	srv := listenPacket(t, n, "unixgram", "srv")
	anon := dial(t, n, "unixgram", "srv")
	if anon.LocalAddr().String() != "@" {
		t.Fatalf("unnamed client is %v", anon.LocalAddr())
	}
	anon.Write([]byte("hi"))
	buf := make([]byte, 8)
	_, from, err := srv.ReadFrom(buf)
	if err != nil || from != nil {
		t.Fatalf("from %#v %v: want no address", from, err)
	}
	named := listenPacket(t, n, "unixgram", "client")
	named.WriteTo([]byte("hi"), srv.LocalAddr())
	_, from, _ = srv.ReadFrom(buf)
	if from == nil || from.String() != "client" {
		t.Fatalf("from %v", from)
	}
	srv.WriteTo([]byte("back"), from)
	named.SetReadDeadline(time.Now().Add(bound))
	if k, _, err := named.ReadFrom(buf); string(buf[:k]) != "back" || err != nil {
		t.Fatalf("reply %q %v", buf[:k], err)
	}
}

// The failures of sendto and of closed sockets.
func TestPacketErrors(t *testing.T) {
	n := &netsim.Network{}
	srv := listenPacket(t, n, "udp", "127.0.0.1:0")
	cl := dial(t, n, "udp", srv.LocalAddr().String())
	_, err := cl.Write(make([]byte, 70000))
	wantSyscall(t, err, "write", "sendto", syscall.EMSGSIZE)
	_, err = cl.(net.PacketConn).WriteTo([]byte("x"), srv.LocalAddr())
	if !errors.Is(err, net.ErrWriteToConnected) {
		t.Fatalf("WriteTo on a connected socket: %v", err)
	}
	_, err = srv.WriteTo([]byte("x"), &net.UnixAddr{Name: "x", Net: "unixgram"})
	if !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("WriteTo a unix address over udp: %v", err)
	}

	ug := listenPacket(t, n, "unixgram", "g")
	_, err = ug.WriteTo([]byte("x"), &net.UnixAddr{Name: "nobody", Net: "unixgram"})
	wantSyscall(t, err, "write", "sendto", syscall.ENOENT)
	if err.Error() != "write unixgram g->nobody: sendto: no such file or directory" {
		t.Errorf("message %q", err)
	}

	srv.Close()
	_, _, err = srv.ReadFrom(make([]byte, 1))
	wantClosed(t, err, "read")
	_, err = srv.WriteTo([]byte("x"), cl.LocalAddr())
	wantClosed(t, err, "write")
	wantClosed(t, srv.Close(), "close")
	wantClosed(t, srv.SetDeadline(time.Now()), "set")
	if _, err := cl.Write([]byte("x")); err != nil {
		t.Fatalf("a datagram to a closed UDP socket is lost silently: %v", err)
	}
}
