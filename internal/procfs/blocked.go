package procfs

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Task is what one thread of a process is doing, from /proc.
type Task struct {
	TID int
	// Syscall is the syscall the thread is in, by name for the waits a
	// server blocks in ("poll", "accept4", "futex"), else "syscall N";
	// "running" for a thread on a CPU, "none" for one blocked outside any
	// syscall (a page fault, a ptrace stop).
	Syscall string
	// Wchan is the kernel function the thread sleeps in
	// ("do_sys_poll", "inet_csk_accept"), empty when it runs or the kernel
	// hides it.
	Wchan string
}

// waitSyscalls names the syscall numbers of the waits a server blocks in,
// per architecture. arm64 has no poll, select or epoll_wait: its libc
// calls ppoll, pselect6 and epoll_pwait instead.
var waitSyscalls = map[string]map[int]string{
	"amd64": {
		0: "read", 7: "poll", 23: "select", 35: "nanosleep", 43: "accept", 45: "recvfrom", 47: "recvmsg",
		61: "wait4", 202: "futex", 230: "clock_nanosleep", 232: "epoll_wait", 247: "waitid", 270: "pselect6",
		271: "ppoll", 281: "epoll_pwait", 288: "accept4", 441: "epoll_pwait2",
	},
	"arm64": {
		22: "epoll_pwait", 63: "read", 72: "pselect6", 73: "ppoll", 95: "waitid", 98: "futex", 101: "nanosleep",
		115: "clock_nanosleep", 202: "accept", 207: "recvfrom", 212: "recvmsg", 242: "accept4", 260: "wait4",
		441: "epoll_pwait2",
	},
}

// syscallName names syscall number nr of this machine's architecture.
func syscallName(nr int) string {
	if name, ok := waitSyscalls[runtime.GOARCH][nr]; ok {
		return name
	}
	return "syscall " + strconv.Itoa(nr)
}

// Blocked reads, for each thread of process pid, the syscall it is in
// (/proc/PID/task/TID/syscall, whose first field is the number) and where
// it sleeps (wchan), in TID order. Reading another process's syscall file
// needs the right to ptrace it (root, or its user without Yama's limits).
func Blocked(pid int) ([]Task, error) {
	dirs, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/[0-9]*", pid))
	if err != nil || len(dirs) == 0 {
		return nil, fmt.Errorf("procfs: no process %d (no /proc/%d/task)", pid, pid)
	}
	var tasks []Task
	for _, dir := range dirs {
		tid, _ := strconv.Atoi(filepath.Base(dir))
		b, err := os.ReadFile(filepath.Join(dir, "syscall"))
		if os.IsNotExist(err) {
			continue // the thread ended
		}
		if err != nil {
			return nil, fmt.Errorf("procfs: reading what thread %d of process %d does: %w (it needs the right to ptrace it)", tid, pid, err)
		}
		t := Task{TID: tid, Syscall: parseSyscall(string(b))}
		if w, err := os.ReadFile(filepath.Join(dir, "wchan")); err == nil && string(w) != "0" {
			t.Wchan = strings.TrimSpace(string(w))
		}
		tasks = append(tasks, t)
	}
	sort.Slice(tasks, func(i, j int) bool { return tasks[i].TID < tasks[j].TID })
	return tasks, nil
}

// parseSyscall names the content of a /proc/PID/task/TID/syscall file:
// "running", or "NR ARGS... SP PC" with NR -1 outside any syscall.
func parseSyscall(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return "none"
	}
	if f[0] == "running" {
		return "running"
	}
	nr, err := strconv.Atoi(f[0])
	if err != nil || nr < 0 {
		return "none"
	}
	return syscallName(nr)
}

// BlockedIn lists the threads of process pid that are in one of the named
// syscalls, as Blocked names them; a name Blocked never gives is an error,
// so that a misspelt wait is not silently never found. A signal bomber
// asks it before each signal, and signals those threads only, so that the
// signal interrupts a wait and not a computation.
func BlockedIn(pid int, names ...string) ([]Task, error) {
	if len(names) == 0 {
		return nil, fmt.Errorf("procfs: BlockedIn(%d): name at least one syscall, e.g. \"poll\"", pid)
	}
	for _, n := range names {
		if !knownName(n) {
			return nil, fmt.Errorf("procfs: BlockedIn(%d): %q is not a syscall Blocked names: use one of %s, or \"syscall N\"",
				pid, n, strings.Join(knownNames(), ", "))
		}
	}
	tasks, err := Blocked(pid)
	if err != nil {
		return nil, err
	}
	var in []Task
	for _, t := range tasks {
		if slices.Contains(names, t.Syscall) {
			in = append(in, t)
		}
	}
	return in, nil
}

// knownName reports whether Blocked can name a thread's syscall n on some
// architecture, so that one list ("poll", "ppoll") serves on every one.
func knownName(n string) bool {
	if nr, ok := strings.CutPrefix(n, "syscall "); ok {
		_, err := strconv.Atoi(nr)
		return err == nil
	}
	return slices.Contains(knownNames(), n)
}

func knownNames() []string {
	var names []string
	for _, arch := range waitSyscalls {
		for _, name := range arch {
			if !slices.Contains(names, name) {
				names = append(names, name)
			}
		}
	}
	sort.Strings(names)
	return names
}
