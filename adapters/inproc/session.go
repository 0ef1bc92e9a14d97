package inproc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sockspec/sockspec/internal/waitgroup"

	"github.com/sockspec/sockspec/internal/syncbuf"

	"github.com/sockspec/sockspec/impl"
	"github.com/sockspec/sockspec/spec/driver"
)

// session is one reference server and the goroutines that drive it.
type session struct {
	cfg     driver.ServerConfig
	srv     *impl.Server
	trace   driver.Trace
	start   time.Time
	seq     atomic.Int64
	dir     driver.SocketDir // the socket paths' directory, removed on Close
	cancel  context.CancelFunc
	life    context.Context // ends at Close: bounds the server's own calls
	calls   sync.WaitGroup  // goroutines running server calls
	bound   bool
	mut     Mutation
	stderr  syncbuf.Buffer // the server's ErrorLog
	mu      sync.Mutex
	closed  bool
	foreign []*foreignChild // reaped on Close
	// interrupt ends the running ServeForever with a cause: what SIGUSR2's
	// raising handler does to a Python loop (nil when no loop runs).
	interrupt context.CancelCauseFunc
}

var familyOf = map[driver.Family]impl.Family{
	driver.TCP: impl.TCP, driver.UDP: impl.UDP, driver.UnixStream: impl.UnixStream, driver.UnixDgram: impl.UnixDatagram,
}

var dispatchOf = map[driver.Dispatch]impl.Dispatch{
	driver.Sync: impl.Sync, driver.Threading: impl.Threading, driver.Forking: impl.Forking,
}

func timeoutOf(s driver.Seconds) impl.Timeout {
	if s == nil {
		return impl.Timeout{}
	}
	return impl.After(*s)
}

func durationOf(ns int64) time.Duration { return time.Duration(ns) }

func startSession(_ context.Context, dc driver.ServerConfig, mutation string, mutate Mutation, errorLog io.Writer) (_ *session, err error) {
	s := &session{cfg: dc, start: time.Now(), mut: mutate}
	s.life, s.cancel = context.WithCancel(context.Background())
	defer func() {
		if err != nil {
			s.cancel()
			s.dir.Remove()
		}
	}()
	addr := dc.Address
	if addr == "" {
		if dc.Family.IsUnix() {
			dir, err := s.dir.Path()
			if err != nil {
				return nil, err
			}
			addr = filepath.Join(dir, "server.sock")
		} else {
			addr = "127.0.0.1:0"
		}
	}
	var handlerTimeout time.Duration
	if dc.HandlerTimeout != nil {
		handlerTimeout = *dc.HandlerTimeout
	}
	params, _ := json.Marshal(childParams{HandlerTimeout: int64(handlerTimeout), HandleErrorRaises: dc.HandleErrorRaises, Mutation: mutation})
	c := impl.Config{
		Family:            familyOf[dc.Family],
		Address:           addr,
		Dispatch:          dispatchOf[dc.Dispatch],
		Handler:           newScriptHandler(impl.StreamOptions{Timeout: handlerTimeout}, false, mutate.HandlerShutdown),
		Timeout:           timeoutOf(dc.Timeout),
		SocketTimeout:     timeoutOf(dc.SocketTimeout),
		DeferBind:         dc.BindAndActivate != nil && !*dc.BindAndActivate,
		AllowReuseAddress: dc.AllowReuseAddress,
		AllowReusePort:    dc.AllowReusePort,
		RequestQueueSize:  dc.RequestQueueSize,
		MaxPacketSize:     dc.MaxPacketSize,
		MaxChildren:       dc.MaxChildren,
		DaemonThreads:     dc.DaemonThreads,
		NoBlockOnClose:    dc.BlockOnClose != nil && !*dc.BlockOnClose,
		Fork:              impl.ForkRecipe{Name: recipe, Params: params},
		Trace:             &impl.ServerTrace{Call: s.record, Return: s.record},
		ErrorLog:          &s.stderr,
	}
	if errorLog != nil {
		c.ErrorLog = io.MultiWriter(&s.stderr, errorLog)
	}
	if dc.VerifyReject {
		c.Overrides.VerifyRequest = func(*impl.Server, *impl.Request) bool { return false }
	}
	if dc.HandleTimeoutResult != "" {
		res := dc.HandleTimeoutResult
		c.Overrides.HandleTimeout = func(srv *impl.Server) error {
			_ = srv.Base().HandleTimeout()
			return &timeoutResult{value: res}
		}
	}
	if dc.HandleErrorRaises {
		c.Overrides.HandleError = raisingHandleError
	}
	fired := func(what string) {
		s.trace.Append(driver.Event{Hook: driver.HookFault, Phase: driver.Call, Seq: s.seq.Add(1), PID: os.Getpid(), Time: time.Since(s.start), Result: what})
	}
	if err := faultsInto(&c, dc.Faults, fired); err != nil {
		return nil, err
	}
	if mutate.Config != nil {
		mutate.Config(&c)
	}
	srv, err := impl.New(c)
	if err != nil {
		return nil, err
	}
	s.srv = srv
	s.bound = !c.DeferBind
	return s, nil
}

// timeoutResult carries handle_timeout's return value out of HandleRequest
// (ORD-09): Go's HandleRequest returns an error, so a value travels as one.
type timeoutResult struct{ value string }

func (t *timeoutResult) Error() string { return "handle_timeout returned " + t.value }

// record turns an impl event into a driver event.
func (s *session) record(e impl.Event) {
	de := driver.Event{
		Hook:   string(e.Hook),
		Phase:  driver.Call,
		Seq:    s.seq.Add(1),
		PID:    e.PID,
		Thread: strconv.FormatUint(e.Goroutine, 10),
		Time:   e.Time.Sub(s.start),
		Client: e.ClientAddr,
		Result: e.Result,
	}
	if e.Phase == impl.Return {
		de.Phase = driver.Return
	}
	if e.Request != 0 {
		de.Request = strconv.FormatUint(e.Request, 10)
	}
	var tr *timeoutResult
	if errors.As(e.Err, &tr) {
		de.Result = tr.value
	} else if e.Err != nil {
		de.Exception = exceptionOf(e.Err)
	}
	if e.Hook == impl.HookHandleRequest && e.Phase == impl.Return && e.Err == nil {
		de.Result = "None"
	}
	s.trace.Append(de)
}

func (s *session) Address() string       { return s.srv.Address() }
func (s *session) Trace() *driver.Trace  { return &s.trace }
func (s *session) family() driver.Family { return s.cfg.Family }

// Dial opens a client of the session's family on real sockets.
func (s *session) Dial(ctx context.Context, unbound bool) (net.Conn, error) {
	return s.dir.Dial(ctx, s.cfg.Family, s.Address(), unbound)
}

// run calls f on its own goroutine and waits for it until ctx ends; the
// goroutine is joined at Close whatever happens.
func (s *session) run(ctx context.Context, f func() error) (driver.Result, error) {
	if s.isClosed() {
		return driver.Result{}, driver.ErrSessionClosed
	}
	done := make(chan error, 1)
	s.calls.Add(1)
	go func() {
		defer s.calls.Done()
		done <- f()
	}()
	select {
	case err := <-done:
		return resultOf(err), nil
	case <-ctx.Done():
		return driver.Result{}, driver.ErrNoReply
	}
}

func resultOf(err error) driver.Result {
	var tr *timeoutResult
	switch {
	case err == nil:
		return driver.Result{Value: "None"}
	case errors.As(err, &tr):
		return driver.Result{Value: tr.value}
	}
	return driver.Result{Exception: exceptionOf(err)}
}

// bind binds and activates a server built with bind_and_activate false.
func (s *session) bind() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bound {
		return nil
	}
	s.bound = true
	if err := s.srv.ServerBind(); err != nil {
		return err
	}
	return s.srv.ServerActivate()
}

func (s *session) HandleRequest(ctx context.Context) (driver.Result, error) {
	return s.run(ctx, func() error {
		if err := s.bind(); err != nil {
			return err
		}
		if s.mut.HandleRequest != nil {
			return s.mut.HandleRequest(s.srv, s.life)
		}
		return s.srv.HandleRequest(s.life)
	})
}

// ServeForever starts the loop and returns once the serve_forever call is
// traced (the loop then counts as serving) or the loop already returned.
func (s *session) ServeForever(ctx context.Context, poll time.Duration) error {
	if s.isClosed() {
		return driver.ErrSessionClosed
	}
	if err := s.bind(); err != nil {
		return err
	}
	before := driver.Count(s.trace.Events(), driver.HookServeForever, driver.Call)
	s.calls.Add(1)
	loop, interrupt := context.WithCancelCause(s.life)
	s.mu.Lock()
	s.interrupt = interrupt
	s.mu.Unlock()
	go func() {
		defer s.calls.Done()
		defer interrupt(nil)
		if s.mut.ServeForever != nil {
			_ = s.mut.ServeForever(s.srv, loop, poll)
			return
		}
		_ = s.srv.ServeForever(loop, poll)
	}()
	return s.trace.Wait(ctx, func(es []driver.Event) bool {
		return driver.Count(es, driver.HookServeForever, driver.Call) > before
	})
}

func (s *session) Shutdown(ctx context.Context) (driver.Result, error) {
	return s.run(ctx, func() error {
		if s.mut.Shutdown != nil {
			return s.mut.Shutdown(s.srv, s.life)
		}
		return s.srv.Shutdown(s.life)
	})
}

func (s *session) ServerClose(ctx context.Context) (driver.Result, error) {
	return s.run(ctx, func() error {
		if s.mut.ServerClose != nil {
			return s.mut.ServerClose(s.srv)
		}
		return s.srv.ServerClose()
	})
}

func (s *session) State(context.Context) (driver.State, error) {
	st := driver.State{
		Serving:        s.srv.Serving(),
		Closed:         s.srv.Closed(),
		ActiveChildren: len(s.srv.ActiveChildren()),
		Threads:        -1,
		PID:            os.Getpid(),
		Timeout:        pythonSeconds(s.srv.Config().Timeout),
	}
	requested := s.srv.StopRequested()
	st.ShutdownRequested = &requested
	if s.mut.State != nil {
		s.mut.State(&st)
	}
	return st, nil
}

func (s *session) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// closeBound bounds how long Close waits for the server's goroutines.
const closeBound = 10 * time.Second

// Close stops everything the session started and waits for it.
func (s *session) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	_ = s.srv.ServerClose()
	var err error
	if !waitgroup.Within(&s.calls, closeBound) {
		err = fmt.Errorf("inproc: server calls still running %v after Close", closeBound)
	}
	s.mu.Lock()
	foreign := s.foreign
	s.mu.Unlock()
	for _, fc := range foreign {
		fc.stdin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), closeBound)
		if _, _, ferr := fc.Reap(ctx); ferr != nil && err == nil {
			err = ferr
		}
		cancel()
	}
	s.dir.Remove()
	return err
}

// ExitContext is the end of a with block: the reference's io.Closer.
func (s *session) ExitContext(ctx context.Context) (driver.Result, error) {
	return s.run(ctx, func() error {
		if s.mut.ExitContext != nil {
			return s.mut.ExitContext(s.srv)
		}
		return s.srv.Close()
	})
}

// pythonSeconds prints a timeout as Python prints the attribute.
func pythonSeconds(t impl.Timeout) string {
	d, ok := t.Duration()
	if !ok {
		return "None"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
}

// Stderr is what the server's handle_error reported, children included.
func (s *session) Stderr() string { return s.stderr.String() }
