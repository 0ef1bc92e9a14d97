package netsim

import (
	"net"
	"os"
	"syscall"
)

// The error shapes of Go's net package, built the way it builds them, so
// that a caller's errors.Is, errors.As and Timeout checks behave as they do
// on a real socket.

// opError is net's *OpError: op is "dial", "listen", "accept", "read",
// "write", "close" or "set"; source is the local address, addr the remote
// one (for listen and accept, the listening address).
func opError(op, network string, source, addr net.Addr, err error) error {
	return &net.OpError{Op: op, Net: network, Source: source, Addr: addr, Err: err}
}

// syscallError is an errno as the named system call reported it.
func syscallError(call string, errno syscall.Errno) error {
	return os.NewSyscallError(call, errno)
}
