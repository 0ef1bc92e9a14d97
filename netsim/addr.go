package netsim

import (
	"net"
	"strconv"
	"syscall"
)

// family describes a network name as the fake network understands it.
type family struct {
	name   string // as the caller spelled it: tcp, tcp4, tcp6, udp…, unix, unixgram
	space  string // the address space it binds in: "tcp", "udp" or "unix"
	stream bool
}

// parseNetwork accepts the network names of net.Listen and net.ListenPacket
// that the fake network implements; unixpacket is not one of them.
func parseNetwork(op, network string) (family, error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
		return family{name: network, space: "tcp", stream: true}, nil
	case "udp", "udp4", "udp6":
		return family{name: network, space: "udp"}, nil
	case "unix":
		return family{name: network, space: "unix", stream: true}, nil
	case "unixgram":
		return family{name: network, space: "unix"}, nil
	}
	return family{}, opError(op, network, nil, nil, net.UnknownNetworkError(network))
}

// resolve turns an address string into the net.Addr type the real network
// would use. Internet hosts must be IP literals, "localhost" or empty (the
// unspecified address); there is no name resolution. Unix addresses are
// plain names: nothing is created in the filesystem.
func resolve(op string, f family, address string) (net.Addr, error) {
	if f.space == "unix" {
		if address == "" {
			return nil, opError(op, f.name, nil, nil, &net.AddrError{Err: "missing address", Addr: address})
		}
		return &net.UnixAddr{Name: address, Net: f.name}, nil
	}
	host, portStr, err := net.SplitHostPort(address)
	if err != nil {
		return nil, opError(op, f.name, nil, nil, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return nil, opError(op, f.name, nil, nil, &net.AddrError{Err: "invalid port", Addr: address})
	}
	var ip net.IP
	switch {
	case host == "" && f.name[len(f.name)-1] == '6':
		ip = net.IPv6unspecified
	case host == "":
		ip = net.IPv4zero
	case host == "localhost" && f.name[len(f.name)-1] == '6':
		ip = net.IPv6loopback
	case host == "localhost":
		ip = net.IPv4(127, 0, 0, 1)
	default:
		ip = net.ParseIP(host)
		if ip == nil {
			return nil, opError(op, f.name, nil, nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true})
		}
	}
	return inetAddr(f, ip, port), nil
}

func inetAddr(f family, ip net.IP, port int) net.Addr {
	if f.space == "tcp" {
		return &net.TCPAddr{IP: ip, Port: port}
	}
	return &net.UDPAddr{IP: ip, Port: port}
}

// ipPort takes an internet address apart.
func ipPort(a net.Addr) (net.IP, int) {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.IP, a.Port
	case *net.UDPAddr:
		return a.IP, a.Port
	}
	return nil, 0
}

// unnamed is how Go on Linux shows a Unix socket that was never bound: a
// name of "@" (the kernel reports an empty path, which Go reads as the
// start of an abstract name).
func unnamed(network string) *net.UnixAddr { return &net.UnixAddr{Name: "@", Net: network} }

// Ephemeral ports are handed out in this range, in order, like Linux's
// default ip_local_port_range; the order makes runs repeatable.
const (
	firstEphemeral = 32768
	lastEphemeral  = 60999
)

// binding is one socket bound to an internet address.
type binding struct {
	ip   net.IP
	port int
	sock any // *Listener or *PacketConn
}

// table is the fake network's bound addresses. Its methods need the
// network's lock.
type table struct {
	inet map[string]map[int][]binding // space → port → sockets
	unix map[string]any               // name → *Listener or *PacketConn
	next map[string]int               // space → next ephemeral port to try
}

func (t *table) init() {
	if t.inet == nil {
		t.inet = map[string]map[int][]binding{"tcp": {}, "udp": {}}
		t.unix = map[string]any{}
		t.next = map[string]int{}
	}
}

// conflicts reports whether ip:port is taken in space: the same address,
// or either side a wildcard.
func (t *table) conflicts(space string, ip net.IP, port int) bool {
	for _, b := range t.inet[space][port] {
		if b.ip.Equal(ip) || b.ip.IsUnspecified() || ip.IsUnspecified() {
			return true
		}
	}
	return false
}

// ephemeral picks the next free port of space for ip.
func (t *table) ephemeral(space string, ip net.IP) (int, bool) {
	t.init()
	for range lastEphemeral - firstEphemeral + 1 {
		p := t.next[space]
		if p < firstEphemeral || p > lastEphemeral {
			p = firstEphemeral
		}
		t.next[space] = p + 1
		if !t.conflicts(space, ip, p) {
			return p, true
		}
	}
	return 0, false
}

// pickPort returns port, or the next free one when port is 0, or the errno
// bind(2) would give when it is taken.
func (t *table) pickPort(space string, ip net.IP, port int) (int, syscall.Errno) {
	t.init()
	if port == 0 {
		p, ok := t.ephemeral(space, ip)
		if !ok {
			return 0, syscall.EADDRINUSE
		}
		return p, 0
	}
	if t.conflicts(space, ip, port) {
		return 0, syscall.EADDRINUSE
	}
	return port, 0
}

// addInet binds sock to ip:port, which pickPort chose.
func (t *table) addInet(space string, ip net.IP, port int, sock any) {
	t.inet[space][port] = append(t.inet[space][port], binding{ip: ip, port: port, sock: sock})
}

func (t *table) unbindInet(space string, port int, sock any) {
	t.init()
	bs := t.inet[space][port]
	for i, b := range bs {
		if b.sock == sock {
			bs = append(bs[:i:i], bs[i+1:]...)
			break
		}
	}
	if len(bs) == 0 {
		delete(t.inet[space], port)
	} else {
		t.inet[space][port] = bs
	}
}

// lookupInet finds the socket that receives what is sent to ip:port: one
// bound to that very address, else one bound to the wildcard. Sending to
// the unspecified address reaches the loopback address, as on Linux.
func (t *table) lookupInet(space string, ip net.IP, port int) any {
	t.init()
	if ip.IsUnspecified() {
		if ip.To4() != nil {
			ip = net.IPv4(127, 0, 0, 1)
		} else {
			ip = net.IPv6loopback
		}
	}
	var wild any
	for _, b := range t.inet[space][port] {
		if b.ip.Equal(ip) {
			return b.sock
		}
		if b.ip.IsUnspecified() && wild == nil {
			wild = b.sock
		}
	}
	return wild
}

// unixFree returns the errno bind(2) gives for a Unix name, 0 when free.
func (t *table) unixFree(name string) syscall.Errno {
	t.init()
	if _, used := t.unix[name]; used {
		return syscall.EADDRINUSE
	}
	return 0
}

func (t *table) addUnix(name string, sock any) { t.unix[name] = sock }

func (t *table) unbindUnix(name string, sock any) {
	t.init()
	if t.unix[name] == sock {
		delete(t.unix, name)
	}
}

func (t *table) lookupUnix(name string) any {
	t.init()
	return t.unix[name]
}
