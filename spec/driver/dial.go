package driver

import (
	"context"
	"net"
	"os"
)

// Dial opens a client connection of family to a server at address. A Unix
// datagram client is bound to a fresh path in clientDir, so that the server
// can reply to it, unless unbound is true (NET-11). Adapters that run the
// server elsewhere dial from the harness with it.
func Dial(ctx context.Context, family Family, address, clientDir string, unbound bool) (net.Conn, error) {
	var d net.Dialer
	switch family {
	case TCP:
		return d.DialContext(ctx, "tcp", address)
	case UDP:
		return d.DialContext(ctx, "udp", address)
	case UnixStream:
		return d.DialContext(ctx, "unix", address)
	}
	raddr := &net.UnixAddr{Name: address, Net: "unixgram"}
	if unbound {
		return net.DialUnix("unixgram", nil, raddr)
	}
	f, err := os.CreateTemp(clientDir, "client*.sock")
	if err != nil {
		return nil, err
	}
	name := f.Name()
	f.Close()
	os.Remove(name)
	return net.DialUnix("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"}, raddr)
}
