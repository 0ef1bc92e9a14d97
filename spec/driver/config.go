package driver

import (
	"fmt"
	"time"
)

// Family is the kind of socket a server serves. The spellings are the
// capability names.
type Family string

const (
	TCP        Family = "tcp"
	UDP        Family = "udp"
	UnixStream Family = "unix_stream"
	UnixDgram  Family = "unix_dgram"
)

// Families lists every family in a stable order.
var Families = []Family{TCP, UDP, UnixStream, UnixDgram}

// IsDatagram reports whether requests of f are datagrams.
func (f Family) IsDatagram() bool { return f == UDP || f == UnixDgram }

// IsUnix reports whether f is addressed by a path.
func (f Family) IsUnix() bool { return f == UnixStream || f == UnixDgram }

// Dispatch is how process_request serves a request: in the serving loop
// (sync), on a new thread (ThreadingMixIn) or in a child process
// (ForkingMixIn).
type Dispatch string

const (
	Sync      Dispatch = "sync"
	Threading Dispatch = "threading"
	Forking   Dispatch = "forking"
)

// Dispatches lists every dispatch mode in a stable order.
var Dispatches = []Dispatch{Sync, Threading, Forking}

// Seconds is a duration that may be absent: nil is Python's None (wait
// forever), a pointer to 0 is a single non-blocking poll.
type Seconds = *time.Duration

// After returns a Seconds of d.
func After(d time.Duration) Seconds { return &d }

// ServerConfig describes the server a Session starts. Zero values mean the
// implementation's defaults (CPython's): the harness sets only what a spec
// is about.
type ServerConfig struct {
	Family   Family   `json:"family"`
	Dispatch Dispatch `json:"dispatch"`
	// Address to bind; empty lets the target choose (a free loopback port,
	// a fresh socket path).
	Address string `json:"address,omitempty"`
	// BindAndActivate false builds the server without binding; the session
	// then binds and activates on the first command. nil is true.
	BindAndActivate *bool `json:"bind_and_activate,omitempty"`
	// Timeout is the server's timeout attribute (handle_request's wait).
	// nil keeps the class default: None, or 300 s for forking servers.
	Timeout Seconds `json:"-"`
	// SocketTimeout, when set, is given to the listening socket's
	// settimeout(); handle_request waits for the smaller of the two.
	SocketTimeout Seconds `json:"-"`
	// HandlerTimeout is StreamRequestHandler.timeout.
	HandlerTimeout    Seconds `json:"-"`
	AllowReuseAddress bool    `json:"allow_reuse_address,omitempty"`
	AllowReusePort    bool    `json:"allow_reuse_port,omitempty"`
	// RequestQueueSize is listen()'s backlog; 0 is the default, 5.
	RequestQueueSize int `json:"request_queue_size,omitempty"`
	// MaxPacketSize is what a datagram get_request reads; 0 is 8192.
	MaxPacketSize int `json:"max_packet_size,omitempty"`
	// MaxChildren bounds a forking server's live children; 0 is 40.
	MaxChildren int `json:"max_children,omitempty"`
	// BlockOnClose nil keeps the default (true where the attribute exists).
	BlockOnClose  *bool `json:"block_on_close,omitempty"`
	DaemonThreads bool  `json:"daemon_threads,omitempty"`
	// VerifyReject makes verify_request return false for every request.
	VerifyReject bool `json:"verify_reject,omitempty"`
	// HandleTimeoutResult, when set, is what handle_timeout returns (ORD-09).
	HandleTimeoutResult string `json:"handle_timeout_result,omitempty"`
	// HandleErrorRaises makes handle_error raise after recording its call.
	HandleErrorRaises bool `json:"handle_error_raises,omitempty"`
	// Faults are failures the target injects into its own calls.
	Faults []Fault `json:"faults,omitempty"`
}

// String names the server in words for messages: "a tcp server (sync
// dispatch)", with its address when one is chosen.
func (c ServerConfig) String() string {
	s := fmt.Sprintf("a %s server (%s dispatch)", c.Family, c.Dispatch)
	if c.Address != "" {
		s += " at " + c.Address
	}
	return s
}

// Validate reports the first field that no target could accept.
func (c ServerConfig) Validate() error {
	switch c.Family {
	case TCP, UDP, UnixStream, UnixDgram:
	default:
		return fmt.Errorf("driver: ServerConfig.Family %q: want one of tcp, udp, unix_stream, unix_dgram", c.Family)
	}
	switch c.Dispatch {
	case Sync, Threading, Forking:
	default:
		return fmt.Errorf("driver: ServerConfig.Dispatch %q: want one of sync, threading, forking", c.Dispatch)
	}
	for name, s := range map[string]Seconds{"Timeout": c.Timeout, "SocketTimeout": c.SocketTimeout, "HandlerTimeout": c.HandlerTimeout} {
		if s != nil && *s < 0 {
			return fmt.Errorf("driver: ServerConfig.%s is negative (%v): use nil for no timeout", name, *s)
		}
	}
	if c.RequestQueueSize < 0 || c.MaxPacketSize < 0 || c.MaxChildren < 0 {
		return fmt.Errorf("driver: ServerConfig sizes must not be negative (request_queue_size %d, max_packet_size %d, max_children %d)", c.RequestQueueSize, c.MaxPacketSize, c.MaxChildren)
	}
	for i, f := range c.Faults {
		if err := f.Validate(); err != nil {
			return fmt.Errorf("driver: ServerConfig.Faults[%d]: %w", i, err)
		}
		if f.Via != ViaTarget {
			return fmt.Errorf("driver: ServerConfig.Faults[%d] is injected from outside (via %s): give it to the session's Injector, not to the configuration", i, f.Via)
		}
	}
	return nil
}
