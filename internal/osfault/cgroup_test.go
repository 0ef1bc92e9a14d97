package osfault

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// newGroup makes a pids cgroup for the test, or skips when the machine has
// none, and closes it at the test's end.
func newGroup(t *testing.T, name string) *PidsCgroup {
	t.Helper()
	g, err := NewPidsCgroup(name)
	if errors.Is(err, ErrNoPidsCgroup) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	closeAtEnd(t, g.Close)
	return g
}

// cgroupLine is the line of /proc/PID/cgroup for g's hierarchy.
func cgroupLine(t *testing.T, g *PidsCgroup, pid int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.SplitN(l, ":", 3); len(f) == 3 &&
			((g.h.version == 1 && hasWord(f[1], ',', "pids")) || (g.h.version == 2 && f[0] == "0")) {
			return l
		}
	}
	t.Fatalf("process %d has no line for the pids hierarchy in /proc/%d/cgroup", pid, pid)
	return ""
}

func TestPidsCgroupLifecycle(t *testing.T) {
	g := newGroup(t, "life")
	c := startPython(t, pythons(t)[0], "spawn_probe.py")
	c.next()
	home := cgroupLine(t, g, c.pid)
	if err := g.Add(c.pid); err != nil {
		t.Fatal(err)
	}
	if l := cgroupLine(t, g, c.pid); !strings.HasSuffix(l, "/"+filepath.Base(g.Path())) {
		t.Fatalf("after Add the process is in %q; want %s", l, g.Path())
	}
	n, err := g.Current()
	if err != nil || n < 1 {
		t.Fatalf("Current = %d, %v; want the process's tasks", n, err)
	}
	if err := g.Limit(n); err != nil {
		t.Fatal(err)
	}
	if got := c.ask("fork"); got != "EAGAIN" {
		t.Fatalf("fork at the limit: %q; want EAGAIN", got)
	}
	if err := g.Unlimit(); err != nil {
		t.Fatal(err)
	}
	if got := c.ask("fork"); got != "ok" {
		t.Fatalf("fork after Unlimit: %q; want ok", got)
	}
	if err := g.Limit(-1); err == nil {
		t.Fatal("Limit(-1) is accepted")
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if err := g.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := os.Stat(g.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s is still there after Close (%v)", g.Path(), err)
	}
	if l := cgroupLine(t, g, c.pid); l != home {
		t.Fatalf("after Close the process is in %q; it came from %q", l, home)
	}
	if err := g.Add(c.pid); err == nil {
		t.Fatal("Add after Close is accepted")
	}
}

// A group whose process died, reaped or a zombie, still closes.
func TestPidsCgroupCloseAfterDeath(t *testing.T) {
	g := newGroup(t, "death")
	reaped := exec.Command("sleep", "60")
	zombie := exec.Command("sleep", "60")
	for _, cmd := range []*exec.Cmd{reaped, zombie} {
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if err := g.Add(cmd.Process.Pid); err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatal(err)
		}
		cmd.Process.Kill()
	}
	reaped.Wait()
	defer zombie.Wait()
	if err := g.Close(); err != nil {
		t.Fatalf("Close with a dead and a zombie process: %v", err)
	}
}

func TestNewPidsCgroupBadName(t *testing.T) {
	for _, name := range []string{"", "a/b", ".."} {
		if _, err := NewPidsCgroup(name); err == nil || !strings.Contains(err.Error(), "path element") {
			t.Errorf("NewPidsCgroup(%q): %v; want an error about the name", name, err)
		}
	}
	g := newGroup(t, "twice")
	if _, err := NewPidsCgroup("twice"); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("a second group named twice: %v; want an error saying it exists", err)
	}
	_ = g
}

// Sweep removes the group of a dead owner, with its processes moved out,
// and keeps the groups of live owners.
func TestSweep(t *testing.T) {
	live := newGroup(t, "live")
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	left := filepath.Join(live.h.mount, fmt.Sprintf("%s%d-left", groupPrefix, dead.Process.Pid))
	if err := os.Mkdir(left, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Remove(left) })
	c := startPython(t, pythons(t)[0], "spawn_probe.py")
	c.next()
	if err := writeProcs(left, c.pid); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(left, "pids.max"), []byte("1"), 0); err != nil {
		t.Fatal(err)
	}
	if err := Sweep(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(left); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Sweep left %s (%v)", left, err)
	}
	if _, err := os.Stat(live.Path()); err != nil {
		t.Fatalf("Sweep removed the group of a live owner: %v", err)
	}
	if got := c.ask("fork"); got != "ok" {
		t.Fatalf("fork of a process swept out of a limited group: %q; want ok", got)
	}
}

// While held, a fork fails with EAGAIN and a thread start with Python's
// "can't start new thread"; after lift both work and the group is gone.
func TestHoldForks(t *testing.T) {
	h, err := pidsHierarchy()
	if err != nil {
		t.Skip(err)
	}
	eachPython(t, func(t *testing.T, python string) {
		c := startPython(t, python, "spawn_probe.py")
		c.next()
		lift, err := HoldForks(c.pid)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = lift() })
		if got := c.ask("fork"); got != "EAGAIN" {
			t.Fatalf("fork while held: %q; want EAGAIN", got)
		}
		got := c.ask("thread")
		if !strings.Contains(got, "can't start new thread") {
			t.Fatalf("thread start while held: %q; want Python's \"can't start new thread\"", got)
		}
		if strings.HasPrefix(filepath.Base(python), "python3") && !strings.HasPrefix(got, "RuntimeError: ") {
			t.Fatalf("thread start while held on Python 3: %q; want a RuntimeError", got)
		}
		if err := lift(); err != nil {
			t.Fatal(err)
		}
		for _, what := range []string{"fork", "thread"} {
			if got := c.ask(what); got != "ok" {
				t.Fatalf("%s after lift: %q; want ok", what, got)
			}
		}
		dir := filepath.Join(h.mount, fmt.Sprintf("%s%d-hold-%d", groupPrefix, os.Getpid(), c.pid))
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("lift left the group %s (%v)", dir, err)
		}
	})
}
