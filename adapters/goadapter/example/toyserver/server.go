// Package toyserver is a small synchronous TCP server in the shape of
// Python's socketserver.BaseServer: handle_request and serve_forever take
// one request at a time through get_request, verify_request,
// process_request, finish_request, shutdown_request and close_request,
// with handle_error and handle_timeout. It knows nothing of sockspec: its
// func fields are how a program overrides a hook (Python subclasses) and
// watches the hooks run (Trace).
package toyserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Server serves TCP requests one at a time. Set the fields, then Listen.
type Server struct {
	// Handler serves one request: what finish_request runs.
	Handler func(conn net.Conn) error
	// Timeout is handle_request's wait (nil waits forever); SocketTimeout
	// is the listening socket's, of which handle_request waits the smaller.
	Timeout, SocketTimeout *time.Duration

	// Hooks to override; nil keeps the default.
	VerifyRequest func(conn net.Conn) bool             // default: true
	HandleError   func(conn net.Conn, err error) error // default: ReportError
	HandleTimeout func() error                         // default: nothing
	// IsFatal says which handler errors pass handle_error by and leave
	// handle_request (Python's BaseExceptions that are no Exception).
	IsFatal func(err error) bool
	// BeforeAccept runs at each get_request; its error is accept's.
	BeforeAccept func() error
	// Trace is told of each hook's call and return ("call", "return"),
	// with the request (nil for the server's own hooks) and the error: the
	// one returned, or the one handle_error is called for.
	Trace func(hook, phase string, conn net.Conn, err error)

	ln *net.TCPListener
	// The readiness wait accepts: get_request takes what it got.
	pending   net.Conn
	acceptErr error
	mu        sync.Mutex
	stopping  atomic.Bool   // serve_forever ends at its next iteration
	loopDone  chan struct{} // closed when the running ServeForever ends; nil when none runs
}

func (s *Server) around(hook string, conn net.Conn, f func() error) error {
	s.Trace(hook, "call", conn, nil)
	err := f()
	s.Trace(hook, "return", conn, err)
	return err
}

// Listen binds and listens at addr: server_bind does both (Go's
// net.Listen is bind and listen), server_activate has nothing left to do.
func (s *Server) Listen(addr string) error {
	if s.Trace == nil {
		s.Trace = func(string, string, net.Conn, error) {}
	}
	err := s.around("server_bind", nil, func() (err error) {
		a, err := net.ResolveTCPAddr("tcp", addr)
		if err == nil {
			s.ln, err = net.ListenTCP("tcp", a)
		}
		return err
	})
	if err != nil {
		return err
	}
	return s.around("server_activate", nil, func() error { return nil })
}

// Address is the bound address, "host:port".
func (s *Server) Address() string { return s.ln.Addr().String() }

// wait waits up to timeout (nil: forever) for a connection and keeps it
// for get_request; it reports whether one is ready. ctx ending ends it.
func (s *Server) wait(ctx context.Context, timeout *time.Duration) (bool, error) {
	if s.pending != nil || s.acceptErr != nil {
		return true, nil
	}
	deadline := time.Time{}
	if timeout != nil { // at least a moment: an expired deadline accepts nothing
		deadline = time.Now().Add(max(*timeout, time.Millisecond))
	}
	s.ln.SetDeadline(deadline)
	defer context.AfterFunc(ctx, func() { s.ln.SetDeadline(time.Unix(1, 0)) })()
	conn, err := s.ln.Accept()
	switch {
	case conn != nil:
		s.pending = conn
	case errors.Is(err, net.ErrClosed):
		return false, err // a closed server cannot wait
	case !errors.Is(err, os.ErrDeadlineExceeded):
		s.acceptErr = err // get_request's failure
	}
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	return s.pending != nil || s.acceptErr != nil, nil
}

// HandleRequest serves one request, or calls handle_timeout and returns
// its error when none comes in time.
func (s *Server) HandleRequest(ctx context.Context) error {
	timeout := s.Timeout
	if t := s.SocketTimeout; t != nil && (timeout == nil || *t < *timeout) {
		timeout = t
	}
	if ready, err := s.wait(ctx, timeout); err != nil || ready {
		if err != nil {
			return err
		}
		return s.handleRequestNoBlock()
	}
	return s.around("handle_timeout", nil, func() error {
		if s.HandleTimeout == nil {
			return nil
		}
		return s.HandleTimeout()
	})
}

func (s *Server) handleRequestNoBlock() error {
	conn, err := s.getRequest()
	if err != nil {
		return nil // a failed accept is silent
	}
	ok := true
	s.around("verify_request", conn, func() error {
		ok = s.VerifyRequest == nil || s.VerifyRequest(conn)
		return nil
	})
	if !ok {
		s.shutdownRequest(conn)
		return nil
	}
	err = s.around("process_request", conn, func() error {
		if err := s.around("finish_request", conn, func() error { return s.Handler(conn) }); err != nil {
			return err
		}
		s.shutdownRequest(conn)
		return nil
	})
	if err == nil || (s.IsFatal != nil && s.IsFatal(err)) {
		if err != nil {
			s.shutdownRequest(conn)
		}
		return err
	}
	s.Trace("handle_error", "call", conn, err)
	herr := ReportError(conn, err)
	if s.HandleError != nil {
		herr = s.HandleError(conn, err)
	}
	if s.Trace("handle_error", "return", conn, herr); herr != nil {
		return herr // shutdown_request is skipped, as in Python
	}
	s.shutdownRequest(conn)
	return nil
}

func (s *Server) getRequest() (conn net.Conn, err error) {
	s.Trace("get_request", "call", nil, nil)
	if s.BeforeAccept != nil {
		err = s.BeforeAccept()
	}
	if err == nil {
		conn, err, s.pending, s.acceptErr = s.pending, s.acceptErr, nil, nil
	}
	s.Trace("get_request", "return", conn, err)
	return conn, err
}

func (s *Server) shutdownRequest(conn net.Conn) {
	s.around("shutdown_request", conn, func() error {
		conn.(*net.TCPConn).CloseWrite() // the client reads EOF after the reply
		return s.around("close_request", conn, conn.Close)
	})
}

// ReportError is handle_error's default: a report on standard error.
func ReportError(conn net.Conn, err error) error {
	_, werr := fmt.Fprintf(os.Stderr, "%s\nException occurred during processing of request from %v\n%v\n%[1]s\n",
		"----------------------------------------", conn.RemoteAddr(), err)
	return werr
}

// ServeForever serves until Shutdown, waiting at most poll for each
// request and calling service_actions after each wait; it ends with ctx's
// error when ctx ends.
func (s *Server) ServeForever(ctx context.Context, poll time.Duration) error {
	done := make(chan struct{})
	s.mu.Lock()
	s.loopDone = done
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.loopDone = nil
		s.stopping.Store(false)
		s.mu.Unlock()
		close(done)
	}()
	for !s.stopping.Load() {
		ready, err := s.wait(ctx, &poll)
		if err == nil && ready {
			err = s.handleRequestNoBlock()
		}
		if err != nil {
			return err
		}
		s.around("service_actions", nil, func() error { return nil })
	}
	return nil
}

// Shutdown stops the running ServeForever and waits for it to end; it
// returns at once when none runs.
func (s *Server) Shutdown() error {
	s.mu.Lock()
	done := s.loopDone
	s.stopping.Store(done != nil)
	s.mu.Unlock()
	if done != nil {
		<-done
	}
	return nil
}

// ServerClose closes the listening socket.
func (s *Server) ServerClose() error { return s.ln.Close() }
