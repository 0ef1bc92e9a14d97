package osfault

import (
	"fmt"
	"syscall"

	"github.com/sockspec/sockspec/internal/procfs"
	"github.com/sockspec/sockspec/spec/driver"
)

// blockingSyscalls are where a server's thread waits for its next request
// or child: a readiness wait, a blocking accept or recvfrom (a server
// without a selector), waitpid.
var blockingSyscalls = append([]string{"accept", "accept4", "recvfrom", "recvmsg", "wait4", "waitid"}, waitSyscalls...)

// SignalBlocked delivers sig to every thread of process pid that /proc
// shows blocked waiting for work (select, poll, epoll; a blocking accept,
// recvfrom or waitpid), and returns
// driver.ErrNotBlocked, sending nothing, when none is. A signal sent to
// the process as a whole goes to whichever thread the kernel picks, often
// not the one that waits: only a signal that reaches the waiting thread
// interrupts the wait, which is what the EINTR rules are about.
func SignalBlocked(pid int, sig syscall.Signal) error {
	waiting, err := procfs.BlockedIn(pid, blockingSyscalls...)
	if err != nil {
		return err
	}
	if len(waiting) == 0 {
		return driver.ErrNotBlocked
	}
	for _, t := range waiting {
		if err := tgkill(pid, t.TID, sig); err != nil && err != syscall.ESRCH {
			return fmt.Errorf("osfault: signalling thread %d of %d: %w", t.TID, pid, err)
		}
	}
	return nil
}

func tgkill(pid, tid int, sig syscall.Signal) error {
	_, _, e := syscall.RawSyscall(syscall.SYS_TGKILL, uintptr(pid), uintptr(tid), uintptr(sig))
	if e != 0 {
		return e
	}
	return nil
}
