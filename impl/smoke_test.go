package impl_test

import (
	"slices"
	"testing"
	"time"

	"github.com/sockspec/sockspec/impl"
	"github.com/sockspec/sockspec/internal/testkit"
)

// One echo through handle_request in every family and dispatch mode: the
// reply comes back, the server's hooks run in the contract's order up to
// process_request, and the request's own (in the forked child too) run once
// each, in order, to close_request.
func TestSmoke(t *testing.T) {
	serverPath := []string{"server_bind", "server_activate", "handle_request", "get_request", "verify_request", "process_request"}
	requestPath := []string{"finish_request", "setup", "handle", "finish", "shutdown_request", "close_request"}
	for _, f := range []impl.Family{impl.TCP, impl.UDP, impl.UnixStream, impl.UnixDatagram} {
		for _, d := range []impl.Dispatch{impl.Sync, impl.Threading, impl.Forking} {
			t.Run(f.String()+"/"+d.String(), func(t *testing.T) {
				rec := &recorder{}
				s := newServer(t, impl.Config{Family: f, Dispatch: d, Trace: rec.Trace()})
				c := dial(t, s)
				c.send("echo hi")
				if err := s.HandleRequest(ctxT(t)); err != nil {
					t.Fatal(err)
				}
				got, err := c.readAll()
				if got != "hi\n" {
					t.Fatalf("got %q %v", got, err)
				}
				s.ServerClose()
				// A thread or a child may still be ending its request.
				testkit.WaitFor(t, 10*time.Second, "the request's hooks to close_request", func() bool {
					return hasInOrder(rec.Calls(), requestPath)
				})
				calls := rec.Calls()
				if !slices.Equal(calls[:min(len(calls), len(serverPath))], serverPath) {
					t.Errorf("calls %v; want them to begin with %v", calls, serverPath)
				}
				for _, h := range append(requestPath[:4:4], "server_close") {
					if n := rec.Count(impl.Hook(h)); n != 1 {
						t.Errorf("%s called %d times; want once in %v", h, n, calls)
					}
				}
			})
		}
	}
}

// hasInOrder reports whether want occurs in got in its order, other calls
// between.
func hasInOrder(got, want []string) bool {
	for _, g := range got {
		if len(want) > 0 && g == want[0] {
			want = want[1:]
		}
	}
	return len(want) == 0
}
