package procfs

import (
	"fmt"
	"os"
	"strconv"
)

// OpenFDs lists the descriptor numbers process pid has open, from
// /proc/PID/fd, in the order it lists them (by name: 0 1 10 11 2…).
func OpenFDs(pid int) ([]int, error) {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return nil, err
	}
	fds := make([]int, 0, len(ents))
	for _, e := range ents {
		if n, err := strconv.Atoi(e.Name()); err == nil {
			fds = append(fds, n)
		}
	}
	return fds, nil
}

// FDLink is what descriptor fd of process pid refers to, as its
// /proc/PID/fd link reads: "socket:[1234]", "pipe:[99]", "/dev/null". The
// error is os.IsNotExist when the descriptor was closed meanwhile.
func FDLink(pid, fd int) (string, error) {
	return os.Readlink(fmt.Sprintf("/proc/%d/fd/%d", pid, fd))
}

// SocketLink is the FDLink of a descriptor of socket inode.
func SocketLink(inode uint64) string { return fmt.Sprintf("socket:[%d]", inode) }
