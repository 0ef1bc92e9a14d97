package netsim

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of a Network whose fields are zero.
const (
	// DefaultBacklog is a new listener's accept queue length until
	// SetBacklog changes it: socketserver's request_queue_size.
	DefaultBacklog = 5
	// DefaultStreamBuffer is how many bytes one direction of a connection
	// holds unread before Write blocks: a loopback socket's buffers hold
	// about as much.
	DefaultStreamBuffer = 256 << 10
	// DefaultPacketQueue is how many unread datagrams a datagram socket
	// holds.
	DefaultPacketQueue = 64
)

// Largest datagrams: UDP's limit over IPv4, and Linux's default send
// buffer for Unix datagrams. Longer ones fail with EMSGSIZE.
const (
	maxUDPDatagram  = 65507
	maxUnixDatagram = 212992 - 32
)

// Network is an in-memory network with TCP, UDP, Unix stream and Unix
// datagram sockets. Its zero value is ready to use. It has the method set
// of *net.ListenConfig, so it can be impl.Config.Network, and Dial for
// clients. Its listeners and datagram sockets implement impl.ReadyWaiter,
// which is how the server waits for a request without taking it.
//
// Addresses: "host:port" for tcp and udp, where the host is an IP literal,
// "localhost" or empty, and port 0 picks the next free port from 32768 on,
// in order; a Unix address is any non-empty name, and nothing is created in
// the filesystem. Binding an address in use fails with EADDRINUSE, dialing
// a TCP port where nothing listens with ECONNREFUSED, dialing a Unix name
// that is not bound with ENOENT (what connect(2) gives when the socket file
// does not exist), all shaped like the real errors.
//
// Where it knowingly differs from Linux:
//   - A listener's accept queue holds exactly its backlog (Linux admits one
//     more), and a dial beyond it waits, in order, until Accept makes room,
//     the listener closes (ECONNREFUSED) or the dial's context ends; Linux
//     drops the SYN and the client retries after a second.
//   - Closing a Unix socket frees its name at once: no socket file is left
//     behind, so a later bind of the same name succeeds.
//   - A UDP datagram to a port where nothing is bound is dropped silently
//     (EventDrop); no ICMP error ever reaches a connected UDP socket.
//   - There are no socket options and no TIME_WAIT. Without a profile
//     (SetProfile) connections carry no latency: bytes are readable as soon
//     as Write returns.
//
// A Network must not be shared between testing/synctest bubbles.
type Network struct {
	// Backlog is the accept queue length of a new listener until its
	// SetBacklog is called; 0 means DefaultBacklog.
	Backlog int
	// StreamBuffer is the capacity in bytes of one direction of a
	// connection; 0 means DefaultStreamBuffer.
	StreamBuffer int
	// PacketQueue is the capacity in datagrams of a datagram socket's
	// receive queue; 0 means DefaultPacketQueue.
	PacketQueue int
	// NoEvents turns the record of wire events off, for long runs.
	NoEvents bool

	mu     sync.Mutex // guards binds, link and flows; taken after any socket's lock
	binds  table
	events eventLog

	link    *Engine                  // the profile's decisions; nil for an ideal network
	delays  DelayQueue               // delivers what the link delays
	flows   map[[2]*PacketConn]*Flow // datagram flows by sender and receiver
	sockets atomic.Int64             // datagram sockets made, to tell up from down
}

// SetProfile makes the network apply p to what its sockets carry, with
// decisions drawn from seed; observe, when not nil, is told of each
// decision (see LinkEvent). Call it before the first socket is opened.
// The faults' From and Until count from the first connection or datagram
// the profile sees. A profile without faults (ideal) leaves the network as
// it is without one.
//
// Up is from the end that dialed to the listener for streams; for
// datagrams it is towards the socket made first (the server, usually).
// Delayed bytes and datagrams travel on time.AfterFunc timers, so that a
// profile costs no wall time inside a testing/synctest bubble.
func (n *Network) SetProfile(p Profile, seed uint64, observe func(LinkEvent)) error {
	if err := p.Validate(); err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.link = nil
	if len(p.Faults) > 0 {
		n.link = NewEngine(p, seed, observe)
	}
	return nil
}

// forgetFlows drops the flows of a closed socket.
func (n *Network) forgetFlows(c *PacketConn) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for k := range n.flows {
		if k[0] == c || k[1] == c {
			delete(n.flows, k)
		}
	}
}

// engine returns the link model, nil when there is none.
func (n *Network) engine() *Engine {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.link
}

// flow returns the shaper of the datagrams from src to dst, nil when the
// link does nothing to them.
func (n *Network) flow(src, dst *PacketConn) *Flow {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.link == nil || !n.link.Affects(false) {
		return nil
	}
	key := [2]*PacketConn{src, dst}
	if f, ok := n.flows[key]; ok {
		return f
	}
	// Both ways of a pair of sockets are one exchange: up is towards the
	// socket made first.
	server, client := src, dst
	if dst.seq < src.seq {
		server, client = dst, src
	}
	up, down := n.link.Flows(time.Now(), src.fam.name)
	if n.flows == nil {
		n.flows = map[[2]*PacketConn]*Flow{}
	}
	n.flows[[2]*PacketConn{client, server}] = up
	n.flows[[2]*PacketConn{server, client}] = down
	return n.flows[key]
}

func (n *Network) backlog() int      { return orDefault(n.Backlog, DefaultBacklog) }
func (n *Network) streamBuffer() int { return orDefault(n.StreamBuffer, DefaultStreamBuffer) }
func (n *Network) packetQueue() int  { return orDefault(n.PacketQueue, DefaultPacketQueue) }

func orDefault(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

// record adds a wire event unless recording is off.
func (n *Network) record(kind EventKind, network string, from, to net.Addr, size int) {
	if !n.NoEvents {
		n.events.add(kind, network, addrString(from), addrString(to), size)
	}
}

// Events returns the wire events so far, oldest first.
func (n *Network) Events() []Event { return n.events.snapshot() }

// WaitEvent returns the first event, past or future, that match accepts,
// waiting until ctx is done. It lets a test wait for something to happen
// on the wire (an accept, a close) instead of sleeping.
func (n *Network) WaitEvent(ctx context.Context, match func(Event) bool) (Event, error) {
	return n.events.await(ctx, match)
}

// Listen opens a stream listener: network is tcp, tcp4, tcp6 or unix.
func (n *Network) Listen(ctx context.Context, network, address string) (net.Listener, error) {
	f, err := parseNetwork("listen", network)
	if err != nil {
		return nil, err
	}
	if !f.stream {
		return nil, opError("listen", network, nil, nil, net.UnknownNetworkError(network))
	}
	addr, err := resolve("listen", f, address)
	if err != nil {
		return nil, err
	}
	l := newListener(n, f, n.backlog())
	if err := n.bind("listen", f, addr, l, func(a net.Addr) { l.addr = a }); err != nil {
		return nil, err
	}
	return l, nil
}

// ListenPacket opens a datagram socket: network is udp, udp4, udp6 or
// unixgram. Clients that expect replies open theirs here too: a Unix
// datagram socket from Dial is unnamed and cannot be answered.
func (n *Network) ListenPacket(ctx context.Context, network, address string) (net.PacketConn, error) {
	f, err := parseNetwork("listen", network)
	if err != nil {
		return nil, err
	}
	if f.stream {
		return nil, opError("listen", network, nil, nil, net.UnknownNetworkError(network))
	}
	addr, err := resolve("listen", f, address)
	if err != nil {
		return nil, err
	}
	pc := newPacketConn(n, f)
	if err := n.bind("listen", f, addr, pc, pc.bound); err != nil {
		return nil, err
	}
	return pc, nil
}

// bind records sock at addr. Before the socket becomes visible to other
// goroutines, set is given the address it got, so that nobody can reach a
// socket that does not know its own address yet. A bind by Listen or
// ListenPacket is an EventListen, recorded before anyone can connect.
func (n *Network) bind(op string, f family, addr net.Addr, sock any, set func(net.Addr)) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if f.space == "unix" {
		name := addr.(*net.UnixAddr).Name
		if errno := n.binds.unixFree(name); errno != 0 {
			return opError(op, f.name, nil, addr, syscallError("bind", errno))
		}
		set(addr)
		n.binds.addUnix(name, sock)
		n.recordBind(op, f, addr)
		return nil
	}
	ip, port := ipPort(addr)
	got, errno := n.binds.pickPort(f.space, ip, port)
	if errno != 0 {
		return opError(op, f.name, nil, addr, syscallError("bind", errno))
	}
	bound := inetAddr(f, ip, got)
	set(bound)
	n.binds.addInet(f.space, ip, got, sock)
	n.recordBind(op, f, bound)
	return nil
}

func (n *Network) recordBind(op string, f family, addr net.Addr) {
	if op == "listen" {
		n.record(EventListen, f.name, addr, nil, 0)
	}
}

// unbind frees the address of a closed socket.
func (n *Network) unbind(f family, addr net.Addr, sock any) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if f.space == "unix" {
		n.binds.unbindUnix(addr.(*net.UnixAddr).Name, sock)
		return
	}
	_, port := ipPort(addr)
	n.binds.unbindInet(f.space, port, sock)
}

// lookupPacket finds the datagram socket bound at addr, or nil.
func (n *Network) lookupPacket(f family, addr net.Addr) (target any) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if f.space == "unix" {
		return n.binds.lookupUnix(addr.(*net.UnixAddr).Name)
	}
	ip, port := ipPort(addr)
	return n.binds.lookupInet(f.space, ip, port)
}

// ephemeral picks a client port for a connection to ip.
func (n *Network) ephemeral(space string, ip net.IP) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	p, _ := n.binds.ephemeral(space, ip)
	return p
}

// The standard interfaces the simulated sockets stand in for. What impl
// requires of them is asserted in impl_test.go, since netsim imports the
// standard library only.
var (
	_ net.Listener   = (*Listener)(nil)
	_ net.Conn       = (*Conn)(nil)
	_ net.PacketConn = (*PacketConn)(nil)
	_ net.Conn       = (*PacketConn)(nil)
)
