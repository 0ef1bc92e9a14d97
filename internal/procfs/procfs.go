// Package procfs reads what a process holds from Linux's /proc: its
// descriptors, children and zombies, threads and CPU time; and what the
// kernel says of sockets, cgroups, ptrace and its network counters. The
// hygiene oracle and the black-box targets judge servers by it from
// outside, and the outside fault injectors find their way with it.
//
// It is the one package that reads /proc: every reader has a name that
// says what it reads, and what it parses is tested on the files of
// testdata/proc. TestNoProcOutside keeps it so.
package procfs

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sockspec/sockspec/spec/driver"
)

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on every
// Linux architecture Go runs on.
const clockTicks = 100

// Stat is the part of /proc/PID/stat the harness reads.
type Stat struct {
	State      byte // R, S, D, Z…
	PPID       int
	PGRP       int
	Threads    int
	CPUTicks   int64 // user and system time, in clock ticks
	StartTicks int64 // start after boot, in clock ticks
}

// Zombie reports whether the process has exited and awaits its reaping.
func (s Stat) Zombie() bool { return s.State == 'Z' }

// ReadStat reads /proc/PID/stat. The command name, in parentheses, may hold
// spaces and parentheses itself, so fields are counted from the last ')'.
func ReadStat(pid int) (Stat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return Stat{}, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return Stat{}, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(s[i+2:])
	if len(f) < 20 || len(f[0]) != 1 {
		return Stat{}, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	atoi := func(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }
	// f[0] is field 3 (state): ppid is field 4, pgrp 5, utime 14, stime 15,
	// num_threads 20, starttime 22.
	return Stat{
		State:      f[0][0],
		PPID:       int(atoi(f[1])),
		PGRP:       int(atoi(f[2])),
		CPUTicks:   atoi(f[11]) + atoi(f[12]),
		Threads:    int(atoi(f[17])),
		StartTicks: atoi(f[19]),
	}, nil
}

// Alive reports whether process pid runs: it exists and is no zombie.
func Alive(pid int) bool {
	st, err := ReadStat(pid)
	return err == nil && !st.Zombie()
}

// Processes lists the pids of /proc, each with its stat; a process that
// exits while the list is read is left out.
func Processes() map[int]Stat {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	out := make(map[int]Stat, len(dirs))
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		if st, err := ReadStat(pid); err == nil {
			out[pid] = st
		}
	}
	return out
}

func uptime() (time.Duration, error) {
	b, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, fmt.Errorf("/proc/uptime is empty")
	}
	secs, err := strconv.ParseFloat(f[0], 64)
	return time.Duration(secs * float64(time.Second)), err
}

// Inspect reads what process pid holds.
func Inspect(pid int) (driver.Hygiene, error) {
	st, err := ReadStat(pid)
	if err != nil {
		return driver.Hygiene{}, err
	}
	h := driver.Hygiene{PID: pid, Threads: st.Threads, CPU: time.Duration(st.CPUTicks) * time.Second / clockTicks}
	if up, err := uptime(); err == nil {
		h.Age = up - time.Duration(st.StartTicks)*time.Second/clockTicks
	}
	fds, err := OpenFDs(pid)
	if err != nil {
		return driver.Hygiene{}, err
	}
	h.FDs = len(fds)
	for _, fd := range fds {
		if name, err := FDLink(pid, fd); err == nil {
			h.FDNames = append(h.FDNames, name)
		}
	}
	for _, cs := range Processes() {
		switch {
		case cs.PPID != pid:
		case cs.Zombie():
			h.Zombies++
		default:
			h.Children++
		}
	}
	return h, nil
}
