package procfs

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
)

// The socket tables of /proc/net tell which socket is bound where and in
// what state, whatever process holds it: the black-box targets find a
// server's listening socket there, and the TIME_WAIT specs the sockets a
// closed connection left behind.

// States of /proc/net/{tcp,udp}'s st column (include/net/tcp_states.h).
const (
	TCPTimeWait = 0x06
	// TCPClose is also the state of an unconnected datagram socket.
	TCPClose  = 0x07
	TCPListen = 0x0A
)

// Flags and types of /proc/net/unix (include/linux/net.h).
const (
	// SOAcceptCon marks a listening stream socket.
	SOAcceptCon = 0x10000
	UnixStream  = 1
	UnixDgram   = 2
)

// InetSocket is one row of /proc/net/tcp, tcp6, udp or udp6.
type InetSocket struct {
	LocalIP   net.IP
	LocalPort uint16
	State     uint8
	Inode     uint64
}

// InetSockets reads the table /proc/net/NAME, where name is "tcp", "tcp6",
// "udp" or "udp6". A kernel without IPv6 has no tcp6: the error is then
// os.IsNotExist.
func InetSockets(name string) ([]InetSocket, error) {
	return InetSocketsOf(0, name)
}

// InetSocketsOf is InetSockets of the network namespace process pid is in
// (/proc/PID/net/NAME): the sockets of a server in a container, which the
// harness's own namespace does not show. pid 0 is the harness's own.
func InetSocketsOf(pid int, name string) ([]InetSocket, error) {
	switch name {
	case "tcp", "tcp6", "udp", "udp6":
	default:
		return nil, fmt.Errorf("procfs: InetSockets(%q): want tcp, tcp6, udp or udp6", name)
	}
	path := "/proc/net/" + name
	if pid != 0 {
		path = fmt.Sprintf("/proc/%d/net/%s", pid, name)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseInetSockets(f)
}

// parseInetSockets reads the rows "sl local_address rem_address st tx:rx
// tr:when retrnsmt uid timeout inode …" after the header; a row it cannot
// read is left out.
func parseInetSockets(r io.Reader) ([]InetSocket, error) {
	var out []InetSocket
	err := eachRow(r, func(f []string) {
		if len(f) < 10 {
			return
		}
		st, err := strconv.ParseUint(f[3], 16, 8)
		if err != nil {
			return
		}
		ip, port, ok := decodeInetAddr(f[1])
		if !ok {
			return
		}
		inode, _ := strconv.ParseUint(f[9], 10, 64)
		out = append(out, InetSocket{LocalIP: ip, LocalPort: port, State: uint8(st), Inode: inode})
	})
	return out, err
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

// UnixSocket is one row of /proc/net/unix.
type UnixSocket struct {
	Flags uint32
	Type  uint16 // UnixStream, UnixDgram, 5 for seqpacket
	Inode uint64
	Path  string // empty for an unbound socket
}

// UnixSockets reads /proc/net/unix.
func UnixSockets() ([]UnixSocket, error) { return UnixSocketsOf(0) }

// UnixSocketsOf reads the unix table of the network namespace process pid
// is in (/proc/PID/net/unix); pid 0 is this process's.
func UnixSocketsOf(pid int) ([]UnixSocket, error) {
	path := "/proc/net/unix"
	if pid != 0 {
		path = fmt.Sprintf("/proc/%d/net/unix", pid)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseUnixSockets(f)
}

// parseUnixSockets reads the rows "Num RefCount Protocol Flags Type St
// Inode Path" after the header; the path may hold spaces.
func parseUnixSockets(r io.Reader) ([]UnixSocket, error) {
	var out []UnixSocket
	err := eachRow(r, func(f []string) {
		if len(f) < 7 {
			return
		}
		flags, _ := strconv.ParseUint(f[3], 16, 32)
		typ, _ := strconv.ParseUint(f[4], 16, 16)
		inode, _ := strconv.ParseUint(f[6], 10, 64)
		s := UnixSocket{Flags: uint32(flags), Type: uint16(typ), Inode: inode}
		if len(f) > 7 {
			s.Path = strings.Join(f[7:], " ")
		}
		out = append(out, s)
	})
	return out, err
}

// eachRow calls row with the fields of every line of a /proc/net table
// after its header.
func eachRow(r io.Reader, row func([]string)) error {
	sc := bufio.NewScanner(r)
	sc.Scan() // the header
	for sc.Scan() {
		row(strings.Fields(sc.Text()))
	}
	return sc.Err()
}
