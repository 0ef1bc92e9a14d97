package impl

import "time"

// Clock is the server's source of time. Deadlines on real sockets are kept by
// the kernel and Go's poller against the real clock; the Clock decides the
// back-off after accept failures and what the trace records as event time.
// Under testing/synctest the real clock is already virtual.
type Clock interface {
	Now() time.Time
	// After returns a channel that receives once d has passed.
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
