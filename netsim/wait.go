package netsim

import (
	"sync"
	"time"
)

// broadcast wakes every goroutine waiting for some state to change. Waiters
// block on a channel rather than a sync.Cond so that they can also select on
// a deadline and a close, and so that a testing/synctest bubble sees them as
// durably blocked. The channel is made by the first waiter, inside whatever
// bubble it runs in. Both methods need the lock of the state's owner.
type broadcast struct{ ch chan struct{} }

// wait returns a channel that the next notify closes.
func (b *broadcast) wait() <-chan struct{} {
	if b.ch == nil {
		b.ch = make(chan struct{})
	}
	return b.ch
}

// notify wakes the current waiters.
func (b *broadcast) notify() {
	if b.ch != nil {
		close(b.ch)
		b.ch = nil
	}
}

// deadline is a socket deadline as a channel that is closed once the
// deadline passes, so that a blocked call can select on it and is woken when
// the deadline is moved into the past. Its timer is a time.AfterFunc, which
// runs on the bubble's virtual clock under testing/synctest.
type deadline struct {
	mu      sync.Mutex
	timer   *time.Timer
	gen     uint64 // invalidates a timer that fires after it was replaced
	expired bool
	ch      chan struct{} // made on demand; closed while expired
}

// set moves the deadline to t; the zero time means none.
func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stopLocked()
	if t.IsZero() {
		d.reopenLocked()
		return
	}
	wait := time.Until(t)
	if wait <= 0 {
		d.expireLocked()
		return
	}
	d.reopenLocked()
	gen := d.gen
	d.timer = time.AfterFunc(wait, func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.gen == gen {
			d.expireLocked()
		}
	})
}

// done returns a channel that is closed while the deadline has passed.
func (d *deadline) done() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ch == nil {
		d.ch = make(chan struct{})
		if d.expired {
			close(d.ch)
		}
	}
	return d.ch
}

// passed reports whether the deadline has passed.
func (d *deadline) passed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.expired
}

// stop drops the timer, so that a closed socket leaves nothing scheduled.
func (d *deadline) stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stopLocked()
}

func (d *deadline) stopLocked() {
	d.gen++
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
}

func (d *deadline) expireLocked() {
	if !d.expired {
		d.expired = true
		if d.ch != nil {
			close(d.ch)
		}
	}
}

// reopenLocked makes the deadline pending again; goroutines that saw the
// old, closed channel look again and wait on a fresh one.
func (d *deadline) reopenLocked() {
	if d.expired {
		d.expired = false
		d.ch = nil
	}
}
