package mutants

import (
	"context"
	"errors"

	"github.com/sockspec/sockspec/adapters/inproc"
	"github.com/sockspec/sockspec/impl"
)

// Mutants of the request pipeline (ORD).
func init() {
	register(Mutant{Name: "ord01-no-handler", Rule: "ORD-01",
		Break: "finish_request never builds the handler",
		Mutation: inproc.Mutation{Config: func(c *impl.Config) {
			c.Overrides.FinishRequest = func(*impl.Server, *impl.Request) error { return nil }
		}}})
	register(Mutant{Name: "ord02-no-close", Rule: "ORD-02",
		Break: "shutdown_request half-closes but never calls close_request",
		Mutation: inproc.Mutation{Config: func(c *impl.Config) {
			c.Overrides.ShutdownRequest = func(_ *impl.Server, r *impl.Request) {
				if cw, ok := r.Conn.(interface{ CloseWrite() error }); ok {
					cw.CloseWrite()
				}
			}
		}}})
	register(Mutant{Name: "ord03-verify-ignored", Rule: "ORD-03",
		Break: "verify_request's false is ignored and the request processed",
		Mutation: inproc.Mutation{Config: func(c *impl.Config) {
			c.Overrides.VerifyRequest = func(*impl.Server, *impl.Request) bool { return true }
		}}})
	register(Mutant{Name: "ord04-retry-accept", Rule: "ORD-04",
		Break: "a failed get_request is retried at once instead of returning",
		Mutation: inproc.Mutation{Config: func(c *impl.Config) {
			c.Overrides.GetRequest = func(s *impl.Server, ctx context.Context) (*impl.Request, error) {
				r, err := s.Base().GetRequest(ctx)
				if err != nil {
					return s.Base().GetRequest(ctx)
				}
				return r, nil
			}
		}}})
	register(Mutant{Name: "ord05-swallow-handler-error", Rule: "ORD-05",
		Break: "finish_request swallows the handler's exception: no handle_error",
		Mutation: inproc.Mutation{Config: func(c *impl.Config) {
			c.Overrides.FinishRequest = func(s *impl.Server, r *impl.Request) error {
				_ = s.Base().FinishRequest(r)
				return nil
			}
		}}})
	register(Mutant{Name: "ord06-fatal-as-ordinary", Rule: "ORD-06",
		Break:    "a fatal exception is handled like an ordinary one (handle_error)",
		Mutation: inproc.Mutation{Config: fatalAsOrdinary}})
	register(Mutant{Name: "ord07-no-shutdown-after-failure", Rule: "ORD-07",
		Break: "process_request swallows a failure, so the request is never shut down",
		Mutation: inproc.Mutation{Config: func(c *impl.Config) {
			c.Overrides.ProcessRequest = func(s *impl.Server, r *impl.Request) error {
				_ = s.Base().ProcessRequest(r)
				return nil
			}
		}}})
	register(Mutant{Name: "ord08-handle-after-failed-setup", Rule: "ORD-08",
		Break: "handle and finish run although setup raised",
		Mutation: inproc.Mutation{Config: func(c *impl.Config) {
			inner := c.Handler
			c.Handler = func() impl.Handler { return &ignoreSetupError{inner()} }
		}}})
	register(Mutant{Name: "ord09-timeout-result-dropped", Rule: "ORD-09",
		Break: "handle_request drops handle_timeout's return value",
		Mutation: inproc.Mutation{Config: func(c *impl.Config) {
			inner := c.Overrides.HandleTimeout
			c.Overrides.HandleTimeout = func(s *impl.Server) error {
				if inner != nil {
					_ = inner(s)
				}
				return nil
			}
		}}})
	register(Mutant{Name: "ord10-wrong-client-address", Rule: "ORD-10",
		Break: "client_address is the server's own address",
		Mutation: inproc.Mutation{Config: func(c *impl.Config) {
			c.Overrides.GetRequest = func(s *impl.Server, ctx context.Context) (*impl.Request, error) {
				r, err := s.Base().GetRequest(ctx)
				if err == nil {
					r.ClientAddr = s.Addr()
				}
				return r, err
			}
		}}})
}

// ignoreSetupError runs a handler as if its setup had succeeded.
type ignoreSetupError struct{ impl.Handler }

func (h *ignoreSetupError) Setup(r *impl.Request) error {
	_ = h.Handler.Setup(r)
	return nil
}

// fatalAsOrdinary turns a fatal exception from the handler into an
// ordinary one, as Python 2.7's bare except did.
func fatalAsOrdinary(c *impl.Config) {
	c.Overrides.FinishRequest = func(s *impl.Server, r *impl.Request) error {
		err := s.Base().FinishRequest(r)
		if impl.IsFatal(err) {
			return errors.New(err.Error())
		}
		return err
	}
}
