package driver

import (
	"context"
	"net"
	"os"
	"sync"
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

// SocketDir is one session's directory for Unix socket files: the
// server's, when its configuration names no address, and those its Unix
// datagram clients bind so that replies find them. It is made when first
// needed and removed with the session. The zero value is ready.
type SocketDir struct {
	mu   sync.Mutex
	path string
}

// Path makes the directory the first time and returns it.
func (d *SocketDir) Path() (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.path == "" {
		p, err := os.MkdirTemp("", "sockspec")
		if err != nil {
			return "", err
		}
		d.path = p
	}
	return d.path, nil
}

// Dial is Dial for a client of the session whose directory d is.
func (d *SocketDir) Dial(ctx context.Context, family Family, address string, unbound bool) (net.Conn, error) {
	dir := ""
	if family == UnixDgram && !unbound {
		var err error
		if dir, err = d.Path(); err != nil {
			return nil, err
		}
	}
	return Dial(ctx, family, address, dir, unbound)
}

// Remove removes the directory and what it holds, if it was made.
func (d *SocketDir) Remove() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.path != "" {
		os.RemoveAll(d.path)
		d.path = ""
	}
}
