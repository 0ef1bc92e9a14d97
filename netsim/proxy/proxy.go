// Package proxy applies a netsim link model between real sockets, in real
// time: it listens on an address, forwards what arrives to an upstream
// address, and delays, chops, cuts, resets or loses it on the way as a
// netsim.Engine decides for the profile and seed it was given. It serves
// tcp and unix streams (one upstream connection per client connection,
// half closes and resets passed on) and udp and unixgram datagrams (one
// upstream socket per client address, so that replies find their way
// back).
//
// Bytes the profile does not tell it to lose are never lost: an ideal
// profile forwards every byte, in order, and so do profiles that only
// delay or chop. Close stops everything and returns once every goroutine
// of the proxy has ended.
//
// Like netsim, the package imports the standard library only, so that
// another implementation's tests can vendor both.
package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/sockspec/sockspec/netsim"
)

// Config says what a proxy listens on, where it forwards, and what the
// link between does.
type Config struct {
	// Family is tcp, tcp4, tcp6, udp, udp4, udp6, unix or unixgram.
	Family string
	// Listen is the address to listen on: host:port (port 0 for a free
	// one) or a socket path, which must not exist yet.
	Listen string
	// Upstream is the address to forward to.
	Upstream string
	// Profile is applied each way; its zero value is the ideal network.
	Profile netsim.Profile
	// Seed makes the decisions repeatable.
	Seed uint64
	// Observe, when not nil, is told of every decision of the link model,
	// from the proxy's goroutines; it must not block.
	Observe func(netsim.LinkEvent)
	// DialTimeout bounds each connect to the upstream; zero means 10 s.
	DialTimeout time.Duration
}

// Proxy is a running proxy.
type Proxy struct {
	cfg    Config
	engine *netsim.Engine
	stream bool
	addr   net.Addr

	ln net.Listener   // stream families
	pc net.PacketConn // datagram families

	done   chan struct{} // closed by Close
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	delays netsim.DelayQueue // late datagrams

	mu       sync.Mutex
	closed   bool
	conns    map[net.Conn]struct{} // every socket to close at Close
	sessions map[string]*session
	nextSess int
	tmpDir   string // the bound paths of unixgram sessions
	frontDir string // the directory Front made for the listening socket

	closeOnce sync.Once
}

// Start validates cfg, listens, and starts forwarding.
func Start(cfg Config) (*Proxy, error) {
	stream, err := familyKind(cfg.Family)
	if err != nil {
		return nil, err
	}
	if cfg.Upstream == "" {
		return nil, errors.New("proxy: no upstream address")
	}
	if err := cfg.Profile.Validate(); err != nil {
		return nil, err
	}
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = 10 * time.Second
	}
	p := &Proxy{
		cfg: cfg, stream: stream, done: make(chan struct{}),
		conns: map[net.Conn]struct{}{}, sessions: map[string]*session{},
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.engine = netsim.NewEngine(cfg.Profile, cfg.Seed, cfg.Observe)
	if stream {
		if p.ln, err = net.Listen(cfg.Family, cfg.Listen); err != nil {
			p.cancel()
			return nil, fmt.Errorf("proxy: %w", err)
		}
		p.addr = p.ln.Addr()
	} else {
		if p.pc, err = net.ListenPacket(cfg.Family, cfg.Listen); err != nil {
			p.cancel()
			return nil, fmt.Errorf("proxy: %w", err)
		}
		p.addr = p.pc.LocalAddr()
	}
	p.engine.Start(time.Now())
	p.wg.Add(1)
	if stream {
		go p.acceptLoop()
	} else {
		go p.datagramLoop()
	}
	return p, nil
}

// Front starts a proxy for family on a free local address (a fresh path
// in a temporary directory for unix and unixgram) in front of upstream:
// what a target needs to be reached through a simulated link. Close
// removes the directory.
func Front(family, upstream string, profile netsim.Profile, seed uint64) (*Proxy, error) {
	if _, err := familyKind(family); err != nil {
		return nil, err
	}
	var err error
	listen := "127.0.0.1:0"
	var dir string
	switch family {
	case "tcp6", "udp6":
		listen = "[::1]:0"
	case "unix", "unixgram":
		if dir, err = os.MkdirTemp("", "netsim-proxy"); err != nil {
			return nil, fmt.Errorf("proxy: %w", err)
		}
		listen = filepath.Join(dir, "front.sock")
	}
	p, err := Start(Config{Family: family, Listen: listen, Upstream: upstream, Profile: profile, Seed: seed})
	if err != nil {
		if dir != "" {
			os.RemoveAll(dir)
		}
		return nil, err
	}
	p.frontDir = dir
	return p, nil
}

func familyKind(family string) (stream bool, err error) {
	switch family {
	case "tcp", "tcp4", "tcp6", "unix":
		return true, nil
	case "udp", "udp4", "udp6", "unixgram":
		return false, nil
	}
	return false, fmt.Errorf("proxy: unknown family %q (write tcp, udp, unix or unixgram)", family)
}

// Addr is the address the proxy listens on.
func (p *Proxy) Addr() net.Addr { return p.addr }

// Close stops listening, closes every connection and session, drops what
// is still in flight, and waits for the proxy's goroutines.
func (p *Proxy) Close() error {
	p.closeOnce.Do(func() {
		close(p.done)
		p.cancel()
		if p.ln != nil {
			p.ln.Close()
		}
		if p.pc != nil {
			p.pc.Close()
		}
		p.mu.Lock()
		p.closed = true
		for c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		p.delays.Close()
		p.wg.Wait()
		if p.pc != nil && p.cfg.Family == "unixgram" {
			os.Remove(p.cfg.Listen)
		}
		if p.tmpDir != "" {
			os.RemoveAll(p.tmpDir)
		}
		if p.frontDir != "" {
			os.RemoveAll(p.frontDir)
		}
	})
	return nil
}

// track registers c to be closed by Close; false when the proxy is
// closing already (c is closed then).
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.conns, c)
}

// waitUntil waits for t on timer, or for Close (false).
func (p *Proxy) waitUntil(timer *time.Timer, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		select {
		case <-p.done:
			return false
		default:
			return true
		}
	}
	timer.Reset(d)
	select {
	case <-timer.C:
		return true
	case <-p.done:
		timer.Stop()
		return false
	}
}
