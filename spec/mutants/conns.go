package mutants

import (
	"errors"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/sockspec/sockspec/adapters/inproc"
	"github.com/sockspec/sockspec/impl"
)

// deadlineless is a connection whose deadlines do nothing.
type deadlineless struct{ net.Conn }

func (deadlineless) SetDeadline(time.Time) error      { return nil }
func (deadlineless) SetReadDeadline(time.Time) error  { return nil }
func (deadlineless) SetWriteDeadline(time.Time) error { return nil }

// truncating is a connection whose writes send at most limit bytes each and
// report the short count, as a send(2) that is not retried does.
type truncating struct {
	net.Conn
	limit int
}

func (t truncating) Write(p []byte) (int, error) {
	if len(p) > t.limit {
		p = p[:t.limit]
	}
	return t.Conn.Write(p)
}

// Mutants of the hostile-client rules.
func init() {
	register(Mutant{Name: "net13-serve-inline", Rule: "NET-13",
		Break:    "threading and forking servers serve each request in the loop, so one silent client holds everyone",
		Mutation: inproc.Mutation{Config: serveInline(impl.Threading, impl.Forking)}})
	register(Mutant{Name: "net14-reset-is-fatal", Rule: "NET-14",
		Break: "an error of the connection in the handler is taken for a fatal one and ends serve_forever",
		Mutation: inproc.Mutation{Config: func(c *impl.Config) {
			c.Overrides.FinishRequest = func(s *impl.Server, r *impl.Request) error {
				err := s.Base().FinishRequest(r)
				var op *net.OpError
				if errors.As(err, &op) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, io.EOF) {
					return impl.Fatal(err)
				}
				return err
			}
		}}})
}
