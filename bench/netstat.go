package bench

import (
	"fmt"
	"strings"

	"github.com/sockspec/sockspec/internal/procfs"
)

// The kernel's own account of the loopback traffic is printed with the
// table, because connection-per-request benchmarks fail in ways the
// throughput alone hides: a full accept queue (ListenOverflows) or a SYN
// that met a stale TIME_WAIT entry shows up as 1 s or 3 s SYN
// retransmissions (TCPSynRetrans), and a port range exhausted by TIME_WAIT
// as EADDRNOTAVAIL. TCPTimeWaitOverflow counts TIME_WAIT entries the kernel
// did not keep because net.ipv4.tcp_max_tw_buckets was reached; on loopback
// that is harmless, and it is expected over a full run.
var tcpCounters = []string{"ListenOverflows", "TCPSynRetrans", "TCPTimeWaitOverflow"}

// readTCPExt returns the TcpExt counters of /proc/net/netstat, or nil when
// they cannot be read (not Linux, or no procfs).
func readTCPExt() map[string]int64 {
	counters, err := procfs.NetstatCounters("TcpExt")
	if err != nil {
		return nil
	}
	return counters
}

// timeWaitNow is the number of TCP sockets in TIME_WAIT, from
// /proc/net/sockstat, or -1.
func timeWaitNow() int64 {
	counters, err := procfs.SockstatCounters("TCP")
	if err != nil {
		return -1
	}
	if tw, ok := counters["tw"]; ok {
		return tw
	}
	return -1
}

// kernelNote summarises the counters' change between two readings.
func kernelNote(before, after map[string]int64) string {
	if before == nil || after == nil {
		return ""
	}
	var parts []string
	for _, name := range tcpCounters {
		parts = append(parts, fmt.Sprintf("%s +%d", name, after[name]-before[name]))
	}
	note := "kernel TCP counters over the invocation: " + strings.Join(parts, ", ")
	if tw := timeWaitNow(); tw >= 0 {
		note += fmt.Sprintf("; %d sockets in TIME_WAIT at the end", tw)
	}
	return note
}
