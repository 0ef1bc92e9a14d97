package impl

import (
	"fmt"
	"io"
	"time"
)

// Family is the kind of socket a server listens on.
type Family int

// The four server classes of socketserver.
const (
	TCP          Family = iota + 1 // TCPServer: stream over IPv4 or IPv6
	UDP                            // UDPServer: datagrams over IPv4 or IPv6
	UnixStream                     // UnixStreamServer: stream over a filesystem socket
	UnixDatagram                   // UnixDatagramServer: datagrams over a filesystem socket
)

// String returns the family's short name: tcp, udp, unix or unixgram.
func (f Family) String() string {
	switch f {
	case TCP:
		return "tcp"
	case UDP:
		return "udp"
	case UnixStream:
		return "unix"
	case UnixDatagram:
		return "unixgram"
	}
	return fmt.Sprintf("Family(%d)", int(f))
}

// IsDatagram reports whether requests of this family are single datagrams.
func (f Family) IsDatagram() bool { return f == UDP || f == UnixDatagram }

// ParseFamily turns tcp, udp, unix or unixgram into a Family.
func ParseFamily(s string) (Family, error) {
	for _, f := range []Family{TCP, UDP, UnixStream, UnixDatagram} {
		if f.String() == s {
			return f, nil
		}
	}
	return 0, fmt.Errorf("unknown family %q: use tcp, udp, unix or unixgram", s)
}

// Dispatch says where process_request runs the request.
type Dispatch int

const (
	// Sync handles the request on the serving goroutine (the plain BaseServer).
	Sync Dispatch = iota
	// Threading handles every request on a goroutine of its own (ThreadingMixIn).
	Threading
	// Forking handles every request in a child process of its own (ForkingMixIn).
	Forking
)

// String returns sync, threading or forking.
func (d Dispatch) String() string {
	switch d {
	case Sync:
		return "sync"
	case Threading:
		return "threading"
	case Forking:
		return "forking"
	}
	return fmt.Sprintf("Dispatch(%d)", int(d))
}

// ParseDispatch turns sync, threading or forking into a Dispatch.
func ParseDispatch(s string) (Dispatch, error) {
	for _, d := range []Dispatch{Sync, Threading, Forking} {
		if d.String() == s {
			return d, nil
		}
	}
	return 0, fmt.Errorf("unknown dispatch mode %q: use sync, threading or forking", s)
}

// Timeout is an optional duration with three states, because CPython gives
// each a meaning: unset (the class default applies), none (wait without limit)
// and a duration (zero means a single non-blocking poll). The zero value is
// unset.
type Timeout struct {
	d     time.Duration
	state uint8 // 0 unset, 1 none, 2 set
}

// NoTimeout is CPython's None: wait without limit.
func NoTimeout() Timeout { return Timeout{state: 1} }

// After is a timeout of d; After(0) polls once without blocking (TMO-03).
// A negative d is treated as zero.
func After(d time.Duration) Timeout {
	if d < 0 {
		d = 0
	}
	return Timeout{d: d, state: 2}
}

// IsSet reports whether the timeout was given at all (NoTimeout counts as given).
func (t Timeout) IsSet() bool { return t.state != 0 }

// Duration returns the duration and true, or false when there is no limit.
func (t Timeout) Duration() (time.Duration, bool) { return t.d, t.state == 2 }

// or returns t, or def when t is unset.
func (t Timeout) or(def Timeout) Timeout {
	if t.IsSet() {
		return t
	}
	return def
}

// String prints "none", "unset" or the duration.
func (t Timeout) String() string {
	switch t.state {
	case 0:
		return "unset"
	case 1:
		return "none"
	}
	return t.d.String()
}

// effectiveTimeout combines the listening socket's timeout and the server's
// timeout the way handle_request does (TMO-01): the smaller of the two when
// both are set, whichever is set otherwise, none when neither is.
func effectiveTimeout(socket, server Timeout) Timeout {
	sd, sok := socket.Duration()
	vd, vok := server.Duration()
	switch {
	case sok && vok:
		return After(min(sd, vd))
	case sok:
		return socket
	case vok:
		return server
	}
	return NoTimeout()
}

// Defaults, each equal to CPython's class attribute of the same meaning.
const (
	DefaultPollInterval     = 500 * time.Millisecond // serve_forever(poll_interval=0.5)
	DefaultRequestQueueSize = 5                      // TCPServer.request_queue_size
	DefaultMaxChildren      = 40                     // ForkingMixIn.max_children
	DefaultMaxPacketSize    = 8192                   // UDPServer.max_packet_size
	DefaultForkingTimeout   = 300 * time.Second      // ForkingMixIn.timeout (TMO-06)
)

// Config describes a server. Its zero value is not usable: Family, Address and
// Handler are required. Every other field has CPython's default when left zero:
//
//	Timeout           none (300 s with Forking dispatch, TMO-06)
//	SocketTimeout     none
//	RequestQueueSize  5
//	MaxChildren       40
//	MaxPacketSize     8192
//	BlockOnClose      true   (stored inverted as NoBlockOnClose)
//	DaemonThreads     false
//	AllowReuseAddress false
//	AllowReusePort    false
//	PollInterval      0.5 s  (when ServeForever is given no interval)
type Config struct {
	// Family selects TCPServer, UDPServer, UnixStreamServer or UnixDatagramServer.
	Family Family
	// Address is host:port for TCP and UDP ("127.0.0.1:0" picks a free port)
	// and a filesystem path for the Unix families.
	Address string
	// Handler builds the request handler for one request.
	Handler NewHandler
	// Dispatch chooses synchronous, goroutine or child-process handling.
	Dispatch Dispatch

	// Timeout is the server's timeout for HandleRequest (BaseServer.timeout).
	Timeout Timeout
	// SocketTimeout is the listening socket's own timeout (socket.settimeout);
	// HandleRequest waits for the smaller of the two (TMO-01).
	SocketTimeout Timeout
	// PollInterval is the default wait of one ServeForever iteration.
	PollInterval time.Duration

	// DeferBind is bind_and_activate=False: New creates the server without a
	// socket, and the caller calls ServerBind and ServerActivate (NET-12).
	DeferBind bool
	// AllowReuseAddress sets SO_REUSEADDR before bind (NET-03).
	AllowReuseAddress bool
	// AllowReusePort sets SO_REUSEPORT before bind on TCP and UDP (NET-04);
	// it is ignored for Unix sockets, where Linux rejects it (gh-128916).
	AllowReusePort bool
	// RequestQueueSize is the listen backlog of stream servers (NET-05).
	RequestQueueSize int
	// MaxPacketSize is the largest datagram a datagram server reads; longer
	// datagrams are truncated (NET-07).
	MaxPacketSize int

	// DaemonThreads: with Threading dispatch, request goroutines are not
	// waited for by ServerClose (THR-03).
	DaemonThreads bool
	// NoBlockOnClose turns off block_on_close: ServerClose then neither waits
	// for request goroutines nor blocks on request children (THR-03, FRK-09).
	NoBlockOnClose bool
	// MaxChildren caps the live request children of a Forking server (FRK-06).
	MaxChildren int
	// Fork names how a request child rebuilds this server; required with
	// Forking dispatch (see RegisterChild).
	Fork ForkRecipe

	// Overrides replaces BaseServer steps, as a subclass would.
	Overrides Overrides
	// Trace observes every step.
	Trace *ServerTrace
	// ErrorLog receives the report of the default handle_error (ERR-01);
	// nil means os.Stderr.
	ErrorLog io.Writer

	// Network opens sockets; nil means the operating system's network.
	Network Network
	// Clock tells time and sleeps; nil means the real clock.
	Clock Clock
	// Spawner starts request children; nil re-executes this program.
	Spawner Spawner
	// Go starts a request goroutine with Threading dispatch; nil means the go
	// statement. A returned error is the analogue of a failed Thread.start()
	// (THR-05) and takes the handle_error path.
	Go func(func()) error
}

// ForkRecipe names a child builder registered with RegisterChild and the
// parameters it is given in the child.
type ForkRecipe struct {
	Name   string
	Params []byte
}

// withDefaults returns a copy of c with CPython's defaults filled in, or an
// error naming the first field that is wrong.
func (c Config) withDefaults() (Config, error) {
	switch c.Family {
	case TCP, UDP, UnixStream, UnixDatagram:
	default:
		return c, fmt.Errorf("impl: Config.Family is %v: set it to TCP, UDP, UnixStream or UnixDatagram", c.Family)
	}
	if c.Address == "" {
		return c, fmt.Errorf("impl: Config.Address is empty: give host:port for %v (port 0 picks a free one) or a socket path for unix families", c.Family)
	}
	if c.Handler == nil {
		return c, fmt.Errorf("impl: Config.Handler is nil: give a NewHandler, for example StreamHandlerFunc(...)")
	}
	switch c.Dispatch {
	case Sync, Threading, Forking:
	default:
		return c, fmt.Errorf("impl: Config.Dispatch is %v: use Sync, Threading or Forking", c.Dispatch)
	}
	if c.Dispatch == Forking {
		if c.Fork.Name == "" {
			return c, fmt.Errorf("impl: Forking dispatch needs Config.Fork.Name: a request child is a new run of this program and rebuilds its handler from a recipe registered with RegisterChild")
		}
		if _, ok := lookupChild(c.Fork.Name); !ok {
			return c, fmt.Errorf("impl: Config.Fork.Name %q is not registered: call RegisterChild(%q, …) in an init function of this program", c.Fork.Name, c.Fork.Name)
		}
		c.Timeout = c.Timeout.or(After(DefaultForkingTimeout))
	}
	c.Timeout = c.Timeout.or(NoTimeout())
	c.SocketTimeout = c.SocketTimeout.or(NoTimeout())
	if c.PollInterval < 0 {
		return c, fmt.Errorf("impl: Config.PollInterval is %v: it must not be negative", c.PollInterval)
	}
	if c.PollInterval == 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.RequestQueueSize < 0 {
		return c, fmt.Errorf("impl: Config.RequestQueueSize is %d: it must not be negative", c.RequestQueueSize)
	}
	if c.RequestQueueSize == 0 {
		c.RequestQueueSize = DefaultRequestQueueSize
	}
	if c.MaxPacketSize < 0 {
		return c, fmt.Errorf("impl: Config.MaxPacketSize is %d: it must not be negative", c.MaxPacketSize)
	}
	if c.MaxPacketSize == 0 {
		c.MaxPacketSize = DefaultMaxPacketSize
	}
	if c.MaxChildren < 0 {
		return c, fmt.Errorf("impl: Config.MaxChildren is %d: it must not be negative", c.MaxChildren)
	}
	if c.MaxChildren == 0 {
		c.MaxChildren = DefaultMaxChildren
	}
	if c.Clock == nil {
		c.Clock = realClock{}
	}
	if c.Spawner == nil {
		c.Spawner = ExecSpawner{}
	}
	if c.Go == nil {
		c.Go = func(f func()) error { go f(); return nil }
	}
	return c, nil
}
