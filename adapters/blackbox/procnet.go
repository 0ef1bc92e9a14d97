package blackbox

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sockspec/sockspec/internal/procfs"
	"github.com/sockspec/sockspec/spec/driver"
)

// Readiness and the server's pid come from /proc: the socket tables of
// /proc/net give the inode of the socket bound to an address, and
// /proc/PID/fd tells which process of the program's group holds it.

// Socket states and flags of /proc/net's tables (include/net/tcp_states.h,
// include/linux/net.h).
const (
	tcpListen    = 0x0A
	tcpClose     = 0x07 // an unconnected datagram socket
	soAcceptCon  = 0x10000
	unixStream   = 1
	unixDgram    = 2
	procNetFiles = "/proc/net"
)

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
	proto, state := "tcp", tcpListen
	if family == driver.UDP {
		proto, state = "udp", tcpClose
	}
	for _, table := range []string{proto, proto + "6"} {
		var found uint64
		err := eachRow(filepath.Join(procNetFiles, table), func(f []string) bool {
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			if len(f) < 10 {
				return true
			}
			if st, err := strconv.ParseUint(f[3], 16, 8); err != nil || int(st) != state {
				return true
			}
			lip, lport, ok := decodeInetAddr(f[1])
			if !ok || lport != uint16(port) {
				return true
			}
			if ip == nil || lip.Equal(ip) || lip.IsUnspecified() || ip.IsUnspecified() {
				found, _ = strconv.ParseUint(f[9], 10, 64)
				return false
			}
			return true
		})
		if err != nil && !os.IsNotExist(err) { // no IPv6 in the kernel: no tcp6
			return 0, err
		}
		if found != 0 {
			return found, nil
		}
	}
	return 0, nil
}

// decodeInetAddr reads "0100007F:1F90": the address as the kernel's 32-bit
// words printed in host byte order, then the port.
func decodeInetAddr(s string) (net.IP, uint16, bool) {
	ipHex, portHex, ok := strings.Cut(s, ":")
	if !ok || (len(ipHex) != 8 && len(ipHex) != 32) {
		return nil, 0, false
	}
	raw, err := hex.DecodeString(ipHex)
	if err != nil {
		return nil, 0, false
	}
	ip := make(net.IP, len(raw))
	for i := 0; i < len(raw); i += 4 {
		binary.NativeEndian.PutUint32(ip[i:], binary.BigEndian.Uint32(raw[i:]))
	}
	port, err := strconv.ParseUint(portHex, 16, 16)
	return ip, uint16(port), err == nil
}

// findUnix looks address up in /proc/net/unix, whose rows are
// "Num RefCount Protocol Flags Type St Inode Path".
func findUnix(family driver.Family, address string) (uint64, error) {
	kind := uint64(unixStream)
	if family == driver.UnixDgram {
		kind = unixDgram
	}
	var found uint64
	err := eachRow(filepath.Join(procNetFiles, "unix"), func(f []string) bool {
		if len(f) < 8 || strings.Join(f[7:], " ") != address {
			return true
		}
		t, _ := strconv.ParseUint(f[4], 16, 16)
		flags, _ := strconv.ParseUint(f[3], 16, 32)
		if t != kind || (kind == unixStream && flags&soAcceptCon == 0) {
			return true
		}
		found, _ = strconv.ParseUint(f[6], 10, 64)
		return false
	})
	return found, err
}

// eachRow calls row with the fields of every line of a /proc/net table
// after its header, until row returns false.
func eachRow(path string, row func([]string) bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // the header
	for sc.Scan() {
		if !row(strings.Fields(sc.Text())) {
			return nil
		}
	}
	return sc.Err()
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
	link := fmt.Sprintf("socket:[%d]", inode)
	holders := map[int]int{} // pid → ppid
	for _, m := range groupMembers(pgid) {
		if m.zombie {
			continue
		}
		fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", m.pid))
		if err != nil {
			continue
		}
		for _, fd := range fds {
			if l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", m.pid, fd.Name())); err == nil && l == link {
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
