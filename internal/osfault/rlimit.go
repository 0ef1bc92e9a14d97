package osfault

import (
	"errors"
	"fmt"
	"sync"
	"syscall"
	"unsafe"

	"github.com/sockspec/sockspec/internal/procfs"
)

// Limit is a resource limit as prlimit64 reads and writes it. Unlimited
// stands for RLIM_INFINITY.
type Limit struct{ Soft, Hard uint64 }

// Unlimited is RLIM_INFINITY, the value of a limit that does not limit.
const Unlimited = ^uint64(0)

// rlimit64 is the kernel's struct rlimit64: two 64-bit words on every
// architecture, unlike syscall.Rlimit.
type rlimit64 struct{ cur, max uint64 }

// prlimit reads the RLIMIT_NOFILE of pid into old and, when set is not nil,
// writes set in the same call.
func prlimit(pid int, set *rlimit64) (rlimit64, error) {
	var old rlimit64
	_, _, errno := syscall.RawSyscall6(syscall.SYS_PRLIMIT64, uintptr(pid), uintptr(syscall.RLIMIT_NOFILE),
		uintptr(unsafe.Pointer(set)), uintptr(unsafe.Pointer(&old)), 0, 0)
	if errno != 0 {
		return old, prlimitError(pid, set, errno)
	}
	return old, nil
}

func prlimitError(pid int, set *rlimit64, errno syscall.Errno) error {
	switch {
	case errno == syscall.ESRCH:
		return fmt.Errorf("osfault: prlimit: no process %d: %w", pid, errno)
	case errno == syscall.EPERM && set != nil:
		return fmt.Errorf("osfault: prlimit: may not set RLIMIT_NOFILE of process %d (%w): raising a hard limit, "+
			"or changing another user's process, needs CAP_SYS_RESOURCE; run as root", pid, errno)
	case errno == syscall.EPERM:
		return fmt.Errorf("osfault: prlimit: may not read RLIMIT_NOFILE of process %d (%w): run as its user or root", pid, errno)
	case errno == syscall.EINVAL && set != nil:
		return fmt.Errorf("osfault: prlimit: the kernel refuses soft %d, hard %d for process %d (%w): "+
			"the soft limit must not exceed the hard one, nor the hard one fs.nr_open", set.cur, set.max, pid, errno)
	}
	return fmt.Errorf("osfault: prlimit on process %d: %w", pid, errno)
}

// Nofile reads the RLIMIT_NOFILE of process pid.
func Nofile(pid int) (Limit, error) {
	old, err := prlimit(pid, nil)
	return Limit{Soft: old.cur, Hard: old.max}, err
}

// SetNofile sets the RLIMIT_NOFILE of process pid, a running one, as
// prlimit(1) does. Lowering the soft limit below descriptors the process
// holds is allowed: it keeps them, and only new ones are refused.
func SetNofile(pid int, l Limit) error {
	if l.Soft > l.Hard {
		return fmt.Errorf("osfault: SetNofile(%d): soft limit %d is above hard limit %d; the soft one may be at most the hard one",
			pid, l.Soft, l.Hard)
	}
	_, err := prlimit(pid, &rlimit64{cur: l.Soft, max: l.Hard})
	return err
}

// lowestFreeFD is the descriptor number the kernel gives pid's next
// descriptor: the lowest one not open.
func lowestFreeFD(pid int) (int, error) {
	fds, err := procfs.OpenFDs(pid)
	if err != nil {
		return 0, fmt.Errorf("osfault: reading the descriptors of process %d: %w", pid, err)
	}
	open := make(map[int]bool, len(fds))
	for _, n := range fds {
		open[n] = true
	}
	fd := 0
	for open[fd] {
		fd++
	}
	return fd, nil
}

// ExhaustFDs makes the next descriptor process pid asks for (an accept, an
// open, a pipe) fail with EMFILE, and returns lift, which restores the
// limit it had. lift may be called more than once.
//
// The kernel gives a new descriptor the lowest free number and refuses it
// with EMFILE when that number is not below the soft RLIMIT_NOFILE. So the
// soft limit becomes the lowest free number: the count of open descriptors
// when they are dense from 0 (the usual case), and less when the process
// has holes, which would otherwise take new descriptors. The process may
// close a descriptor between the reading of /proc/PID/fd and the setting,
// so ExhaustFDs reads again after setting, and lowers again if a hole
// opened. Closing a descriptor later, while the fault holds, lets one
// through: the fault exhausts, it does not pin.
func ExhaustFDs(pid int) (lift func() error, err error) {
	prev, err := Nofile(pid)
	if err != nil {
		return nil, err
	}
	soft := prev.Soft
	for range 5 {
		fd, err := lowestFreeFD(pid)
		if err != nil {
			_ = SetNofile(pid, prev)
			return nil, err
		}
		if uint64(fd) >= soft {
			break
		}
		soft = uint64(fd)
		if err := SetNofile(pid, Limit{Soft: soft, Hard: prev.Hard}); err != nil {
			_ = SetNofile(pid, prev)
			return nil, err
		}
	}
	if fd, err := lowestFreeFD(pid); err == nil && uint64(fd) < soft {
		_ = SetNofile(pid, prev)
		return nil, fmt.Errorf("osfault: ExhaustFDs(%d): the process keeps closing descriptors (lowest free %d, limit %d); "+
			"exhaust it while it is idle", pid, fd, soft)
	}
	return once(func() error {
		if err := SetNofile(pid, prev); !errors.Is(err, syscall.ESRCH) {
			return err
		}
		return nil // the process is gone, and its limit with it
	}), nil
}

// once makes a lift function that does its work on the first call and
// returns that call's error on every later one.
func once(f func() error) func() error {
	var o sync.Once
	var err error
	return func() error {
		o.Do(func() { err = f() })
		return err
	}
}
