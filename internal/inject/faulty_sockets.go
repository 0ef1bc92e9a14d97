package inject

import (
	"net"
	"os"
	"syscall"
	"time"

	"github.com/sockspec/sockspec/impl"
)

// The wrappers of FaultyNetwork. Go cannot add methods to a type
// conditionally, so each kind of inner socket gets a wrapper type whose
// method set is the inner socket's as far as impl looks at it.

// osListener is what impl uses of an operating system listener besides
// net.Listener: SyscallConn for the backlog, File and SetDeadline for the
// readiness wait.
type osListener interface {
	syscall.Conn
	File() (*os.File, error)
	SetDeadline(t time.Time) error
}

// faultyListener fails chosen Accept calls without taking a connection.
type faultyListener struct {
	net.Listener
	f *FaultyNetwork
}

// Accept fails when a fault is chosen for this call, and otherwise accepts.
// A failing call returns at once, even with nothing queued, as accept4(2)
// does when it cannot allocate a descriptor.
func (l *faultyListener) Accept() (net.Conn, error) {
	n, errno := l.f.inject(&l.f.accepts, l.f.Accept)
	if errno == 0 {
		return l.Listener.Accept()
	}
	err := &net.OpError{Op: "accept", Net: l.Addr().Network(), Addr: l.Addr(), Err: os.NewSyscallError("accept4", errno)}
	l.f.note("accept", n, err)
	return nil, err
}

// Unwrap returns the inner network's listener.
func (l *faultyListener) Unwrap() net.Listener { return l.Listener }

// faultyOSListener wraps an operating system listener.
type faultyOSListener struct {
	*faultyListener
	os osListener
}

func (l *faultyOSListener) SyscallConn() (syscall.RawConn, error) { return l.os.SyscallConn() }
func (l *faultyOSListener) File() (*os.File, error)               { return l.os.File() }
func (l *faultyOSListener) SetDeadline(t time.Time) error         { return l.os.SetDeadline(t) }

// faultyReadyListener wraps a listener of an in-memory network.
type faultyReadyListener struct {
	*faultyListener
	rw impl.ReadyWaiter
}

func (l *faultyReadyListener) Ready() bool      { return l.rw.Ready() }
func (l *faultyReadyListener) WaitReady() error { return l.rw.WaitReady() }
func (l *faultyReadyListener) SetReadyDeadline(t time.Time) error {
	return l.rw.SetReadyDeadline(t)
}

// SetBacklog forwards to the inner listener, and does nothing when it has
// no backlog to set.
func (l *faultyReadyListener) SetBacklog(n int) error {
	if b, ok := l.Listener.(impl.BacklogSetter); ok {
		return b.SetBacklog(n)
	}
	return nil
}

// faultyPacket fails chosen ReadFrom calls without taking a datagram.
type faultyPacket struct {
	net.PacketConn
	f *FaultyNetwork
}

// ReadFrom fails when a fault is chosen for this call, and otherwise reads.
// A failing call returns at once and leaves the queue as it was.
func (p *faultyPacket) ReadFrom(b []byte) (int, net.Addr, error) {
	n, errno := p.f.inject(&p.f.reads, p.f.ReadFrom)
	if errno == 0 {
		return p.PacketConn.ReadFrom(b)
	}
	la := p.LocalAddr()
	err := &net.OpError{Op: "read", Net: la.Network(), Source: la, Err: os.NewSyscallError("recvfrom", errno)}
	p.f.note("recvfrom", n, err)
	return 0, nil, err
}

// Unwrap returns the inner network's socket.
func (p *faultyPacket) Unwrap() net.PacketConn { return p.PacketConn }

// osPacket is what impl uses of an operating system datagram socket
// besides net.PacketConn: File for the readiness wait.
type osPacket interface {
	syscall.Conn
	File() (*os.File, error)
}

// faultyOSPacket wraps an operating system datagram socket.
type faultyOSPacket struct {
	*faultyPacket
	os osPacket
}

func (p *faultyOSPacket) SyscallConn() (syscall.RawConn, error) { return p.os.SyscallConn() }
func (p *faultyOSPacket) File() (*os.File, error)               { return p.os.File() }

// faultyReadyPacket wraps a datagram socket of an in-memory network.
type faultyReadyPacket struct {
	*faultyPacket
	rw impl.ReadyWaiter
}

func (p *faultyReadyPacket) Ready() bool      { return p.rw.Ready() }
func (p *faultyReadyPacket) WaitReady() error { return p.rw.WaitReady() }
func (p *faultyReadyPacket) SetReadyDeadline(t time.Time) error {
	return p.rw.SetReadyDeadline(t)
}
