package blackbox

import (
	"github.com/sockspec/sockspec/internal/procfs"
	"github.com/sockspec/sockspec/spec/driver"
)

// Readiness and the server's pid come from /proc: the socket tables of
// /proc/net give the inode of the socket bound to an address, and
// /proc/PID/fd tells which process of the program's group holds it.

// findSocket returns the inode of the socket of family that serves
// address in this machine's network namespace, or 0 when there is none
// yet.
func findSocket(family driver.Family, address string) (uint64, error) {
	return procfs.ServerSocket(0, family, address)
}

// member is a process of a group, from /proc/PID/stat.
type member struct {
	pid, ppid int
	zombie    bool
}

// groupMembers lists the processes of group pgid, zombies included.
func groupMembers(pgid int) []member {
	var ms []member
	for pid, st := range procfs.Processes() {
		if st.PGRP == pgid {
			ms = append(ms, member{pid: pid, ppid: st.PPID, zombie: st.Zombie()})
		}
	}
	return ms
}

// serverPID is the process of group pgid that holds socket inode and whose
// parent does not (the server, not the children it forked, nor /bin/sh,
// which holds no socket), or 0 when no process of the group holds it.
func serverPID(pgid int, inode uint64) int {
	live := map[int]int{} // pid → ppid
	for _, m := range groupMembers(pgid) {
		if !m.zombie {
			live[m.pid] = m.ppid
		}
	}
	return procfs.TopHolder(live, inode)
}

// liveMembers counts the processes of group pgid that are not zombies.
func liveMembers(pgid int) int {
	n := 0
	for _, m := range groupMembers(pgid) {
		if !m.zombie {
			n++
		}
	}
	return n
}
