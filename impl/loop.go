package impl

import (
	"context"
	"errors"
	"net"
	"os"
	"time"
)

// HandleRequest is handle_request: wait for one request for at most the
// effective timeout, the smaller of Config.SocketTimeout and Config.Timeout
// (TMO-01), and serve it; when the wait expires, call handle_timeout once
// and return what it returns (TMO-02, ORD-09). A zero timeout polls once
// without blocking (TMO-03); the deadline is computed once and holds across
// early wake-ups (TMO-04).
//
// It returns nil after a request was served, whether or not the request
// failed (failures went to handle_error), and after a failed get_request,
// which is silent (ORD-04). It returns a FatalError that a step raised
// (ORD-06), an error from handle_error itself (ERR-05), ctx.Err() when ctx
// ends the wait, and ErrServerClosed after ServerClose (SHD-10).
func (s *Server) HandleRequest(ctx context.Context) (err error) {
	s.trace.call(HookHandleRequest, nil)
	defer func() { s.trace.ret(HookHandleRequest, nil, err, "") }()
	if err := s.enterLoop(false); err != nil {
		return err
	}
	defer s.leaveLoop(false)
	stopWake := context.AfterFunc(ctx, s.wake)
	defer stopWake()

	if s.cfg.Dispatch == Forking {
		// max_children holds on this path too, unlike CPython 3.x (FRK-06).
		if err := s.waitForChildSlot(ctx.Done()); err != nil {
			return ctxOr(ctx, err)
		}
	}
	var deadline time.Time
	if d, ok := effectiveTimeout(s.cfg.SocketTimeout, s.cfg.Timeout).Duration(); ok {
		deadline = time.Now().Add(d)
	}
	for {
		ready, err := s.waitReady(deadline)
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		if err != nil {
			return closedOr(err)
		}
		if ready {
			err := s.handleRequestNoBlock(ctx)
			if s.cfg.Dispatch == Forking {
				s.collectChildren(false)
			}
			if err == nil && s.acceptFails > 0 {
				// A loop of HandleRequest calls must not spin on EMFILE either.
				s.backoff(ctx.Done())
			}
			return err
		}
		if !deadline.IsZero() && time.Now().Before(deadline) {
			continue // woken early: wait for what is left (TMO-04)
		}
		return s.handleTimeout()
	}
}

// ServeForever is serve_forever: until Shutdown, wait at most pollInterval
// for a request, serve it when one is pending, and call service_actions, once
// per iteration whether or not a request came (TMO-05, TMO-07). It ignores
// the server's timeout and never calls handle_timeout. pollInterval ≤ 0 means
// Config.PollInterval.
//
// Shutdown wakes the wait at once; a request that becomes ready in the same
// instant is left to the next loop (SHD-07). Cancelling ctx stops the loop
// like Shutdown does, and ServeForever then returns context.Cause(ctx):
// ctx.Err(), or the cause ctx was cancelled with. That is how a Go program's
// signal handler ends the loop with its error, as a raising Python handler
// ends serve_forever with its exception (SHD-12). It returns nil
// after Shutdown, ErrServerClosed when ServerClose ends it (SHD-09) or was
// called before (SHD-10), and the FatalError or handle_error failure that
// stopped it. It may be called again after it returned (SHD-05).
func (s *Server) ServeForever(ctx context.Context, pollInterval time.Duration) (err error) {
	if pollInterval <= 0 {
		pollInterval = s.cfg.PollInterval
	}
	// The call is traced once the loop counts as serving, so that an
	// observer of the call knows a Shutdown from now on will stop it.
	err = s.enterLoop(true)
	s.trace.call(HookServeForever, nil)
	if err != nil {
		s.trace.ret(HookServeForever, nil, err, "")
		return err
	}
	// Deferred in this order so that the return is traced before a waiting
	// Shutdown is released.
	defer s.leaveLoop(true)
	defer func() { s.trace.ret(HookServeForever, nil, err, "") }()
	stopOnCancel := context.AfterFunc(ctx, s.requestStop)
	defer stopOnCancel()
	stop := s.stopChan()

	for {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		if s.cfg.Dispatch == Forking {
			if err := s.waitForChildSlot(stop); err != nil {
				if s.isClosed() {
					return ErrServerClosed
				}
				return ctxOr(ctx, nil)
			}
		}
		ready, err := s.waitReady(time.Now().Add(pollInterval))
		if s.isClosed() {
			return ErrServerClosed // SHD-09: ServerClose ends the loop, no spin
		}
		if s.stopRequested() {
			return ctxOr(ctx, nil) // bpo-35017: no request is taken after shutdown
		}
		if err != nil {
			return closedOr(err)
		}
		if ready {
			if err := s.handleRequestNoBlock(ctx); err != nil {
				return err
			}
			if s.acceptFails > 0 {
				if !s.backoff(stop) {
					return ctxOr(ctx, nil)
				}
			}
		}
		if err := s.serviceActions(); err != nil {
			return err
		}
	}
}

// Shutdown is shutdown: it asks the running ServeForever to stop, wakes it
// at once, and waits until it has returned or ctx is done (SHD-01). When no
// ServeForever runs it returns nil at once and leaves nothing behind that
// would stop a later ServeForever (SHD-03, SHD-04: CPython blocks, or leaves
// a stale flag). Called on the serving goroutine itself it requests the stop
// and returns ErrShutdownFromServingGoroutine instead of deadlocking
// (SHD-02). To stop a ServeForever that may not have started yet, cancel its
// context.
func (s *Server) Shutdown(ctx context.Context) (err error) {
	s.trace.call(HookShutdown, nil)
	defer func() { s.trace.ret(HookShutdown, nil, err, "") }()
	s.mu.Lock()
	if !s.serving {
		s.mu.Unlock()
		return nil
	}
	done, g := s.loopDone, s.servingG
	s.requestStopLocked()
	s.mu.Unlock()
	if goid() == g {
		return ErrShutdownFromServingGoroutine
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// handleRequestNoBlock is _handle_request_noblock, called when a request is
// pending.
func (s *Server) handleRequestNoBlock(ctx context.Context) error {
	r, err := s.getRequest(ctx)
	if err != nil {
		switch {
		case IsFatal(err):
			return err
		case errors.Is(err, net.ErrClosed):
			return ErrServerClosed
		case isResourceExhaustion(err):
			s.acceptFails++
		}
		return nil // ORD-04: no handle_error, no shutdown_request
	}
	s.acceptFails = 0
	ok, err := s.verifyRequest(r)
	if err != nil {
		return s.failRequest(r, err) // a panicking verify_request does not leak the request
	}
	if !ok {
		s.shutdownRequest(r) // ORD-03
		return nil
	}
	if err := s.processRequest(r); err != nil {
		return s.failRequest(r, err) // ORD-05, ORD-06
	}
	return nil
}

// backoff pauses after consecutive resource failures of get_request, so that
// EMFILE does not turn the loop into a busy spin (RES-01): 5 ms, doubling up
// to 1 s. The pending connection stays queued and is served once descriptors
// are free. It reports false when the stop was requested meanwhile.
func (s *Server) backoff(stop <-chan struct{}) bool {
	d := 5 * time.Millisecond << min(s.acceptFails-1, 8)
	d = min(d, time.Second)
	s.trace.call(HookAcceptBackoff, nil)
	defer s.trace.ret(HookAcceptBackoff, nil, nil, d.String())
	select {
	case <-s.cfg.Clock.After(d):
		return true
	case <-stop:
		return false
	}
}

// waitReady waits until a request is pending (true), the deadline passes or
// the wait is woken (false), or the socket fails. A zero deadline waits
// without limit.
func (s *Server) waitReady(deadline time.Time) (bool, error) {
	s.mu.Lock()
	src := s.src
	if s.closed {
		s.mu.Unlock()
		return false, ErrServerClosed
	}
	if src.Ready() {
		s.mu.Unlock()
		return true, nil
	}
	if s.stopping || (!deadline.IsZero() && !time.Now().Before(deadline)) {
		s.mu.Unlock()
		return false, nil
	}
	// The deadline is set under the lock that Shutdown takes to wake the
	// wait, so a wake-up cannot fall between this check and the wait.
	if err := src.SetReadyDeadline(deadline); err != nil {
		s.mu.Unlock()
		return false, closedOr(err)
	}
	s.mu.Unlock()
	err := src.WaitReady()
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, os.ErrDeadlineExceeded):
		return false, nil
	}
	return false, closedOr(err)
}

// wake ends a readiness wait at once.
func (s *Server) wake() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.wakeLocked()
}

func (s *Server) wakeLocked() {
	if s.src != nil && !s.closed {
		_ = s.src.SetReadyDeadline(time.Unix(1, 0))
	}
}

func (s *Server) requestStop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.serving {
		s.requestStopLocked()
	}
}

func (s *Server) requestStopLocked() {
	if !s.stopping {
		s.stopping = true
		close(s.stopCh)
	}
	s.wakeLocked()
}

// StopRequested reports whether Shutdown has asked the running
// ServeForever to stop and the loop has not ended yet: CPython's
// __shutdown_request, which a harness reads to know that a shutdown call
// has taken effect.
func (s *Server) StopRequested() bool { return s.stopRequested() }

func (s *Server) stopRequested() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopping
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *Server) stopChan() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopCh
}

// enterLoop marks the start of HandleRequest (forever=false) or
// ServeForever (forever=true).
func (s *Server) enterLoop(forever bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return ErrServerClosed
	case s.src == nil:
		return ErrNotBound
	case s.running:
		return ErrAlreadyServing
	}
	s.running = true
	if forever {
		s.serving = true
		s.stopping = false
		s.stopCh = make(chan struct{})
		s.loopDone = make(chan struct{})
		s.servingG = goid()
	}
	return nil
}

// leaveLoop undoes enterLoop; no stop request survives it (SHD-04, SHD-05).
func (s *Server) leaveLoop(forever bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.running = false
	if forever {
		s.serving = false
		s.stopping = false
		s.servingG = 0
		close(s.loopDone)
	}
	if s.src != nil && !s.closed {
		_ = s.src.SetReadyDeadline(time.Time{})
	}
}

func closedOr(err error) error {
	if errors.Is(err, net.ErrClosed) || errors.Is(err, ErrServerClosed) {
		return ErrServerClosed
	}
	return err
}

// ctxOr returns ctx's error when ctx is done, else err.
func ctxOr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return err
}
