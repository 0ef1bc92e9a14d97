package blackbox

import (
	"fmt"
	"net"
	"os"
	"strconv"

	"github.com/sockspec/sockspec/internal/procfs"
	"github.com/sockspec/sockspec/spec/driver"
)

// Readiness and the server's pid come from /proc: the socket tables of
// /proc/net give the inode of the socket bound to an address, and
// /proc/PID/fd tells which process of the program's group holds it.

// findSocket returns the inode of the socket of family that serves
// address (listens, for streams; is bound and unconnected, for datagrams),
// or 0 when there is none yet.
func findSocket(family driver.Family, address string) (uint64, error) {
	if family.IsUnix() {
		return findUnix(family, address)
	}
	host, portText, err := net.SplitHostPort(address)
	if err != nil {
		return 0, err
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("port %q: %w", portText, err)
	}
	ip := net.ParseIP(host) // nil for a host name: any address of the port matches
	proto, state := "tcp", uint8(procfs.TCPListen)
	if family == driver.UDP {
		proto, state = "udp", procfs.TCPClose
	}
	for _, table := range []string{proto, proto + "6"} {
		socks, err := procfs.InetSockets(table)
		if err != nil && !os.IsNotExist(err) { // no IPv6 in the kernel: no tcp6
			return 0, err
		}
		for _, s := range socks {
			if s.State != state || s.LocalPort != uint16(port) {
				continue
			}
			if ip == nil || s.LocalIP.Equal(ip) || s.LocalIP.IsUnspecified() || ip.IsUnspecified() {
				return s.Inode, nil
			}
		}
	}
	return 0, nil
}

// findUnix looks address up in /proc/net/unix.
func findUnix(family driver.Family, address string) (uint64, error) {
	kind := uint16(procfs.UnixStream)
	if family == driver.UnixDgram {
		kind = procfs.UnixDgram
	}
	socks, err := procfs.UnixSockets()
	if err != nil {
		return 0, err
	}
	for _, s := range socks {
		if s.Path != address || s.Type != kind || (kind == procfs.UnixStream && s.Flags&procfs.SOAcceptCon == 0) {
			continue
		}
		return s.Inode, nil
	}
	return 0, nil
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
	link := procfs.SocketLink(inode)
	holders := map[int]int{} // pid → ppid
	for _, m := range groupMembers(pgid) {
		if m.zombie {
			continue
		}
		fds, err := procfs.OpenFDs(m.pid)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			if l, err := procfs.FDLink(m.pid, fd); err == nil && l == link {
				holders[m.pid] = m.ppid
				break
			}
		}
	}
	for pid, ppid := range holders {
		if _, parentHolds := holders[ppid]; !parentHolds {
			return pid
		}
	}
	return 0
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
