package driver

import "slices"

// Capabilities a target may have, spelled as the protocol spells them (the
// hello's "capabilities", PROTOCOL.md). A target lists the ones it has; a
// rule of spec/rules whose needs are not all met is N/A for that target.
const (
	CapTCP            = "tcp"
	CapUDP            = "udp"
	CapUnixStream     = "unix_stream"
	CapUnixDgram      = "unix_dgram"
	CapThreading      = "threading"
	CapForking        = "forking"
	CapTrace          = "trace"           // the target reports its hook calls
	CapServiceActions = "service_actions" // serve_forever calls service_actions
	CapContextManager = "context_manager" // the server closes itself at the end of a with block (or defer)
	CapBlockOnClose   = "block_on_close"  // server_close joins threads or waits for children, switchable
	CapReusePort      = "allow_reuse_port"
	CapSocketTimeout  = "socket_timeout"  // the listening socket's own timeout can be set
	CapHandlerTimeout = "handler_timeout" // StreamRequestHandler.timeout
	CapDaemonThreads  = "daemon_threads"
	CapMaxChildren    = "max_children"
	CapSignals        = "signals" // signals can be delivered to the server's process while it runs
	CapAcceptFaults   = "fault.accept"
	CapSpawnFaults    = "fault.spawn"   // a fork or a thread start can be made to fail
	CapForeignChild   = "foreign_child" // a child the server did not fork can be started in its process
)

// knownCapabilities is every capability of the protocol: what a hello may
// list, what a rule may need.
var knownCapabilities = []string{
	CapTCP, CapUDP, CapUnixStream, CapUnixDgram, CapThreading, CapForking, CapTrace,
	CapServiceActions, CapContextManager, CapBlockOnClose, CapReusePort, CapSocketTimeout,
	CapHandlerTimeout, CapDaemonThreads, CapMaxChildren, CapSignals, CapAcceptFaults, CapSpawnFaults, CapForeignChild,
}

// KnownCapabilities returns every capability of the protocol.
func KnownCapabilities() []string { return slices.Clone(knownCapabilities) }

// KnownCapability reports whether c is a capability of the protocol.
func KnownCapability(c string) bool { return slices.Contains(knownCapabilities, c) }
