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
	// given to SetReadyDeadline passes (os.ErrDeadlineExceeded), or the
	// socket is closed (net.ErrClosed).
	WaitReady() error
	// SetReadyDeadline bounds WaitReady, and nothing else: Accept and
	// ReadFrom must not see it, or a request still queued when the wait's
	// deadline passed could never be taken. A time in the past wakes a
	// waiting WaitReady at once; the zero time removes the bound.
	SetReadyDeadline(t time.Time) error
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

// ListenConfig is the operating system's network with the socket options
// BaseServer sets for c: SO_REUSEADDR as AllowReuseAddress says (Go sets it
// on every TCP listener by default, BaseServer does not, so it is always
// written), SO_REUSEPORT for AllowReusePort, and no TCP keep-alive on
// accepted connections (Go enables it by default, CPython does not). A
// server whose Config.Network is nil or a *net.ListenConfig gets these
// options by itself; a Network that wraps the operating system's, such as
// a fault injector, can start from this one to keep them.
func ListenConfig(c Config) *net.ListenConfig {
	lc, _ := c.Network.(*net.ListenConfig)
	return listenConfig(lc, c)
}

func listenConfig(base *net.ListenConfig, c Config) *net.ListenConfig {
	lc := &net.ListenConfig{}
	if base != nil {
		*lc = *base
	}
	if lc.KeepAlive == 0 && !lc.KeepAliveConfig.Enable {
		lc.KeepAlive = -1
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
	// The wait runs on a duplicate of the serving descriptor, opened as a
	// connection and used for nothing else. A listener's own raw
	// connection cannot wait for readability (its Read is EINVAL), and a
	// deadline set on the serving socket itself would also fail the Accept
	// or ReadFrom that follows a wait which timed out with a request
	// still queued.
	watch, err := socketWatcher(sock)
	if err != nil {
		return nil, err
	}
	rc, err := watch.(syscall.Conn).SyscallConn()
	if err != nil {
		watch.Close()
		return nil, err
	}
	return &pollSource{rc: rc, d: watch, close: func() error {
		watch.Close()
		return closer.Close()
	}}, nil
}

// socketWatcher opens a second descriptor of a kernel socket as a net.Conn.
func socketWatcher(sock any) (net.Conn, error) {
	fl, ok := sock.(interface{ File() (*os.File, error) })
	if !ok {
		return nil, fmt.Errorf("impl: a socket of type %T cannot report a pending request: a custom Network must return sockets that implement impl.ReadyWaiter", sock)
	}
	f, err := fl.File()
	if err != nil {
		return nil, fmt.Errorf("impl: watching the serving socket: %w", err)
	}
	defer f.Close()
	c, err := net.FileConn(f)
	if err != nil {
		return nil, fmt.Errorf("impl: watching the serving socket: %w", err)
	}
	if _, ok := c.(syscall.Conn); !ok {
		c.Close()
		return nil, fmt.Errorf("impl: watching the serving socket: %T has no raw descriptor", c)
	}
	return c, nil
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

func (p *pollSource) SetReadyDeadline(t time.Time) error { return p.d.SetDeadline(t) }
func (p *pollSource) Close() error                       { return p.close() }

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
