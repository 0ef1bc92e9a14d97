package fakes_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sockspec/sockspec/fakes"
)

func TestClock(t *testing.T) {
	var c fakes.Clock
	if !c.Now().Equal(fakes.Epoch) {
		t.Fatalf("zero Clock starts at %v", c.Now())
	}
	start := c.Now()
	now := c.After(0)
	if got := <-now; !got.Equal(start) {
		t.Fatalf("After(0) fired with %v", got)
	}
	late := c.After(3 * time.Second)
	early := c.After(time.Second)
	also := c.After(time.Second)
	if c.Pending() != 3 {
		t.Fatalf("%d pending", c.Pending())
	}
	if d, ok := c.NextIn(); d != time.Second || !ok {
		t.Fatalf("next in %v %v", d, ok)
	}
	c.Advance(999 * time.Millisecond)
	if len(early) != 0 {
		t.Fatal("fired early")
	}
	c.Advance(time.Millisecond)
	if got := <-early; !got.Equal(start.Add(time.Second)) {
		t.Fatalf("fired with %v", got)
	}
	if got := <-also; !got.Equal(start.Add(time.Second)) {
		t.Fatalf("fired with %v", got)
	}
	if d, ok := c.AdvanceToNext(); d != 2*time.Second || !ok {
		t.Fatalf("AdvanceToNext %v %v", d, ok)
	}
	if got := <-late; !got.Equal(start.Add(3 * time.Second)) {
		t.Fatalf("fired with %v", got)
	}
	if _, ok := c.AdvanceToNext(); ok || c.Pending() != 0 {
		t.Fatal("a timer is left")
	}
	c.Advance(time.Hour)
	if !c.Now().Equal(start.Add(time.Hour + 3*time.Second)) {
		t.Fatalf("now %v", c.Now())
	}

	other := fakes.NewClock(time.Unix(100, 0))
	if !other.Now().Equal(time.Unix(100, 0)) {
		t.Fatalf("NewClock starts at %v", other.Now())
	}
}

// AwaitTimers waits, by channel, until the code under test asks for a
// timer; it gives up when its context ends.
func TestClockAwaitTimers(t *testing.T) {
	c := &fakes.Clock{}
	ready := c.WhenPending(2)
	c.After(time.Second)
	select {
	case <-ready:
		t.Fatal("ready with one timer")
	default:
	}
	fired := make(chan time.Time, 1)
	go func() { fired <- <-c.After(time.Minute) }()
	if err := c.AwaitTimers(bounded(t), 2); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ready:
	default:
		t.Fatal("WhenPending channel not closed")
	}
	c.Advance(time.Minute)
	select {
	case <-fired:
	case <-time.After(time.Minute):
		t.Fatal("the goroutine's timer did not fire")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.AwaitTimers(ctx, 5); !errors.Is(err, context.Canceled) {
		t.Fatalf("AwaitTimers: %v", err)
	}
}

// bounded is a context that ends when the test does or after a minute,
// whichever comes first, so that no wait of a test is unbounded.
func bounded(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}
