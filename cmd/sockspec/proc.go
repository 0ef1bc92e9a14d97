package main

import "github.com/sockspec/sockspec/internal/procfs"

// procStat is a process's /proc/PID/stat, with its pid: what tells whose
// child a process is and whether it is a zombie.
type procStat struct {
	PID int
	procfs.Stat
}

// readProcStat reads /proc/PID/stat.
func readProcStat(pid int) (procStat, error) {
	st, err := procfs.ReadStat(pid)
	return procStat{PID: pid, Stat: st}, err
}
