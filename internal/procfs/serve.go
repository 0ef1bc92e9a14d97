package procfs

import (
	"fmt"
	"net"
	"os"
	"strconv"

	"github.com/sockspec/sockspec/spec/driver"
)

// ServerSocket returns the inode of the socket of family that serves
// address in the network namespace of process pid (0: this process's):
// listening, for a stream; bound and unconnected, for datagrams. 0 means
// there is none yet. A server with no adapter is found this way: ready
// when its socket exists, and its pid is the process that holds it.
func ServerSocket(pid int, family driver.Family, address string) (uint64, error) {
	if family.IsUnix() {
		return unixServerSocket(pid, family, address)
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
	proto, state := "tcp", uint8(TCPListen)
	if family == driver.UDP {
		proto, state = "udp", TCPClose
	}
	for _, table := range []string{proto, proto + "6"} {
		socks, err := InetSocketsOf(pid, table)
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

// unixServerSocket looks address up in the namespace's unix table.
func unixServerSocket(pid int, family driver.Family, address string) (uint64, error) {
	kind := uint16(UnixStream)
	if family == driver.UnixDgram {
		kind = UnixDgram
	}
	socks, err := UnixSocketsOf(pid)
	if err != nil {
		return 0, err
	}
	for _, s := range socks {
		if s.Path != address || s.Type != kind || (kind == UnixStream && s.Flags&SOAcceptCon == 0) {
			continue
		}
		return s.Inode, nil
	}
	return 0, nil
}

// TopHolder is, among candidates (pid → parent pid), the process that
// holds socket inode and whose parent does not: the server, not a child
// it forked with the socket inherited, nor a shell that started it and
// holds no socket. 0 when none of them holds it.
func TopHolder(candidates map[int]int, inode uint64) int {
	holders := map[int]int{}
	for pid, ppid := range candidates {
		if HoldsSocket(pid, inode) {
			holders[pid] = ppid
		}
	}
	for pid, ppid := range holders {
		if _, parentHolds := holders[ppid]; !parentHolds {
			return pid
		}
	}
	return 0
}

// HoldsSocket tells whether process pid has a descriptor on socket inode.
func HoldsSocket(pid int, inode uint64) bool {
	fds, err := OpenFDs(pid)
	if err != nil {
		return false
	}
	link := SocketLink(inode)
	for _, fd := range fds {
		if l, err := FDLink(pid, fd); err == nil && l == link {
			return true
		}
	}
	return false
}

// NetNamespace opens the network namespace of process pid (0: this
// process's), for setns.
func NetNamespace(pid int) (*os.File, error) {
	if pid == 0 {
		return os.Open("/proc/self/ns/net")
	}
	return os.Open(fmt.Sprintf("/proc/%d/ns/net", pid))
}

// FirstChild is the oldest child of process pid's main thread, 0 when it
// has none (/proc/PID/task/PID/children).
func FirstChild(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return 0
	}
	var n int
	if _, err := fmt.Sscan(string(b), &n); err != nil {
		return 0
	}
	return n
}
