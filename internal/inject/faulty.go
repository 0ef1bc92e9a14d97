package inject

import (
	"context"
	"net"
	"sync"
	"syscall"

	"github.com/sockspec/sockspec/impl"
)

// Fault makes chosen occurrences of a call fail with Errno.
type Fault struct {
	When  Occurrences
	Errno syscall.Errno
}

// Injection is a fault that fired.
type Injection struct {
	Op   string // "accept" or "recvfrom"
	Call int    // the occurrence it fired on, from 1
	Err  error  // the error the call returned
}

// FaultyNetwork wraps a Network so that chosen Accept and ReadFrom calls of
// its sockets fail with an errno, the way the kernel fails them: EMFILE or
// ENFILE when descriptors run out, ENOBUFS, ECONNABORTED… A failed call
// takes nothing: the pending connection stays queued and the datagram
// stays unread, readiness stays true, and a later call gets them. That is
// what a real EMFILE does, and what the server's back-off (RES-01) relies
// on.
//
// Calls are counted from 1 across all sockets of the FaultyNetwork, and
// every call counts, whether or not it fails. For each call the first Fault
// whose When has it fires. Set the fields before the first Listen: every
// call reads them. The errors are shaped like the real ones: a
// *net.OpError with Op "accept" or "read" wrapping an *os.SyscallError of
// accept4 or recvfrom.
//
// The wrapped sockets keep what the server needs of the inner network's:
// for the operating system's sockets, SyscallConn and File; for a
// netsim.Network, Ready, WaitReady, SetReadyDeadline and SetBacklog. A
// FaultyNetwork is not a *net.ListenConfig, so impl cannot add its socket
// options to what it opens: give it Inner: impl.ListenConfig(cfg) to keep
// BaseServer's options over the operating system's network (with a nil
// Inner, Go's defaults apply, SO_REUSEADDR on).
type FaultyNetwork struct {
	// Inner opens the sockets; nil means the operating system's network.
	Inner impl.Network
	// Accept chooses the failing Accept calls of stream listeners.
	Accept []Fault
	// ReadFrom chooses the failing ReadFrom calls of datagram sockets.
	ReadFrom []Fault
	// OnFire, when set, is told of each fault as it fires (a trace).
	OnFire func(Injection)

	accepts counter
	reads   counter
	mu      sync.Mutex
	fired   []Injection
}

func (f *FaultyNetwork) inner() impl.Network {
	if f.Inner == nil {
		return &net.ListenConfig{}
	}
	return f.Inner
}

// Listen opens a listener of the inner network whose Accept calls fail as
// chosen.
func (f *FaultyNetwork) Listen(ctx context.Context, network, address string) (net.Listener, error) {
	ln, err := f.inner().Listen(ctx, network, address)
	if err != nil {
		return nil, err
	}
	base := &faultyListener{Listener: ln, f: f}
	switch l := ln.(type) {
	case impl.ReadyWaiter:
		return &faultyReadyListener{faultyListener: base, rw: l}, nil
	case osListener:
		return &faultyOSListener{faultyListener: base, os: l}, nil
	}
	return base, nil
}

// ListenPacket opens a datagram socket of the inner network whose ReadFrom
// calls fail as chosen.
func (f *FaultyNetwork) ListenPacket(ctx context.Context, network, address string) (net.PacketConn, error) {
	pc, err := f.inner().ListenPacket(ctx, network, address)
	if err != nil {
		return nil, err
	}
	base := &faultyPacket{PacketConn: pc, f: f}
	switch p := pc.(type) {
	case impl.ReadyWaiter:
		return &faultyReadyPacket{faultyPacket: base, rw: p}, nil
	case osPacket:
		return &faultyOSPacket{faultyPacket: base, os: p}, nil
	}
	return base, nil
}

// Dial connects a client through the inner network: its own Dial when it
// has one (a netsim.Network does), else a net.Dialer. Clients get no faults.
func (f *FaultyNetwork) Dial(ctx context.Context, network, address string) (net.Conn, error) {
	if d, ok := f.inner().(interface {
		Dial(ctx context.Context, network, address string) (net.Conn, error)
	}); ok {
		return d.Dial(ctx, network, address)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, address)
}

// AcceptCalls is the number of Accept calls so far, failed ones included.
func (f *FaultyNetwork) AcceptCalls() int {
	n, _ := f.accepts.counts()
	return n
}

// ReadFromCalls is the number of ReadFrom calls so far, failed ones
// included.
func (f *FaultyNetwork) ReadFromCalls() int {
	n, _ := f.reads.counts()
	return n
}

// Injected lists the faults that fired, in order.
func (f *FaultyNetwork) Injected() []Injection {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Injection(nil), f.fired...)
}

// inject counts a call and returns the errno it must fail with, or 0.
func (f *FaultyNetwork) inject(c *counter, faults []Fault) (int, syscall.Errno) {
	var when Occurrences
	for _, ft := range faults {
		when = when.Or(ft.When)
	}
	n, fire := c.next(when)
	if !fire {
		return n, 0
	}
	for _, ft := range faults {
		if ft.When.Has(n) {
			return n, ft.Errno
		}
	}
	return n, 0
}

func (f *FaultyNetwork) note(op string, call int, err error) {
	in := Injection{Op: op, Call: call, Err: err}
	f.mu.Lock()
	f.fired = append(f.fired, in)
	f.mu.Unlock()
	if f.OnFire != nil {
		f.OnFire(in)
	}
}

var _ impl.Network = (*FaultyNetwork)(nil)
