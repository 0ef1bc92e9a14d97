// Package waitgroup waits for a sync.WaitGroup with a bound: the readers
// of a program's output, the calls still running on a session. Every wait
// of the harness has a deadline, and sync.WaitGroup.Wait has none.
package waitgroup

import (
	"sync"
	"time"
)

// Within waits up to bound for wg, and reports whether it was done in
// time. When it was not, the goroutine that waits on wg lives on until wg
// is done: the caller goes on, and reports what is still running.
func Within(wg *sync.WaitGroup, bound time.Duration) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	t := time.NewTimer(bound)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}
