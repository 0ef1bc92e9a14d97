package mutants

import (
	"errors"
	"net"
	"os"
	"time"

	"github.com/sockspec/sockspec/adapters/inproc"
	"github.com/sockspec/sockspec/impl"
)

// Mutants of the socket servers (NET), the handlers (HND) and resource
// exhaustion (RES).
func init() {
	register(Mutant{Name: "net01-bind-shares-port", Rule: "NET-01",
		Break:    "binding an address in use succeeds (SO_REUSEPORT always on)",
		Mutation: inproc.Mutation{Config: func(c *impl.Config) { c.AllowReusePort = true }}})
	register(Mutant{Name: "net02-wildcard-address", Rule: "NET-02",
		Break: "the server binds the wildcard address, not the one asked for",
		Mutation: inproc.Mutation{Config: func(c *impl.Config) {
			if host, port, err := net.SplitHostPort(c.Address); err == nil && host == "127.0.0.1" {
				c.Address = net.JoinHostPort("0.0.0.0", port)
			}
		}}})
	register(Mutant{Name: "net03-reuse-inverted", Rule: "NET-03",
		Break:    "allow_reuse_address is applied inverted",
		Mutation: inproc.Mutation{Config: func(c *impl.Config) { c.AllowReuseAddress = !c.AllowReuseAddress }}})
	register(Mutant{Name: "net04-reuse-port-ignored", Rule: "NET-04",
		Break:    "allow_reuse_port is ignored",
		Mutation: inproc.Mutation{Config: func(c *impl.Config) { c.AllowReusePort = false }}})
	register(Mutant{Name: "net05-backlog-ignored", Rule: "NET-05",
		Break:    "listen uses a backlog of 64 whatever request_queue_size says",
		Mutation: inproc.Mutation{Config: func(c *impl.Config) { c.RequestQueueSize = 64 }}})
	register(Mutant{Name: "net07-no-truncation", Rule: "NET-07",
		Break:    "datagrams are read whole, beyond max_packet_size",
		Mutation: inproc.Mutation{Config: func(c *impl.Config) { c.MaxPacketSize = 65536 }}})
	register(Mutant{Name: "net08-no-reply-after-failure", Rule: "NET-08",
		Break: "a datagram handler that raised sends no reply",
		Mutation: inproc.Mutation{Config: func(c *impl.Config) {
			inner := c.Handler
			c.Handler = func() impl.Handler { return &skipFinishAfterFailure{Handler: inner()} }
		}}})
	register(Mutant{Name: "net10-file-left", Rule: "NET-10",
		Break: "server_close leaves the Unix socket file behind",
		Mutation: inproc.Mutation{ServerClose: func(s *impl.Server) error {
			err := s.ServerClose()
			if addr := s.Address(); s.Family() == impl.UnixStream || s.Family() == impl.UnixDatagram {
				if f, cerr := os.Create(addr); cerr == nil {
					f.Close()
				}
			}
			return err
		}}})
	register(Mutant{Name: "net11-failed-reply-ignored", Rule: "NET-11",
		Break: "a reply that cannot be sent is dropped silently",
		Mutation: inproc.Mutation{Config: func(c *impl.Config) {
			inner := c.Handler
			c.Handler = func() impl.Handler { return &quietFinish{Handler: inner()} }
		}}})
	register(Mutant{Name: "net12-binds-anyway", Rule: "NET-12",
		Break:    "bind_and_activate=False is ignored",
		Mutation: inproc.Mutation{Config: func(c *impl.Config) { c.DeferBind = false }}})

	register(Mutant{Name: "hnd01-short-writes", Rule: "HND-01",
		Break: "wfile sends at most 64 KiB of a write",
		Mutation: inproc.Mutation{Config: func(c *impl.Config) {
			inner := c.Handler
			c.Handler = func() impl.Handler {
				return &onConn{Handler: inner(), wrap: func(c net.Conn) net.Conn { return truncating{c, 64 << 10} }}
			}
		}}})
	register(Mutant{Name: "hnd02-finish-fails-on-gone-client", Rule: "HND-02",
		Break: "finish reports a flush to a client that went away as an error",
		Mutation: inproc.Mutation{Config: func(c *impl.Config) {
			inner := c.Handler
			c.Handler = func() impl.Handler { return &strictFinish{Handler: inner()} }
		}}})

	register(Mutant{Name: "res01-no-backoff", Rule: "RES-01",
		Break:    "accept failures are retried at once: a busy loop",
		Mutation: inproc.Mutation{Config: func(c *impl.Config) { c.Clock = instantClock{} }}})
}

// skipFinishAfterFailure does not run finish after handle raised.
type skipFinishAfterFailure struct {
	impl.Handler
	failed bool
}

func (h *skipFinishAfterFailure) Handle(r *impl.Request) error {
	err := h.Handler.Handle(r)
	h.failed = err != nil
	return err
}

func (h *skipFinishAfterFailure) Finish(r *impl.Request) error {
	if h.failed {
		return nil
	}
	return h.Handler.Finish(r)
}

// quietFinish swallows finish's error.
type quietFinish struct{ impl.Handler }

func (h *quietFinish) Finish(r *impl.Request) error {
	_ = h.Handler.Finish(r)
	return nil
}

// strictFinish fails finish when the client has gone away.
type strictFinish struct{ impl.Handler }

func (h *strictFinish) Finish(r *impl.Request) error {
	err := h.Handler.Finish(r)
	if r.Conn != nil {
		r.Conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if _, rerr := r.Conn.Read(make([]byte, 1)); rerr != nil && !errors.Is(rerr, os.ErrDeadlineExceeded) {
			return errors.New("flushing to a client that went away")
		}
	}
	return err
}

// onConn runs a handler on a wrapped connection.
type onConn struct {
	impl.Handler
	wrap func(net.Conn) net.Conn
}

func (h *onConn) Setup(r *impl.Request) error {
	if r.Conn != nil {
		r.Conn = h.wrap(r.Conn)
	}
	return h.Handler.Setup(r)
}

// instantClock ends every pause at once.
type instantClock struct{}

func (instantClock) Now() time.Time { return time.Now() }
func (instantClock) After(time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	ch <- time.Now()
	return ch
}
