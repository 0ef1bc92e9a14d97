package proxy

import (
	"errors"
	"io"
	"net"
	"time"

	"github.com/sockspec/sockspec/netsim"
)

// bufSize is the most a pump reads at once.
const bufSize = 64 << 10

// inFlight is how many reads a shaped pump holds before it stops reading:
// with bufSize, up to 4 MiB between the proxy's two sockets, which covers
// the bandwidth-delay product of any built-in profile.
const inFlight = 64

// acceptLoop accepts client connections until Close.
func (p *Proxy) acceptLoop() {
	defer p.wg.Done()
	backoff := 5 * time.Millisecond
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if p.isClosed() {
				return
			}
			// Out of descriptors or the like: wait, then try again.
			select {
			case <-p.done:
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		if !p.track(c) {
			return
		}
		p.wg.Add(1)
		go p.serveConn(c)
	}
}

func (p *Proxy) isClosed() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// serveConn carries out the link's decision for one connection and
// forwards it both ways.
func (p *Proxy) serveConn(client net.Conn) {
	defer p.wg.Done()
	defer p.untrack(client)
	defer client.Close()
	fate := p.engine.Connect(time.Now(), p.cfg.Family)
	if fate.Refused {
		// The client's connect has succeeded already: the nearest a proxy
		// comes to a refusal is a reset before any byte.
		abort(client)
		return
	}
	if fate.Hold != 0 {
		var expired <-chan time.Time
		if fate.Hold > 0 {
			t := time.NewTimer(fate.Hold)
			defer t.Stop()
			expired = t.C
		}
		select {
		case <-expired:
		case <-p.done:
			return
		}
	}
	d := net.Dialer{Timeout: p.cfg.DialTimeout}
	upstream, err := d.DialContext(p.ctx, p.cfg.Family, p.cfg.Upstream)
	if err != nil {
		abort(client)
		return
	}
	if !p.track(upstream) {
		return
	}
	defer p.untrack(upstream)
	defer upstream.Close()

	pair := &connPair{client: client, upstream: upstream}
	ended := make(chan struct{})
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer close(ended)
		p.pump(pair, client, upstream, fate.Up)
	}()
	p.pump(pair, upstream, client, fate.Down)
	<-ended
}

// connPair is a client connection and its upstream one.
type connPair struct{ client, upstream net.Conn }

// abortBoth resets both connections: what one side's reset, or a reset
// decided by the link, becomes for the other.
func (c *connPair) abortBoth() {
	abort(c.client)
	abort(c.upstream)
}

// closeBoth closes both in order (FIN), as limit_data does.
func (c *connPair) closeBoth() {
	c.client.Close()
	c.upstream.Close()
}

// abort closes c with RST rather than FIN where the socket allows it.
func abort(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}

// closeWrite passes a FIN on: a half close, where the socket has one.
func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
		return
	}
	c.Close()
}

// pump forwards src to dst, shaped by s (nil: as is), until src ends.
func (p *Proxy) pump(pair *connPair, src, dst net.Conn, s *netsim.Stream) {
	if s == nil {
		p.copyAsIs(pair, src, dst)
		return
	}
	p.copyShaped(pair, src, dst, s)
}

// copyAsIs is the ideal link: each read is written at once.
func (p *Proxy) copyAsIs(pair *connPair, src, dst net.Conn) {
	buf := make([]byte, bufSize)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				pair.abortBoth()
				return
			}
		}
		if err != nil {
			endOfRead(pair, dst, err)
			return
		}
	}
}

// endOfRead passes on how src ended: a FIN as a half close, anything
// else (a reset, a closed socket) as a reset of both.
func endOfRead(pair *connPair, dst net.Conn, err error) {
	if errors.Is(err, io.EOF) {
		closeWrite(dst)
		return
	}
	pair.abortBoth()
}

// chunk is one read and the link's decision on it.
type chunk struct {
	data  []byte
	segs  []netsim.Segment
	end   error     // how src ended (io.EOF for a FIN); nil while it goes on
	endAt time.Time // when the FIN arrives, for io.EOF
	endOK bool      // whether it arrives at all
}

// copyShaped forwards src to dst through the link model: a reader
// goroutine decides each read's fate at once, so that the link's clock
// (bandwidth, latency) runs while earlier bytes wait to be delivered,
// and this goroutine writes each segment when it is due.
func (p *Proxy) copyShaped(pair *connPair, src, dst net.Conn, s *netsim.Stream) {
	chunks := make(chan chunk, inFlight)
	quit := make(chan struct{})
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer close(chunks)
		for {
			buf := make([]byte, bufSize)
			n, err := src.Read(buf)
			var ck chunk
			if n > 0 {
				ck.data, ck.segs = buf[:n], s.Send(time.Now(), n)
			}
			if err != nil {
				ck.end = err
				if errors.Is(err, io.EOF) {
					ck.endAt, ck.endOK = s.Close(time.Now())
				}
			}
			select {
			case chunks <- ck:
			case <-quit:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	defer close(quit)

	timer := time.NewTimer(time.Hour)
	timer.Stop()
	cut := false // the link ended this direction: what follows is lost
	for ck := range chunks {
		for _, seg := range ck.segs {
			if cut {
				break
			}
			if !p.waitUntil(timer, seg.At) {
				return
			}
			if seg.Len > 0 {
				if _, err := dst.Write(ck.data[seg.Off : seg.Off+seg.Len]); err != nil {
					pair.abortBoth()
					return
				}
			}
			switch seg.Then {
			case netsim.ActReset:
				pair.abortBoth()
				return
			case netsim.ActClose:
				pair.closeBoth()
				return
			case netsim.ActHalfClose:
				closeWrite(dst)
				cut = true
			}
		}
		switch {
		case ck.end == nil:
		case errors.Is(ck.end, io.EOF):
			if ck.endOK && !cut && p.waitUntil(timer, ck.endAt) {
				closeWrite(dst)
			}
			return
		default:
			pair.abortBoth()
			return
		}
	}
}
