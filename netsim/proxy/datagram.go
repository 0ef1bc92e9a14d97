package proxy

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/sockspec/sockspec/netsim"
)

// maxDatagram is the largest datagram the proxy forwards whole; longer
// Unix datagrams are cut, as a receiver's buffer of this size would.
const maxDatagram = 256 << 10

// session is one client address and the upstream socket that speaks for
// it: replies to that socket go back to the client.
type session struct {
	client   net.Addr // nil for an unnamed Unix client, which cannot be answered
	upstream net.Conn
	up, down *netsim.Flow // nil where the link does nothing
}

// datagramLoop reads what clients send and forwards it, until Close.
func (p *Proxy) datagramLoop() {
	defer p.wg.Done()
	buf := make([]byte, maxDatagram)
	for {
		n, from, err := p.pc.ReadFrom(buf)
		if err != nil {
			if p.isClosed() {
				return
			}
			continue // a datagram socket's errors concern one datagram
		}
		s, err := p.session(from)
		if err != nil {
			continue // no upstream socket for this client: its datagram is lost
		}
		p.forward(s.up, buf[:n], func(b []byte) { s.upstream.Write(b) })
	}
}

// forward sends data through flow (as is when nil) with send, now or when
// the link says.
func (p *Proxy) forward(flow *netsim.Flow, data []byte, send func([]byte)) {
	if flow == nil {
		send(data)
		return
	}
	now := time.Now()
	for _, d := range flow.Send(now, len(data)) {
		b := data[:d.Size]
		if !d.At.After(now) {
			send(b)
			continue
		}
		b = append([]byte(nil), b...)
		p.delays.At(d.At, func() { send(b) })
	}
}

// session returns the session of a client address, opening its upstream
// socket and starting its reply reader the first time.
func (p *Proxy) session(from net.Addr) (*session, error) {
	key := ""
	if from != nil {
		key = from.String()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.sessions[key]; ok {
		return s, nil
	}
	if p.closed {
		return nil, net.ErrClosed
	}
	up, err := p.dialUpstreamLocked()
	if err != nil {
		return nil, err
	}
	s := &session{client: from, upstream: up}
	s.up, s.down = p.engine.Flows(time.Now(), p.cfg.Family)
	p.sessions[key] = s
	p.conns[up] = struct{}{}
	p.wg.Add(1)
	go p.replies(s)
	return s, nil
}

// dialUpstreamLocked opens a session's socket towards the upstream. A
// unixgram one is bound to a path of the proxy's temporary directory, or
// the upstream could not answer it.
func (p *Proxy) dialUpstreamLocked() (net.Conn, error) {
	if p.cfg.Family != "unixgram" {
		return net.Dial(p.cfg.Family, p.cfg.Upstream)
	}
	if p.tmpDir == "" {
		dir, err := os.MkdirTemp("", "netsim-proxy")
		if err != nil {
			return nil, err
		}
		p.tmpDir = dir
	}
	p.nextSess++
	laddr := &net.UnixAddr{Name: filepath.Join(p.tmpDir, fmt.Sprintf("s%d", p.nextSess)), Net: "unixgram"}
	return net.DialUnix("unixgram", laddr, &net.UnixAddr{Name: p.cfg.Upstream, Net: "unixgram"})
}

// replies forwards what the upstream answers a session to its client.
func (p *Proxy) replies(s *session) {
	defer p.wg.Done()
	buf := make([]byte, maxDatagram)
	for {
		n, err := s.upstream.Read(buf)
		if err != nil {
			if p.isClosed() {
				return
			}
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			// A refused datagram (ECONNREFUSED from ICMP) concerns one
			// datagram; a closed socket ends the session.
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if s.client == nil {
			continue // an unnamed client cannot be answered
		}
		p.forward(s.down, buf[:n], func(b []byte) { p.pc.WriteTo(b, s.client) })
	}
}
