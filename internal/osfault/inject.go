package osfault

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sockspec/sockspec/internal/procfs"
	"github.com/sockspec/sockspec/spec/driver"
)

// Injector makes the faults of spec/driver happen to one running server
// process from outside it: it is the driver.Injector of the sessions whose
// server is a process of its own (adapters/process, adapters/blackbox).
// Every strace firing goes into the session's trace as a HookFault call
// event, timed from the session's start.
type Injector struct {
	pid      int
	language string
	trace    *driver.Trace
	start    time.Time

	mu     sync.Mutex
	lifts  []func() error
	closed bool
}

// NewInjector returns the injector of process pid, whose runtime is
// language ("python", "go", or "unknown" for a black box). Events go to
// trace, timed from start.
func NewInjector(pid int, language string, trace *driver.Trace, start time.Time) *Injector {
	return &Injector{pid: pid, language: language, trace: trace, start: start}
}

// Capabilities lists the inject.* capabilities this machine offers a
// server of language: strace when it is installed and may trace, rlimit
// always, cgroup when a pids cgroup can be made, except for Go, whose
// runtime aborts when it cannot start an OS thread: a full process table
// kills a Go server rather than failing its forks.
func Capabilities(language string) []string {
	caps := []string{driver.InjectCapability(driver.ViaRlimit)}
	if StraceAvailable() == nil {
		caps = append(caps, driver.InjectCapability(driver.ViaStrace))
	}
	if language != "go" && pidsCgroupUsable() == nil {
		caps = append(caps, driver.InjectCapability(driver.ViaCgroup))
	}
	return caps
}

// pidsCgroupUsable tries, once per process, to make and remove a pids
// cgroup.
var pidsCgroupUsable = sync.OnceValue(func() error {
	c, err := NewPidsCgroup("probe")
	if err != nil {
		return err
	}
	return c.Close()
})

// waitSyscalls are the readiness waits a server may block in: select and
// poll (CPython 2.7 and 3.x), epoll (Go's runtime, event loops).
var waitSyscalls = []string{"poll", "ppoll", "select", "pselect6", "epoll_wait", "epoll_pwait"}

// syscallsOf names the syscalls that carry op for a runtime, or says why
// the runtime cannot take the fault.
func syscallsOf(op, language string) ([]string, error) {
	switch op {
	case "accept":
		return []string{"accept", "accept4"}, nil
	case "recvfrom":
		return []string{"recvfrom", "recvmsg"}, nil
	case "wait":
		if language == "go" {
			// A Go program waits in its runtime's netpoller, which retries
			// EINTR before the program sees it; and a strace detaching
			// while another thread's injected call is in flight leaves it
			// ENOSYS, on which the runtime aborts.
			return nil, &driver.UnsupportedError{What: "wait interruptions by strace in a Go program: its runtime's netpoller retries EINTR itself, and dies of the ENOSYS a detaching strace can leave behind"}
		}
		return waitSyscalls, nil
	case "fork", "thread_start":
		if language == "go" {
			// Go starts its own OS threads with the same clone a child
			// needs, and aborts when one fails.
			return nil, &driver.UnsupportedError{What: op + " failures by strace: a Go runtime starts its threads with clone too, and dies when one fails"}
		}
		if op == "fork" {
			return []string{"clone"}, nil // glibc's fork
		}
		return []string{"clone3"}, nil // glibc's pthread_create
	}
	return nil, fmt.Errorf("osfault: no syscall carries fault op %q", op)
}

// when is strace's when= of a fault: its Nth to last occurrence.
func when(f driver.Fault) string {
	if f.Last() == f.Nth {
		return fmt.Sprint(f.Nth)
	}
	return fmt.Sprintf("%d..%d", f.Nth, f.Last())
}

// Inject sets f and returns once it holds; see driver.Injector. Faults
// via strace trace each firing; a resource fault (rlimit, cgroup) has no
// firing of its own to see: the spec notes when it set and lifted it.
func (in *Injector) Inject(ctx context.Context, f driver.Fault) (func() error, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	var lift func() error
	var err error
	switch f.Via {
	case driver.ViaRlimit:
		lift, err = ExhaustFDs(in.pid)
	case driver.ViaCgroup:
		if in.language == "go" {
			return nil, &driver.UnsupportedError{What: "a pids limit on a Go server: its runtime aborts when it cannot start a thread"}
		}
		lift, err = HoldForks(in.pid)
	case driver.ViaStrace:
		lift, err = in.attach(ctx, f)
	default:
		return nil, &driver.UnsupportedError{What: "faults the target injects into itself: set them in ServerConfig.Faults"}
	}
	if errors.Is(err, ErrNoPidsCgroup) {
		return nil, &driver.UnsupportedError{What: err.Error()}
	}
	if err != nil {
		return nil, fmt.Errorf("osfault: injecting %s into pid %d: %w", f, in.pid, err)
	}
	// A server that died of the fault leaves nothing to lift: its limit,
	// its cgroup membership and its tracer went with it.
	undo := lift
	lift = sync.OnceValue(func() error {
		if err := undo(); err != nil && procfs.Alive(in.pid) {
			return err
		}
		return nil
	})
	in.mu.Lock()
	if in.closed {
		in.mu.Unlock()
		return nil, errors.Join(driver.ErrSessionClosed, lift())
	}
	in.lifts = append(in.lifts, lift)
	in.mu.Unlock()
	if f.For > 0 {
		t := time.AfterFunc(f.For, func() { _ = lift() })
		return func() error { t.Stop(); return lift() }, nil
	}
	return lift, nil
}

// attach starts strace on the process and relays its firings to the
// trace until the fault is lifted.
func (in *Injector) attach(ctx context.Context, f driver.Fault) (func() error, error) {
	calls, err := syscallsOf(f.Op, in.language)
	if err != nil {
		return nil, err
	}
	t, err := Attach(ctx, in.pid, Injection{Syscalls: calls, Errno: f.Errno, Delay: f.Delay, When: when(f)})
	if err != nil {
		return nil, err
	}
	relayCtx, stop := context.WithCancel(context.Background())
	relayed := make(chan struct{})
	n := 0 // firings relayed; the relay's until it ends, then the lift's
	relay := func() {
		fs := t.Firings()
		for ; n < len(fs); n++ {
			in.traceFault(fs[n].Time, fs[n].PID, fmt.Sprintf("%s %s (%s via strace)", fs[n].Syscall, fs[n].Errno, f.Op))
		}
	}
	lift := sync.OnceValue(func() error {
		err := t.Detach()
		stop()
		<-relayed
		relay() // what strace printed before it went
		return err
	})
	// strace counts calls per thread: a runtime that accepts on several
	// threads (Go's) would fail Count calls on each. The fault's Count is
	// the process's, so strace goes once that many fired.
	go func() {
		defer close(relayed)
		for t.Wait(relayCtx, n+1) == nil {
			relay()
			if n >= max(f.Count, 1) {
				go lift()
				return
			}
		}
	}()
	return lift, nil
}

func (in *Injector) traceFault(at time.Time, pid int, what string) {
	in.trace.Append(driver.Event{Hook: driver.HookFault, Phase: driver.Call, PID: pid, Time: at.Sub(in.start), Result: what})
}

// Close lifts every fault still set; the session calls it before it ends
// the server, so that no strace, limit or cgroup outlives it.
func (in *Injector) Close() error {
	in.mu.Lock()
	lifts := in.lifts
	in.lifts, in.closed = nil, true
	in.mu.Unlock()
	var errs []error
	for _, l := range lifts {
		errs = append(errs, l())
	}
	return errors.Join(errs...)
}
