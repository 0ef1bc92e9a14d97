package inject

import (
	"errors"
	"fmt"
	"syscall"
)

// ErrCantStartThread is the failure of a thread start: CPython raises
// RuntimeError("can't start new thread") when pthread_create fails.
var ErrCantStartThread = errors.New("can't start new thread")

// GoStarter starts request goroutines for impl.Config.Go (pass its Go
// method) and fails chosen starts, the analogue of a failed Thread.start()
// (THR-05). A failed start returns an error that matches both
// ErrCantStartThread and syscall.EAGAIN (pthread_create's errno) and does
// not run the function. Calls are counted from 1, failed ones included.
type GoStarter struct {
	// Fail chooses the failing starts.
	Fail Occurrences
	// OnFire, when set, is told of each failing start (a trace).
	OnFire func(call int)

	calls counter
}

// Go runs f on a new goroutine, or fails as chosen.
func (g *GoStarter) Go(f func()) error {
	if n, fire := g.calls.next(g.Fail); fire {
		if g.OnFire != nil {
			g.OnFire(n)
		}
		return fmt.Errorf("%w (%w)", ErrCantStartThread, syscall.EAGAIN)
	}
	go f()
	return nil
}

// Calls is the number of Go calls so far.
func (g *GoStarter) Calls() int {
	n, _ := g.calls.counts()
	return n
}

// Failures is the number of Go calls that failed on purpose.
func (g *GoStarter) Failures() int {
	_, n := g.calls.counts()
	return n
}
