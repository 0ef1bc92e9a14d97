// Package procgroup runs a command as the leader of a process group of its
// own and ends that group completely: the command, every process it started
// that stayed in the group, and the orphans among them, which this process
// adopts (it makes itself their subreaper) and reaps.
//
// A server under test forks request children that may outlive it; when a
// session ends, or the harness is interrupted (KillAll), none of them may be
// left running or left a zombie. Every adapter that runs a server as a
// child process starts it here, so that KillAll reaches them all.
package procgroup

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// ReapBound is how long a group may take to die after SIGKILL.
const ReapBound = 5 * time.Second

// pollEvery is the pace of the reaping loop. Orphans reach their new parent
// asynchronously and no event says that a group is empty, so the loop
// polls, always under a deadline.
const pollEvery = 5 * time.Millisecond

// ErrRunning is ExitErr's answer while the leader runs.
var ErrRunning = errors.New("procgroup: the command is still running")

// Group is a command started as the leader of a new process group.
type Group struct {
	cmd     *exec.Cmd
	pgid    int
	exited  chan struct{} // closed once the leader is reaped
	exitErr error         // the leader's Wait error, written before exited closes

	mu   sync.Mutex
	gone bool // every member is reaped: the group id may be reused, so no more signals

	stopOnce sync.Once
	stopErr  error
}

// Start starts cmd as the leader of a new process group. The kernel kills
// the leader with SIGKILL if this process dies first (Pdeathsig), and this
// process becomes the subreaper of every orphan it leaves.
//
// cmd's Stdin, Stdout and Stderr must be nil or *os.File (pipes the caller
// reads itself): with any other io.Reader or io.Writer, exec would copy
// through goroutines that Wait joins, and Wait would not return while a
// request child still holds the pipe. The leader is waited for at once, in
// a goroutine of the group; Exited says when.
func Start(cmd *exec.Cmd) (*Group, error) {
	for name, s := range map[string]any{"Stdin": cmd.Stdin, "Stdout": cmd.Stdout, "Stderr": cmd.Stderr} {
		switch f := s.(type) {
		case nil, *os.File:
		default:
			return nil, fmt.Errorf("procgroup: cmd.%s is a %T: give an *os.File (a pipe read by the caller) or nil", name, f)
		}
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	cmd.SysProcAttr.Pgid = 0
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	becomeSubreaper()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	g := &Group{cmd: cmd, pgid: cmd.Process.Pid, exited: make(chan struct{})}
	liveMu.Lock()
	live[g] = struct{}{}
	liveMu.Unlock()
	go g.wait()
	return g, nil
}

func (g *Group) wait() {
	g.exitErr = g.cmd.Wait()
	close(g.exited)
}

// PGID is the group's id, which is also the leader's pid.
func (g *Group) PGID() int { return g.pgid }

// Exited is closed once the leader has exited and been reaped; other
// members of the group may live on.
func (g *Group) Exited() <-chan struct{} { return g.exited }

// ExitErr is the leader's exit as exec reports it (nil for status 0, an
// *exec.ExitError otherwise), or ErrRunning before Exited is closed.
func (g *Group) ExitErr() error {
	select {
	case <-g.exited:
		return g.exitErr
	default:
		return ErrRunning
	}
}

// Signal sends sig to every process of the group. A group that is gone
// returns ESRCH without signalling: its id may belong to another by now.
func (g *Group) Signal(sig syscall.Signal) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.gone {
		return syscall.ESRCH
	}
	return syscall.Kill(-g.pgid, sig)
}

// Kill sends SIGKILL to every process of the group.
func (g *Group) Kill() { _ = g.Signal(syscall.SIGKILL) }

// Stop ends the group: SIGTERM to every member, and when the group is not
// gone within grace (at once when grace is 0), SIGKILL, repeated until
// every member, orphans included, is reaped or ReapBound has passed. Stop
// is idempotent: later calls return the first call's result.
func (g *Group) Stop(grace time.Duration) error {
	g.stopOnce.Do(func() {
		g.stopErr = g.stop(grace)
		liveMu.Lock()
		delete(live, g)
		liveMu.Unlock()
	})
	return g.stopErr
}

func (g *Group) stop(grace time.Duration) error {
	if grace > 0 {
		_ = g.Signal(syscall.SIGTERM)
		if g.awaitGone(time.Now().Add(grace), false) == nil {
			return nil
		}
	}
	g.Kill()
	return g.awaitGone(time.Now().Add(ReapBound), true)
}

// awaitGone waits for the leader, then reaps members until none is left.
// With kill, every round sends SIGKILL again, for processes forked after
// the last one.
func (g *Group) awaitGone(deadline time.Time, kill bool) error {
	bound := time.Until(deadline)
	t := time.NewTimer(bound)
	defer t.Stop()
	select {
	case <-g.exited:
	case <-t.C:
		return fmt.Errorf("procgroup: the leader of group %d (%v) did not exit within %v", g.pgid, g.cmd.Args, bound.Round(time.Millisecond))
	}
	for {
		if g.reap() {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("procgroup: processes of group %d (%v) outlived its leader by the deadline: a process ignored SIGKILL or is stuck in the kernel", g.pgid, g.cmd.Args)
		}
		if kill {
			g.Kill()
		}
		time.Sleep(pollEvery)
	}
}

// reap waits for every exited member of the group and reports whether
// none is left. The leader's orphans are this process's children (it is
// their subreaper); wait4(-pgid) takes only this group's. It runs only
// once the leader is reaped, so that it never steals the leader from Wait.
func (g *Group) reap() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.gone {
		return true
	}
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-g.pgid, &ws, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			break
		}
	}
	// A zombie still answers kill(0): ESRCH means every member is reaped.
	g.gone = errors.Is(syscall.Kill(-g.pgid, 0), syscall.ESRCH)
	return g.gone
}

// becomeSubreaper makes this process the parent of orphaned descendants
// (PR_SET_CHILD_SUBREAPER), so that the children of a killed leader are
// reaped here instead of lingering as zombies on a machine whose init does
// not reap.
var becomeSubreaper = sync.OnceFunc(func() {
	const prSetChildSubreaper = 36
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0)
})

// live is every group started and not yet stopped, for KillAll.
var (
	liveMu sync.Mutex
	live   = map[*Group]struct{}{}
)

// KillAll sends SIGKILL to every group started here and not yet stopped:
// call it when the harness is interrupted. The groups' owners still Stop
// them, which reaps what KillAll killed.
func KillAll() {
	liveMu.Lock()
	defer liveMu.Unlock()
	for g := range live {
		g.Kill()
	}
}

// Live is the number of groups started and not yet stopped (a test's check
// that nothing is left running).
func Live() int {
	liveMu.Lock()
	defer liveMu.Unlock()
	return len(live)
}
