package containers

import (
	"github.com/sockspec/sockspec/internal/procfs"
	"github.com/sockspec/sockspec/spec/driver"
)

// A black-box server in a container is found as adapters/blackbox finds
// one on the host, through the socket tables of /proc, but those of the
// container's network namespace (/proc/PID/net of any of its processes)
// and among the container's processes (the descendants of its init).

// findSocket returns the inode of the socket of family that serves address
// in the network namespace of pid, or 0 when there is none yet.
func findSocket(pid int, family driver.Family, address string) (uint64, error) {
	return procfs.ServerSocket(pid, family, address)
}

// descendants are the live processes under pid, pid excluded, each with
// its parent.
func descendants(pid int) map[int]int {
	all := procfs.Processes()
	out := map[int]int{}
	changed := true
	for changed {
		changed = false
		for p, st := range all {
			if _, in := out[p]; in || st.Zombie() {
				continue
			}
			if _, parentIn := out[st.PPID]; st.PPID == pid || parentIn {
				out[p] = st.PPID
				changed = true
			}
		}
	}
	return out
}

// holderPID is the process under init that holds socket inode and whose
// parent does not (the server, not a child it forked), or 0.
func holderPID(init int, inode uint64) int {
	return procfs.TopHolder(descendants(init), inode)
}
