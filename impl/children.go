package impl

import (
	"errors"
	"slices"
	"sync"
)

// childTable is ForkingMixIn.active_children. Every child has a supervising
// goroutine that reaps it the moment it exits, so no zombie outlives a
// child (FRK-08); the table still keeps the pid "active" until
// collect_children takes note of the exit, which is what MaxChildren counts.
type childTable struct {
	mu      sync.Mutex
	active  map[int]bool  // pid → has exited
	changed chan struct{} // closed and replaced at every exit: a broadcast
}

func (t *childTable) init() {
	t.active = map[int]bool{}
	t.changed = make(chan struct{})
}

func (t *childTable) add(pid int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.active[pid] = false
}

// exited is called by the supervisor after it reaped pid.
func (t *childTable) exited(pid int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.active[pid]; ok {
		t.active[pid] = true
	}
	close(t.changed)
	t.changed = make(chan struct{})
}

// state returns the number of active children and a channel closed at the
// next exit.
func (t *childTable) state() (int, <-chan struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.active), t.changed
}

// collect forgets every child that has exited; with blocking it first waits
// until every child has exited (block_on_close, FRK-09).
func (t *childTable) collect(blocking bool) {
	for {
		t.mu.Lock()
		live := 0
		for pid, done := range t.active {
			if done {
				delete(t.active, pid)
			} else {
				live++
			}
		}
		next := t.changed
		t.mu.Unlock()
		if !blocking || live == 0 {
			return
		}
		<-next
	}
}

func (t *childTable) pids() []int {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []int
	for pid := range t.active {
		out = append(out, pid)
	}
	slices.Sort(out)
	return out
}

var errStopWaiting = errors.New("stop requested while waiting for a child slot")

// waitForChildSlot blocks while MaxChildren children are active, collecting
// them as they exit (FRK-06). It gives up when stop is closed.
func (s *Server) waitForChildSlot(stop <-chan struct{}) error {
	for {
		if n, _ := s.children.state(); n < s.cfg.MaxChildren {
			return nil
		}
		s.collectChildren(false)
		n, next := s.children.state()
		if n < s.cfg.MaxChildren {
			return nil
		}
		select {
		case <-next:
		case <-stop:
			return errStopWaiting
		}
	}
}
