package impl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
)

// Server is a socketserver-style server: the BaseServer pipeline over one
// listening socket. Create it with New; it is safe for concurrent use, but
// serves from one HandleRequest or ServeForever call at a time.
type Server struct {
	cfg   Config
	trace tracer
	base  Base

	mu        sync.Mutex
	listener  net.Listener   // stream families, once bound
	packet    net.PacketConn // datagram families, once bound
	src       readySource    // readiness over listener or packet
	boundAddr net.Addr
	unixPath  string // socket file this server created, removed on close
	closed    bool
	running   bool // a HandleRequest or ServeForever is active
	serving   bool // a ServeForever is active
	servingG  uint64
	stopping  bool          // Shutdown was requested for the active ServeForever
	stopCh    chan struct{} // closed when stopping becomes true
	loopDone  chan struct{} // closed when the active ServeForever returns

	nextID       atomic.Uint64
	acceptFails  int // consecutive resource failures of get_request (RES-01)
	requests     sync.WaitGroup
	children     childTable
	errorLogOnce sync.Mutex
}

// New builds a server from cfg. Unless cfg.DeferBind is set it also binds and
// activates it (server_bind, server_activate); when either fails the socket
// is closed again and the error returned (NET-01).
func New(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, trace: newTracer(cfg.Trace, cfg.Clock)}
	s.base = Base{s: s}
	s.children.init()
	if cfg.DeferBind {
		return s, nil
	}
	if err := s.ServerBind(); err != nil {
		_ = s.ServerClose()
		return nil, err
	}
	if err := s.ServerActivate(); err != nil {
		_ = s.ServerClose()
		return nil, err
	}
	return s, nil
}

// Family is the server's socket family.
func (s *Server) Family() Family { return s.cfg.Family }

// Dispatch is how the server runs requests.
func (s *Server) Dispatch() Dispatch { return s.cfg.Dispatch }

// Config returns the server's configuration, defaults filled in.
func (s *Server) Config() Config { return s.cfg }

// Address is server_address: the bound address once ServerBind has run (port
// 0 replaced by the real port, NET-02), the configured one before (NET-12).
func (s *Server) Address() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.boundAddr != nil {
		return s.boundAddr.String()
	}
	return s.cfg.Address
}

// Addr is the bound address, or nil before ServerBind.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.boundAddr
}

// Listener is the listening socket of a stream server (nil otherwise or
// before ServerBind).
func (s *Server) Listener() net.Listener {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.listener
}

// PacketConn is the socket of a datagram server (nil otherwise or before
// ServerBind).
func (s *Server) PacketConn() net.PacketConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.packet
}

// ServerBind opens the socket and binds it to the configured address,
// setting SO_REUSEADDR and SO_REUSEPORT as configured first (NET-02). Go's
// net package binds and listens in one step, so a stream socket accepts
// connections from here on; ServerActivate then sets the queue length.
func (s *Server) ServerBind() (err error) {
	s.trace.call(HookServerBind, nil)
	defer func() { s.trace.ret(HookServerBind, nil, err, "") }()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrServerClosed
	}
	if s.src != nil {
		return fmt.Errorf("impl: ServerBind called twice: the server is already bound to %v", s.boundAddr)
	}
	netw := s.cfg.Network
	if lc, ok := netw.(*net.ListenConfig); ok || netw == nil {
		netw = listenConfig(lc, s.cfg)
	}
	name := networkName(s.cfg.Family)
	var sock any
	if s.cfg.Family.IsDatagram() {
		pc, err := netw.ListenPacket(context.Background(), name, s.cfg.Address)
		if err != nil {
			return bindError(s.cfg, err)
		}
		s.packet, sock, s.boundAddr = pc, pc, pc.LocalAddr()
	} else {
		ln, err := netw.Listen(context.Background(), name, s.cfg.Address)
		if err != nil {
			return bindError(s.cfg, err)
		}
		s.listener, sock, s.boundAddr = ln, ln, ln.Addr()
	}
	if _, inMemory := sock.(ReadyWaiter); !inMemory && (s.cfg.Family == UnixStream || s.cfg.Family == UnixDatagram) {
		s.unixPath = s.cfg.Address // a file on disk only for a kernel socket
	}
	src, err := newReadySource(sock)
	if err != nil {
		_ = sock.(io.Closer).Close()
		s.listener, s.packet, s.boundAddr = nil, nil, nil
		return err
	}
	s.src = src
	return nil
}

// bindError explains the usual bind failures.
func bindError(c Config, err error) error {
	switch {
	case errors.Is(err, syscall.EADDRINUSE) && (c.Family == UnixStream || c.Family == UnixDatagram):
		return fmt.Errorf("impl: binding %v socket %q: %w (a socket file is left there: remove it, or choose another path)", c.Family, c.Address, err)
	case errors.Is(err, syscall.EADDRINUSE):
		return fmt.Errorf("impl: binding %v %q: %w (another socket holds the port; AllowReuseAddress lets a port in TIME_WAIT be reused)", c.Family, c.Address, err)
	}
	return fmt.Errorf("impl: binding %v %q: %w", c.Family, c.Address, err)
}

// ServerActivate is server_activate: for stream servers it sets the listen
// queue to RequestQueueSize (NET-05); datagram servers have nothing to do.
func (s *Server) ServerActivate() (err error) {
	s.trace.call(HookServerActivate, nil)
	defer func() { s.trace.ret(HookServerActivate, nil, err, "") }()
	s.mu.Lock()
	ln := s.listener
	s.mu.Unlock()
	if ln == nil {
		if s.cfg.Family.IsDatagram() {
			return nil
		}
		return ErrNotBound
	}
	return setBacklog(ln, s.cfg.RequestQueueSize)
}

// ServerClose is server_close. It closes the socket, which also ends a
// ServeForever that is running (it returns ErrServerClosed, SHD-09), removes
// the Unix socket file the server created, and then, unless NoBlockOnClose is
// set, waits for request goroutines (THR-03) or request children (FRK-09).
// Later calls do nothing.
func (s *Server) ServerClose() (err error) {
	s.trace.call(HookServerClose, nil)
	defer func() { s.trace.ret(HookServerClose, nil, err, "") }()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	if s.serving {
		s.requestStopLocked() // also ends a wait for a child slot
	}
	src, path := s.src, s.unixPath
	s.mu.Unlock()
	if src != nil {
		err = src.Close()
	}
	if path != "" && s.cfg.Family == UnixDatagram {
		// Go removes the file of a Unix stream listener on Close itself.
		if rerr := os.Remove(path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) && err == nil {
			err = rerr
		}
	}
	switch s.cfg.Dispatch {
	case Threading:
		s.requests.Wait() // only goroutines that must be joined were counted
	case Forking:
		s.collectChildren(!s.cfg.NoBlockOnClose)
	}
	return err
}

// Close is ServerClose, so that a Server is an io.Closer (the analogue of
// the context manager's __exit__, SHD-11).
func (s *Server) Close() error { return s.ServerClose() }

// ActiveChildren lists the pids of request children not yet collected
// (ForkingMixIn.active_children).
func (s *Server) ActiveChildren() []int { return s.children.pids() }

// errorLog is where the default handle_error writes.
func (s *Server) errorLog() io.Writer {
	if s.cfg.ErrorLog != nil {
		return s.cfg.ErrorLog
	}
	return os.Stderr
}

// Serving reports whether ServeForever is running.
func (s *Server) Serving() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.serving
}

// Closed reports whether ServerClose was called.
func (s *Server) Closed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}
