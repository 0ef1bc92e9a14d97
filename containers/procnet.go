package containers

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/sockspec/sockspec/internal/procfs"
	"github.com/sockspec/sockspec/spec/driver"
)

// A black-box server in a container is found as adapters/blackbox finds
// one on the host, through the socket tables of /proc, but those of the
// container's network namespace (/proc/PID/net of any of its processes)
// and among the container's processes (the descendants of its init).

// findSocket returns the inode of the socket of family that serves address
// in the network namespace of pid (listens, for streams; is bound, for
// datagrams), or 0 when there is none yet.
func findSocket(pid int, family driver.Family, address string) (uint64, error) {
	root := fmt.Sprintf("/proc/%d/net/", pid)
	if family.IsUnix() {
		kind := uint64(1)
		if family == driver.UnixDgram {
			kind = 2
		}
		var found uint64
		err := eachRow(root+"unix", func(f []string) bool {
			if len(f) < 8 || strings.Join(f[7:], " ") != address {
				return true
			}
			t, _ := strconv.ParseUint(f[4], 16, 16)
			flags, _ := strconv.ParseUint(f[3], 16, 32)
			if t != kind || (kind == 1 && flags&0x10000 == 0) {
				return true
			}
			found, _ = strconv.ParseUint(f[6], 10, 64)
			return false
		})
		return found, err
	}
	_, portText, err := net.SplitHostPort(address)
	if err != nil {
		return 0, err
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return 0, err
	}
	proto, state := "tcp", uint64(0x0A) // LISTEN
	if family == driver.UDP {
		proto, state = "udp", 0x07 // an unconnected datagram socket
	}
	for _, table := range []string{proto, proto + "6"} {
		var found uint64
		err := eachRow(root+table, func(f []string) bool {
			if len(f) < 10 {
				return true
			}
			if st, err := strconv.ParseUint(f[3], 16, 8); err != nil || st != state {
				return true
			}
			if _, lport, ok := decodeInetAddr(f[1]); ok && lport == uint16(port) {
				found, _ = strconv.ParseUint(f[9], 10, 64)
				return false
			}
			return true
		})
		if err != nil && !os.IsNotExist(err) {
			return 0, err
		}
		if found != 0 {
			return found, nil
		}
	}
	return 0, nil
}

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

func eachRow(path string, row func([]string) bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan()
	for sc.Scan() {
		if !row(strings.Fields(sc.Text())) {
			return nil
		}
	}
	return sc.Err()
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
	link := fmt.Sprintf("socket:[%d]", inode)
	holders := map[int]int{}
	for pid, ppid := range descendants(init) {
		fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		if err != nil {
			continue
		}
		for _, fd := range fds {
			if l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name())); err == nil && l == link {
				holders[pid] = ppid
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
