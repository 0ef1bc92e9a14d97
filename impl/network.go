package impl

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"
	"unsafe"
)

// Network opens listening sockets. It is the method set of *net.ListenConfig,
// so the operating system's network fits unchanged, and so does an in-memory
// network. Listeners and packet sockets it returns must either be the
// standard library's own (they expose syscall.Conn) or implement ReadyWaiter.
type Network interface {
	Listen(ctx context.Context, network, address string) (net.Listener, error)
	ListenPacket(ctx context.Context, network, address string) (net.PacketConn, error)
}

// ReadyWaiter is what the server needs from a socket of a custom Network to
// wait for a request without taking it, which is how BaseServer separates
// the readiness wait (select/poll) from get_request.
type ReadyWaiter interface {
	// Ready reports, without blocking, whether a request is pending.
	Ready() bool
	// WaitReady blocks until a request is pending (nil), the deadline last
	// given to SetDeadline passes (os.ErrDeadlineExceeded), or the socket is
	// closed (net.ErrClosed). Setting a deadline in the past wakes it.
	WaitReady() error
	SetDeadline(t time.Time) error
}

// BacklogSetter is implemented by listeners whose accept queue length can be
// set after they were opened; ServerActivate uses it for RequestQueueSize.
type BacklogSetter interface {
	SetBacklog(n int) error
}

// networkName is the Go network name for a family.
func networkName(f Family) string {
	switch f {
	case TCP:
		return "tcp"
	case UDP:
		return "udp"
	case UnixStream:
		return "unix"
	}
	return "unixgram"
}

// listenConfig is the operating system's network with CPython's socket
// options: Go sets SO_REUSEADDR on every TCP listener by default, BaseServer
// does not (allow_reuse_address=False), so the option is always written.
func listenConfig(base *net.ListenConfig, c Config) *net.ListenConfig {
	lc := &net.ListenConfig{}
	if base != nil {
		*lc = *base
	}
	inet := c.Family == TCP || c.Family == UDP
	prev := lc.Control
	lc.Control = func(network, address string, rc syscall.RawConn) error {
		if prev != nil {
			if err := prev(network, address, rc); err != nil {
				return err
			}
		}
		if !inet {
			return nil // SO_REUSEPORT on AF_UNIX fails on Linux ≥ 6.12.9 (gh-128916)
		}
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, boolInt(c.AllowReuseAddress))
			if serr == nil && c.AllowReusePort {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, soReusePort, 1)
			}
		})
		if err != nil {
			return err
		}
		return serr
	}
	return lc
}

const soReusePort = 0xf // SO_REUSEPORT on Linux

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// setBacklog applies listen(2)'s backlog to an already listening socket:
// Linux accepts a second listen() and updates the queue length, which is the
// only way to choose it with Go's net package.
func setBacklog(ln net.Listener, n int) error {
	if b, ok := ln.(BacklogSetter); ok {
		return b.SetBacklog(n)
	}
	sc, ok := ln.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	var lerr error
	if err := rc.Control(func(fd uintptr) { lerr = syscall.Listen(int(fd), n) }); err != nil {
		return err
	}
	return os.NewSyscallError("listen", lerr)
}

// readySource gives the server a readiness wait over a listener or packet
// socket.
type readySource interface {
	ReadyWaiter
	Close() error
}

type deadliner interface{ SetDeadline(time.Time) error }

// newReadySource wraps the socket in what the serving loop needs.
func newReadySource(sock any) (readySource, error) {
	closer, _ := sock.(interface{ Close() error })
	if rw, ok := sock.(ReadyWaiter); ok {
		return struct {
			ReadyWaiter
			closerFunc
		}{rw, closer.Close}, nil
	}
	d, dok := sock.(deadliner)
	if ln, ok := sock.(net.Listener); ok && dok {
		// The raw connection of a listener cannot wait for readability
		// (its Read is EINVAL), so a duplicate of the listening descriptor,
		// opened as a connection, is registered with the poller instead and
		// used for nothing but that wait.
		watch, err := listenerWatcher(ln)
		if err != nil {
			return nil, err
		}
		rc, err := watch.(syscall.Conn).SyscallConn()
		if err != nil {
			watch.Close()
			return nil, err
		}
		return &pollSource{rc: rc, d: multiDeadline{d, watch}, close: func() error {
			watch.Close()
			return closer.Close()
		}}, nil
	}
	sc, ok := sock.(syscall.Conn)
	if !ok || !dok {
		return nil, fmt.Errorf("impl: a socket of type %T cannot report a pending request: a custom Network must return sockets that implement impl.ReadyWaiter", sock)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, err
	}
	return &pollSource{rc: rc, d: d, close: closer.Close}, nil
}

// listenerWatcher opens a second descriptor of a kernel listening socket as
// a net.Conn.
func listenerWatcher(ln net.Listener) (net.Conn, error) {
	fl, ok := ln.(interface{ File() (*os.File, error) })
	if !ok {
		return nil, fmt.Errorf("impl: a listener of type %T cannot report a pending connection: a custom Network must return listeners that implement impl.ReadyWaiter", ln)
	}
	f, err := fl.File()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	c, err := net.FileConn(f)
	if err != nil {
		return nil, fmt.Errorf("impl: watching the listening socket: %w", err)
	}
	if _, ok := c.(syscall.Conn); !ok {
		c.Close()
		return nil, fmt.Errorf("impl: watching the listening socket: %T has no raw descriptor", c)
	}
	return c, nil
}

// multiDeadline sets one deadline on several sockets.
type multiDeadline []deadliner

func (m multiDeadline) SetDeadline(t time.Time) error {
	for _, d := range m {
		if err := d.SetDeadline(t); err != nil {
			return err
		}
	}
	return nil
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// pollSource waits on a kernel socket through Go's poller, which honours the
// socket's deadline and wakes on Close, and checks readiness with ppoll(2)
// and a zero timeout so that no request is ever taken by the wait.
type pollSource struct {
	rc    syscall.RawConn
	d     deadliner
	close func() error
}

func (p *pollSource) SetDeadline(t time.Time) error { return p.d.SetDeadline(t) }
func (p *pollSource) Close() error                  { return p.close() }

func (p *pollSource) Ready() bool {
	ready := false
	_ = p.rc.Control(func(fd uintptr) { ready = pollIn(fd) })
	return ready
}

func (p *pollSource) WaitReady() error {
	err := p.rc.Read(func(fd uintptr) bool { return pollIn(fd) })
	switch {
	case err == nil:
		return nil
	case errors.Is(err, os.ErrDeadlineExceeded):
		return os.ErrDeadlineExceeded
	case errors.Is(err, net.ErrClosed):
		return net.ErrClosed
	}
	return err
}

type pollFd struct {
	fd      int32
	events  int16
	revents int16
}

const (
	pollInFlag = 0x1
	pollErr    = 0x8
	pollHup    = 0x10
	pollNval   = 0x20
)

// pollIn reports whether fd is readable now (or in an error state, which a
// read would report), without blocking.
func pollIn(fd uintptr) bool {
	pfd := pollFd{fd: int32(fd), events: pollInFlag}
	var ts syscall.Timespec
	for {
		n, _, errno := syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&pfd)), 1, uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
		if errno == syscall.EINTR {
			continue
		}
		if errno != 0 {
			return true // let the read itself report the failure
		}
		return n > 0 && pfd.revents&(pollInFlag|pollErr|pollHup|pollNval) != 0
	}
}
