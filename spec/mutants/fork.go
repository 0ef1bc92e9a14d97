package mutants

import (
	"slices"
	"sync/atomic"
	"time"

	"github.com/sockspec/sockspec/adapters/inproc"
	"github.com/sockspec/sockspec/impl"
	"github.com/sockspec/sockspec/spec/driver"
)

// Mutants of the forking and threading mix-ins (FRK, THR).
func init() {
	register(Mutant{Name: "frk01-no-fork", Rule: "FRK-01",
		Break:    "a forking server serves requests in its own process",
		Mutation: inproc.Mutation{Config: serveInline(impl.Forking)}})
	register(Mutant{Name: "frk02-parent-shuts-down", Rule: "FRK-02",
		Break: "the parent shuts the request down (SHUT_WR) under the child's feet",
		Mutation: inproc.Mutation{Config: func(c *impl.Config) {
			if c.Dispatch != impl.Forking {
				return
			}
			c.Overrides.ProcessRequest = func(s *impl.Server, r *impl.Request) error {
				err := s.Base().ProcessRequest(r)
				s.Virtual().ShutdownRequest(r)
				return err
			}
		}}})
	register(Mutant{Name: "frk06-no-max-children", Rule: "FRK-06",
		Break:    "max_children is not enforced",
		Mutation: inproc.Mutation{Config: func(c *impl.Config) { c.MaxChildren = 1 << 20 }}})
	register(Mutant{Name: "frk08-never-reaped", Rule: "FRK-08",
		Break: "exited children are not reaped until server_close",
		Mutation: inproc.Mutation{Config: func(c *impl.Config) {
			inner := c.Spawner
			if inner == nil {
				inner = impl.ExecSpawner{}
			}
			c.Spawner = &lateReaper{inner: inner}
		}}})
	register(Mutant{Name: "frk09-close-does-not-wait", Rule: "FRK-09",
		Break: "server_close does not wait for children",
		Mutation: inproc.Mutation{Config: func(c *impl.Config) {
			if c.Dispatch == impl.Forking {
				c.NoBlockOnClose = true
			}
		}}})
	register(Mutant{Name: "frk10-fork-failure-swallowed", Rule: "FRK-10",
		Break: "a failed fork is swallowed: no handle_error",
		Mutation: inproc.Mutation{Config: func(c *impl.Config) {
			c.Overrides.ProcessRequest = func(s *impl.Server, r *impl.Request) error {
				if err := s.Base().ProcessRequest(r); err != nil && c.Dispatch == impl.Forking {
					s.Virtual().ShutdownRequest(r)
				}
				return nil
			}
		}}})
	register(Mutant{Name: "frk13-parent-closes-server-socket", Rule: "FRK-13",
		Break: "the parent closes the shared datagram socket with the request",
		Mutation: inproc.Mutation{Config: func(c *impl.Config) {
			c.Overrides.CloseRequest = func(s *impl.Server, r *impl.Request) {
				if r.PacketConn != nil && c.Dispatch == impl.Forking {
					r.PacketConn.Close()
				}
				s.Base().CloseRequest(r)
			}
		}}})

	register(Mutant{Name: "thr01-no-thread", Rule: "THR-01",
		Break:    "a threading server serves requests on the serving loop",
		Mutation: inproc.Mutation{Config: serveInline(impl.Threading)}})
	register(Mutant{Name: "thr02-shutdown-twice", Rule: "THR-02",
		Break: "a request thread shuts its request down twice",
		Mutation: inproc.Mutation{Config: func(c *impl.Config) {
			c.Overrides.FinishRequest = func(s *impl.Server, r *impl.Request) error {
				err := s.Base().FinishRequest(r)
				s.Virtual().ShutdownRequest(r)
				return err
			}
		}}})
	register(Mutant{Name: "thr03-close-does-not-join", Rule: "THR-03",
		Break: "server_close does not join request threads",
		Mutation: inproc.Mutation{Config: func(c *impl.Config) {
			if c.Dispatch == impl.Threading {
				c.NoBlockOnClose = true
			}
		}}})
	register(Mutant{Name: "thr04-records-every-thread", Rule: "THR-04",
		Break: "the server keeps a record of every thread it started (reported in the state)",
		Mutation: inproc.Mutation{
			Config: func(c *impl.Config) {
				inner := c.Go
				c.Go = func(f func()) error {
					threadsStarted.Add(1)
					if inner == nil {
						go f()
						return nil
					}
					return inner(f)
				}
			},
			State: func(st *driver.State) { st.Threads = int(threadsStarted.Load()) },
		}})
	register(Mutant{Name: "thr05-start-failure-swallowed", Rule: "THR-05",
		Break: "a thread that cannot start is swallowed: no handle_error",
		Mutation: inproc.Mutation{Config: func(c *impl.Config) {
			c.Overrides.ProcessRequest = func(s *impl.Server, r *impl.Request) error {
				if err := s.Base().ProcessRequest(r); err != nil {
					s.Virtual().ShutdownRequest(r)
				}
				return nil
			}
		}}})
	register(Mutant{Name: "thr07-error-on-loop", Rule: "THR-07",
		Break: "requests run, and fail, on the serving thread",
		Mutation: inproc.Mutation{Config: func(c *impl.Config) {
			c.Go = func(f func()) error { f(); return nil }
		}}})
}

var threadsStarted atomic.Int64

// lateReaper starts children whose exit is noticed only long after.
type lateReaper struct{ inner impl.Spawner }

func (l *lateReaper) Spawn(spec impl.ChildSpec) (impl.Child, error) {
	c, err := l.inner.Spawn(spec)
	if err != nil {
		return nil, err
	}
	return lateChild{c}, nil
}

type lateChild struct{ impl.Child }

func (c lateChild) Wait() (int, error) {
	status, err := c.Child.Wait()
	time.Sleep(8 * time.Second) // the zombie's lifetime, as the server sees it
	return status, err
}

// serveInline makes servers of the given dispatch modes serve each request
// in the serving loop, as a synchronous server does.
func serveInline(modes ...impl.Dispatch) func(*impl.Config) {
	return func(c *impl.Config) {
		if slices.Contains(modes, c.Dispatch) {
			c.Dispatch = impl.Sync
		}
	}
}
