package mutants

import (
	"errors"
	"sync"
	"syscall"
	"time"

	"github.com/sockspec/sockspec/adapters/inproc"
	"github.com/sockspec/sockspec/impl"
)

// The FRK-07 mutant waits for its children as CPython does at max_children:
// with waitpid(-1), which takes whatever child of the process exits first.
func init() {
	register(Mutant{Name: "frk07-wait-any-child", Rule: "FRK-07",
		Break: "request children are reaped with wait4(-1), which also takes children the server did not fork",
		Mutation: inproc.Mutation{Config: func(c *impl.Config) {
			inner := c.Spawner
			if inner == nil {
				inner = impl.ExecSpawner{}
			}
			c.Spawner = anyChildSpawner{inner}
		}}})
}

type anyChildSpawner struct{ inner impl.Spawner }

func (s anyChildSpawner) Spawn(spec impl.ChildSpec) (impl.Child, error) {
	ch, err := s.inner.Spawn(spec)
	if err != nil {
		return nil, err
	}
	return anyChild{pid: ch.PID()}, nil
}

// anyChild's Wait reaps any exited child of the process and files its
// status, until its own turns up.
type anyChild struct{ pid int }

var (
	reapedMu sync.Mutex
	reaped   = map[int]int{} // pid → exit status, of children reaped by wait4(-1)
)

func (c anyChild) PID() int { return c.pid }

func (c anyChild) Wait() (int, error) {
	for {
		reapedMu.Lock()
		st, ok := reaped[c.pid]
		delete(reaped, c.pid)
		reapedMu.Unlock()
		if ok {
			return st, nil
		}
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		switch {
		case errors.Is(err, syscall.EINTR):
		case err != nil:
			return 0, err
		case pid > 0:
			st := ws.ExitStatus()
			if ws.Signaled() {
				st = 128 + int(ws.Signal())
			}
			reapedMu.Lock()
			reaped[pid] = st
			reapedMu.Unlock()
		default:
			time.Sleep(5 * time.Millisecond) // nothing exited yet
		}
	}
}
