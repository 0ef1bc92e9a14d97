package inject

import (
	"os"
	"syscall"

	"github.com/sockspec/sockspec/impl"
)

// Spawner is an impl.Spawner that fails chosen Spawn calls the way fork
// fails under a process limit (FRK-10), and otherwise starts the child with
// Inner. The error is what os.StartProcess returns then: an *os.PathError
// with Op "fork/exec" wrapping the errno, so errors.Is(err, syscall.EAGAIN)
// holds. Calls are counted from 1, failed ones included.
type Spawner struct {
	// Inner starts the children of the calls that do not fail; nil means
	// impl.ExecSpawner{}.
	Inner impl.Spawner
	// Fail chooses the failing calls.
	Fail Occurrences
	// Errno is the failure; 0 means EAGAIN.
	Errno syscall.Errno
	// OnFire, when set, is told of each failing call (a trace).
	OnFire func(call int)

	calls counter
}

// Spawn fails or starts a child.
func (s *Spawner) Spawn(spec impl.ChildSpec) (impl.Child, error) {
	if n, fire := s.calls.next(s.Fail); fire {
		errno := s.Errno
		if errno == 0 {
			errno = syscall.EAGAIN
		}
		if s.OnFire != nil {
			s.OnFire(n)
		}
		return nil, &os.PathError{Op: "fork/exec", Path: s.path(), Err: errno}
	}
	inner := s.Inner
	if inner == nil {
		inner = impl.ExecSpawner{}
	}
	return inner.Spawn(spec)
}

// path is the program a failed call would have started.
func (s *Spawner) path() string {
	if e, ok := s.Inner.(impl.ExecSpawner); ok && e.Path != "" {
		return e.Path
	}
	if exe, err := os.Executable(); err == nil {
		return exe
	}
	return os.Args[0]
}

// Calls is the number of Spawn calls so far.
func (s *Spawner) Calls() int {
	n, _ := s.calls.counts()
	return n
}

// Failures is the number of Spawn calls that failed on purpose.
func (s *Spawner) Failures() int {
	_, n := s.calls.counts()
	return n
}

var _ impl.Spawner = (*Spawner)(nil)
