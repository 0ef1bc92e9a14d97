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
	anyReaper.add()
	return anyChild{pid: ch.PID()}, nil
}

// anyChild's Wait takes its status from what the reaper filed.
type anyChild struct{ pid int }

func (c anyChild) PID() int { return c.pid }

func (c anyChild) Wait() (int, error) {
	defer anyReaper.done()
	for {
		if st, ok := anyReaper.take(c.pid); ok {
			return st, nil
		}
		if anyReaper.lost() {
			return 0, syscall.ECHILD
		}
		time.Sleep(5 * time.Millisecond) // the reaper files statuses as it polls
	}
}

// anyReaper reaps whatever child of the process exits, as long as a
// request child is awaited: CPython's waitpid(-1) at max_children, made
// steady so that the spec's outcome does not hang on which zombie the
// kernel hands out first.
var anyReaper = &reaper{statuses: map[int]int{}}

type reaper struct {
	mu       sync.Mutex
	awaited  int
	running  bool
	statuses map[int]int // pid → exit status of children reaped
	echild   bool
}

func (r *reaper) add() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.awaited++
	r.echild = false
	if !r.running {
		r.running = true
		go r.loop()
	}
}

func (r *reaper) done() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.awaited--
}

func (r *reaper) take(pid int) (int, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st, ok := r.statuses[pid]
	delete(r.statuses, pid)
	return st, ok
}

func (r *reaper) lost() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.echild
}

// loop polls wait4(-1) until no request child is awaited.
func (r *reaper) loop() {
	for {
		r.mu.Lock()
		if r.awaited == 0 {
			r.running = false
			r.mu.Unlock()
			return
		}
		r.mu.Unlock()
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		switch {
		case errors.Is(err, syscall.EINTR):
		case errors.Is(err, syscall.ECHILD):
			r.mu.Lock()
			r.echild = true
			r.mu.Unlock()
			time.Sleep(5 * time.Millisecond)
		case pid > 0:
			st := ws.ExitStatus()
			if ws.Signaled() {
				st = 128 + int(ws.Signal())
			}
			r.mu.Lock()
			r.statuses[pid] = st
			r.mu.Unlock()
		default:
			time.Sleep(5 * time.Millisecond) // nothing exited yet
		}
	}
}
