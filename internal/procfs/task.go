package procfs

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// TaskIDs lists the thread ids of process pid, from /proc/PID/task, in
// ascending order; the error says the process is gone.
func TaskIDs(pid int) ([]int, error) {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return nil, err
	}
	tids := make([]int, 0, len(ents))
	for _, e := range ents {
		if n, err := strconv.Atoi(e.Name()); err == nil {
			tids = append(tids, n)
		}
	}
	if len(tids) == 0 {
		return nil, fmt.Errorf("procfs: process %d has no threads", pid)
	}
	sort.Ints(tids)
	return tids, nil
}

// TracerPID is the pid of the process that ptraces thread tid of process
// pid (the TracerPid of its status), 0 when none does. The error is
// os.IsNotExist when the thread ended.
func TracerPID(pid, tid int) (int, error) {
	f, err := os.Open(filepath.Join(fmt.Sprintf("/proc/%d/task/%d", pid, tid), "status"))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	v, err := statusField(f, "TracerPid")
	if err != nil {
		return 0, fmt.Errorf("procfs: thread %d of process %d: %w", tid, pid, err)
	}
	return strconv.Atoi(v)
}

// EffectiveCaps is the effective capability set of this process (CapEff
// of /proc/self/status), a bit per capability number.
func EffectiveCaps() (uint64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	v, err := statusField(f, "CapEff")
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(v, 16, 64)
}

// statusField is the value of the line "NAME:\tVALUE" of a status file,
// trimmed.
func statusField(r io.Reader, name string) (string, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+":"); ok {
			return strings.TrimSpace(v), nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("procfs: no %s in the status", name)
}

// PtraceScope is Yama's kernel.yama.ptrace_scope ("0" to "3"); the error
// is os.IsNotExist on a kernel without Yama.
func PtraceScope() (string, error) {
	b, err := os.ReadFile("/proc/sys/kernel/yama/ptrace_scope")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}
