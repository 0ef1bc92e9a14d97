package containers

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/sockspec/sockspec/containers/images"
	"github.com/sockspec/sockspec/spec/driver"
)

// TestHardening checks each confinement on a running session container:
// from the daemon's record and from what the kernel shows of its process.
func TestHardening(t *testing.T) {
	e := needEngine(t)
	needImage(t, e, images.ReferenceImage)
	limits := Limits{Pids: 77, NoFile: 333, Memory: 96 << 20, CPUs: 0.5}
	tgt := openTarget(t, "reference", Options{Limits: limits})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sess, err := tgt.Start(ctx, driver.ServerConfig{Family: driver.TCP, Dispatch: driver.Sync})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	b := sess.(*session).b
	res, err := e.Client.ContainerInspect(ctx, b.id, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	hc := res.Container.HostConfig
	check := func(what string, ok bool, got any) {
		t.Helper()
		if !ok {
			t.Errorf("%s: got %v", what, got)
		}
	}
	check("every capability dropped", len(hc.CapDrop) == 1 && strings.EqualFold(hc.CapDrop[0], "ALL") && len(hc.CapAdd) == 0, hc.CapDrop)
	check("no-new-privileges", strings.Contains(strings.Join(hc.SecurityOpt, ","), "no-new-privileges"), hc.SecurityOpt)
	check("read-only root", hc.ReadonlyRootfs, hc.ReadonlyRootfs)
	check("a tmpfs for scratch", strings.Contains(hc.Tmpfs["/tmp"], "size="), hc.Tmpfs)
	check("an init", hc.Init != nil && *hc.Init, hc.Init)
	check("pids limit", hc.PidsLimit != nil && *hc.PidsLimit == limits.Pids, hc.PidsLimit)
	check("nofile ulimit", len(hc.Ulimits) == 1 && hc.Ulimits[0].Name == "nofile" && hc.Ulimits[0].Hard == limits.NoFile, hc.Ulimits)
	check("memory", hc.Memory == limits.Memory, hc.Memory)
	check("cpus", hc.NanoCPUs == int64(limits.CPUs*1e9), hc.NanoCPUs)
	check("nothing published", len(hc.PortBindings) == 0 && !hc.PublishAllPorts, hc.PortBindings)
	check("the user", res.Container.Config.User == defaultUser, res.Container.Config.User)
	check("the target's network namespace", string(hc.NetworkMode) == tgt.net.mode(), hc.NetworkMode)

	// What the kernel shows of the adapter's process.
	status := readProc(t, b.PID, "status")
	check("no effective capability", fieldOf(status, "CapEff:") == "0000000000000000", fieldOf(status, "CapEff:"))
	check("NoNewPrivs set", fieldOf(status, "NoNewPrivs:") == "1", fieldOf(status, "NoNewPrivs:"))
	check("a non-root uid", strings.Fields(fieldOf(status, "Uid:"))[0] == "65534", fieldOf(status, "Uid:"))
	limitsFile := readProc(t, b.PID, "limits")
	check("RLIMIT_NOFILE", strings.Contains(lineOf(limitsFile, "Max open files"), fmt.Sprint(limits.NoFile)), lineOf(limitsFile, "Max open files"))
	mounts := readProc(t, b.PID, "mountinfo")
	root := mountOf(mounts, "/")
	check("/ mounted read-only", strings.HasPrefix(strings.Fields(root)[5], "ro"), root)
	check("/tmp a tmpfs", strings.Contains(mountOf(mounts, "/tmp"), "tmpfs"), mountOf(mounts, "/tmp"))
	if cg := readCgroup(b.id, "pids", "pids.max"); cg != "" {
		check("pids.max of its cgroup", cg == fmt.Sprint(limits.Pids), cg)
	}

	// The network: listening on loopback only (127/8: Docker's resolver
	// sits at 127.0.0.11), and no way out of the internal network: the
	// host's own address, served by a listener here, cannot be reached.
	for _, l := range strings.Split(readProc(t, b.PID, "net/tcp"), "\n")[1:] {
		f := strings.Fields(l)
		if len(f) > 3 && f[3] == "0A" && !strings.HasSuffix(strings.Split(f[1], ":")[0], "7F") {
			t.Errorf("a socket listening beyond loopback: %s", l)
		}
	}
	if ip := hostAddress(t); ip != "" {
		l, err := net.Listen("tcp4", ip+":0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		err = tgt.net.do(func() error {
			c, err := net.DialTimeout("tcp4", l.Addr().String(), time.Second)
			if err == nil {
				c.Close()
			}
			return err
		})
		if err == nil {
			t.Errorf("the container reached the host at %s: its network has a route out", l.Addr())
		}
	}
	for _, l := range strings.Split(readProc(t, b.PID, "net/dev"), "\n")[2:] {
		if name, _, _ := strings.Cut(strings.TrimSpace(l), ":"); name != "" && name != "lo" {
			t.Errorf("a network interface beside loopback: %s", name)
		}
	}
}

func readProc(t *testing.T, pid int, name string) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func lineOf(text, prefix string) string {
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}

func fieldOf(text, prefix string) string {
	return strings.TrimSpace(strings.TrimPrefix(lineOf(text, prefix), prefix))
}

// mountOf is the mountinfo line of mount point path.
func mountOf(mountinfo, path string) string {
	for _, l := range strings.Split(mountinfo, "\n") {
		if f := strings.Fields(l); len(f) > 5 && f[4] == path {
			return l
		}
	}
	return ""
}

// readCgroup reads a file of the container's v1 cgroup, "" when absent.
func readCgroup(id, controller, file string) string {
	b, err := os.ReadFile(fmt.Sprintf("/sys/fs/cgroup/%s/docker/%s/%s", controller, id, file))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// hostAddress is an IPv4 address of the machine beyond loopback, "" when
// it has none.
func hostAddress(t *testing.T) string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !strings.HasPrefix(n.IP.String(), "172.") && !strings.HasPrefix(n.IP.String(), "192.168.") {
			return n.IP.String()
		}
	}
	return ""
}
