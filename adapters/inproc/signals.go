package inproc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// The reference runs in the harness process, so a signal for the server is
// a signal for this process. A handler that returns normally is what Go's
// signal.Notify installs: the runtime retries every system call the signal
// interrupts. Go has no handler that raises into the interrupted code; its
// analogue of SIGUSR2's raising handler (SHD-12) is a handler that cancels
// the serving loop's context with the signal as the cause (as
// signal.NotifyContext does), so that ServeForever ends with it.

// ErrSignalRaised is the cause a SIGUSR2 ends the serving loop with.
var ErrSignalRaised = errors.New("SIGUSR2 handler raised")

var signalsOnce sync.Once

// installHandlers makes SIGUSR1 and SIGALRM harmless for the rest of the
// process's life: a signal delivered after a session closed must not kill
// the harness.
func installHandlers() {
	signalsOnce.Do(func() {
		// Nobody reads the channel: signal.Notify drops what does not
		// fit, and the handler it installs is all that is wanted.
		signal.Notify(make(chan os.Signal, 1), syscall.SIGUSR1, syscall.SIGALRM)
	})
}

var signalOf = map[string]syscall.Signal{"SIGUSR1": syscall.SIGUSR1, "SIGALRM": syscall.SIGALRM}

// Signal delivers sig to this process, the server's; SIGUSR2 runs its
// raising handler.
func (s *session) Signal(_ context.Context, sig string) error {
	if sig == "SIGUSR2" {
		s.RaiseInLoop()
		return nil
	}
	no, ok := signalOf[sig]
	if !ok {
		return fmt.Errorf("inproc: signal %q: want SIGUSR1, SIGALRM or SIGUSR2", sig)
	}
	installHandlers()
	return syscall.Kill(os.Getpid(), no)
}

// RaiseInLoop is SIGUSR2's handler: it ends the running ServeForever with
// ErrSignalRaised, and does nothing when no loop runs (as the Python
// adapter's handler ignores a SIGUSR2 that no serving call would see).
func (s *session) RaiseInLoop() {
	s.mu.Lock()
	interrupt := s.interrupt
	s.mu.Unlock()
	if interrupt != nil {
		interrupt(ErrSignalRaised)
	}
}
