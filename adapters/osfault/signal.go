package osfault

import (
	"fmt"
	"slices"
	"syscall"

	"github.com/sockspec/sockspec/adapters/procfs"
	"github.com/sockspec/sockspec/spec/driver"
)

// SignalBlocked delivers sig to every thread of process pid that /proc
// shows blocked in a readiness wait (select, poll, epoll), and returns
// driver.ErrNotBlocked, sending nothing, when none is. A signal sent to
// the process as a whole goes to whichever thread the kernel picks, often
// not the one that waits: only a signal that reaches the waiting thread
// interrupts the wait, which is what the EINTR rules are about.
func SignalBlocked(pid int, sig syscall.Signal) error {
	tasks, err := procfs.Blocked(pid)
	if err != nil {
		return err
	}
	sent := 0
	for _, t := range tasks {
		if !slices.Contains(waitSyscalls, t.Syscall) {
			continue
		}
		if err := tgkill(pid, t.TID, sig); err != nil && err != syscall.ESRCH {
			return fmt.Errorf("osfault: signalling thread %d of %d: %w", t.TID, pid, err)
		}
		sent++
	}
	if sent == 0 {
		return driver.ErrNotBlocked
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
