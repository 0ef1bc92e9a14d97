package impl

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"
	"syscall"
)

// Overrides replace BaseServer steps, the way a subclass overrides methods.
// Each func gets the server; to extend rather than replace a step, call the
// same step on s.Base() (the analogue of super()). Nil fields keep the base
// step. Every step, overridden or not, is traced.
type Overrides struct {
	GetRequest      func(s *Server, ctx context.Context) (*Request, error)
	VerifyRequest   func(s *Server, r *Request) bool
	ProcessRequest  func(s *Server, r *Request) error
	FinishRequest   func(s *Server, r *Request) error
	ShutdownRequest func(s *Server, r *Request)
	CloseRequest    func(s *Server, r *Request)
	HandleError     func(s *Server, r *Request, err error) error
	HandleTimeout   func(s *Server) error
	ServiceActions  func(s *Server) error
	CollectChildren func(s *Server, blocking bool)
}

// Base gives the base implementation of every step, for overrides that
// extend a step instead of replacing it.
type Base struct{ s *Server }

// Base returns the base steps of s.
func (s *Server) Base() Base { return s.base }

// GetRequest is get_request: accept a connection (stream) or read one
// datagram of at most MaxPacketSize bytes (datagram, NET-07). It is called
// only when a request is pending.
func (b Base) GetRequest(ctx context.Context) (*Request, error) {
	s := b.s
	s.mu.Lock()
	ln, pc := s.listener, s.packet
	s.mu.Unlock()
	r := &Request{Server: s, ctx: ctx}
	switch {
	case ln != nil:
		conn, err := ln.Accept()
		if err != nil {
			return nil, err
		}
		r.Conn, r.ClientAddr = conn, conn.RemoteAddr()
	case pc != nil:
		buf := make([]byte, s.cfg.MaxPacketSize)
		n, addr, err := pc.ReadFrom(buf)
		if err != nil {
			return nil, err
		}
		r.Data, r.ClientAddr, r.PacketConn = buf[:n], addr, pc
	default:
		return nil, ErrNotBound
	}
	r.ID = s.nextID.Add(1)
	return r, nil
}

// VerifyRequest is verify_request: accept every request.
func (b Base) VerifyRequest(*Request) bool { return true }

// ProcessRequest is process_request. Sync: finish_request, then
// shutdown_request (ORD-01). Threading: start a goroutine that does the same
// (THR-01/02). Forking: start a child that does the same and close the
// parent's copy (FRK-01/02).
func (b Base) ProcessRequest(r *Request) error {
	s := b.s
	switch s.cfg.Dispatch {
	case Threading:
		return s.startRequestGoroutine(r)
	case Forking:
		return s.forkRequest(r)
	}
	if err := s.finishRequest(r); err != nil {
		return err
	}
	s.shutdownRequest(r)
	return nil
}

// FinishRequest is finish_request: build the handler and run setup, handle
// and finish (ORD-08).
func (b Base) FinishRequest(r *Request) error {
	s := b.s
	h := s.cfg.Handler()
	if err := s.step(HookSetup, r, h.Setup); err != nil {
		return err
	}
	herr := s.step(HookHandle, r, h.Handle)
	ferr := s.step(HookFinish, r, h.Finish)
	if herr != nil {
		return herr
	}
	return ferr
}

// ShutdownRequest is shutdown_request: for a connection, half-close it
// (SHUT_WR, errors ignored), then close_request (ORD-02); for a datagram,
// close_request only, which leaves the shared socket open (NET-07).
func (b Base) ShutdownRequest(r *Request) {
	if cw, ok := r.Conn.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite() // ENOTCONN when the peer is gone is not an error here
	}
	b.s.closeRequest(r)
}

// CloseRequest is close_request: close the connection; nothing for datagrams.
func (b Base) CloseRequest(r *Request) {
	if r.Conn != nil {
		_ = r.Conn.Close()
	}
}

// HandleError is handle_error: write a report naming the client and the error
// to ErrorLog (os.Stderr by default), with the stack for panics (ERR-01).
func (b Base) HandleError(r *Request, err error) error {
	s := b.s
	var pe *PanicError
	report := fmt.Sprintf("%s\nException occurred during processing of request from %s\n%v\n",
		dashes, clientRepr(r), err)
	if errors.As(err, &pe) {
		report += string(pe.Stack)
		if report[len(report)-1] != '\n' {
			report += "\n"
		}
	}
	report += dashes + "\n"
	s.errorLogOnce.Lock() // one report at a time: requests fail concurrently (THR-07)
	defer s.errorLogOnce.Unlock()
	_, werr := s.errorLog().Write([]byte(report))
	return werr
}

const dashes = "----------------------------------------"

func clientRepr(r *Request) string {
	if r == nil || r.ClientAddr == nil || r.ClientAddr.String() == "" {
		return "<no address>"
	}
	return r.ClientAddr.String()
}

// HandleTimeout is handle_timeout: nothing, except that a Forking server
// collects its children (TMO-02).
func (b Base) HandleTimeout() error {
	if b.s.cfg.Dispatch == Forking {
		b.s.collectChildren(false)
	}
	return nil
}

// ServiceActions is service_actions, run once per ServeForever iteration:
// nothing, except that a Forking server collects its children (TMO-07).
func (b Base) ServiceActions() error {
	if b.s.cfg.Dispatch == Forking {
		b.s.collectChildren(false)
	}
	return nil
}

// CollectChildren is collect_children: take note of every request child that
// has exited; with blocking, first wait until every child has exited. Only
// the server's own children are ever waited for (FRK-07).
func (b Base) CollectChildren(blocking bool) { b.s.children.collect(blocking) }

// The steps below dispatch to the override or the base, and trace.

func (s *Server) getRequest(ctx context.Context) (r *Request, err error) {
	s.trace.call(HookGetRequest, nil)
	err = protect(func() error {
		var gerr error
		if f := s.cfg.Overrides.GetRequest; f != nil {
			r, gerr = f(s, ctx)
		} else {
			r, gerr = s.base.GetRequest(ctx)
		}
		return gerr
	})
	s.trace.ret(HookGetRequest, r, err, "")
	return r, err
}

func (s *Server) verifyRequest(r *Request) (ok bool, err error) {
	s.trace.call(HookVerifyRequest, r)
	err = protect(func() error {
		if f := s.cfg.Overrides.VerifyRequest; f != nil {
			ok = f(s, r)
		} else {
			ok = s.base.VerifyRequest(r)
		}
		return nil
	})
	s.trace.ret(HookVerifyRequest, r, err, strconv.FormatBool(ok))
	return ok, err
}

func (s *Server) processRequest(r *Request) error {
	return s.step(HookProcessRequest, r, func(r *Request) error {
		if f := s.cfg.Overrides.ProcessRequest; f != nil {
			return f(s, r)
		}
		return s.base.ProcessRequest(r)
	})
}

func (s *Server) finishRequest(r *Request) error {
	return s.step(HookFinishRequest, r, func(r *Request) error {
		if f := s.cfg.Overrides.FinishRequest; f != nil {
			return f(s, r)
		}
		return s.base.FinishRequest(r)
	})
}

func (s *Server) shutdownRequest(r *Request) {
	_ = s.step(HookShutdownRequest, r, func(r *Request) error {
		if f := s.cfg.Overrides.ShutdownRequest; f != nil {
			f(s, r)
		} else {
			s.base.ShutdownRequest(r)
		}
		return nil
	})
}

func (s *Server) closeRequest(r *Request) {
	_ = s.step(HookCloseRequest, r, func(r *Request) error {
		if f := s.cfg.Overrides.CloseRequest; f != nil {
			f(s, r)
		} else {
			s.base.CloseRequest(r)
		}
		return nil
	})
}

func (s *Server) handleError(r *Request, cause error) error {
	s.trace.callWith(HookHandleError, r, cause)
	err := protect(func() error {
		if f := s.cfg.Overrides.HandleError; f != nil {
			return f(s, r, cause)
		}
		return s.base.HandleError(r, cause)
	})
	s.trace.ret(HookHandleError, r, err, "")
	return err
}

func (s *Server) handleTimeout() error {
	return s.step(HookHandleTimeout, nil, func(*Request) error {
		if f := s.cfg.Overrides.HandleTimeout; f != nil {
			return f(s)
		}
		return s.base.HandleTimeout()
	})
}

func (s *Server) serviceActions() error {
	return s.step(HookServiceActions, nil, func(*Request) error {
		if f := s.cfg.Overrides.ServiceActions; f != nil {
			return f(s)
		}
		return s.base.ServiceActions()
	})
}

func (s *Server) collectChildren(blocking bool) {
	_ = s.step(HookCollectChildren, nil, func(*Request) error {
		if f := s.cfg.Overrides.CollectChildren; f != nil {
			f(s, blocking)
		} else {
			s.base.CollectChildren(blocking)
		}
		return nil
	})
}

// step traces a call of f and turns a panic in it into an error.
func (s *Server) step(h Hook, r *Request, f func(*Request) error) error {
	s.trace.call(h, r)
	err := protect(func() error { return f(r) })
	s.trace.ret(h, r, err, "")
	return err
}

// protect runs f, turning a panic into a *PanicError, or into the
// *FatalError it carried.
func protect(f func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			if fe, ok := v.(*FatalError); ok {
				err = fe
				return
			}
			err = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return f()
}

// failRequest is the except branch shared by _handle_request_noblock, the
// request goroutine and the request child: a fatal error shuts the request
// down and is returned as it is (ORD-06); any other error goes to
// handle_error and then the request is shut down (ORD-05). Unlike CPython,
// shutdown_request runs even when handle_error fails, so the request is
// never left open (ERR-05); handle_error's own error is returned.
func (s *Server) failRequest(r *Request, err error) error {
	if IsFatal(err) {
		s.shutdownRequest(r)
		return err
	}
	herr := s.handleError(r, err)
	s.shutdownRequest(r)
	return herr
}

// isResourceExhaustion reports whether an accept error means the process or
// the system ran out of something that a pause may bring back (RES-01).
func isResourceExhaustion(err error) bool {
	for _, e := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
