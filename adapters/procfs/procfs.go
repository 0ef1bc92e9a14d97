// Package procfs reads what a process holds from Linux's /proc: its
// descriptors, children and zombies, threads and CPU time. The hygiene
// oracle and the black-box targets judge servers by it from outside.
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

// procStat is the part of /proc/PID/stat the oracle reads.
type procStat struct {
	state      byte
	ppid       int
	threads    int
	cpuTicks   int64
	startTicks int64
}

func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	// The command name is in parentheses and may hold spaces: fields
	// start after the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return procStat{}, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(s[i+2:])
	if len(f) < 20 {
		return procStat{}, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	atoi := func(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }
	// f[0] is field 3 (state): utime is field 14, stime 15, num_threads 20, starttime 22.
	return procStat{
		state:      f[0][0],
		ppid:       int(atoi(f[1])),
		cpuTicks:   atoi(f[11]) + atoi(f[12]),
		threads:    int(atoi(f[17])),
		startTicks: atoi(f[19]),
	}, nil
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
	st, err := readStat(pid)
	if err != nil {
		return driver.Hygiene{}, err
	}
	h := driver.Hygiene{PID: pid, Threads: st.threads, CPU: time.Duration(st.cpuTicks) * time.Second / clockTicks}
	if up, err := uptime(); err == nil {
		h.Age = up - time.Duration(st.startTicks)*time.Second/clockTicks
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return driver.Hygiene{}, err
	}
	h.FDs = len(fds)
	for _, fd := range fds {
		if name, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name())); err == nil {
			h.FDNames = append(h.FDNames, name)
		}
	}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		child, err := strconv.Atoi(filepath.Base(p))
		if err != nil {
			continue
		}
		cs, err := readStat(child)
		if err != nil || cs.ppid != pid {
			continue
		}
		if cs.state == 'Z' {
			h.Zombies++
		} else {
			h.Children++
		}
	}
	return h, nil
}
