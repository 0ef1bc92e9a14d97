package procfs

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/sockspec/sockspec/spec/driver"
)

// fixture opens a file of testdata/proc, which mirrors /proc's layout.
func fixture(t *testing.T, name string) io.Reader {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "proc", name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestParseInetSockets(t *testing.T) {
	for _, tc := range []struct {
		file string
		want []InetSocket
	}{
		{"net/tcp", []InetSocket{
			{LocalIP: net.IPv4(0, 0, 0, 0).To4(), LocalPort: 2024, State: TCPListen, Inode: 1277},
			{LocalIP: net.IPv4(127, 0, 0, 1).To4(), LocalPort: 0xB099, State: TCPTimeWait},
			{LocalIP: net.IPv4(127, 0, 0, 1).To4(), LocalPort: 0x9DE1, State: TCPTimeWait},
		}},
		{"net/tcp6", []InetSocket{
			{LocalIP: net.IPv6unspecified, LocalPort: 8080, State: TCPListen, Inode: 55501},
			{LocalIP: net.IPv4(127, 0, 0, 1), LocalPort: 50000, State: 0x01, Inode: 55502},
		}},
		// The row that is no row is left out.
		{"net/udp", []InetSocket{
			{LocalIP: net.IPv4(127, 0, 0, 1).To4(), LocalPort: 0xA411, State: TCPClose, Inode: 66601},
			{LocalIP: net.IPv4(127, 0, 0, 1).To4(), LocalPort: 0xA412, State: 0x01, Inode: 66602},
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got, err := parseInetSockets(fixture(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("%d rows, want %d: %+v", len(got), len(tc.want), got)
			}
			for i, w := range tc.want {
				g := got[i]
				if !g.LocalIP.Equal(w.LocalIP) || g.LocalPort != w.LocalPort || g.State != w.State || g.Inode != w.Inode {
					t.Errorf("row %d: %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

func TestDecodeInetAddr(t *testing.T) {
	for _, tc := range []struct {
		in   string
		ip   string
		port uint16
		ok   bool
	}{
		{"0100007F:1F90", "127.0.0.1", 8080, true},
		{"00000000:0000", "0.0.0.0", 0, true},
		{"00000000000000000000000001000000:0050", "::1", 80, true},
		{"0100007F", "", 0, false},
		{"7F:1F90", "", 0, false},
		{"ZZ00007F:1F90", "", 0, false},
		{"0100007F:XYZ", "", 0, false},
	} {
		ip, port, ok := decodeInetAddr(tc.in)
		if ok != tc.ok || (ok && (!ip.Equal(net.ParseIP(tc.ip)) || port != tc.port)) {
			t.Errorf("decodeInetAddr(%q) = %v, %d, %v; want %s, %d, %v", tc.in, ip, port, ok, tc.ip, tc.port, tc.ok)
		}
	}
}

func TestParseUnixSockets(t *testing.T) {
	got, err := parseUnixSockets(fixture(t, "net/unix"))
	if err != nil {
		t.Fatal(err)
	}
	want := []UnixSocket{
		{Flags: SOAcceptCon, Type: UnixStream, Inode: 3866, Path: "/tmp/sockspec 12/server.sock"},
		{Type: UnixDgram, Inode: 4226, Path: "/tmp/dgram.sock"},
		{Type: UnixStream, Inode: 4236},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestParseMountinfo(t *testing.T) {
	got, err := parseMountinfo(fixture(t, "self/mountinfo"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Mount{
		{Root: "/", MountPoint: "/", FSType: "ext4", Source: "/dev/sda1", SuperOptions: "rw"},
		{Root: "/", MountPoint: "/sys/fs/cgroup", FSType: "cgroup2", Source: "cgroup2", SuperOptions: "rw,nsdelegate"},
		{Root: "/", MountPoint: "/sys/fs/cgroup/pids", FSType: "cgroup", Source: "cgroup", SuperOptions: "rw,pids"},
		{Root: "/docker/abc", MountPoint: "/sys/fs/cgroup/cpu and more", FSType: "cgroup", Source: "cgroup", SuperOptions: "rw,cpu,cpuacct"},
		{Root: "/", MountPoint: `/mnt/no\escape`, FSType: "tmpfs", Source: "tmpfs", SuperOptions: "rw"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestUnescapeMount(t *testing.T) {
	for in, want := range map[string]string{
		`/plain`: "/plain", `/a\040b`: "/a b", `/tab\011`: "/tab\t", `/short\04`: `/short\04`, `/not\999octal`: `/not\999octal`,
	} {
		if got := unescapeMount(in); got != want {
			t.Errorf("unescapeMount(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseCgroups(t *testing.T) {
	got, err := parseCgroups(fixture(t, "1234/cgroup"))
	if err != nil {
		t.Fatal(err)
	}
	want := []CgroupMembership{
		{HierarchyID: 12, Controllers: []string{"pids"}, Path: "/user.slice/user-1000.slice"},
		{HierarchyID: 4, Controllers: []string{"cpu", "cpuacct"}, Path: "/docker/abc"},
		{HierarchyID: 1, Controllers: []string{"name=systemd"}, Path: "/init.scope"},
		{HierarchyID: 0, Path: "/user.slice/user-1000.slice/session-2.scope"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestStatusField(t *testing.T) {
	for _, tc := range []struct {
		file, name, want string
		ok               bool
	}{
		{"self/status", "CapEff", "00000000a80c25fb", true},
		{"self/status", "TracerPid", "0", true},
		{"1234/task/1235/status", "TracerPid", "4321", true},
		{"1234/task/1235/status", "CapEff", "", false},
	} {
		got, err := statusField(fixture(t, tc.file), tc.name)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("%s %s: %q, %v; want %q (found: %v)", tc.file, tc.name, got, err, tc.want, tc.ok)
		}
	}
}

func TestParseNetCounters(t *testing.T) {
	tcp, err := parseNetstat(fixture(t, "net/netstat"), "TcpExt")
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int64{"SyncookiesSent": 0, "SyncookiesRecv": 0, "ListenOverflows": 3, "TCPSynRetrans": 17, "TCPTimeWaitOverflow": 120}; !reflect.DeepEqual(tcp, want) {
		t.Errorf("TcpExt: %v, want %v", tcp, want)
	}
	if none, err := parseNetstat(fixture(t, "net/netstat"), "MPTcpExt"); none != nil || err != nil {
		t.Errorf("a section that is absent: %v, %v; want nil, nil", none, err)
	}
	sock, err := parseSockstat(fixture(t, "net/sockstat"), "TCP")
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int64{"inuse": 7, "orphan": 0, "tw": 42, "alloc": 9, "mem": 1}; !reflect.DeepEqual(sock, want) {
		t.Errorf("TCP: %v, want %v", sock, want)
	}
	if none, err := parseSockstat(fixture(t, "net/sockstat"), "SCTP"); none != nil || err != nil {
		t.Errorf("a protocol that is absent: %v, %v; want nil, nil", none, err)
	}
}

// The readers of this process's own /proc agree with what it knows of
// itself.
func TestReadersOfThisProcess(t *testing.T) {
	pid := os.Getpid()
	fds, err := OpenFDs(pid)
	if err != nil || !slices.Contains(fds, 0) {
		t.Errorf("OpenFDs: %v, %v; want standard input among them", fds, err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if link, err := FDLink(pid, int(r.Fd())); err != nil || len(link) < 6 || link[:6] != "pipe:[" {
		t.Errorf("FDLink of a pipe: %q, %v", link, err)
	}
	tids, err := TaskIDs(pid)
	if err != nil || !slices.Contains(tids, pid) {
		t.Errorf("TaskIDs: %v, %v; want the main thread %d among them", tids, err, pid)
	}
	if by, err := TracerPID(pid, pid); err != nil || by < 0 {
		t.Errorf("TracerPID: %d, %v", by, err)
	}
	if _, err := EffectiveCaps(); err != nil {
		t.Errorf("EffectiveCaps: %v", err)
	}
	if _, err := TaskIDs(1 << 30); err == nil {
		t.Error("TaskIDs of no process: no error")
	}
	if _, err := InetSockets("sctp"); err == nil {
		t.Error("InetSockets(sctp): no error")
	}
	if _, err := InetSockets("tcp"); err != nil {
		t.Errorf("InetSockets(tcp): %v", err)
	}
	if _, err := UnixSockets(); err != nil {
		t.Errorf("UnixSockets: %v", err)
	}
	if ms, err := Mounts(); err != nil || len(ms) == 0 {
		t.Errorf("Mounts: %d, %v", len(ms), err)
	}
	if cs, err := Cgroups(pid); err != nil || len(cs) == 0 {
		t.Errorf("Cgroups: %d, %v", len(cs), err)
	}
}

func TestParseSchedstat(t *testing.T) {
	on, waiting, err := parseSchedstat("553484603 349844192 204\n")
	if err != nil || on != 553484603 || waiting != 349844192 {
		t.Fatalf("parseSchedstat = %v, %v, %v", on, waiting, err)
	}
	for _, bad := range []string{"", "12", "a b c", "1 -x 3"} {
		if _, _, err := parseSchedstat(bad); err == nil {
			t.Errorf("parseSchedstat(%q) took it", bad)
		}
	}
}

// A thread that spins is runnable all the while, whether or not the
// machine's load lets it run: Runnable grows by at least the time spun.
func TestRunnableCountsSpinning(t *testing.T) {
	before, err := Runnable(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for time.Since(start) < 100*time.Millisecond {
	}
	spun := time.Since(start)
	after, err := Runnable(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if got := after - before; got < spun*9/10 {
		t.Fatalf("Runnable grew by %v over %v of spinning", got, spun)
	}
}

// A listening socket of this process is found in its namespace's table,
// by this process's pid as by 0, and this process holds it.
func TestServerSocket(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, pid := range []int{0, os.Getpid()} {
		inode, err := ServerSocket(pid, driver.TCP, ln.Addr().String())
		if err != nil || inode == 0 {
			t.Fatalf("ServerSocket(%d, tcp, %s) = %d, %v", pid, ln.Addr(), inode, err)
		}
		if !HoldsSocket(os.Getpid(), inode) {
			t.Fatalf("this process does not hold socket %d", inode)
		}
		if got := TopHolder(map[int]int{os.Getpid(): os.Getppid()}, inode); got != os.Getpid() {
			t.Fatalf("TopHolder = %d", got)
		}
	}
	if inode, err := ServerSocket(0, driver.UDP, ln.Addr().String()); err != nil || inode != 0 {
		t.Fatalf("a udp lookup of a tcp port found %d, %v", inode, err)
	}
}
