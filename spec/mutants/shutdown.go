package mutants

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/sockspec/sockspec/adapters/inproc"
	"github.com/sockspec/sockspec/impl"
)

// Mutants of shutdown and server_close (SHD). Shutdown and ServerClose
// are not overridable steps, so most of these replace the session's call.
func init() {
	register(Mutant{Name: "shd01-shutdown-does-not-wait", Rule: "SHD-01",
		Break: "shutdown requests the stop and returns before serve_forever has returned",
		Mutation: inproc.Mutation{Shutdown: func(s *impl.Server, ctx context.Context) error {
			if !s.Serving() {
				return s.Shutdown(ctx)
			}
			go func() {
				time.Sleep(200 * time.Millisecond) // the loop stops later, on its own
				s.Shutdown(ctx)
			}()
			return nil
		}}})
	register(Mutant{Name: "shd02-deadlock-in-handler", Rule: "SHD-02",
		Break: "shutdown from the serving thread waits for a loop that cannot stop",
		Mutation: inproc.Mutation{HandlerShutdown: func(s *impl.Server, ctx context.Context) error {
			<-ctx.Done()
			return ctx.Err()
		}}})
	register(Mutant{Name: "shd03-block-before-serving", Rule: "SHD-03",
		Break: "shutdown before any serve_forever blocks until one has run",
		Mutation: inproc.Mutation{Shutdown: func(s *impl.Server, ctx context.Context) error {
			if s.Serving() {
				return s.Shutdown(ctx)
			}
			<-ctx.Done()
			return ctx.Err()
		}}})
	polls := &pollGate{}
	register(Mutant{Name: "shd12-signal-swallowed", Rule: "SHD-12",
		Break: "the serving loop runs on whatever its signal handler raised: the interruption is swallowed",
		Mutation: inproc.Mutation{ServeForever: func(s *impl.Server, ctx context.Context, poll time.Duration) error {
			return s.ServeForever(context.WithoutCancel(ctx), poll)
		}}})
	register(Mutant{Name: "shd13-stop-at-next-poll", Rule: "SHD-13",
		Break: "shutdown sets a flag the loop reads only when its poll times out",
		Mutation: inproc.Mutation{
			Config: func(c *impl.Config) {
				c.Overrides.ServiceActions = func(s *impl.Server) error {
					polls.tick(s)
					return nil
				}
			},
			Shutdown: func(s *impl.Server, ctx context.Context) error {
				if s.Serving() {
					if err := polls.next(ctx, s); err != nil {
						return err
					}
				}
				return s.Shutdown(ctx)
			},
		}})
	stale := &staleFlag{}
	register(Mutant{Name: "shd04-stale-flag", Rule: "SHD-04",
		Break: "a shutdown while nothing serves leaves a flag that ends the next serve_forever at once",
		Mutation: inproc.Mutation{
			Shutdown: func(s *impl.Server, ctx context.Context) error {
				if !s.Serving() {
					stale.set(s)
					return nil
				}
				return s.Shutdown(ctx)
			},
			ServeForever: func(s *impl.Server, ctx context.Context, poll time.Duration) error {
				if stale.take(s) {
					ctx, cancel := context.WithCancel(ctx)
					cancel()
					_ = s.ServeForever(ctx, poll)
					return nil
				}
				return s.ServeForever(ctx, poll)
			},
		}})
	register(Mutant{Name: "shd05-serve-once", Rule: "SHD-05",
		Break: "serve_forever refuses to run a second time",
		Mutation: inproc.Mutation{ServeForever: func(s *impl.Server, ctx context.Context, poll time.Duration) error {
			if served.take(s) {
				ctx, cancel := context.WithCancel(ctx)
				cancel()
				return s.ServeForever(ctx, poll)
			}
			served.set(s)
			return s.ServeForever(ctx, poll)
		}}})
	register(Mutant{Name: "shd07-serve-after-stop", Rule: "SHD-07",
		Break: "service_actions drains a request still queued when the stop was requested",
		Mutation: inproc.Mutation{Config: func(c *impl.Config) {
			c.Overrides.ServiceActions = func(s *impl.Server) error {
				ln, ok := s.Listener().(interface {
					net.Listener
					SetDeadline(time.Time) error
				})
				if !ok {
					return nil
				}
				ln.SetDeadline(time.Now().Add(20 * time.Millisecond))
				defer ln.SetDeadline(time.Time{})
				r, err := s.Virtual().GetRequest(context.Background())
				if err != nil {
					return nil
				}
				return s.Virtual().ProcessRequest(r)
			}
		}}})
	register(Mutant{Name: "shd08-shutdown-closes-socket", Rule: "SHD-08",
		Break: "shutdown closes the listening socket",
		Mutation: inproc.Mutation{Shutdown: func(s *impl.Server, ctx context.Context) error {
			err := s.Shutdown(ctx)
			if ln := s.Listener(); ln != nil {
				ln.Close()
			}
			return err
		}}})
	register(Mutant{Name: "shd09-close-keeps-loop", Rule: "SHD-09",
		Break: "server_close while serving leaves serve_forever running",
		Mutation: inproc.Mutation{ServerClose: func(s *impl.Server) error {
			if s.Serving() {
				return nil
			}
			return s.ServerClose()
		}}})
	register(Mutant{Name: "shd10-serve-after-close", Rule: "SHD-10",
		Break: "handle_request after server_close returns as if nothing happened",
		Mutation: inproc.Mutation{HandleRequest: func(s *impl.Server, ctx context.Context) error {
			if err := s.HandleRequest(ctx); !errors.Is(err, impl.ErrServerClosed) {
				return err
			}
			return nil
		}}})
	register(Mutant{Name: "shd11-exit-shuts-down", Rule: "SHD-11",
		Break: "leaving the with block calls shutdown before server_close",
		Mutation: inproc.Mutation{ExitContext: func(s *impl.Server) error {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			_ = s.Shutdown(ctx)
			return s.Close()
		}}})
}

// staleFlag remembers servers a mutant shut down while they were idle, or
// that served once.
type staleFlag struct {
	mu      sync.Mutex
	servers map[*impl.Server]bool
}

func (f *staleFlag) set(s *impl.Server) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.servers == nil {
		f.servers = map[*impl.Server]bool{}
	}
	f.servers[s] = true
}

func (f *staleFlag) take(s *impl.Server) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	had := f.servers[s]
	delete(f.servers, s)
	return had
}

var served = &staleFlag{}

// pollGate lets a caller wait for a server's next poll: service_actions
// runs once an idle poll has timed out.
type pollGate struct {
	mu    sync.Mutex
	ticks map[*impl.Server]chan struct{}
}

func (g *pollGate) chanOf(s *impl.Server) chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ticks == nil {
		g.ticks = map[*impl.Server]chan struct{}{}
	}
	ch := g.ticks[s]
	if ch == nil {
		ch = make(chan struct{})
		g.ticks[s] = ch
	}
	return ch
}

// tick wakes whoever waits for s's next poll.
func (g *pollGate) tick(s *impl.Server) {
	ch := g.chanOf(s)
	g.mu.Lock()
	delete(g.ticks, s)
	g.mu.Unlock()
	close(ch)
}

func (g *pollGate) next(ctx context.Context, s *impl.Server) error {
	select {
	case <-g.chanOf(s):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
