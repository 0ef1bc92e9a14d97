package testkit

import (
	"errors"
	"testing"
	"time"
)

// pollEvery is how often WaitFor looks again. Its conditions are ones that
// nothing signals (what /proc shows, a child's state), so it polls; 10 ms
// keeps a wait short without busying the machine's cores.
const pollEvery = 10 * time.Millisecond

var errNotYet = errors.New("not yet")

// WaitFor polls cond until it holds, and fails the test when bound passes
// first, saying "waited BOUND for WHAT".
func WaitFor(t testing.TB, bound time.Duration, what string, cond func() bool) {
	t.Helper()
	if err := poll(bound, func() error {
		if cond() {
			return nil
		}
		return errNotYet
	}); err != nil {
		t.Fatalf("waited %v for %s", bound, what)
	}
}

// WaitForNoError polls check until it returns nil, and fails the test when
// bound passes first, with check's last error: what was seen instead of
// what was awaited.
func WaitForNoError(t testing.TB, bound time.Duration, what string, check func() error) {
	t.Helper()
	if err := poll(bound, check); err != nil {
		t.Fatalf("waited %v for %s; last seen: %v", bound, what, err)
	}
}

// poll calls check until it returns nil, and returns nil then, or its last
// error once bound has passed.
func poll(bound time.Duration, check func() error) error {
	deadline := time.Now().Add(bound)
	for {
		err := check()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(pollEvery)
	}
}
