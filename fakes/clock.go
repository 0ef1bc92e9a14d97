package fakes

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/sockspec/sockspec/impl"
)

// Epoch is where a Clock's zero value starts: the same instant as the
// virtual clock of a testing/synctest bubble.
var Epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// Clock is an impl.Clock that moves only when the test moves it. After
// channels fire, in order of their time, when Advance passes it. Use it
// where what matters is which pauses were asked for (the accept back-off)
// rather than how long things take; inside a synctest bubble the real clock
// is virtual already.
//
// A test waits for the code under test to ask for a timer with
// AwaitTimers, and then advances the clock: nothing sleeps. A timer whose
// channel nobody reads any more stays pending until its time passes. The
// zero value starts at Epoch. A Clock must not be shared between synctest
// bubbles.
type Clock struct {
	mu      sync.Mutex
	now     time.Time
	started bool
	seq     uint64
	timers  []*clockTimer // pending, by time then creation
	waiters []*timerWaiter
}

type clockTimer struct {
	when time.Time
	seq  uint64
	ch   chan time.Time
}

// timerWaiter is a test waiting for n timers to be pending.
type timerWaiter struct {
	n  int
	ch chan struct{}
}

// NewClock returns a Clock that starts at start.
func NewClock(start time.Time) *Clock { return &Clock{now: start, started: true} }

func (c *Clock) nowLocked() time.Time {
	if !c.started {
		c.now, c.started = Epoch, true
	}
	return c.now
}

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nowLocked()
}

// After returns a channel that receives the clock's time once Advance has
// moved it d past now; at once when d ≤ 0.
func (c *Clock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	now := c.nowLocked()
	if d <= 0 {
		ch <- now
		return ch
	}
	c.seq++
	t := &clockTimer{when: now.Add(d), seq: c.seq, ch: ch}
	i := sort.Search(len(c.timers), func(i int) bool { return c.timers[i].when.After(t.when) })
	c.timers = append(c.timers, nil)
	copy(c.timers[i+1:], c.timers[i:])
	c.timers[i] = t
	c.wakeWaitersLocked()
	return ch
}

// Advance moves the clock forward by d, firing every timer it passes, the
// earliest first, each with its own time.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	end := c.nowLocked().Add(max(d, 0))
	for len(c.timers) > 0 && !c.timers[0].when.After(end) {
		t := c.timers[0]
		c.timers[0] = nil
		c.timers = c.timers[1:]
		c.now = t.when
		t.ch <- t.when // buffered, and sent to once
	}
	c.now = end
}

// AdvanceToNext moves the clock to the earliest pending timer and fires
// it, with any others due at the same time. It returns how far the clock
// moved, and false when no timer was pending.
func (c *Clock) AdvanceToNext() (time.Duration, bool) {
	c.mu.Lock()
	if len(c.timers) == 0 {
		c.mu.Unlock()
		return 0, false
	}
	d := c.timers[0].when.Sub(c.nowLocked())
	c.mu.Unlock()
	c.Advance(d)
	return d, true
}

// Pending is the number of timers that have not fired.
func (c *Clock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// NextIn is how long until the earliest pending timer, and false when none
// is pending.
func (c *Clock) NextIn() (time.Duration, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.timers) == 0 {
		return 0, false
	}
	return c.timers[0].when.Sub(c.nowLocked()), true
}

// WhenPending returns a channel that is closed once at least n timers are
// pending at the same time.
func (c *Clock) WhenPending(n int) <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := &timerWaiter{n: n, ch: make(chan struct{})}
	c.waiters = append(c.waiters, w)
	c.wakeWaitersLocked()
	return w.ch
}

// AwaitTimers waits until at least n timers are pending, or ctx is done.
func (c *Clock) AwaitTimers(ctx context.Context, n int) error {
	ch := c.WhenPending(n)
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		c.dropWaiter(ch)
		return ctx.Err()
	}
}

func (c *Clock) wakeWaitersLocked() {
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if len(c.timers) >= w.n {
			close(w.ch)
		} else {
			kept = append(kept, w)
		}
	}
	clear(c.waiters[len(kept):])
	c.waiters = kept
}

func (c *Clock) dropWaiter(ch <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, w := range c.waiters {
		if w.ch == ch {
			c.waiters = append(c.waiters[:i:i], c.waiters[i+1:]...)
			return
		}
	}
}

// Clock is what impl reads time from.
var _ impl.Clock = (*Clock)(nil)
