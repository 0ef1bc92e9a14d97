package netsim

import (
	"context"
	"net"
	"syscall"
	"time"
)

// Dial connects to address. For tcp and unix it returns a *Conn once the
// connection is in the listener's accept queue (as connect(2) returns
// before accept), waiting while the queue is full. For udp and unixgram it
// returns a connected *PacketConn; a UDP one is bound to a free port so
// that it can be answered, a Unix one is unnamed.
func (n *Network) Dial(ctx context.Context, network, address string) (net.Conn, error) {
	f, err := parseNetwork("dial", network)
	if err != nil {
		return nil, err
	}
	raddr, err := resolve("dial", f, address)
	if err != nil {
		return nil, err
	}
	if f.stream {
		return n.dialStream(ctx, f, raddr)
	}
	return n.dialPacket(f, raddr)
}

func (n *Network) dialStream(ctx context.Context, f family, raddr net.Addr) (net.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, opError("dial", f.name, nil, raddr, err)
	}
	n.mu.Lock()
	var target any
	if f.space == "unix" {
		target = n.binds.lookupUnix(raddr.(*net.UnixAddr).Name)
	} else {
		ip, port := ipPort(raddr)
		target = n.binds.lookupInet(f.space, ip, port)
	}
	n.mu.Unlock()
	switch l := target.(type) {
	case *Listener:
		var fate Connection
		if e := n.engine(); e != nil && e.Affects(true) {
			fate = e.Connect(time.Now(), f.name)
			if err := n.linkConnect(ctx, f, raddr, fate); err != nil {
				return nil, err
			}
		}
		return l.connect(ctx, f, raddr, fate.Up, fate.Down)
	case *PacketConn:
		return nil, opError("dial", f.name, nil, raddr, syscallError("connect", syscall.EPROTOTYPE))
	}
	errno := syscall.ECONNREFUSED
	if f.space == "unix" {
		errno = syscall.ENOENT
	}
	n.record(EventRefused, f.name, nil, raddr, 0)
	return nil, opError("dial", f.name, nil, raddr, syscallError("connect", errno))
}

// linkConnect carries out what the link model decided for a connect: a
// refusal, or a wait (a full backlog, a partition) that the dial's context
// can end.
func (n *Network) linkConnect(ctx context.Context, f family, raddr net.Addr, fate Connection) error {
	if fate.Refused {
		n.record(EventRefused, f.name, nil, raddr, 0)
		return opError("dial", f.name, nil, raddr, syscallError("connect", syscall.ECONNREFUSED))
	}
	if fate.Hold == 0 {
		return nil
	}
	n.record(EventBacklogFull, f.name, nil, raddr, 0)
	var expired <-chan time.Time
	if fate.Hold > 0 {
		t := time.NewTimer(fate.Hold)
		defer t.Stop()
		expired = t.C
	}
	select {
	case <-expired:
		return nil
	case <-ctx.Done():
		return opError("dial", f.name, nil, raddr, ctx.Err())
	}
}

func (n *Network) dialPacket(f family, raddr net.Addr) (net.Conn, error) {
	pc := newPacketConn(n, f)
	pc.raddr = raddr
	if f.space == "unix" {
		n.mu.Lock()
		target := n.binds.lookupUnix(raddr.(*net.UnixAddr).Name)
		n.mu.Unlock()
		switch target.(type) {
		case *PacketConn:
		case *Listener:
			return nil, opError("dial", f.name, nil, raddr, syscallError("connect", syscall.EPROTOTYPE))
		default:
			return nil, opError("dial", f.name, nil, raddr, syscallError("connect", syscall.ENOENT))
		}
		pc.laddr = unnamed(f.name)
		return pc, nil
	}
	ip, port := ipPort(raddr)
	ip = loopbackFor(ip)
	pc.raddr = inetAddr(f, ip, port) // replies come from a concrete address
	if err := n.bind("dial", f, inetAddr(f, ip, 0), pc, pc.bound); err != nil {
		return nil, err
	}
	return pc, nil
}

// loopbackFor is the local address a client gets when it dials ip.
func loopbackFor(ip net.IP) net.IP {
	switch {
	case !ip.IsUnspecified():
		return ip
	case ip.To4() != nil:
		return net.IPv4(127, 0, 0, 1)
	}
	return net.IPv6loopback
}
