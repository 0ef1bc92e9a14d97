package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// procStat is the part of /proc/PID/stat that tells whose child a process
// is and whether it is a zombie.
type procStat struct {
	PID   int
	State byte // R, S, D, Z…
	PPID  int
}

// readProcStat reads /proc/PID/stat. The command name, in parentheses, may
// itself hold spaces and parentheses, so the fields are counted from the
// last closing parenthesis.
func readProcStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 2 || len(f[0]) != 1 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	ppid, err := strconv.Atoi(string(f[1]))
	if err != nil {
		return procStat{}, fmt.Errorf("/proc/%d/stat: parent pid: %w", pid, err)
	}
	return procStat{PID: pid, State: f[0][0], PPID: ppid}, nil
}
