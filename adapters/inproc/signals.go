package inproc

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// The reference runs in the harness process, so a signal for the server is
// a signal for this process. A handler that returns normally is what Go's
// signal.Notify installs: the runtime retries every system call the signal
// interrupts. Go has no handler that raises into the interrupted code, so
// SIGUSR2 (the raising handler of the protocol) is refused.

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

// Signal delivers sig to this process, the server's.
func (s *session) Signal(_ context.Context, sig string) error {
	no, ok := signalOf[sig]
	if !ok {
		return fmt.Errorf("inproc: signal %q: the reference in process takes SIGUSR1 or SIGALRM (a raising handler has no Go analogue)", sig)
	}
	installHandlers()
	return syscall.Kill(os.Getpid(), no)
}
