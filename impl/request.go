package impl

import (
	"context"
	"net"
)

// Request is one request as get_request returned it (ORD-10): an accepted
// connection for stream servers, or a datagram and the server's socket for
// datagram servers.
type Request struct {
	// ID numbers the server's requests from 1; a request child keeps the
	// number its parent gave it.
	ID uint64
	// ClientAddr is the peer address from accept or recvfrom. A Unix client
	// that never bound has no address: ClientAddr is nil or has an empty name.
	ClientAddr net.Addr
	// Conn is the accepted connection (stream servers only).
	Conn net.Conn
	// Data is the datagram, at most MaxPacketSize bytes (datagram servers only).
	Data []byte
	// PacketConn is the server's own socket, shared by every request, used to
	// reply (datagram servers only). It must not be closed by a handler.
	PacketConn net.PacketConn
	// Server is the server that took the request.
	Server *Server

	ctx context.Context
}

// Context is the context of the HandleRequest or ServeForever call that took
// the request. Handlers that block should give up when it is done.
func (r *Request) Context() context.Context {
	if r == nil || r.ctx == nil {
		return context.Background()
	}
	return r.ctx
}

func (r *Request) id() uint64 {
	if r == nil {
		return 0
	}
	return r.ID
}

func (r *Request) addr() string {
	if r == nil || r.ClientAddr == nil {
		return ""
	}
	return r.ClientAddr.String()
}
