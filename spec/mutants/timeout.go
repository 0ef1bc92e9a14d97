package mutants

import (
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/sockspec/sockspec/adapters/inproc"
	"github.com/sockspec/sockspec/impl"
)

// Mutants of the timeouts (TMO) and of signal handling (EIN).
func init() {
	register(Mutant{Name: "tmo01-socket-timeout-ignored", Rule: "TMO-01",
		Break:    "handle_request waits for the server's timeout only, never the socket's",
		Mutation: inproc.Mutation{Config: func(c *impl.Config) { c.SocketTimeout = impl.Timeout{} }}})
	register(Mutant{Name: "tmo02-timeout-never-fires", Rule: "TMO-02",
		Break: "handle_request waits without limit whatever the timeout",
		Mutation: inproc.Mutation{Config: func(c *impl.Config) {
			c.Timeout, c.SocketTimeout = impl.NoTimeout(), impl.Timeout{}
		}}})
	register(Mutant{Name: "tmo03-zero-blocks", Rule: "TMO-03",
		Break: "a zero timeout waits two seconds instead of polling",
		Mutation: inproc.Mutation{Config: func(c *impl.Config) {
			if d, ok := c.Timeout.Duration(); ok && d == 0 {
				c.Timeout = impl.After(2 * time.Second)
			}
		}}})
	register(Mutant{Name: "tmo04-deadline-stretched", Rule: "TMO-04",
		Break: "the wait restarts its full timeout once, as an EINTR retry with the original timeout does",
		Mutation: inproc.Mutation{Config: func(c *impl.Config) {
			if d, ok := c.Timeout.Duration(); ok && d > 0 {
				c.Timeout = impl.After(2 * d)
			}
		}}})
	register(Mutant{Name: "tmo05-timeout-in-loop", Rule: "TMO-05",
		Break: "serve_forever calls handle_timeout at every idle iteration",
		Mutation: inproc.Mutation{Config: func(c *impl.Config) {
			c.Overrides.ServiceActions = func(s *impl.Server) error {
				_ = s.Virtual().HandleTimeout()
				return s.Base().ServiceActions()
			}
		}}})
	register(Mutant{Name: "tmo06-forking-waits-forever", Rule: "TMO-06",
		Break: "a forking server's default timeout is None",
		Mutation: inproc.Mutation{Config: func(c *impl.Config) {
			if c.Dispatch == impl.Forking && !c.Timeout.IsSet() {
				c.Timeout = impl.NoTimeout()
			}
		}}})
	register(Mutant{Name: "tmo07-service-twice", Rule: "TMO-07",
		Break: "service_actions runs twice per iteration",
		Mutation: inproc.Mutation{Config: func(c *impl.Config) {
			var again sync.Map // servers inside their second call
			c.Overrides.ServiceActions = func(s *impl.Server) error {
				if _, nested := again.LoadOrStore(s, true); nested {
					return s.Base().ServiceActions()
				}
				defer again.Delete(s)
				if err := s.Base().ServiceActions(); err != nil {
					return err
				}
				return s.Virtual().ServiceActions()
			}
		}}})
	register(Mutant{Name: "tmo08-handler-timeout-ignored", Rule: "TMO-08",
		Break: "the stream handler's timeout never reaches the connection",
		Mutation: inproc.Mutation{Config: func(c *impl.Config) {
			inner := c.Handler
			c.Handler = func() impl.Handler { return &noDeadlines{Handler: inner()} }
		}}})
	register(Mutant{Name: "ein04-signal-stops-loop", Rule: "EIN-04",
		Break: "a signal that interrupts the wait ends serve_forever with EINTR",
		Mutation: inproc.Mutation{Config: func(c *impl.Config) {
			sigs := make(chan os.Signal, 1)
			signal.Notify(sigs, syscall.SIGUSR1, syscall.SIGALRM)
			c.Overrides.ServiceActions = func(s *impl.Server) error {
				select {
				case <-sigs:
					return impl.Fatal(os.NewSyscallError("select", syscall.EINTR))
				default:
					return s.Base().ServiceActions()
				}
			}
		}}})
}

// noDeadlines runs a handler on a connection that ignores read and write
// deadlines.
type noDeadlines struct{ impl.Handler }

func (h *noDeadlines) Setup(r *impl.Request) error {
	if r.Conn != nil {
		r.Conn = deadlineless{r.Conn}
	}
	return h.Handler.Setup(r)
}
