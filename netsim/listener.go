package netsim

import (
	"context"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// maxBacklog is Linux's default net.core.somaxconn, the cap of listen(2).
const maxBacklog = 4096

// Listener is a stream listener of a Network. Connections wait in its
// accept queue from the moment Dial returns until Accept takes them. It
// implements impl.ReadyWaiter and impl.BacklogSetter.
//
// SetDeadline bounds Accept and SetReadyDeadline bounds WaitReady; neither
// sees the other's. As on a real socket, a deadline that has passed wins
// over a pending connection: the call it bounds reports
// os.ErrDeadlineExceeded even then. Closing the
// listener resets every connection still queued (their clients read
// ECONNRESET) and refuses every dial still waiting for room (ECONNREFUSED).
type Listener struct {
	net  *Network
	fam  family
	addr net.Addr

	mu       sync.Mutex
	queue    []*Conn   // server ends of connections not yet accepted
	dialers  []*dialer // dials waiting for room in the queue, oldest first
	backlog  int
	closed   bool
	closedCh chan struct{}
	changed  broadcast // the queue or the backlog changed
	dl       deadline  // bounds Accept
	readyDl  deadline  // bounds WaitReady
}

// dialer is a dial waiting for room in a full accept queue.
type dialer struct {
	local, remote net.Addr // the client's and the server's address
	up, down      *Stream  // the link model's shaping of each direction, or nil
	done          chan struct{}
	decided       bool
	conn          *Conn
	err           error
}

func newListener(n *Network, f family, backlog int) *Listener {
	return &Listener{net: n, fam: f, backlog: backlog, closedCh: make(chan struct{})}
}

// Addr is the bound address, the port filled in.
func (l *Listener) Addr() net.Addr { return l.addr }

// Accept takes the oldest queued connection, waiting for one until the
// deadline passes or the listener is closed.
func (l *Listener) Accept() (net.Conn, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		switch {
		case l.closed:
			return nil, l.opErr("accept", net.ErrClosed)
		case l.dl.passed():
			return nil, l.opErr("accept", os.ErrDeadlineExceeded)
		case len(l.queue) > 0:
			c := l.queue[0]
			l.queue[0] = nil
			l.queue = l.queue[1:]
			l.admitLocked()
			l.changed.notify()
			l.net.record(EventAccept, l.fam.name, l.addr, c.remote, 0)
			return c, nil
		}
		l.waitLocked(&l.dl)
	}
}

// Ready reports whether a connection is queued.
func (l *Listener) Ready() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.closed && len(l.queue) > 0
}

// WaitReady waits until a connection is queued (nil), the deadline passes
// (os.ErrDeadlineExceeded) or the listener is closed (net.ErrClosed),
// without taking the connection.
func (l *Listener) WaitReady() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		switch {
		case l.closed:
			return net.ErrClosed
		case l.readyDl.passed():
			return os.ErrDeadlineExceeded
		case len(l.queue) > 0:
			return nil
		}
		l.waitLocked(&l.readyDl)
	}
}

// waitLocked releases the lock until the queue changes, dl passes or the
// listener closes.
func (l *Listener) waitLocked(dl *deadline) {
	changed, expired := l.changed.wait(), dl.done()
	l.mu.Unlock()
	select {
	case <-changed:
	case <-expired:
	case <-l.closedCh:
	}
	l.mu.Lock()
}

// SetDeadline bounds Accept; the zero time removes the bound and a time in
// the past wakes a waiting Accept at once.
func (l *Listener) SetDeadline(t time.Time) error { return l.setDeadline(&l.dl, t) }

// SetReadyDeadline bounds WaitReady, as SetDeadline bounds Accept.
func (l *Listener) SetReadyDeadline(t time.Time) error { return l.setDeadline(&l.readyDl, t) }

func (l *Listener) setDeadline(dl *deadline, t time.Time) error {
	l.mu.Lock()
	closed := l.closed
	l.mu.Unlock()
	if closed {
		return l.opErr("set", net.ErrClosed)
	}
	dl.set(t)
	return nil
}

// SetBacklog sets the accept queue length, as a second listen(2) does on
// Linux: below 1 it is 1, above 4096 (somaxconn) it is 4096. Connections
// already queued stay; dials waiting for room are let in when it grew.
func (l *Listener) SetBacklog(n int) error {
	n = min(max(n, 1), maxBacklog)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return l.opErr("listen", net.ErrClosed)
	}
	l.backlog = n
	l.admitLocked()
	return nil
}

// Backlog is the accept queue length.
func (l *Listener) Backlog() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.backlog
}

// Pending is the number of connections waiting to be accepted.
func (l *Listener) Pending() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.queue)
}

// Close stops listening: the address is free again, queued connections are
// reset, waiting dials are refused. Blocked Accept and WaitReady calls
// return net.ErrClosed.
func (l *Listener) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return l.opErr("close", net.ErrClosed)
	}
	l.closed = true
	close(l.closedCh)
	queued := l.queue
	l.queue = nil
	for _, d := range l.dialers {
		d.decided = true
		d.err = opError("dial", l.fam.name, nil, d.remote, syscallError("connect", syscall.ECONNREFUSED))
		l.net.record(EventRefused, l.fam.name, d.local, d.remote, 0)
		close(d.done)
	}
	l.dialers = nil
	l.changed.notify()
	l.net.record(EventUnbind, l.fam.name, l.addr, nil, 0)
	l.mu.Unlock()
	l.dl.stop()
	l.readyDl.stop()
	l.net.unbind(l.fam, l.addr, l)
	for _, c := range queued {
		c.abort()
	}
	return nil
}

// connect is the server side of Dial: queue a new connection, waiting for
// room while the queue is full.
func (l *Listener) connect(ctx context.Context, f family, raddr net.Addr, up, down *Stream) (net.Conn, error) {
	local, remote := l.endpoints(f, raddr)
	l.mu.Lock()
	if l.closed {
		l.net.record(EventRefused, f.name, local, remote, 0)
		l.mu.Unlock()
		return nil, opError("dial", f.name, nil, raddr, syscallError("connect", syscall.ECONNREFUSED))
	}
	d := &dialer{local: local, remote: remote, up: up, down: down, done: make(chan struct{})}
	l.dialers = append(l.dialers, d)
	l.admitLocked()
	if !d.decided {
		l.net.record(EventBacklogFull, f.name, local, remote, 0)
	}
	l.mu.Unlock()

	select {
	case <-d.done:
	case <-ctx.Done():
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if d.decided { // admitted or refused, even if ctx ended in the same instant
		if d.conn != nil {
			return d.conn, nil
		}
		return nil, d.err
	}
	for i, w := range l.dialers {
		if w == d {
			l.dialers = append(l.dialers[:i:i], l.dialers[i+1:]...)
			break
		}
	}
	return nil, opError("dial", f.name, nil, raddr, ctx.Err())
}

// endpoints are the client's and the server's address of a new connection
// to this listener: a client of an internet listener gets the next free
// port of the dialed address (loopback for the unspecified address), a Unix
// client is unnamed.
func (l *Listener) endpoints(f family, raddr net.Addr) (local, remote net.Addr) {
	if f.space == "unix" {
		return unnamed(f.name), l.addr
	}
	ip, _ := ipPort(raddr)
	ip = loopbackFor(ip)
	_, port := ipPort(l.addr)
	return inetAddr(f, ip, l.net.ephemeral(f.space, ip)), inetAddr(f, ip, port)
}

// admitLocked moves waiting dials into the queue while there is room.
func (l *Listener) admitLocked() {
	for len(l.dialers) > 0 && len(l.queue) < l.backlog {
		d := l.dialers[0]
		l.dialers[0] = nil
		l.dialers = l.dialers[1:]
		client, server := newConnPair(l.net, l.fam, d.local, d.remote)
		client.out, server.out = d.up, d.down
		l.queue = append(l.queue, server)
		d.conn, d.decided = client, true
		close(d.done)
		l.net.record(EventConnect, l.fam.name, d.local, d.remote, 0)
		l.changed.notify()
	}
}

func (l *Listener) opErr(op string, err error) error {
	return opError(op, l.fam.name, nil, l.addr, err)
}
