package mutants

import (
	"context"
	"fmt"

	"github.com/sockspec/sockspec/adapters/inproc"
	"github.com/sockspec/sockspec/impl"
)

// Mutants of handle_error (ERR).
func init() {
	register(Mutant{Name: "err01-anonymous-report", Rule: "ERR-01",
		Break: "the error report leaves out the client address",
		Mutation: inproc.Mutation{Config: func(c *impl.Config) {
			c.Overrides.HandleError = func(s *impl.Server, r *impl.Request, err error) error {
				_, werr := fmt.Fprintf(s.Config().ErrorLog, "%s\nsomething failed: %v\n%s\n", dashes, err, dashes)
				return werr
			}
		}}})
	register(Mutant{Name: "err02-no-exception", Rule: "ERR-02",
		Break: "handle_error is called without the exception it should handle",
		Mutation: inproc.Mutation{Config: func(c *impl.Config) {
			c.Overrides.FinishRequest = func(s *impl.Server, r *impl.Request) error {
				if err := s.Base().FinishRequest(r); err != nil && !impl.IsFatal(err) {
					_ = s.Virtual().HandleError(r, nil)
					return nil
				}
				return nil
			}
		}}})
	register(Mutant{Name: "err03-fatal-handled", Rule: "ERR-03",
		Break:    "SystemExit and KeyboardInterrupt reach handle_error",
		Mutation: inproc.Mutation{Config: fatalAsOrdinary}})
	register(Mutant{Name: "err04-accept-error-handled", Rule: "ERR-04",
		Break: "a failed get_request goes to handle_error",
		Mutation: inproc.Mutation{Config: func(c *impl.Config) {
			c.Overrides.GetRequest = func(s *impl.Server, ctx context.Context) (*impl.Request, error) {
				r, err := s.Base().GetRequest(ctx)
				if err != nil {
					_ = s.Virtual().HandleError(nil, err)
				}
				return r, err
			}
		}}})
	register(Mutant{Name: "err05-leak-after-failed-handle-error", Rule: "ERR-05",
		Break: "when handle_error raises, the request is never shut down",
		Mutation: inproc.Mutation{Config: func(c *impl.Config) {
			// The base process_request of a synchronous server returns a
			// failure before its own shutdown_request; swallowing it after
			// handle_error leaves the request open.
			c.Overrides.ProcessRequest = func(s *impl.Server, r *impl.Request) error {
				err := s.Base().ProcessRequest(r)
				if err == nil || impl.IsFatal(err) {
					return err
				}
				_ = s.Virtual().HandleError(r, err)
				return nil
			}
		}}})
	register(Mutant{Name: "err06-child-exits-0", Rule: "ERR-06",
		Break: "a request child exits 0 even after an exception",
		Mutation: inproc.Mutation{Config: func(c *impl.Config) {
			c.Overrides.FinishRequest = func(s *impl.Server, r *impl.Request) error {
				if err := s.Base().FinishRequest(r); err != nil {
					_ = s.Virtual().HandleError(r, err)
				}
				return nil
			}
		}}})
}

const dashes = "----------------------------------------"
