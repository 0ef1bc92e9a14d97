package spec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/sockspec/sockspec/spec/driver"
)

// Bounds of the waits a spec makes on a target. A target that does not
// answer within them has hung: the spec ends as HANG.
const (
	// ReplyBound bounds a command that must return promptly (shutdown,
	// server_close, a request that is served at once).
	ReplyBound = 5 * time.Second
	// ClientBound bounds a client's wait for its reply.
	ClientBound = 5 * time.Second
	// StopBound bounds the end of a loop that was told to stop, and the
	// return of shutdown: four times the poll interval of the specs, so
	// that a CPython loop, which only looks between polls, makes it.
	StopBound = 2 * time.Second
)

// Server is a session of the target under test, with what specs need to
// drive and observe it.
type Server struct {
	driver.Session
	Config driver.ServerConfig
	// bound is a spec's own deadline for the server's answers.
	ctx context.Context
	// traced is false for a target that reports no hook calls (a black
	// box): a spec that reads the trace is N/A there.
	traced bool
	// front is the run's simulated network in front of the server; nil
	// when the run has none (Config.Network).
	front *front
}

// StartServer starts a server of the target under test; the session is
// closed when the spec ends. A configuration the target cannot build makes
// the spec N/A.
func StartServer(ctx context.Context, cfg driver.ServerConfig) *Server {
	GinkgoHelper()
	t := currentTarget()
	info := t.Info()
	for _, cap := range append([]string{string(cfg.Family), dispatchCap(cfg.Dispatch)}, faultCaps(cfg)...) {
		if cap != "" && !info.Capabilities.Has(cap) {
			skipNA(fmt.Sprintf("%s has no %s", info.Name, cap))
		}
	}
	sctx, cancel := context.WithTimeout(ctx, ReplyBound)
	defer cancel()
	for _, f := range cfg.Faults {
		recordFault(f)
	}
	offset := sinceSpecStart()
	sess, err := t.Start(sctx, cfg)
	var unsupported *driver.UnsupportedError
	switch {
	case errors.As(err, &unsupported):
		skipNA(err.Error())
	case errors.Is(err, driver.ErrNoReply):
		Hang("starting a server")
	case err != nil:
		HarnessError("starting %s: %v", cfg, err)
	}
	// The hygiene oracle looks at a server process from outside; the
	// baseline is the freshly built server.
	var baseline *driver.Hygiene
	inspector, inspectable := sess.(driver.Inspector)
	deferredBind := cfg.BindAndActivate != nil && !*cfg.BindAndActivate // no baseline before the bind
	if inspectable && !deferredBind {
		if h, err := inspector.Inspect(ctx); err == nil {
			baseline = &h
			note("proc", "started: "+procFacts(h))
		}
	}
	DeferCleanup(func() {
		if baseline != nil {
			if findings := inspectHygiene(inspector, *baseline, info.Language != "go"); findings != "" {
				AddReportEntry(hygieneEntry, findings)
			}
		}
		err := sess.Close()
		noteTrace(sess.Trace().Events(), offset)
		if err != nil {
			HarnessError("closing the session: %v", err)
		}
	})
	return &Server{Session: sess, Config: cfg, ctx: ctx, traced: info.Capabilities.Has(driver.CapTrace),
		front: startFront(sess, cfg.Family)}
}

func dispatchCap(d driver.Dispatch) string {
	switch d {
	case driver.Threading:
		return "threading"
	case driver.Forking:
		return "forking"
	}
	return ""
}

// bounded is a context for one command: ReplyBound, or less when the spec's
// own deadline is nearer.
func (s *Server) bounded(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(s.ctx, d)
}

// HandleRequest runs handle_request() and returns its result; no answer
// within bound is a HANG.
func (s *Server) HandleRequest(bound time.Duration) driver.Result {
	GinkgoHelper()
	ctx, cancel := s.bounded(bound)
	defer cancel()
	r, err := s.Session.HandleRequest(ctx)
	s.check(err, "handle_request() did not return within %v", bound)
	return r
}

// ServeForever starts serve_forever(poll) in the background.
func (s *Server) ServeForever(poll time.Duration) {
	GinkgoHelper()
	ctx, cancel := s.bounded(ReplyBound)
	defer cancel()
	s.check(s.Session.ServeForever(ctx, poll), "serve_forever() did not start within %v", ReplyBound)
}

// Shutdown runs shutdown() from the control side; it must return within
// StopBound.
func (s *Server) Shutdown() driver.Result {
	GinkgoHelper()
	return s.ShutdownWithin(StopBound)
}

// ShutdownWithin runs shutdown(), which must return within bound.
func (s *Server) ShutdownWithin(bound time.Duration) driver.Result {
	GinkgoHelper()
	ctx, cancel := s.bounded(bound)
	defer cancel()
	r, err := s.Session.Shutdown(ctx)
	s.check(err, "shutdown() did not return within %v", bound)
	return r
}

// ServerClose runs server_close().
func (s *Server) ServerClose() driver.Result {
	GinkgoHelper()
	ctx, cancel := s.bounded(ReplyBound)
	defer cancel()
	r, err := s.Session.ServerClose(ctx)
	s.check(err, "server_close() did not return within %v", ReplyBound)
	return r
}

// State asks the server what it keeps.
func (s *Server) State() driver.State {
	GinkgoHelper()
	ctx, cancel := s.bounded(ReplyBound)
	defer cancel()
	st, err := s.Session.State(ctx)
	s.check(err, "the state query got no answer within %v", ReplyBound)
	return st
}

func (s *Server) check(err error, hang string, args ...any) {
	GinkgoHelper()
	switch {
	case err == nil:
	case errors.Is(err, driver.ErrNoReply):
		Hang(fmt.Sprintf(hang, args...))
	case errors.As(err, new(*driver.UnsupportedError)):
		// A black box cannot be told to run handle_request, shutdown…:
		// the rule is about a call the target does not offer.
		NA(err.Error())
	default:
		HarnessError("%v", err)
	}
}

// Events is a copy of the trace so far. A rule that reads the trace of a
// target that keeps none is N/A.
func (s *Server) Events() []driver.Event {
	GinkgoHelper()
	s.needTrace()
	return s.Trace().Events()
}

func (s *Server) needTrace() {
	GinkgoHelper()
	if !s.traced {
		NA(fmt.Sprintf("the rule reads the hook trace, and %s reports no hook calls", currentTarget().Info().Name))
	}
}

// WaitFor waits until cond holds for the trace; a target that never gets
// there within bound has hung.
func (s *Server) WaitFor(what string, bound time.Duration, cond func([]driver.Event) bool) {
	GinkgoHelper()
	s.needTrace()
	ctx, cancel := s.bounded(bound)
	defer cancel()
	if err := s.Trace().Wait(ctx, cond); err != nil {
		Hang(fmt.Sprintf("waited %v for %s; trace:\n%s", bound, what, FormatTrace(s.Events())))
	}
}

// WaitForCalls waits until hook was called n times in all.
func (s *Server) WaitForCalls(hook string, n int) {
	GinkgoHelper()
	s.WaitFor(fmt.Sprintf("%d calls of %s", n, hook), ReplyBound, func(es []driver.Event) bool {
		return driver.Count(es, hook, driver.Call) >= n
	})
}

// WaitShutdownRequested waits until the server's own record of a
// shutdown request is set, where the target reports it (State's
// ShutdownRequested): the trace's shutdown call comes first, and the flag
// is set a moment later on the caller's thread, a window in which a
// loaded machine can let the serving thread run on. A target that does
// not report the flag is taken at its call.
func (s *Server) WaitShutdownRequested() {
	GinkgoHelper()
	requested := func() (said, set bool) {
		ctx, cancel := s.bounded(ReplyBound)
		defer cancel()
		st, err := s.Session.State(ctx)
		if err != nil || st.ShutdownRequested == nil {
			return false, false
		}
		return true, *st.ShutdownRequested
	}
	if said, set := requested(); !said || set {
		return
	}
	Eventually(func() bool { _, set := requested(); return set }).WithTimeout(ReplyBound).WithPolling(5*time.Millisecond).
		Should(BeTrue(), "shutdown() was called, and the server never recorded the request")
}

// WaitForReturns waits until hook returned n times in all.
func (s *Server) WaitForReturns(hook string, n int) {
	GinkgoHelper()
	s.WaitFor(fmt.Sprintf("%d returns of %s", n, hook), ReplyBound, func(es []driver.Event) bool {
		return driver.Count(es, hook, driver.Return) >= n
	})
}

// Client is one client connection to a Server.
type Client struct {
	conn   net.Conn
	dgram  bool
	server *Server
}

// Dial connects a client; it is closed when the spec ends.
func (s *Server) Dial() *Client {
	GinkgoHelper()
	return s.dial(false)
}

// DialUnbound connects a Unix datagram client that has no address.
func (s *Server) DialUnbound() *Client {
	GinkgoHelper()
	return s.dial(true)
}

func (s *Server) dial(unbound bool) *Client {
	GinkgoHelper()
	ctx, cancel := s.bounded(ReplyBound)
	defer cancel()
	var conn net.Conn
	var err error
	if s.front != nil {
		conn, err = s.front.dial(ctx, unbound)
	} else {
		conn, err = s.Session.Dial(ctx, unbound)
	}
	switch {
	case errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT):
		// The server was up: it no longer takes connections.
		Fail(fmt.Sprintf("the server no longer accepts connections (it died or closed its socket): %v", err))
	case err != nil:
		HarnessError("dialing %s: %v", s.Address(), err)
	}
	DeferCleanup(func() { conn.Close() }) // a spec may have closed it already
	note("client", "connected from "+conn.LocalAddr().String())
	if s.front != nil && !s.Config.Family.IsDatagram() {
		s.front.awaitPeer(conn, true)
	}
	return &Client{conn: conn, dgram: s.Config.Family.IsDatagram(), server: s}
}

// Conn is the client's socket.
func (c *Client) Conn() net.Conn { return c.conn }

// SeenAs is the client's address as the server sees it: its own local
// address, or, through the run's simulated network, that of the proxy's
// socket that speaks for it.
func (c *Client) SeenAs() string {
	if f := c.server.front; f != nil {
		if a := f.proxy.PeerOf(c.conn.LocalAddr()); a != nil {
			return a.String()
		}
	}
	return c.conn.LocalAddr().String()
}

// Send sends a script: the request's first line, or the datagram.
func (c *Client) Send(s driver.Script) *Client {
	GinkgoHelper()
	c.Write(s.Line())
	return c
}

// Write sends raw bytes.
func (c *Client) Write(b []byte) {
	GinkgoHelper()
	c.conn.SetWriteDeadline(time.Now().Add(ClientBound))
	if _, err := c.conn.Write(b); err != nil {
		HarnessError("client write: %v", err)
	}
	note("client", fmt.Sprintf("%s sent %q", c.conn.LocalAddr(), shorten(string(b))))
	if f := c.server.front; f != nil && c.dgram {
		f.awaitPeer(c.conn, false) // a datagram client's proxy socket opens at its first datagram
	}
}

// Reply is what a client received.
type Reply struct {
	Data string
	// EOF: a stream client read to the end (the server shut the
	// connection down); a datagram client got its datagram.
	EOF bool
	// Err is the read's error other than EOF (a timeout: nothing came).
	Err error
}

func (r Reply) String() string {
	s := fmt.Sprintf("%q", shorten(r.Data))
	switch {
	case r.EOF:
		s += " then EOF"
	case r.Err != nil:
		s += " then " + r.Err.Error()
	}
	return s
}

// shorten keeps a timeline line readable.
func shorten(s string) string {
	if len(s) > 60 {
		return s[:57] + "..."
	}
	return s
}

// Lines splits the reply into lines, without their newlines.
func (r Reply) Lines() []string {
	s := strings.TrimSuffix(r.Data, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// Read waits up to bound for the whole reply: to EOF for a stream, one
// datagram otherwise.
func (c *Client) Read(bound time.Duration) Reply {
	r := c.read(bound)
	note("client", fmt.Sprintf("%s got %s", c.conn.LocalAddr(), r))
	return r
}

func (c *Client) read(bound time.Duration) Reply {
	c.conn.SetReadDeadline(time.Now().Add(bound))
	if c.dgram {
		buf := make([]byte, 65536)
		n, err := c.conn.Read(buf)
		if err != nil {
			return Reply{Data: string(buf[:n]), Err: err}
		}
		return Reply{Data: string(buf[:n]), EOF: true}
	}
	var b bytes.Buffer
	_, err := io.Copy(&b, c.conn)
	if err == nil {
		return Reply{Data: b.String(), EOF: true}
	}
	return Reply{Data: b.String(), Err: err}
}

// ReadReply reads the reply within ClientBound.
func (c *Client) ReadReply() Reply { return c.Read(ClientBound) }

// ReadLine reads one line of a stream reply within ClientBound.
func (c *Client) ReadLine() (string, error) {
	c.conn.SetReadDeadline(time.Now().Add(ClientBound))
	return driver.ReadReplyLine(c.conn)
}

// Close closes the client.
func (c *Client) Close() { c.conn.Close() }

// StartServerErr starts a server that is expected not to start, and returns
// the target's error (nil when it started after all; that session is closed
// when the spec ends).
func StartServerErr(ctx context.Context, cfg driver.ServerConfig) error {
	GinkgoHelper()
	sctx, cancel := context.WithTimeout(ctx, ReplyBound)
	defer cancel()
	sess, err := currentTarget().Start(sctx, cfg)
	if errors.Is(err, driver.ErrNoReply) {
		Hang("starting a server")
	}
	if err == nil {
		DeferCleanup(sess.Close)
	}
	return err
}
