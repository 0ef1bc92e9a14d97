package netsim

import (
	"bytes"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// Conn is one end of a stream connection of a Network. Unlike net.Pipe it
// is buffered: Write returns once its bytes are in the peer's receive
// buffer (Network.StreamBuffer bytes), and blocks only while that is full.
//
// Ends of a connection behave as TCP's do on Linux:
//   - CloseWrite sends FIN: the peer reads what was sent, then io.EOF; a
//     Write after it fails with EPIPE.
//   - Close with nothing unread sends FIN as well. Close with received
//     bytes unread sends RST instead: the peer reads what is still in its
//     buffer, then ECONNRESET once, then io.EOF, and its writes fail.
//   - A Write to a peer that has closed succeeds, its bytes are lost, and
//     the peer's RST makes the next Write fail with EPIPE.
//   - A deadline that has passed wins over data: Read and Write report
//     os.ErrDeadlineExceeded even when they could proceed.
//
// Under a profile (Network.SetProfile) what an end sends, FIN and RST
// included, reaches the peer when the link model says: bytes in flight
// count against the peer's buffer, so a slow link slows the writer. A
// direction the link ended (a reset, limit_data, half_close, a blackhole)
// loses what is written to it, as a socket does whose packets are lost;
// the writer learns of a reset when the reset arrives.
//
// Every error except io.EOF is a *net.OpError; net.ErrClosed after Close.
type Conn struct {
	link          *link
	side          int // index of this end in link.ends
	net           *Network
	fam           family
	local, remote net.Addr

	// Guarded by link.mu.
	rbuf     bytes.Buffer  // received, not yet read
	limit    int           // capacity of rbuf
	finRcvd  bool          // the peer will send no more: EOF once rbuf is empty
	rstRcvd  bool          // the peer reset the connection
	pending  syscall.Errno // the socket's pending error, reported once (SO_ERROR)
	wShut    bool          // this end sends no more (CloseWrite or Close)
	closed   bool
	closedCh chan struct{}

	rdl, wdl deadline

	// The link model's state, guarded by link.mu.
	out      *Stream // what the link does to what this end sends; nil: nothing
	inflight int     // bytes this end sent that have not reached the peer yet
	cut      bool    // the link ended this direction: what this end sends is lost
}

// link is what both ends of a connection share. One lock covers both, so
// that a change on one end and its effect on the other happen together.
type link struct {
	mu      sync.Mutex
	changed broadcast // any state of either end changed
	ends    [2]*Conn
}

// newConnPair makes a connection from client to server and returns its two
// ends.
func newConnPair(n *Network, f family, client, server net.Addr) (c, s *Conn) {
	l := &link{}
	size := n.streamBuffer()
	c = &Conn{link: l, side: 0, net: n, fam: f, local: client, remote: server, limit: size, closedCh: make(chan struct{})}
	s = &Conn{link: l, side: 1, net: n, fam: f, local: server, remote: client, limit: size, closedCh: make(chan struct{})}
	l.ends = [2]*Conn{c, s}
	return c, s
}

func (c *Conn) peer() *Conn { return c.link.ends[1-c.side] }

// LocalAddr is this end's address; a Unix client's is "@" (unnamed).
func (c *Conn) LocalAddr() net.Addr { return c.local }

// RemoteAddr is the peer's address.
func (c *Conn) RemoteAddr() net.Addr { return c.remote }

// Read reads what the peer sent, waiting for it until the read deadline.
func (c *Conn) Read(p []byte) (int, error) {
	l := c.link
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		switch {
		case c.closed:
			return 0, c.opErr("read", net.ErrClosed)
		case c.rdl.passed():
			return 0, c.opErr("read", os.ErrDeadlineExceeded)
		case len(p) == 0:
			return 0, nil
		case c.rbuf.Len() > 0:
			n, _ := c.rbuf.Read(p)
			l.changed.notify() // room for a blocked writer
			return n, nil
		case c.finRcvd:
			return 0, io.EOF
		case c.pending != 0:
			return 0, c.opErr("read", syscallError("read", c.takePending()))
		case c.rstRcvd:
			return 0, io.EOF
		}
		c.waitLocked(&c.rdl)
	}
}

// Write sends p, waiting for room in the peer's buffer until the write
// deadline; on a timeout it returns how much was sent.
func (c *Conn) Write(p []byte) (n int, err error) {
	l := c.link
	l.mu.Lock()
	defer l.mu.Unlock()
	defer func() {
		if n > 0 {
			c.net.record(EventData, c.fam.name, c.local, c.remote, n)
		}
	}()
	for {
		switch {
		case c.closed:
			return n, c.opErr("write", net.ErrClosed)
		case c.wdl.passed():
			return n, c.opErr("write", os.ErrDeadlineExceeded)
		case c.pending != 0:
			return n, c.opErr("write", syscallError("write", c.takePending()))
		case c.wShut || c.rstRcvd:
			return n, c.opErr("write", syscallError("write", syscall.EPIPE))
		case len(p) == 0:
			return 0, nil
		}
		peer := c.peer()
		if c.out != nil && c.cut {
			return len(p), nil // lost on the way
		}
		if peer.closed {
			// The bytes reach a closed socket, which answers with RST.
			c.rstRcvd, c.pending = true, syscall.EPIPE
			l.changed.notify()
			c.net.record(EventReset, c.fam.name, c.remote, c.local, 0)
			return len(p), nil
		}
		if room := peer.limit - peer.rbuf.Len() - c.inflight; room > 0 {
			k := min(room, len(p)-n)
			if c.out != nil {
				c.sendLocked(p[n : n+k])
			} else {
				peer.rbuf.Write(p[n : n+k])
			}
			n += k
			l.changed.notify()
			if n == len(p) {
				return n, nil
			}
		}
		c.waitLocked(&c.wdl)
	}
}

// sendLocked hands b to the link model, which delivers its segments to
// the peer when they arrive.
func (c *Conn) sendLocked(b []byte) {
	for _, s := range c.out.Send(time.Now(), len(b)) {
		data := append([]byte(nil), b[s.Off:s.Off+s.Len]...)
		then := s.Then
		c.inflight += s.Len
		c.net.delays.At(s.At, func() { c.arrive(data, then) })
	}
	if c.out.Ended() {
		c.cut = true
	}
}

// arrive puts a segment the link delayed into the peer's buffer, then does
// what the link decided comes after it.
func (c *Conn) arrive(data []byte, then Action) {
	l := c.link
	l.mu.Lock()
	defer l.mu.Unlock()
	defer l.changed.notify()
	c.inflight -= len(data)
	peer := c.peer()
	switch {
	case len(data) == 0:
	case peer.closed:
		// The bytes reach a closed socket, which answers with RST.
		if !c.closed && !c.rstRcvd {
			c.rstRcvd, c.pending = true, syscall.EPIPE
			c.net.record(EventReset, c.fam.name, c.remote, c.local, 0)
		}
	case peer.rstRcvd:
		// The connection is gone at the peer's end.
	default:
		peer.rbuf.Write(data)
	}
	switch then {
	case ActReset:
		for _, e := range l.ends {
			e.cut = true
			if !e.closed && !e.rstRcvd {
				e.rstRcvd, e.pending = true, syscall.ECONNRESET
				if e.finRcvd {
					e.pending = syscall.EPIPE
				}
			}
		}
		c.net.record(EventReset, c.fam.name, c.local, c.remote, 0)
	case ActClose:
		for _, e := range l.ends {
			e.cut = true
			if !e.closed && !e.rstRcvd {
				e.finRcvd = true
			}
		}
		c.net.record(EventClose, c.fam.name, c.local, c.remote, 0)
	case ActHalfClose:
		c.cut = true
		if !peer.closed && !peer.rstRcvd {
			peer.finRcvd = true
		}
		c.net.record(EventShutdown, c.fam.name, c.local, c.remote, 0)
	}
}

// signalLocked sends the peer a FIN or RST, which apply carries out: at
// once without a link model, when the link says it arrives with one, and
// never on a direction the link has ended.
func (c *Conn) signalLocked(apply func()) {
	if c.out == nil {
		apply()
		return
	}
	if c.cut {
		return
	}
	at, ok := c.out.Close(time.Now())
	if !ok {
		return
	}
	c.net.delays.At(at, func() {
		c.link.mu.Lock()
		defer c.link.mu.Unlock()
		apply()
		c.link.changed.notify()
	})
}

// waitLocked releases the link's lock until something changes, the
// deadline passes or this end is closed.
func (c *Conn) waitLocked(dl *deadline) {
	l := c.link
	changed, expired := l.changed.wait(), dl.done()
	l.mu.Unlock()
	select {
	case <-changed:
	case <-expired:
	case <-c.closedCh:
	}
	l.mu.Lock()
}

func (c *Conn) takePending() syscall.Errno {
	e := c.pending
	c.pending = 0
	return e
}

// CloseWrite half-closes the connection (shutdown(SHUT_WR)): the peer reads
// io.EOF once it has read everything sent before.
func (c *Conn) CloseWrite() error {
	l := c.link
	l.mu.Lock()
	defer l.mu.Unlock()
	if c.closed {
		return c.opErr("close", net.ErrClosed)
	}
	if !c.wShut {
		c.wShut = true
		c.signalLocked(func() {
			if peer := c.peer(); !peer.closed && !peer.rstRcvd {
				peer.finRcvd = true
			}
		})
		l.changed.notify()
		c.net.record(EventShutdown, c.fam.name, c.local, c.remote, 0)
	}
	return nil
}

// Close closes this end: with FIN when everything received was read, with
// RST otherwise. Blocked calls on this end return net.ErrClosed.
func (c *Conn) Close() error {
	l := c.link
	l.mu.Lock()
	if c.closed {
		l.mu.Unlock()
		return c.opErr("close", net.ErrClosed)
	}
	c.closeLocked(c.rbuf.Len() > 0)
	l.mu.Unlock()
	c.rdl.stop()
	c.wdl.stop()
	return nil
}

// abort closes this end with RST whatever is unread: what happens to a
// connection still queued when its listener closes.
func (c *Conn) abort() {
	l := c.link
	l.mu.Lock()
	if !c.closed {
		c.closeLocked(true)
	}
	l.mu.Unlock()
	c.rdl.stop()
	c.wdl.stop()
}

func (c *Conn) closeLocked(reset bool) {
	c.closed = true
	close(c.closedCh)
	if c.out != nil && c.cut {
		c.net.record(EventClose, c.fam.name, c.local, c.remote, 0)
	}
	c.signalLocked(func() { c.closeSignalLocked(reset) })
	c.wShut = true
	c.rbuf.Reset()
	c.link.changed.notify()
}

// closeSignalLocked is the effect on the peer of closing this end.
func (c *Conn) closeSignalLocked(reset bool) {
	peer := c.peer()
	switch {
	case peer.closed || peer.rstRcvd:
		c.net.record(EventClose, c.fam.name, c.local, c.remote, 0)
	case reset:
		peer.rstRcvd = true
		// A peer that had our FIN is in CLOSE_WAIT, where Linux turns RST
		// into EPIPE rather than ECONNRESET.
		peer.pending = syscall.ECONNRESET
		if peer.finRcvd {
			peer.pending = syscall.EPIPE
		}
		c.net.record(EventReset, c.fam.name, c.local, c.remote, 0)
	default:
		peer.finRcvd = true
		c.net.record(EventClose, c.fam.name, c.local, c.remote, 0)
	}
}

// SetDeadline sets the read and the write deadline.
func (c *Conn) SetDeadline(t time.Time) error {
	if err := c.checkOpen(); err != nil {
		return err
	}
	c.rdl.set(t)
	c.wdl.set(t)
	return nil
}

// SetReadDeadline bounds Read; a time in the past wakes a blocked Read.
func (c *Conn) SetReadDeadline(t time.Time) error {
	if err := c.checkOpen(); err != nil {
		return err
	}
	c.rdl.set(t)
	return nil
}

// SetWriteDeadline bounds Write; a time in the past wakes a blocked Write.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	if err := c.checkOpen(); err != nil {
		return err
	}
	c.wdl.set(t)
	return nil
}

func (c *Conn) checkOpen() error {
	c.link.mu.Lock()
	defer c.link.mu.Unlock()
	if c.closed {
		return opError("set", c.fam.name, c.local, nil, net.ErrClosed)
	}
	return nil
}

// Unread is how many received bytes wait to be read.
func (c *Conn) Unread() int {
	c.link.mu.Lock()
	defer c.link.mu.Unlock()
	return c.rbuf.Len()
}

func (c *Conn) opErr(op string, err error) error {
	return opError(op, c.fam.name, c.local, c.remote, err)
}
