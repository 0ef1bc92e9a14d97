package impl_test

import (
	"context"
	"errors"
	"net"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/sockspec/sockspec/impl"
)

var families = []impl.Family{impl.TCP, impl.UDP, impl.UnixStream, impl.UnixDatagram}

// ORD-01: the pipeline runs in CPython's order for every family.
func TestORD01PipelineOrder(t *testing.T) {
	want := []string{"get_request", "verify_request", "process_request", "finish_request",
		"setup", "handle", "finish", "shutdown_request", "close_request"}
	for _, f := range families {
		t.Run(f.String(), func(t *testing.T) {
			rec := &recorder{}
			s := newServer(t, impl.Config{Family: f, Trace: rec.Trace()})
			c := dial(t, s)
			c.send("echo hi")
			if err := s.HandleRequest(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			// get_request is traced before the request exists; take it from the whole trace.
			got := rec.Calls(func(e impl.Event) bool { return e.Request != 0 || e.Hook == impl.HookGetRequest })
			if !slices.Equal(got, want) {
				t.Fatalf("order:\n got %v\nwant %v", got, want)
			}
		})
	}
}

// ORD-02: a stream request is half-closed (the client reads EOF after the
// reply) before it is closed.
func TestORD02ShutdownRequestHalfClosesThenCloses(t *testing.T) {
	var order []string
	s := newServer(t, impl.Config{Family: impl.TCP, Overrides: impl.Overrides{
		ShutdownRequest: func(s *impl.Server, r *impl.Request) {
			order = append(order, "shutdown_request")
			s.Base().ShutdownRequest(r)
		},
		CloseRequest: func(s *impl.Server, r *impl.Request) {
			order = append(order, "close_request")
			s.Base().CloseRequest(r)
		},
	}})
	c := dial(t, s)
	c.send("echo bye")
	if err := s.HandleRequest(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	got, err := c.readAll()
	if got != "bye\n" || err != nil {
		t.Fatalf("client read %q, %v; want the reply then EOF", got, err)
	}
	if !slices.Equal(order, []string{"shutdown_request", "close_request"}) {
		t.Fatalf("order %v", order)
	}
}

// ORD-02: a half-close that fails because the peer is gone is ignored.
func TestORD02ShutdownRequestIgnoresGonePeer(t *testing.T) {
	rec := &recorder{}
	s := newServer(t, impl.Config{Family: impl.TCP, Trace: rec.Trace(), Overrides: impl.Overrides{
		FinishRequest: func(s *impl.Server, r *impl.Request) error {
			r.Conn.(*net.TCPConn).SetLinger(0)
			return nil
		},
	}})
	c := dial(t, s)
	c.conn.(*net.TCPConn).SetLinger(0)
	c.conn.Close()
	if err := s.HandleRequest(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.Returns(impl.HookHandleError)); n != 0 {
		t.Fatalf("handle_error ran %d times for a gone peer", n)
	}
}

// ORD-03: verify_request false → shutdown_request once, nothing else, and
// the client reads EOF with no data.
func TestORD03VerifyFalse(t *testing.T) {
	for _, d := range []impl.Dispatch{impl.Sync, impl.Threading, impl.Forking} {
		t.Run(d.String(), func(t *testing.T) {
			rec := &recorder{}
			s := newServer(t, impl.Config{Family: impl.TCP, Dispatch: d, Trace: rec.Trace(),
				Overrides: impl.Overrides{VerifyRequest: func(*impl.Server, *impl.Request) bool { return false }}})
			c := dial(t, s)
			c.send("echo never")
			if err := s.HandleRequest(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			got, err := c.readAll()
			if got != "" || err != nil {
				t.Fatalf("client read %q, %v; want EOF and no data", got, err)
			}
			calls := rec.Calls(requestHooks)
			want := []string{"verify_request", "shutdown_request", "close_request"}
			if !slices.Equal(calls, want) {
				t.Fatalf("hooks %v, want %v", calls, want)
			}
		})
	}
}

// ORD-04: a failed get_request is silent: no verify, no handle_error, no
// shutdown_request, no handle_timeout; HandleRequest returns nil and the
// connection stays queued for the next call.
func TestORD04GetRequestErrorIsSilent(t *testing.T) {
	rec := &recorder{}
	fail := true
	s := newServer(t, impl.Config{Family: impl.TCP, Trace: rec.Trace(), Overrides: impl.Overrides{
		GetRequest: func(s *impl.Server, ctx context.Context) (*impl.Request, error) {
			if fail {
				fail = false
				return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.ECONNABORTED)}
			}
			return s.Base().GetRequest(ctx)
		},
	}})
	c := dial(t, s)
	c.send("echo later")
	if err := s.HandleRequest(ctxT(t)); err != nil {
		t.Fatalf("HandleRequest after a failed get_request: %v, want nil", err)
	}
	for _, h := range []impl.Hook{impl.HookVerifyRequest, impl.HookHandleError, impl.HookShutdownRequest, impl.HookHandleTimeout} {
		if n := rec.Count(h); n != 0 {
			t.Fatalf("%s called %d times after a failed get_request", h, n)
		}
	}
	if err := s.HandleRequest(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.readAll(); got != "later\n" {
		t.Fatalf("the queued connection was not served: %q", got)
	}
}

// ORD-04: a fatal error from get_request leaves HandleRequest.
func TestORD04FatalGetRequestPropagates(t *testing.T) {
	boom := impl.Fatal(errors.New("boom"))
	s := newServer(t, impl.Config{Family: impl.TCP, Overrides: impl.Overrides{
		GetRequest: func(*impl.Server, context.Context) (*impl.Request, error) { return nil, boom },
	}})
	dial(t, s).send("echo x")
	if err := s.HandleRequest(ctxT(t)); !errors.Is(err, boom) {
		t.Fatalf("got %v, want the fatal error", err)
	}
}

// ORD-05: a failing handler → handle_error, then shutdown_request; the
// client gets what was written, then EOF; HandleRequest returns nil.
func TestORD05HandlerErrorGoesToHandleError(t *testing.T) {
	for _, script := range []string{"fail", "panic"} {
		t.Run(script, func(t *testing.T) {
			rec := &recorder{}
			var got error
			s := newServer(t, impl.Config{Family: impl.TCP, Trace: rec.Trace(), Overrides: impl.Overrides{
				HandleError: func(s *impl.Server, r *impl.Request, err error) error { got = err; return nil },
			}})
			c := dial(t, s)
			c.send(script)
			if err := s.HandleRequest(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			calls := rec.Calls(requestHooks)
			if i, j := slices.Index(calls, "handle_error"), slices.Index(calls, "shutdown_request"); i < 0 || j < i {
				t.Fatalf("want handle_error then shutdown_request: %v", calls)
			}
			if script == "panic" {
				var pe *impl.PanicError
				if !errors.As(got, &pe) || !strings.Contains(string(pe.Stack), "goroutine") {
					t.Fatalf("handle_error got %v, want a PanicError with a stack", got)
				}
			}
			reply, err := c.readAll()
			if err != nil {
				t.Fatalf("client: %v", err)
			}
			if script == "fail" && reply != "partial\n" {
				t.Fatalf("client read %q", reply)
			}
		})
	}
}

// ORD-06: a fatal error → shutdown_request, no handle_error, and the error
// leaves HandleRequest and ServeForever.
func TestORD06FatalSkipsHandleErrorAndPropagates(t *testing.T) {
	t.Run("handle_request", func(t *testing.T) {
		rec := &recorder{}
		s := newServer(t, impl.Config{Family: impl.TCP, Trace: rec.Trace()})
		c := dial(t, s)
		c.send("fatal")
		err := s.HandleRequest(ctxT(t))
		if !impl.IsFatal(err) {
			t.Fatalf("HandleRequest returned %v, want the fatal error", err)
		}
		if rec.Count(impl.HookHandleError) != 0 || rec.Count(impl.HookShutdownRequest) != 1 {
			t.Fatalf("trace %v", rec.Calls())
		}
		if got, err := c.readAll(); got != "" || err != nil {
			t.Fatalf("client %q %v", got, err)
		}
	})
	t.Run("serve_forever", func(t *testing.T) {
		s := newServer(t, impl.Config{Family: impl.TCP})
		done := serve(t, s, 0)
		dial(t, s).send("fatal")
		if err := recv(t, done, "ServeForever to return"); !impl.IsFatal(err) {
			t.Fatalf("ServeForever returned %v, want the fatal error", err)
		}
	})
	t.Run("panic with a fatal value", func(t *testing.T) {
		s := newServer(t, impl.Config{Family: impl.TCP, Handler: impl.StreamHandlerFunc(func(*impl.StreamHandler, *impl.Request) error {
			panic(impl.Fatal(errors.New("stop")))
		})})
		dial(t, s).send("x")
		if err := s.HandleRequest(ctxT(t)); !impl.IsFatal(err) {
			t.Fatalf("got %v", err)
		}
	})
}

// ORD-07: shutdown_request runs exactly once per accepted request on every
// path, in every dispatch mode.
func TestORD07ShutdownRequestExactlyOnce(t *testing.T) {
	for _, d := range []impl.Dispatch{impl.Sync, impl.Threading, impl.Forking} {
		for _, script := range []string{"echo a", "fail", "panic", "fatal", "setup-fail"} {
			t.Run(d.String()+"/"+script, func(t *testing.T) {
				rec := &recorder{}
				s := newServer(t, impl.Config{Family: impl.TCP, Dispatch: d, Trace: rec.Trace()})
				c := dial(t, s)
				c.send(script)
				_ = s.HandleRequest(ctxT(t))
				c.readAll()
				s.ServerClose() // joins goroutines and children
				n := 0
				for _, e := range rec.Returns(impl.HookShutdownRequest) {
					if e.Request != 0 {
						n++
					}
				}
				if n != 1 {
					t.Fatalf("shutdown_request ran %d times: %v", n, rec.Calls())
				}
			})
		}
	}
}

// ORD-08: finish runs when handle fails; neither handle nor finish runs
// when setup fails.
func TestORD08HandlerSetupHandleFinish(t *testing.T) {
	cases := map[string][]string{
		"fail":       {"setup", "handle", "finish"},
		"setup-fail": {"setup"},
	}
	for script, want := range cases {
		t.Run(script, func(t *testing.T) {
			rec := &recorder{}
			s := newServer(t, impl.Config{Family: impl.TCP, Trace: rec.Trace()})
			dial(t, s).send(script)
			if err := s.HandleRequest(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			got := rec.Calls(func(e impl.Event) bool {
				return e.Hook == impl.HookSetup || e.Hook == impl.HookHandle || e.Hook == impl.HookFinish
			})
			if !slices.Equal(got, want) {
				t.Fatalf("got %v, want %v", got, want)
			}
		})
	}
}

// ORD-09: HandleRequest returns what handle_timeout returns.
func TestORD09HandleRequestReturnsHandleTimeoutResult(t *testing.T) {
	sentinel := errors.New("from handle_timeout")
	s := newServer(t, impl.Config{Family: impl.TCP, Timeout: impl.After(0), Overrides: impl.Overrides{
		HandleTimeout: func(*impl.Server) error { return sentinel },
	}})
	if err := s.HandleRequest(ctxT(t)); !errors.Is(err, sentinel) {
		t.Fatalf("got %v, want handle_timeout's result", err)
	}
}

// ORD-10: the request object by server type.
func TestORD10RequestObjectByFamily(t *testing.T) {
	for _, f := range families {
		t.Run(f.String(), func(t *testing.T) {
			var got *impl.Request
			s := newServer(t, impl.Config{Family: f, Overrides: impl.Overrides{
				FinishRequest: func(s *impl.Server, r *impl.Request) error { got = r; return nil },
			}})
			dial(t, s).send("echo x")
			if err := s.HandleRequest(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			if got == nil || got.ID != 1 || got.Server != s || got.ClientAddr == nil {
				t.Fatalf("request %+v", got)
			}
			if f.IsDatagram() {
				if got.Conn != nil || got.PacketConn != s.PacketConn() || string(got.Data) != "echo x\n" {
					t.Fatalf("datagram request %+v", got)
				}
			} else if got.Conn == nil || got.PacketConn != nil || got.Data != nil {
				t.Fatalf("stream request %+v", got)
			}
		})
	}
}

// An override that calls another step through Virtual reaches that step's
// override, traced, as self.step() does in Python.
func TestVirtualDispatch(t *testing.T) {
	rec := &recorder{}
	var handled error
	s := newServer(t, impl.Config{Family: impl.TCP, Timeout: impl.After(0), Trace: rec.Trace(), Overrides: impl.Overrides{
		HandleTimeout: func(s *impl.Server) error { return s.Virtual().HandleError(nil, errors.New("from handle_timeout")) },
		HandleError:   func(_ *impl.Server, _ *impl.Request, err error) error { handled = err; return nil },
	}})
	if err := s.HandleRequest(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if handled == nil || rec.Count(impl.HookHandleError) != 1 {
		t.Fatalf("handle_error override reached: %v; trace %v", handled, rec.Calls())
	}
}
