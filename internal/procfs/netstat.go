package procfs

import (
	"bufio"
	"io"
	"os"
	"strconv"
	"strings"
)

// The kernel's network counters: /proc/net/netstat and /proc/net/snmp
// print each section as two lines, "Name: COUNTER…" then "Name: VALUE…";
// /proc/net/sockstat prints "Name: KEY VALUE KEY VALUE…" a line.

// NetstatCounters reads the counters of one section of /proc/net/netstat
// ("TcpExt", "IpExt"), by name; nil when the section is absent.
func NetstatCounters(section string) (map[string]int64, error) {
	f, err := os.Open("/proc/net/netstat")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseNetstat(f, section)
}

func parseNetstat(r io.Reader, section string) (map[string]int64, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var names []string
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || fields[0] != section+":" {
			continue
		}
		if names == nil {
			names = fields[1:]
			continue
		}
		out := map[string]int64{}
		for i, v := range fields[1:] {
			if i < len(names) {
				out[names[i]], _ = strconv.ParseInt(v, 10, 64)
			}
		}
		return out, nil
	}
	return nil, sc.Err()
}

// SockstatCounters reads the counters of one protocol's line of
// /proc/net/sockstat ("TCP", "UDP"), by key ("inuse", "tw"); a value that
// is no number is left out, and the map is nil when the line is absent.
func SockstatCounters(protocol string) (map[string]int64, error) {
	f, err := os.Open("/proc/net/sockstat")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseSockstat(f, protocol)
}

func parseSockstat(r io.Reader, protocol string) (map[string]int64, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || fields[0] != protocol+":" {
			continue
		}
		out := map[string]int64{}
		for i := 1; i+1 < len(fields); i += 2 {
			if n, err := strconv.ParseInt(fields[i+1], 10, 64); err == nil {
				out[fields[i]] = n
			}
		}
		return out, nil
	}
	return nil, sc.Err()
}
