package procfs

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sockspec/sockspec/internal/testkit"
)

// bound is the longest any wait of these tests may take.
const bound = 10 * time.Second

// blockedChild runs testdata/blocked.py mode in its own process group,
// waits for its "ready", and kills and reaps the group at the test's end.
func blockedChild(t *testing.T, python, mode string) int {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, python, filepath.Join("testdata", "blocked.py"), mode)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	if line := testkit.ReadLines(t, "blocked.py "+mode, out, bound).Next(); line != "ready" {
		t.Fatalf("blocked.py %s said %q, not ready", mode, line)
	}
	return cmd.Process.Pid
}

// Python's select.select is glibc's select, which calls pselect6 on
// x86_64; select.poll calls poll; accept is accept4 on 3.x, accept on 2.7.
func TestBlockedIn(t *testing.T) {
	for _, py := range testkit.Pythons(t, "3.11", "2.7") {
		accept := "accept4"
		if strings.HasSuffix(py, "2.7") {
			accept = "accept"
		}
		for _, tc := range []struct{ mode, in, wchan string }{
			{"select", "pselect6", "poll_schedule_timeout"},
			{"poll", "poll", "poll_schedule_timeout"},
			{"accept", accept, "inet_csk_accept"},
		} {
			t.Run(filepath.Base(py)+"/"+tc.mode, func(t *testing.T) {
				if runtime.GOARCH != "amd64" && tc.in != "pselect6" {
					t.Skipf("the syscalls of the Python waits are measured on amd64, this is %s", runtime.GOARCH)
				}
				pid := blockedChild(t, py, tc.mode)
				testkit.WaitForNoError(t, bound, fmt.Sprintf("process %d blocked in %s", pid, tc.in), func() error {
					in, err := BlockedIn(pid, tc.in)
					if err == nil && (len(in) != 1 || in[0].TID != pid) {
						err = fmt.Errorf("BlockedIn = %+v", in)
					}
					return err
				})
				if in, _ := BlockedIn(pid, "futex", "epoll_wait"); len(in) > 0 {
					t.Fatalf("BlockedIn(futex, epoll_wait) = %+v of a process in %s", in, tc.in)
				}
				tasks, err := Blocked(pid)
				if err != nil {
					t.Fatal(err)
				}
				if len(tasks) != 1 || tasks[0].TID != pid || tasks[0].Syscall != tc.in {
					t.Fatalf("Blocked = %+v; want the one thread %d in %s", tasks, pid, tc.in)
				}
				if w := tasks[0].Wchan; w != "" && !strings.HasPrefix(w, tc.wchan) {
					t.Fatalf("wchan %q; want %s", w, tc.wchan)
				}
			})
		}
	}
}

func TestBlockedErrors(t *testing.T) {
	if _, err := BlockedIn(os.Getpid()); err == nil || !strings.Contains(err.Error(), "at least one syscall") {
		t.Errorf("BlockedIn without names: %v", err)
	}
	if _, err := BlockedIn(os.Getpid(), "pol"); err == nil || !strings.Contains(err.Error(), `"pol" is not a syscall`) {
		t.Errorf("BlockedIn(pol): %v", err)
	}
	for _, n := range []string{"ppoll", "syscall 999"} {
		if _, err := BlockedIn(os.Getpid(), n); err != nil {
			t.Errorf("BlockedIn(%q): %v", n, err)
		}
	}
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	if _, err := Blocked(dead.Process.Pid); err == nil || !strings.Contains(err.Error(), "no process") {
		t.Errorf("Blocked of a reaped process: %v", err)
	}
	if got := parseSyscall("running\n"); got != "running" {
		t.Errorf("running: %q", got)
	}
	if got := parseSyscall("-1 0x7ffc 0x4011\n"); got != "none" {
		t.Errorf("-1: %q", got)
	}
}

// The tables agree with the syscall numbers of Go's own syscall package,
// read from its source for both architectures; epoll_pwait2 (441 on both,
// from the kernel's common table) is newer than that package.
func TestSyscallTables(t *testing.T) {
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Skipf("no go command to find Go's source with: %v", err)
	}
	def := regexp.MustCompile(`(?m)^\s*SYS_([A-Z0-9_]+)\s*=\s*([0-9]+)$`)
	for arch, table := range waitSyscalls {
		src := filepath.Join(strings.TrimSpace(string(goroot)), "src", "syscall", "zsysnum_linux_"+arch+".go")
		b, err := os.ReadFile(src)
		if err != nil {
			t.Skipf("no Go source to check against: %v", err)
		}
		goNums := map[string]int{}
		for _, m := range def.FindAllStringSubmatch(string(b), -1) {
			goNums[strings.ToLower(m[1])], _ = strconv.Atoi(m[2])
		}
		for nr, name := range table {
			if want, ok := goNums[name]; ok && want != nr {
				t.Errorf("%s: %s is %d; Go's syscall package says %d", arch, name, nr, want)
			} else if !ok && name != "epoll_pwait2" {
				t.Errorf("%s: Go's syscall package has no %s", arch, name)
			}
		}
	}
}

// Inspect counts a real child's descriptors, its live child and its zombie.
func TestInspect(t *testing.T) {
	pid := blockedChild(t, testkit.Pythons(t, "3.11", "2.7")[0], "family")
	testkit.WaitForNoError(t, bound, "one zombie and one live child", func() error {
		h, err := Inspect(pid)
		if err == nil && (h.Zombies != 1 || h.Children != 1) {
			err = fmt.Errorf("%d zombies, %d live children", h.Zombies, h.Children)
		}
		return err
	})
	h, err := Inspect(pid)
	if err != nil {
		t.Fatal(err)
	}
	var sockets, pipes int
	for _, n := range h.FDNames {
		sockets += strings.Count(n, "socket:[")
		pipes += strings.Count(n, "pipe:[")
	}
	// stdin, stdout, stderr, the pipe's two ends and the listening socket.
	if h.PID != pid || h.Threads != 1 || sockets < 1 || pipes < 2 || h.FDs != len(h.FDNames) || h.FDs < 6 {
		t.Fatalf("Inspect = %+v; want one thread and at least a socket, two pipe ends and stdio", h)
	}
	if h.Age <= 0 || h.Age > time.Hour {
		t.Fatalf("Age %v; want the child's few moments", h.Age)
	}
}

// ReadStat reads this process: its parent, its group, a running state;
// an unknown pid is an error, and Alive says so too.
func TestReadStat(t *testing.T) {
	st, err := ReadStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if st.PPID != os.Getppid() || st.PGRP != syscall.Getpgrp() || st.Zombie() || st.Threads < 1 {
		t.Errorf("ReadStat(self) = %+v; want ppid %d, pgrp %d, a live process", st, os.Getppid(), syscall.Getpgrp())
	}
	if !Alive(os.Getpid()) {
		t.Error("Alive(self) is false")
	}
	if _, err := ReadStat(-1); err == nil || Alive(-1) {
		t.Error("pid -1 reads as a process")
	}
	if _, ok := Processes()[os.Getpid()]; !ok {
		t.Error("Processes() leaves this process out")
	}
}
