package procfs

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Mount is one line of /proc/self/mountinfo.
type Mount struct {
	Root       string // the mount's root within its filesystem
	MountPoint string
	FSType     string // "cgroup2", "cgroup", "ext4"
	Source     string
	// SuperOptions are the filesystem's options: a cgroup v1 hierarchy
	// names its controllers there ("rw,pids").
	SuperOptions string
}

// Mounts reads this process's mount table, /proc/self/mountinfo.
func Mounts() ([]Mount, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseMountinfo(f)
}

// parseMountinfo reads lines "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS
// [TAGS...] - FSTYPE SOURCE SUPEROPTIONS"; a line it cannot read is left
// out.
func parseMountinfo(r io.Reader) ([]Mount, error) {
	var out []Mount
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		pf, qf := strings.Fields(pre), strings.Fields(post)
		if !ok || len(pf) < 5 || len(qf) < 3 {
			continue
		}
		out = append(out, Mount{Root: unescapeMount(pf[3]), MountPoint: unescapeMount(pf[4]),
			FSType: qf[0], Source: qf[1], SuperOptions: qf[2]})
	}
	return out, sc.Err()
}

// unescapeMount undoes mountinfo's octal escapes, such as \040 for a space.
func unescapeMount(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// CgroupMembership is one line of /proc/PID/cgroup: the group a process
// is in, in one hierarchy.
type CgroupMembership struct {
	// HierarchyID is 0 for the cgroup2 hierarchy.
	HierarchyID int
	// Controllers are a v1 hierarchy's ("pids", "cpu"); none for cgroup2.
	Controllers []string
	// Path is the group's path within the hierarchy.
	Path string
}

// Cgroups reads the groups process pid is in, /proc/PID/cgroup.
func Cgroups(pid int) ([]CgroupMembership, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseCgroups(f)
}

// parseCgroups reads lines "ID:CONTROLLERS:PATH" (cgroup2's is "0::PATH");
// a line it cannot read is left out.
func parseCgroups(r io.Reader) ([]CgroupMembership, error) {
	var out []CgroupMembership
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.SplitN(sc.Text(), ":", 3)
		if len(f) != 3 {
			continue
		}
		id, err := strconv.Atoi(f[0])
		if err != nil {
			continue
		}
		m := CgroupMembership{HierarchyID: id, Path: f[2]}
		if f[1] != "" {
			m.Controllers = strings.Split(f[1], ",")
		}
		out = append(out, m)
	}
	return out, sc.Err()
}
