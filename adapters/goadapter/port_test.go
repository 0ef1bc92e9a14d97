package goadapter_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sockspec/sockspec/adapters/goadapter"
	"github.com/sockspec/sockspec/adapters/goadapter/example/toyserver"
	"github.com/sockspec/sockspec/spec/driver"
)

// toyPort is the example's port, in this process: toyserver with the
// glue of the example's main, less the configuration it does not need.
func toyPort() *goadapter.Port {
	return &goadapter.Port{Name: "toyserver", Capabilities: driver.Capabilities{"tcp", "trace"},
		New: func(cfg driver.ServerConfig, h *goadapter.Hooks) (goadapter.Server, error) {
			s := &toyserver.Server{Handler: h.ServeStream, Timeout: cfg.Timeout, IsFatal: goadapter.IsFatal,
				BeforeAccept: func() error { return h.Fault("accept") },
				Trace:        func(hook, phase string, c net.Conn, err error) { h.Trace(hook, driver.Phase(phase), c, err) }}
			return s, s.Listen(h.Address())
		}}
}

func startPort(t *testing.T, p *goadapter.Port, cfg driver.ServerConfig) driver.Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := p.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("Start(%+v): %v", cfg, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// A request through a port: the kit traces handle_request around the
// port's hooks and names the request by its connection from get_request's
// return on, with the client's address.
func TestPortTracesTheRequest(t *testing.T) {
	s := startPort(t, toyPort(), tcpSync)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	roundTrip(t, ctx, s)
	var hooks []string
	requests := map[string]bool{}
	for _, e := range s.Trace().Events() {
		if e.Phase == driver.Call {
			hooks = append(hooks, e.Hook)
		}
		if e.Request != "" {
			requests[e.Request] = true
			if e.Client == "" {
				t.Errorf("%v names no client", e)
			}
		}
	}
	want := "server_bind server_activate handle_request get_request verify_request process_request finish_request setup handle finish shutdown_request close_request"
	if got := strings.Join(hooks, " "); got != want {
		t.Errorf("hooks called: %s\nwant %s", got, want)
	}
	if len(requests) != 1 {
		t.Errorf("request ids %v, want one", requests)
	}
	ret, _ := lastReturn(s.Trace().Events(), driver.HookGetRequest)
	if ret.Request == "" {
		t.Errorf("get_request's return %v names no request", ret)
	}
}

func lastReturn(es []driver.Event, hook string) (driver.Event, bool) {
	for i := len(es) - 1; i >= 0; i-- {
		if es[i].Hook == hook && es[i].Phase == driver.Return {
			return es[i], true
		}
	}
	return driver.Event{}, false
}

// A family or dispatch the port does not claim is N/A, and the port is
// not asked to build it.
func TestPortRefusesWhatItLacks(t *testing.T) {
	p := toyPort()
	p.New = func(driver.ServerConfig, *goadapter.Hooks) (goadapter.Server, error) {
		t.Error("New called for a configuration the port lacks")
		return nil, errors.New("unreachable")
	}
	for _, cfg := range []driver.ServerConfig{{Family: driver.UDP, Dispatch: driver.Sync}, {Family: driver.TCP, Dispatch: driver.Threading}} {
		var unsupported *driver.UnsupportedError
		if _, err := p.Start(context.Background(), cfg); !errors.As(err, &unsupported) {
			t.Errorf("Start(%+v): %v, want a *driver.UnsupportedError", cfg, err)
		}
	}
}

// serve_forever runs on the kit's goroutine; shutdown returns after the
// loop's return is traced, and the state follows.
func TestPortServeForeverAndShutdown(t *testing.T) {
	s := startPort(t, toyPort(), tcpSync)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.ServeForever(ctx, 20*time.Millisecond); err != nil {
		t.Fatalf("ServeForever: %v", err)
	}
	if st, _ := s.State(ctx); !st.Serving || st.Timeout != "None" {
		t.Errorf("state while serving %+v, want serving, timeout None", st)
	}
	if r, err := s.Shutdown(ctx); err != nil || r.Raised() {
		t.Fatalf("Shutdown: %v, %v", r, err)
	}
	es := s.Trace().Events()
	loop, ok1 := lastReturn(es, driver.HookServeForever)
	shut, ok2 := lastReturn(es, driver.HookShutdown)
	if !ok1 || !ok2 || loop.Seq > shut.Seq || loop.Exception != nil {
		t.Errorf("serve_forever's return %v must come before shutdown's %v, without an exception", loop, shut)
	}
	if st, _ := s.State(ctx); st.Serving {
		t.Errorf("state after shutdown %+v, want not serving", st)
	}
}

// SIGUSR2's raising handler ends the loop with SignalRaised, whatever the
// port's ServeForever returned (SHD-12).
func TestPortRaiseEndsTheLoop(t *testing.T) {
	s := startPort(t, toyPort(), tcpSync)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.ServeForever(ctx, 20*time.Millisecond); err != nil {
		t.Fatalf("ServeForever: %v", err)
	}
	s.(goadapter.Raiser).RaiseInLoop()
	if err := s.Trace().Wait(ctx, func(es []driver.Event) bool {
		return driver.Count(es, driver.HookServeForever, driver.Return) == 1
	}); err != nil {
		t.Fatal("serve_forever did not return after the raise")
	}
	ret, _ := lastReturn(s.Trace().Events(), driver.HookServeForever)
	if ret.Exception == nil || ret.Exception.Type != "SignalRaised" {
		t.Errorf("serve_forever's return %v, want SignalRaised", ret)
	}
}

// The kit's datagram handler runs the script of the datagram's first line
// and sends what handle wrote as one reply, at finish.
func TestServeDatagramRepliesAtFinish(t *testing.T) {
	var hooks *goadapter.Hooks
	p := &goadapter.Port{Name: "stub", Capabilities: driver.Capabilities{"udp"},
		New: func(_ driver.ServerConfig, h *goadapter.Hooks) (goadapter.Server, error) {
			hooks = h
			return stubServer{}, nil
		}}
	s := startPort(t, p, driver.ServerConfig{Family: driver.UDP, Dispatch: driver.Sync})
	type request struct{ data []byte }
	req := &request{data: []byte("echo hi;size\nrest")}
	var replies []string
	err := hooks.ServeDatagram(req, req.data, func(b []byte) error {
		replies = append(replies, string(b))
		return nil
	})
	if err != nil || len(replies) != 1 || replies[0] != "hi\n17\n" {
		t.Errorf("ServeDatagram: %v, replies %q; want one reply \"hi\\n17\\n\"", err, replies)
	}
	es := s.Trace().Events()
	if got := strings.Join(driver.Calls(es, nil), " "); got != "setup handle finish" {
		t.Errorf("hooks called: %s, want setup handle finish", got)
	}
	for _, e := range es {
		if e.Request != es[0].Request || e.Request == "" {
			t.Errorf("%v: want every event of request %q", e, es[0].Request)
		}
	}
}

// A configured fault fails the Nth and following occurrences of its op,
// traced as a fault event; other ops and occurrences go through.
func TestFaultFiresAtItsOccurrences(t *testing.T) {
	var hooks *goadapter.Hooks
	p := &goadapter.Port{Name: "stub", Capabilities: driver.Capabilities{"tcp"},
		New: func(_ driver.ServerConfig, h *goadapter.Hooks) (goadapter.Server, error) {
			hooks = h
			return stubServer{}, nil
		}}
	cfg := tcpSync
	cfg.Faults = []driver.Fault{{Op: "accept", Errno: "EMFILE", Nth: 2, Count: 2}}
	s := startPort(t, p, cfg)
	var got []bool
	for range 4 {
		got = append(got, hooks.Fault("accept") != nil)
	}
	if hooks.Fault("fork") != nil {
		t.Error("a fork failed with no fork fault configured")
	}
	if want := []bool{false, true, true, false}; !slices.Equal(got, want) {
		t.Errorf("accept failed at %v, want %v", got, want)
	}
	if n := driver.Count(s.Trace().Events(), driver.HookFault, driver.Call); n != 2 {
		t.Errorf("%d fault events, want 2", n)
	}
}

// stubServer is a Server that serves nothing, for tests of the Hooks.
type stubServer struct{}

func (stubServer) Address() string                                   { return "stub" }
func (stubServer) HandleRequest(context.Context) error               { return nil }
func (stubServer) ServeForever(context.Context, time.Duration) error { return nil }
func (stubServer) Shutdown() error                                   { return nil }
func (stubServer) ServerClose() error                                { return nil }

// With the bind deferred, the kit builds the server before the first
// command, not at the start: nothing is bound or traced until then
// (NET-12).
func TestPortDefersTheBind(t *testing.T) {
	no := false
	cfg := tcpSync
	cfg.BindAndActivate = &no
	cfg.Timeout = driver.After(0)
	s := startPort(t, toyPort(), cfg)
	if n := len(s.Trace().Events()); n != 0 {
		t.Fatalf("%d events before the first command, want none: %v", n, s.Trace().Events())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if r, err := s.HandleRequest(ctx); err != nil || r.Raised() {
		t.Fatalf("HandleRequest: %v, %v", r, err)
	}
	if got := strings.Join(driver.Calls(s.Trace().Events(), nil), " "); got != "server_bind server_activate handle_request handle_timeout" {
		t.Errorf("hooks called: %s, want the bind, then handle_request timing out", got)
	}
	if strings.HasSuffix(s.Address(), ":0") {
		t.Errorf("address %q after the bind, want the bound port", s.Address())
	}
}
