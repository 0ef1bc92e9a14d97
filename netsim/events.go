package netsim

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"
)

// EventKind names what happened on the wire.
type EventKind string

// The wire events a Network records. From and To are addresses as strings;
// an unnamed Unix socket is "@".
const (
	// EventListen: a listener or datagram socket was bound to From.
	EventListen EventKind = "listen"
	// EventUnbind: the socket bound to From was closed.
	EventUnbind EventKind = "unbind"
	// EventConnect: a connection from From entered the accept queue of To.
	EventConnect EventKind = "connect"
	// EventBacklogFull: a dial from From waits because the accept queue of
	// To is full.
	EventBacklogFull EventKind = "backlog-full"
	// EventRefused: a dial to To failed: nothing listens there, or the
	// listener closed while the dial waited.
	EventRefused EventKind = "refused"
	// EventAccept: the listener From accepted the connection from To.
	EventAccept EventKind = "accept"
	// EventData: From sent Size bytes of a stream to To (one event per Write).
	EventData EventKind = "data"
	// EventShutdown: From half-closed its sending side (FIN) towards To.
	EventShutdown EventKind = "shutdown"
	// EventClose: From closed the connection with To in order (FIN).
	EventClose EventKind = "close"
	// EventReset: From aborted the connection with To (RST): it closed with
	// data unread, or it was still queued when its listener closed.
	EventReset EventKind = "reset"
	// EventDatagram: From sent a datagram of Size bytes to To.
	EventDatagram EventKind = "datagram"
	// EventDrop: a datagram of Size bytes from From to To was lost: no
	// socket is bound at To, or its queue is full (UDP only).
	EventDrop EventKind = "drop"
)

// Event is one thing that happened on a Network.
type Event struct {
	Seq  int       // from 1, in the order the events happened
	Time time.Time // time.Now() when it happened: virtual inside a synctest bubble
	Kind EventKind
	Net  string // the network name: tcp, udp, unix, unixgram…
	From string
	To   string
	Size int // bytes, for data, datagram and drop events
}

func (e Event) String() string {
	s := fmt.Sprintf("#%d %s %s %s", e.Seq, e.Net, e.Kind, e.From)
	if e.To != "" {
		s += " → " + e.To
	}
	if e.Kind == EventData || e.Kind == EventDatagram || e.Kind == EventDrop {
		s += fmt.Sprintf(" (%d bytes)", e.Size)
	}
	return s
}

// eventLog is a Network's record of wire events. Its lock is taken last,
// after any socket's, and nothing else is locked while it is held.
type eventLog struct {
	mu     sync.Mutex
	events []Event
	added  broadcast
}

func (l *eventLog) add(kind EventKind, network, from, to string, size int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, Event{
		Seq: len(l.events) + 1, Time: time.Now(), Kind: kind, Net: network, From: from, To: to, Size: size,
	})
	l.added.notify()
}

func (l *eventLog) snapshot() []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Event(nil), l.events...)
}

// await returns the first event that match accepts, waiting for it until
// ctx is done.
func (l *eventLog) await(ctx context.Context, match func(Event) bool) (Event, error) {
	seen := 0
	for {
		l.mu.Lock()
		for ; seen < len(l.events); seen++ {
			if match(l.events[seen]) {
				e := l.events[seen]
				l.mu.Unlock()
				return e, nil
			}
		}
		wake := l.added.wait()
		l.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return Event{}, ctx.Err()
		}
	}
}

// addrString prints an address, "" for none.
func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}
