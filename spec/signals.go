package spec

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/sockspec/sockspec/spec/driver"
)

// signaller is the session's signal delivery, or N/A.
func (s *Server) signaller() driver.Signaller {
	GinkgoHelper()
	sig, ok := s.Session.(driver.Signaller)
	if !ok {
		NA("the target cannot deliver signals to the server")
	}
	return sig
}

// Bomber delivers a signal at a steady rate until stopped.
type Bomber struct {
	sent    atomic.Int64
	cancel  context.CancelFunc
	done    chan struct{}
	stopped sync.Once
}

// Sent is the number of signals delivered so far.
func (b *Bomber) Sent() int { return int(b.sent.Load()) }

// Stop ends the bombing, waits for the bomber and returns the count.
func (b *Bomber) Stop() int {
	b.cancel()
	<-b.done
	b.stopped.Do(func() { note("signal", fmt.Sprintf("bomber stopped: %d signals delivered", b.Sent())) })
	return b.Sent()
}

// SignalEvery delivers sig every interval until the bomber is stopped
// (at the end of the spec at the latest). Where the session can see the
// server's threads, a tick sends only while a thread is blocked in a wait
// (driver.ErrNotBlocked otherwise), and Sent counts the signals that
// interrupted one.
func (s *Server) SignalEvery(sig string, interval time.Duration) *Bomber {
	GinkgoHelper()
	sg := s.signaller()
	ctx, cancel := context.WithCancel(s.ctx)
	b := &Bomber{cancel: cancel, done: make(chan struct{})}
	note("signal", fmt.Sprintf("bomber started: %s every %v", sig, interval))
	go func() {
		defer GinkgoRecover()
		defer close(b.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := sg.Signal(ctx, sig); err == nil {
					b.sent.Add(1)
				}
			}
		}
	}()
	DeferCleanup(b.Stop)
	return b
}
