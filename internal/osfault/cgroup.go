package osfault

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sockspec/sockspec/internal/procfs"
)

// ErrNoPidsCgroup is the error, wrapped with the reason, of a machine that
// offers no pids cgroup this process may use: no pids controller mounted,
// not root, or a cgroup2 that cannot hand the controller to a child group.
var ErrNoPidsCgroup = errors.New("osfault: no usable pids cgroup")

// groupPrefix starts the name of every cgroup this package makes, so that
// Sweep knows them. The owner's PID follows it: sockspec-PID-NAME.
const groupPrefix = "sockspec-"

// hierarchy is a mounted cgroup hierarchy.
type hierarchy struct {
	version int    // 1 or 2
	mount   string // where it is mounted, e.g. /sys/fs/cgroup/pids
	root    string // the mount's root within the hierarchy, usually "/"
}

// cgroupMounts lists the mounted cgroup2 hierarchies, then the cgroup v1
// ones that carry the pids controller, from /proc/self/mountinfo.
func cgroupMounts() ([]hierarchy, error) {
	mounts, err := procfs.Mounts()
	if err != nil {
		return nil, err
	}
	var v2, v1 []hierarchy
	for _, m := range mounts {
		h := hierarchy{root: m.Root, mount: m.MountPoint}
		switch {
		case m.FSType == "cgroup2":
			h.version = 2
			v2 = append(v2, h)
		case m.FSType == "cgroup" && hasWord(m.SuperOptions, ',', "pids"):
			h.version = 1
			v1 = append(v1, h)
		}
	}
	return append(v2, v1...), nil
}

func hasWord(list string, sep byte, w string) bool {
	for _, x := range strings.Split(list, string(sep)) {
		if x == w {
			return true
		}
	}
	return false
}

// prepare says why h cannot hold a pids-limited child group, or makes it
// able to: a cgroup2 needs pids among the controllers it has and in the
// subtree_control that hands them to its children.
func (h hierarchy) prepare() error {
	if h.version == 1 {
		return nil
	}
	ctl, err := os.ReadFile(filepath.Join(h.mount, "cgroup.controllers"))
	if err != nil {
		return fmt.Errorf("cgroup2 at %s: %v", h.mount, err)
	}
	if !hasWord(strings.TrimSpace(string(ctl)), ' ', "pids") {
		return fmt.Errorf("cgroup2 at %s lacks the pids controller (it has %q; pids is bound to a v1 hierarchy or not built)",
			h.mount, strings.TrimSpace(string(ctl)))
	}
	sub := filepath.Join(h.mount, "cgroup.subtree_control")
	have, err := os.ReadFile(sub)
	if err != nil {
		return fmt.Errorf("cgroup2 at %s: %v", h.mount, err)
	}
	if hasWord(strings.TrimSpace(string(have)), ' ', "pids") {
		return nil
	}
	if err := os.WriteFile(sub, []byte("+pids"), 0); err != nil {
		return fmt.Errorf("cgroup2 at %s: enabling pids for child groups: %v "+
			"(a non-root group that holds processes cannot; run where the cgroup root is writable)", h.mount, err)
	}
	return nil
}

// pidsHierarchy picks the hierarchy to make groups in: a cgroup2 that has
// the pids controller if there is one, else the v1 pids hierarchy.
func pidsHierarchy() (hierarchy, error) {
	hs, err := cgroupMounts()
	if err != nil {
		return hierarchy{}, fmt.Errorf("%w: reading /proc/self/mountinfo: %v", ErrNoPidsCgroup, err)
	}
	var why []string
	for _, h := range hs {
		err := h.prepare()
		if err == nil {
			return h, nil
		}
		why = append(why, err.Error())
	}
	if len(why) == 0 {
		why = append(why, "no cgroup2 and no cgroup v1 pids hierarchy is mounted")
	}
	return hierarchy{}, fmt.Errorf("%w: %s", ErrNoPidsCgroup, strings.Join(why, "; "))
}

// PidsCgroup is a cgroup of the pids controller that this package made:
// the processes in it may have at most Limit tasks (threads) together, and
// a fork or thread start beyond that fails with EAGAIN.
type PidsCgroup struct {
	h   hierarchy
	dir string

	mu      sync.Mutex
	origins map[int]string // where each added process was, to go back on Close
	closed  bool
}

// NewPidsCgroup makes a new pids cgroup named sockspec-OWNERPID-name, in a
// cgroup2 with the pids controller or else in the v1 pids hierarchy. It
// first sweeps the groups that killed runs left behind. Errors that mean
// the machine offers no pids cgroup wrap ErrNoPidsCgroup.
func NewPidsCgroup(name string) (*PidsCgroup, error) {
	if name == "" || strings.ContainsAny(name, "/\x00\n") || name == "." || name == ".." {
		return nil, fmt.Errorf("osfault: NewPidsCgroup(%q): a name is one non-empty path element, without '/'", name)
	}
	h, err := pidsHierarchy()
	if err != nil {
		return nil, err
	}
	_ = sweepIn(h)
	dir := filepath.Join(h.mount, fmt.Sprintf("%s%d-%s", groupPrefix, os.Getpid(), name))
	if err := os.Mkdir(dir, 0o755); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("osfault: NewPidsCgroup(%q): %s exists: Close the group of that name first, or choose another name", name, dir)
		}
		if errors.Is(err, os.ErrPermission) || errors.Is(err, syscall.EROFS) {
			return nil, fmt.Errorf("%w: making %s: %v (it needs root, and a writable cgroup filesystem)", ErrNoPidsCgroup, dir, err)
		}
		return nil, fmt.Errorf("osfault: NewPidsCgroup(%q): %w", name, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "pids.max")); err != nil {
		_ = os.Remove(dir)
		return nil, fmt.Errorf("%w: %s has no pids.max: the pids controller is not active there", ErrNoPidsCgroup, dir)
	}
	return &PidsCgroup{h: h, dir: dir, origins: map[int]string{}}, nil
}

// Path is the group's directory.
func (g *PidsCgroup) Path() string { return g.dir }

// originOf is the directory of the group pid is in now, in g's hierarchy.
func (g *PidsCgroup) originOf(pid int) string {
	groups, err := procfs.Cgroups(pid)
	if err != nil {
		return g.h.mount
	}
	for _, c := range groups {
		mine := (g.h.version == 2 && c.HierarchyID == 0 && len(c.Controllers) == 0) ||
			(g.h.version == 1 && slices.Contains(c.Controllers, "pids"))
		if !mine {
			continue
		}
		rel, err := filepath.Rel(g.h.root, c.Path)
		if err != nil || strings.HasPrefix(rel, "..") {
			return g.h.mount
		}
		dir := filepath.Join(g.h.mount, rel)
		if _, err := os.Stat(filepath.Join(dir, "cgroup.procs")); err != nil {
			return g.h.mount
		}
		return dir
	}
	return g.h.mount
}

// Add moves process pid, with all its threads, into the group. The
// process's children stay where they are; those it makes from now on are
// born in the group. The pids controller lets a move exceed the limit.
func (g *PidsCgroup) Add(pid int) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return fmt.Errorf("osfault: Add(%d): the group %s is closed", pid, g.dir)
	}
	origin := g.originOf(pid)
	if err := writeProcs(g.dir, pid); err != nil {
		return fmt.Errorf("osfault: moving process %d into %s: %w", pid, g.dir, err)
	}
	if _, ok := g.origins[pid]; !ok {
		g.origins[pid] = origin
	}
	return nil
}

// writeProcs moves the process (thread group) pid into the group at dir.
func writeProcs(dir string, pid int) error {
	err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0)
	if errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("no process %d: %w", pid, err)
	}
	return err
}

// Limit sets pids.max: at most max tasks in the group. A max below the
// tasks already there refuses every new one and kills none.
func (g *PidsCgroup) Limit(max int) error {
	if max < 0 {
		return fmt.Errorf("osfault: Limit(%d): a pids limit is 0 or more (Unlimit lifts it)", max)
	}
	return g.writeMax(strconv.Itoa(max))
}

// Unlimit sets pids.max to "max": no limit of the group's own.
func (g *PidsCgroup) Unlimit() error { return g.writeMax("max") }

func (g *PidsCgroup) writeMax(v string) error {
	if err := os.WriteFile(filepath.Join(g.dir, "pids.max"), []byte(v), 0); err != nil {
		return fmt.Errorf("osfault: setting %s/pids.max to %s: %w", g.dir, v, err)
	}
	return nil
}

// Current reads pids.current: the tasks (threads, and zombies not yet
// reaped) in the group.
func (g *PidsCgroup) Current() (int, error) {
	b, err := os.ReadFile(filepath.Join(g.dir, "pids.current"))
	if err != nil {
		return 0, fmt.Errorf("osfault: reading %s/pids.current: %w", g.dir, err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("osfault: %s/pids.current holds %q: %w", g.dir, b, err)
	}
	return n, nil
}

// Close moves every process in the group back to where Add found it (its
// children born in the group to the hierarchy's root) and removes the
// group. Processes that died meanwhile are fine: a zombie does not keep a
// group busy. Close may be called more than once.
func (g *PidsCgroup) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil
	}
	if err := evacuate(g.dir, g.h.mount, g.origins); err != nil {
		return fmt.Errorf("osfault: closing %s: %w", g.dir, err)
	}
	g.closed = true
	return nil
}

// evacuate moves the processes of the group at dir to their origins (or to
// fallback) and removes dir. A process may fork while it moves, so it reads
// the group again until rmdir succeeds or a second has gone.
func evacuate(dir, fallback string, origins map[int]string) error {
	deadline := time.Now().Add(time.Second)
	for {
		b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, f := range strings.Fields(string(b)) {
			pid, _ := strconv.Atoi(f)
			to := origins[pid]
			if to == "" {
				to = fallback
			}
			if err := writeProcs(to, pid); err != nil && to != fallback {
				_ = writeProcs(fallback, pid)
			}
		}
		err = os.Remove(dir)
		if err == nil || errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if !errors.Is(err, syscall.EBUSY) || time.Now().After(deadline) {
			return fmt.Errorf("removing the group: %w (processes still in it: %s)", err, strings.Fields(string(b)))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Sweep removes the groups that runs killed before their Close left
// behind: groups named sockspec-PID-… whose owner PID is no longer alive,
// moving their processes to the hierarchy's root first. NewPidsCgroup calls
// it, so leftovers do not pile up. It is not an error when the machine has
// no pids cgroup: there is then nothing to sweep.
func Sweep() error {
	h, err := pidsHierarchy()
	if err != nil {
		return nil
	}
	return sweepIn(h)
}

func sweepIn(h hierarchy) error {
	ents, err := os.ReadDir(h.mount)
	if err != nil {
		return fmt.Errorf("osfault: sweeping %s: %w", h.mount, err)
	}
	var errs []error
	for _, e := range ents {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), groupPrefix) || ownerAlive(e.Name()) {
			continue
		}
		dir := filepath.Join(h.mount, e.Name())
		if err := evacuate(dir, h.mount, nil); err != nil {
			errs = append(errs, fmt.Errorf("osfault: sweeping %s: %w", dir, err))
		}
	}
	return errors.Join(errs...)
}

// ownerAlive reports whether the process that made group name still runs.
// A name without an owner PID has no live owner.
func ownerAlive(name string) bool {
	s, _, _ := strings.Cut(strings.TrimPrefix(name, groupPrefix), "-")
	pid, err := strconv.Atoi(s)
	if err != nil || pid <= 0 {
		return false
	}
	return !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// HoldForks puts process pid in a fresh pids cgroup whose limit is the
// tasks the process has now, so that its next fork, or next thread start,
// fails with EAGAIN, and returns lift, which lifts the limit, moves the
// process back and removes the group. lift may be called more than once.
func HoldForks(pid int) (lift func() error, err error) {
	g, err := NewPidsCgroup(fmt.Sprintf("hold-%d", pid))
	if err != nil {
		return nil, err
	}
	fail := func(err error) (func() error, error) {
		_ = g.Close()
		return nil, err
	}
	if err := g.Add(pid); err != nil {
		return fail(err)
	}
	n, err := g.Current()
	if err != nil {
		return fail(err)
	}
	if err := g.Limit(n); err != nil {
		return fail(err)
	}
	return once(func() error { return errors.Join(g.Unlimit(), g.Close()) }), nil
}
