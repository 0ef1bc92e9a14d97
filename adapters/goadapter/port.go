package goadapter

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/sockspec/sockspec/spec/driver"
)

// Server is one server of a port: the BaseServer methods the harness
// calls, which the kit calls and traces (handle_request, serve_forever,
// shutdown, server_close). The port traces the hooks beneath them through
// the Hooks it was built with.
type Server interface {
	// Address is the bound address: "host:port", or a socket path.
	Address() string
	// HandleRequest is handle_request(). ctx ends when the session
	// closes. Its error is what handle_request raised, or a Returned
	// value: handle_timeout's (ORD-09).
	HandleRequest(ctx context.Context) error
	// ServeForever is serve_forever(poll), on a goroutine the kit starts.
	// It must return when Shutdown asks it to and when ctx ends: the
	// session closes, or SIGUSR2's handler raises into the loop (then
	// context.Cause(ctx) is ErrSignalRaised, and the kit reports that
	// whatever ServeForever returns, SHD-12).
	ServeForever(ctx context.Context, poll time.Duration) error
	// Shutdown is shutdown(): it stops a running ServeForever and waits
	// for it, save on the serving goroutine (SHD-02).
	Shutdown() error
	// ServerClose is server_close(): it closes the listening socket.
	ServerClose() error
}

// Stater is a Server that knows what the kit cannot: the request threads
// or children it keeps, a timeout of its own choosing (a forking server's
// 300 s, TMO-06). State changes the kit's state, whose Threads is -1, whose
// ActiveChildren is 0 and whose Timeout is the configuration's.
type Stater interface {
	State(st *driver.State)
}

// Port is a Go port of socketserver made a driver.Target: the hello it
// says and the constructor of its servers. The kit supplies the rest of
// the Target and Session (the bounded calls, the serve_forever goroutine,
// shutdown's wait for the loop, the context manager, Dial, State, Close)
// and the request handler (Hooks.ServeStream, Hooks.ServeDatagram).
type Port struct {
	// Name and Version are the hello's; an empty Version is the Go
	// toolchain's.
	Name, Version string
	// Capabilities are what the port can be judged on (the names of
	// package spec/rules: "tcp", "trace", …). A configuration of a family
	// or dispatch not listed is N/A without calling New. The kit gives
	// every port the context manager (exit_context is server_close), so
	// "context_manager" may be listed; "trace" may be once the port traces
	// its hooks.
	Capabilities driver.Capabilities
	// New builds, binds (at h.Address()) and activates one server as cfg
	// says, tracing server_bind and server_activate through h. It may
	// return a *driver.UnsupportedError for a configuration it lacks.
	// When cfg defers the bind (bind_and_activate false), the kit calls
	// New before the first command that needs the server, not at the
	// start: nothing is bound until then (NET-12).
	New func(cfg driver.ServerConfig, h *Hooks) (Server, error)
}

// Info is the port's hello.
func (p *Port) Info() driver.Info {
	return driver.Info{Name: p.Name, Version: cmp.Or(p.Version, runtime.Version()), Language: "go", Capabilities: p.Capabilities}
}

// Close has nothing to release: every session owns what it started.
func (p *Port) Close() error { return nil }

// Start builds a server with New and drives it.
func (p *Port) Start(_ context.Context, cfg driver.ServerConfig) (_ driver.Session, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	for _, c := range []string{string(cfg.Family), string(cfg.Dispatch)} {
		if c != string(driver.Sync) && !slices.Contains(p.Capabilities, c) {
			return nil, &driver.UnsupportedError{What: c}
		}
	}
	s := &session{cfg: cfg, build: p.New}
	defer func() {
		if err != nil {
			s.dir.Remove()
		}
	}()
	addr := cfg.Address
	if addr == "" {
		addr = "127.0.0.1:0"
		if cfg.Family.IsUnix() {
			dir, err := s.dir.Path()
			if err != nil {
				return nil, err
			}
			addr = filepath.Join(dir, "server.sock")
		}
	}
	s.hooks = newHooks(cfg, addr)
	s.hooks.shutdown = s.shutdown
	if cfg.BindAndActivate == nil || *cfg.BindAndActivate {
		if _, err := s.server(); err != nil {
			return nil, err
		}
	}
	s.life, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// session drives one server of a port for the harness.
type session struct {
	cfg    driver.ServerConfig
	hooks  *Hooks
	dir    driver.SocketDir // the socket paths' directory, removed on Close
	life   context.Context  // ends at Close: bounds the server's own calls
	cancel context.CancelFunc
	calls  sync.WaitGroup // goroutines running server calls

	// The server is built (bound and activated) by build at the start,
	// or, when the configuration defers the bind, before the first
	// command that needs it (NET-12).
	buildMu  sync.Mutex
	build    func(driver.ServerConfig, *Hooks) (Server, error)
	srv      Server
	buildErr error

	mu           sync.Mutex
	closed       bool
	serverClosed bool
	// loops are the goroutines running serve_forever, by id: shutdown
	// waits for the loop unless it runs on one of them.
	loops map[uint64]bool
	// interrupt ends the running ServeForever with a cause: what SIGUSR2's
	// raising handler does to a Python loop (nil when no loop runs).
	interrupt context.CancelCauseFunc
}

// server builds the server once, and returns it or why it could not be.
func (s *session) server() (Server, error) {
	s.buildMu.Lock()
	defer s.buildMu.Unlock()
	if s.srv == nil && s.buildErr == nil {
		s.srv, s.buildErr = s.build(s.cfg, s.hooks)
	}
	return s.srv, s.buildErr
}

// built is the server when it has been built, nil before.
func (s *session) built() Server {
	s.buildMu.Lock()
	defer s.buildMu.Unlock()
	return s.srv
}

// Address is the server's, or the one it will bind before it has.
func (s *session) Address() string {
	if srv := s.built(); srv != nil {
		return srv.Address()
	}
	return s.hooks.Address()
}

func (s *session) Trace() *driver.Trace { return &s.hooks.trace }

// Dial opens a client of the session's family.
func (s *session) Dial(ctx context.Context, unbound bool) (net.Conn, error) {
	return s.dir.Dial(ctx, s.cfg.Family, s.Address(), unbound)
}

// call runs f with the server on a goroutine of its own and waits for it
// until ctx ends (ErrNoReply); the goroutine is joined at Close whatever
// happens. A server that could not be built is f's error.
func (s *session) call(ctx context.Context, f func(Server) error) (driver.Result, error) {
	if s.isClosed() {
		return driver.Result{}, driver.ErrSessionClosed
	}
	done := make(chan error, 1)
	s.calls.Add(1)
	go func() {
		defer s.calls.Done()
		srv, err := s.server()
		if err == nil {
			err = f(srv)
		}
		done <- err
	}()
	select {
	case err := <-done:
		return resultOf(err), nil
	case <-ctx.Done():
		return driver.Result{}, driver.ErrNoReply
	}
}

// traced runs one of the server's methods between the call and the return
// of hook; a nil error returns None.
func (s *session) traced(hook string, f func() error) error {
	s.hooks.Trace(hook, driver.Call, nil, nil)
	err := f()
	if err == nil {
		s.hooks.Trace(hook, driver.Return, nil, Returned("None"))
		return nil
	}
	s.hooks.Trace(hook, driver.Return, nil, err)
	return err
}

func (s *session) HandleRequest(ctx context.Context) (driver.Result, error) {
	return s.call(ctx, func(srv Server) error {
		return s.traced(driver.HookHandleRequest, func() error { return srv.HandleRequest(s.life) })
	})
}

// ServeForever starts the loop and returns once serve_forever's call is
// traced.
func (s *session) ServeForever(ctx context.Context, poll time.Duration) error {
	if s.isClosed() {
		return driver.ErrSessionClosed
	}
	srv, err := s.server()
	if err != nil {
		return err
	}
	before := driver.Count(s.hooks.trace.Events(), driver.HookServeForever, driver.Call)
	loop, interrupt := context.WithCancelCause(s.life)
	s.mu.Lock()
	s.interrupt = interrupt
	s.mu.Unlock()
	s.calls.Add(1)
	go func() {
		defer s.calls.Done()
		defer interrupt(nil)
		g := goid()
		s.setLoop(g, true)
		_ = s.traced(driver.HookServeForever, func() error {
			defer s.setLoop(g, false)
			err := srv.ServeForever(loop, poll)
			if cause := context.Cause(loop); cause == ErrSignalRaised {
				return cause
			}
			return err
		})
	}()
	return s.hooks.trace.Wait(ctx, func(es []driver.Event) bool {
		return driver.Count(es, driver.HookServeForever, driver.Call) > before
	})
}

func (s *session) setLoop(g uint64, running bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.loops == nil {
		s.loops = map[uint64]bool{}
	}
	if running {
		s.loops[g] = true
	} else {
		delete(s.loops, g)
	}
}

func (s *session) Shutdown(ctx context.Context) (driver.Result, error) {
	return s.call(ctx, func(Server) error { return s.shutdown() })
}

// loopReturnBound bounds shutdown's wait for serve_forever's return event.
const loopReturnBound = time.Second

// shutdown is the traced shutdown(), of the harness and of a script's
// shutdown step. The port's Shutdown returns once its loop has ended, a
// moment before the kit traces serve_forever's return: shutdown waits for
// that event, so that the trace shows what happened (the loop had ended
// when shutdown returned). It does not wait on the serving goroutine
// itself, and at most loopReturnBound: the wait orders two events, it
// never decides an outcome.
func (s *session) shutdown() error {
	return s.traced(driver.HookShutdown, func() error {
		calls := driver.Count(s.hooks.trace.Events(), driver.HookServeForever, driver.Call)
		err := s.built().Shutdown()
		s.mu.Lock()
		onLoop := s.loops[goid()]
		s.mu.Unlock()
		if !onLoop {
			ctx, cancel := context.WithTimeout(context.Background(), loopReturnBound)
			_ = s.hooks.trace.Wait(ctx, func(es []driver.Event) bool {
				return driver.Count(es, driver.HookServeForever, driver.Return) >= calls
			})
			cancel()
		}
		return err
	})
}

func (s *session) ServerClose(ctx context.Context) (driver.Result, error) {
	return s.call(ctx, s.serverClose)
}

// ExitContext is the end of a with block: server_close, as Python's
// BaseServer.__exit__ is.
func (s *session) ExitContext(ctx context.Context) (driver.Result, error) {
	return s.call(ctx, s.serverClose)
}

func (s *session) serverClose(srv Server) error {
	s.mu.Lock()
	s.serverClosed = true
	s.mu.Unlock()
	return s.traced(driver.HookServerClose, srv.ServerClose)
}

func (s *session) State(context.Context) (driver.State, error) {
	s.mu.Lock()
	st := driver.State{Serving: len(s.loops) > 0, Closed: s.serverClosed, Threads: -1, PID: os.Getpid(), Timeout: "None"}
	s.mu.Unlock()
	if t := s.cfg.Timeout; t != nil {
		st.Timeout = strconv.FormatFloat(t.Seconds(), 'f', -1, 64)
	}
	if stater, ok := s.built().(Stater); ok {
		stater.State(&st)
	}
	return st, nil
}

// RaiseInLoop is SIGUSR2's raising handler: it ends the running
// ServeForever with ErrSignalRaised, and does nothing when no loop runs.
func (s *session) RaiseInLoop() {
	s.mu.Lock()
	interrupt := s.interrupt
	s.mu.Unlock()
	if interrupt != nil {
		interrupt(ErrSignalRaised)
	}
}

func (s *session) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// closeBound bounds how long Close waits for the server's goroutines.
const closeBound = 10 * time.Second

// Close ends the server's calls (their context ends), closes the server
// untraced and waits for the calls, at most closeBound.
func (s *session) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	if srv := s.built(); srv != nil {
		_ = srv.ServerClose()
	}
	done := make(chan struct{})
	go func() { s.calls.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-time.After(closeBound):
		err = fmt.Errorf("goadapter: server calls still running %v after Close", closeBound)
	}
	s.dir.Remove()
	return err
}
