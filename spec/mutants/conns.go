package mutants

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
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

// dropsHalfClosed is a connection that gives up on a client that has shut
// down its sending side: before each write it looks for the client's FIN,
// and drops the reply when it finds one.
type dropsHalfClosed struct{ net.Conn }

func (c dropsHalfClosed) Write(p []byte) (int, error) {
	c.Conn.SetReadDeadline(time.Now().Add(time.Millisecond))
	var b [1]byte
	if _, err := c.Conn.Read(b[:]); errors.Is(err, io.EOF) {
		return 0, syscall.EPIPE
	}
	c.Conn.SetReadDeadline(time.Time{})
	return c.Conn.Write(p)
}

// shedder closes, unserved, the connections accepted beyond burst within
// window: a load shedder that drops clients it already accepted.
type shedder struct {
	mu       sync.Mutex
	accepted []time.Time
}

const (
	shedBurst  = 5
	shedWindow = 100 * time.Millisecond
)

func (sh *shedder) overloaded() bool {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	now := time.Now()
	recent := sh.accepted[:0]
	for _, t := range sh.accepted {
		if now.Sub(t) < shedWindow {
			recent = append(recent, t)
		}
	}
	sh.accepted = append(recent, now)
	return len(sh.accepted) > shedBurst
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
	register(Mutant{Name: "net15-cut-slow-clients", Rule: "NET-15",
		Break: "a request must arrive whole within 50 ms: a client that trickles it is cut off",
		Mutation: inproc.Mutation{Config: func(c *impl.Config) {
			c.Overrides.FinishRequest = func(s *impl.Server, r *impl.Request) error {
				r.Conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
				return s.Base().FinishRequest(r)
			}
		}}})
	register(Mutant{Name: "net16-drop-half-closed", Rule: "NET-16",
		Break: "a client that shut down its sending side is taken for gone, and its reply is dropped",
		Mutation: inproc.Mutation{Config: func(c *impl.Config) {
			c.Overrides.FinishRequest = func(s *impl.Server, r *impl.Request) error {
				r.Conn = dropsHalfClosed{r.Conn}
				return s.Base().FinishRequest(r)
			}
		}}})
	register(Mutant{Name: "net17-shed-accepted", Rule: "NET-17",
		Break: fmt.Sprintf("more than %d connections accepted within %v are closed unserved", shedBurst, shedWindow),
		Mutation: inproc.Mutation{Config: func(c *impl.Config) {
			sh := &shedder{}
			c.Overrides.ProcessRequest = func(s *impl.Server, r *impl.Request) error {
				if sh.overloaded() {
					s.Virtual().ShutdownRequest(r)
					return nil
				}
				return s.Base().ProcessRequest(r)
			}
		}}})
}
