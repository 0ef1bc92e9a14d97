package netsim

import (
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// PacketConn is a datagram socket of a Network: a net.PacketConn, and a
// net.Conn when it came from Dial. It implements impl.ReadyWaiter.
//
// Datagrams keep their boundaries; ReadFrom with a buffer smaller than the
// datagram returns the start of it and drops the rest, as UDP does. The
// receive queue holds Network.PacketQueue datagrams. When it is full a UDP
// datagram is dropped (EventDrop), while a Unix datagram sender waits for
// room until its write deadline, as a blocking sendto(2) does. A datagram
// from an unnamed Unix socket has no sender address (nil), so it cannot be
// answered. A connected socket only receives from its peer.
type PacketConn struct {
	net   *Network
	fam   family
	laddr net.Addr
	named bool     // bound in the network: every UDP socket, a Unix one with a name
	raddr net.Addr // the peer of a socket from Dial, else nil
	seq   int64    // order of making, which tells up from down for the link model

	mu       sync.Mutex
	queue    []datagram
	closed   bool
	closedCh chan struct{}
	changed  broadcast // the queue changed or the socket closed
	rdl, wdl deadline
	readyDl  deadline // bounds WaitReady only
}

type datagram struct {
	data []byte
	from net.Addr // nil for an unnamed sender
}

func newPacketConn(n *Network, f family) *PacketConn {
	return &PacketConn{net: n, fam: f, seq: n.sockets.Add(1), closedCh: make(chan struct{})}
}

// bound names the socket once Network.bind gave it an address.
func (c *PacketConn) bound(a net.Addr) { c.laddr, c.named = a, true }

// LocalAddr is the bound address; "@" for an unnamed Unix socket.
func (c *PacketConn) LocalAddr() net.Addr { return c.laddr }

// RemoteAddr is the peer of a socket from Dial, nil otherwise.
func (c *PacketConn) RemoteAddr() net.Addr { return c.raddr }

// ReadFrom receives one datagram, waiting for it until the read deadline.
func (c *PacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		switch {
		case c.closed:
			return 0, nil, c.opErr("read", c.raddr, net.ErrClosed)
		case c.rdl.passed():
			return 0, nil, c.opErr("read", c.raddr, os.ErrDeadlineExceeded)
		case len(c.queue) > 0:
			d := c.queue[0]
			c.queue[0] = datagram{}
			c.queue = c.queue[1:]
			c.changed.notify() // room for a waiting sender
			return copy(p, d.data), d.from, nil
		}
		c.waitLocked(&c.rdl)
	}
}

// Read receives one datagram, like ReadFrom.
func (c *PacketConn) Read(p []byte) (int, error) {
	n, _, err := c.ReadFrom(p)
	return n, err
}

// Ready reports whether a datagram is queued.
func (c *PacketConn) Ready() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.closed && len(c.queue) > 0
}

// WaitReady waits until a datagram is queued (nil), the deadline of
// SetReadyDeadline passes (os.ErrDeadlineExceeded) or the socket is closed (net.ErrClosed),
// without taking the datagram.
func (c *PacketConn) WaitReady() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		switch {
		case c.closed:
			return net.ErrClosed
		case c.readyDl.passed():
			return os.ErrDeadlineExceeded
		case len(c.queue) > 0:
			return nil
		}
		c.waitLocked(&c.readyDl)
	}
}

func (c *PacketConn) waitLocked(dl *deadline) {
	changed, expired := c.changed.wait(), dl.done()
	c.mu.Unlock()
	select {
	case <-changed:
	case <-expired:
	case <-c.closedCh:
	}
	c.mu.Lock()
}

// WriteTo sends p as one datagram to addr, a *net.UDPAddr or *net.UnixAddr
// as the socket's network needs. A socket from Dial may not choose
// (net.ErrWriteToConnected).
func (c *PacketConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if err := c.writable(addr); err != nil {
		return 0, err
	}
	if c.raddr != nil {
		return 0, c.opErr("write", addr, net.ErrWriteToConnected)
	}
	if !c.addrFits(addr) {
		return 0, c.opErr("write", addr, syscall.EINVAL)
	}
	return c.send(p, addr)
}

// Write sends p to the peer of a socket from Dial.
func (c *PacketConn) Write(p []byte) (int, error) {
	if err := c.writable(c.raddr); err != nil {
		return 0, err
	}
	if c.raddr == nil {
		return 0, c.opErr("write", nil, syscallError("write", syscall.EDESTADDRREQ))
	}
	return c.send(p, c.raddr)
}

// writable checks what a send checks before it looks at the destination.
func (c *PacketConn) writable(to net.Addr) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closed:
		return c.opErr("write", to, net.ErrClosed)
	case c.wdl.passed():
		return c.opErr("write", to, os.ErrDeadlineExceeded)
	}
	return nil
}

func (c *PacketConn) addrFits(addr net.Addr) bool {
	switch a := addr.(type) {
	case *net.UDPAddr:
		return a != nil && c.fam.space == "udp"
	case *net.UnixAddr:
		return a != nil && c.fam.space == "unix"
	}
	return false
}

// send delivers one datagram to the socket bound at to.
func (c *PacketConn) send(p []byte, to net.Addr) (int, error) {
	limit := maxUDPDatagram
	if c.fam.space == "unix" {
		limit = maxUnixDatagram
	}
	if len(p) > limit {
		return 0, c.opErr("write", to, syscallError("sendto", syscall.EMSGSIZE))
	}
	from := c.source(to)
	switch t := c.net.lookupPacket(c.fam, to).(type) {
	case *PacketConn:
		if fl := c.net.flow(c, t); fl != nil {
			return c.sendShaped(fl, t, p, from, to)
		}
		return t.deliver(c, datagram{data: append([]byte(nil), p...), from: from}, to)
	case *Listener:
		if c.fam.space == "unix" {
			return 0, c.opErr("write", to, syscallError("sendto", syscall.EPROTOTYPE))
		}
	case nil:
		if c.fam.space == "unix" {
			return 0, c.opErr("write", to, syscallError("sendto", syscall.ENOENT))
		}
	}
	c.net.record(EventDrop, c.fam.name, c.laddr, to, len(p))
	return len(p), nil
}

// sendShaped sends p to t through the link model: lost, cut, duplicated
// or late as fl decides. Every copy, even one due at once, goes through
// the network's delay queue, so that datagrams due at the same instant
// arrive in the order they were sent, whatever the goroutines do; the
// sender does not wait for room (a Unix one included): a copy that finds
// t full or gone is dropped.
func (c *PacketConn) sendShaped(fl *Flow, t *PacketConn, p []byte, from, to net.Addr) (int, error) {
	copies := fl.Send(time.Now(), len(p))
	if len(copies) == 0 {
		c.net.record(EventDrop, c.fam.name, addrOr(from, c.laddr), to, len(p))
	}
	for _, d := range copies {
		dg := datagram{data: append([]byte(nil), p[:d.Size]...), from: from}
		c.net.delays.At(d.At, func() { t.deliverLate(c, dg, to) })
	}
	return len(p), nil
}

// deliverLate queues a datagram the link delayed, or drops it when c is
// closed, connected elsewhere or full: its sender has moved on.
func (c *PacketConn) deliverLate(src *PacketConn, d datagram, to net.Addr) {
	c.mu.Lock()
	defer c.mu.Unlock()
	from := addrOr(d.from, src.laddr)
	if c.closed || (c.raddr != nil && !sameAddr(c.raddr, d.from)) || len(c.queue) >= c.net.packetQueue() {
		c.net.record(EventDrop, c.fam.name, from, to, len(d.data))
		return
	}
	c.queue = append(c.queue, d)
	c.changed.notify()
	c.net.record(EventDatagram, c.fam.name, from, to, len(d.data))
}

// source is the sender address a datagram to dest carries: none from an
// unnamed Unix socket, and the concrete address, not the wildcard, from an
// internet socket bound to the unspecified address.
func (c *PacketConn) source(dest net.Addr) net.Addr {
	if !c.named {
		return nil
	}
	ip, port := ipPort(c.laddr)
	if ip == nil || !ip.IsUnspecified() {
		return c.laddr
	}
	dip, _ := ipPort(dest)
	return inetAddr(c.fam, loopbackFor(dip), port)
}

// deliver queues d on c, sent by src to the address to.
func (c *PacketConn) deliver(src *PacketConn, d datagram, to net.Addr) (int, error) {
	size := len(d.data)
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		switch {
		case c.closed && c.fam.space == "unix":
			return 0, src.opErr("write", to, syscallError("sendto", syscall.ECONNREFUSED))
		case c.closed, c.raddr != nil && !sameAddr(c.raddr, d.from):
			c.net.record(EventDrop, c.fam.name, addrOr(d.from, src.laddr), to, size)
			return size, nil
		case len(c.queue) < c.net.packetQueue():
			c.queue = append(c.queue, d)
			c.changed.notify()
			c.net.record(EventDatagram, c.fam.name, addrOr(d.from, src.laddr), to, size)
			return size, nil
		case c.fam.space == "udp":
			c.net.record(EventDrop, c.fam.name, addrOr(d.from, src.laddr), to, size)
			return size, nil
		}
		// A Unix datagram sender waits for room. Only channels of src are
		// used here: taking its lock under c's could deadlock two sockets
		// that send to each other.
		changed, expired := c.changed.wait(), src.wdl.done()
		c.mu.Unlock()
		select {
		case <-changed:
		case <-expired:
		case <-src.closedCh:
		case <-c.closedCh:
		}
		c.mu.Lock()
		select {
		case <-src.closedCh:
			return 0, src.opErr("write", to, net.ErrClosed)
		default:
		}
		if src.wdl.passed() {
			return 0, src.opErr("write", to, os.ErrDeadlineExceeded)
		}
	}
}

// sameAddr compares addresses by value: IP and port, or Unix name.
func sameAddr(a, b net.Addr) bool {
	if a == nil || b == nil {
		return false
	}
	if ua, ok := a.(*net.UnixAddr); ok {
		ub, ok := b.(*net.UnixAddr)
		return ok && ua.Name == ub.Name
	}
	ia, pa := ipPort(a)
	ib, pb := ipPort(b)
	return pa == pb && ia.Equal(ib)
}

func addrOr(a, b net.Addr) net.Addr {
	if a != nil {
		return a
	}
	return b
}

// SetDeadline sets the read and the write deadline.
func (c *PacketConn) SetDeadline(t time.Time) error {
	if err := c.checkOpen(); err != nil {
		return err
	}
	c.rdl.set(t)
	c.wdl.set(t)
	return nil
}

// SetReadDeadline bounds ReadFrom.
func (c *PacketConn) SetReadDeadline(t time.Time) error {
	if err := c.checkOpen(); err != nil {
		return err
	}
	c.rdl.set(t)
	return nil
}

// SetReadyDeadline bounds WaitReady, and neither ReadFrom nor a send.
func (c *PacketConn) SetReadyDeadline(t time.Time) error {
	if err := c.checkOpen(); err != nil {
		return err
	}
	c.readyDl.set(t)
	return nil
}

// SetWriteDeadline bounds a Unix datagram send waiting for room.
func (c *PacketConn) SetWriteDeadline(t time.Time) error {
	if err := c.checkOpen(); err != nil {
		return err
	}
	c.wdl.set(t)
	return nil
}

func (c *PacketConn) checkOpen() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return opError("set", c.fam.name, c.laddr, nil, net.ErrClosed)
	}
	return nil
}

// Pending is the number of datagrams waiting to be read.
func (c *PacketConn) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.queue)
}

// Close closes the socket and frees its address; queued datagrams are
// lost and blocked calls return net.ErrClosed.
func (c *PacketConn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return c.opErr("close", c.raddr, net.ErrClosed)
	}
	c.closed = true
	close(c.closedCh)
	c.queue = nil
	c.changed.notify()
	if c.named {
		c.net.record(EventUnbind, c.fam.name, c.laddr, nil, 0)
	}
	c.mu.Unlock()
	c.rdl.stop()
	c.wdl.stop()
	c.readyDl.stop()
	if c.named {
		c.net.unbind(c.fam, c.laddr, c)
	}
	c.net.forgetFlows(c)
	return nil
}

func (c *PacketConn) opErr(op string, addr net.Addr, err error) error {
	return opError(op, c.fam.name, c.laddr, addr, err)
}
