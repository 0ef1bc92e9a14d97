package osfault

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sockspec/sockspec/internal/testkit"
)

func needStrace(t *testing.T) {
	t.Helper()
	if err := StraceAvailable(); err != nil {
		t.Skip(err)
	}
}

func TestInjectionValidate(t *testing.T) {
	ok := Injection{Syscalls: []string{"accept4"}, Errno: "EMFILE"}
	for _, tc := range []struct {
		change func(*Injection)
		want   string // in the error; empty: valid
	}{
		{func(*Injection) {}, ""},
		{func(i *Injection) { i.When = "1" }, ""},
		{func(i *Injection) { i.When = "3..5" }, ""},
		{func(i *Injection) { i.When = "2+" }, ""},
		{func(i *Injection) { i.When = "1..8+2" }, ""},
		{func(i *Injection) { i.Errno = ""; i.Delay = time.Millisecond }, ""},
		{func(i *Injection) { i.Syscalls = nil }, "Syscalls is empty"},
		{func(i *Injection) { i.Syscalls = []string{"accept4", "Accept"} }, `"Accept" is not a syscall name`},
		{func(i *Injection) { i.Errno = "emfile" }, `Errno "emfile" is not an errno name`},
		{func(i *Injection) { i.Errno = "" }, "neither Errno nor Delay"},
		{func(i *Injection) { i.Delay = -time.Second }, "negative"},
		{func(i *Injection) { i.When = "0" }, "counted from 1"},
		{func(i *Injection) { i.When = "65536" }, "at most 65535"},
		{func(i *Injection) { i.When = "5..3" }, "last call must be from 5"},
		{func(i *Injection) { i.When = "2+0" }, "step must be from 1"},
		{func(i *Injection) { i.When = "first" }, "is not FIRST[..LAST][+[STEP]]"},
	} {
		inj := ok
		tc.change(&inj)
		err := inj.Validate()
		if tc.want == "" && err != nil {
			t.Errorf("%+v: %v; want valid", inj, err)
		}
		if tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%+v: %v; want an error saying %q", inj, err, tc.want)
		}
	}
}

func TestParseFiring(t *testing.T) {
	for _, tc := range []struct {
		line string
		want Firing
		ok   bool
	}{
		{"20899 1796170433.403513 accept4(3, 0x7ffd, [16], SOCK_CLOEXEC) = -1 ENFILE (Too many open files in system) (INJECTED)",
			Firing{Time: time.Unix(1796170433, 403513000), PID: 20899, Syscall: "accept4", Errno: "ENFILE"}, true},
		{"21628 1796170537.325570 getppid()       = -1 EPERM (Operation not permitted) (INJECTED) (DELAYED)",
			Firing{Time: time.Unix(1796170537, 325570000), PID: 21628, Syscall: "getppid", Errno: "EPERM"}, true},
		{"7 1796170537.5 <... accept resumed>0x7ffd, [16]) = -1 EMFILE (Too many open files) (INJECTED)",
			Firing{Time: time.Unix(1796170537, 500000000), PID: 7, Syscall: "accept", Errno: "EMFILE"}, true},
		{"28694 1796169826.446509 accept4(3, {sa_family=AF_INET}, [16], SOCK_CLOEXEC) = 4 (DELAYED)",
			Firing{Time: time.Unix(1796169826, 446509000), PID: 28694, Syscall: "accept4"}, true},
		// strace pads a pid of fewer than five digits.
		{"5032  1796172019.100000 poll([{fd=3, events=POLLIN}], 1, 500) = -1 EINTR (Interrupted system call) (INJECTED)",
			Firing{Time: time.Unix(1796172019, 100000000), PID: 5032, Syscall: "poll", Errno: "EINTR"}, true},
		{"28694 1796169826.446509 accept4(3, {sa_family=AF_INET}, [16], SOCK_CLOEXEC) = 4", Firing{}, false},
		{"28694 1796170537.336664 +++ exited with 0 +++", Firing{}, false},
	} {
		got, ok := parseFiring(tc.line)
		if ok != tc.ok || !got.Time.Equal(tc.want.Time) || got.PID != tc.want.PID || got.Syscall != tc.want.Syscall || got.Errno != tc.want.Errno {
			t.Errorf("parseFiring(%q) = %+v, %v; want %+v, %v", tc.line, got, ok, tc.want, tc.ok)
		}
	}
}

// attach attaches for the test and detaches at its end.
func attach(t *testing.T, pid int, inj Injection) *Tracer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tr, err := Attach(ctx, pid, inj)
	if err != nil {
		t.Fatal(err)
	}
	closeAtEnd(t, tr.Detach)
	return tr
}

// The first three accepts fail with the injected ENFILE, the fourth takes
// the waiting connection; after Detach the server serves untraced.
func TestAttachInjectsIntoAccept(t *testing.T) {
	needStrace(t)
	eachPython(t, func(t *testing.T, python string) {
		c, addr := acceptLoop(t, python, "paced")
		connect(t, addr)
		tr := attach(t, c.pid, Injection{Syscalls: []string{"accept", "accept4"}, Errno: "ENFILE", When: "1..3"})
		for i, want := range []string{"ENFILE", "ENFILE", "ENFILE", "ok"} {
			if got := c.ask("accept"); got != want {
				t.Fatalf("accept %d under strace: %q; want %q", i+1, got, want)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), lineWait)
		defer cancel()
		if err := tr.Wait(ctx, 3); err != nil {
			t.Fatal(err)
		}
		fs := tr.Firings()
		if len(fs) != 3 {
			t.Fatalf("firings %+v; want 3", fs)
		}
		for i, f := range fs {
			if f.PID != c.pid || f.Errno != "ENFILE" || (f.Syscall != "accept" && f.Syscall != "accept4") {
				t.Errorf("firing %d: %+v; want ENFILE of accept or accept4 in process %d", i, f, c.pid)
			}
			if i > 0 && !f.Time.After(fs[i-1].Time) {
				t.Errorf("firing %d at %v is not after firing %d at %v", i, f.Time, i-1, fs[i-1].Time)
			}
		}
		if err := tr.Detach(); err != nil {
			t.Fatal(err)
		}
		if err := tr.Wait(ctx, 4); err == nil || !strings.Contains(err.Error(), "strace ended after 3") {
			t.Fatalf("Wait after Detach: %v; want an error saying strace ended", err)
		}
		if left, err := untraced(c.pid, "0"); err != nil || len(left) > 0 {
			t.Fatalf("threads %v still traced after Detach (%v)", left, err)
		}
		for range 2 {
			connect(t, addr)
			if got := c.ask("accept"); got != "ok" {
				t.Fatalf("accept after Detach: %q; want ok", got)
			}
		}
	})
}

// An accept the server waits in when strace attaches is restarted, counts
// as call 1 and fails at once, with no client.
func TestAttachToBlockedAccept(t *testing.T) {
	needStrace(t)
	c, _ := acceptLoop(t, pythons(t)[0])
	waitBlocked(t, c.pid)
	tr := attach(t, c.pid, Injection{Syscalls: []string{"accept", "accept4"}, Errno: "EMFILE", When: "1"})
	if got := c.next(); got != "EMFILE" {
		t.Fatalf("the blocked accept under strace: %q; want EMFILE", got)
	}
	// strace writes its line of the firing around when the server prints.
	ctx, cancel := context.WithTimeout(context.Background(), lineWait)
	defer cancel()
	if err := tr.Wait(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if fs := tr.Firings(); len(fs) != 1 || fs[0].Errno != "EMFILE" {
		t.Fatalf("firings %+v; want one EMFILE", fs)
	}
}

// waitBlocked waits until pid's main thread sleeps in a syscall.
func waitBlocked(t *testing.T, pid int) {
	t.Helper()
	testkit.WaitFor(t, lineWait, fmt.Sprintf("process %d to block", pid), func() bool {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		i := strings.LastIndexByte(string(b), ')')
		return i > 0 && strings.HasPrefix(string(b[i:]), ") S")
	})
}

// Every thread is traced when Attach returns, and the when= count is per
// traced task: a child that the server forks has its own first call.
func TestAttachAllThreads(t *testing.T) {
	needStrace(t)
	c := startPython(t, pythons(t)[0], "spawn_probe.py")
	c.next()
	// A thread that lives on, blocked, to be attached with the main one.
	if _, err := fmt.Fprintln(c.stdin, "sleeper"); err != nil {
		t.Fatal(err)
	}
	c.next()
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*", c.pid))
	tr := attach(t, c.pid, Injection{Syscalls: []string{"clone", "clone3"}, Errno: "EAGAIN", When: "1"})
	if left, err := untraced(c.pid, fmt.Sprint(tr.cmd.Process.Pid)); err != nil || len(left) > 0 {
		t.Fatalf("Attach returned with threads %v of %d untraced (%v)", left, len(tasks), err)
	}
	if got := c.ask("fork"); got != "EAGAIN" {
		t.Fatalf("first fork under strace: %q; want EAGAIN", got)
	}
	// The parent's second call goes through; the child's first fails.
	if got := c.ask("nested"); got != "child EAGAIN" {
		t.Fatalf("fork in a forked child under strace: %q; want \"child EAGAIN\"", got)
	}
	if got := c.ask("fork"); got != "ok" {
		t.Fatalf("third fork under strace: %q; want ok", got)
	}
}

func TestAttachErrors(t *testing.T) {
	needStrace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	inj := Injection{Syscalls: []string{"accept4"}, Errno: "EMFILE"}
	if _, err := Attach(ctx, dead.Process.Pid, inj); err == nil || !strings.Contains(err.Error(), "no such process") {
		t.Errorf("Attach to a reaped process: %v; want an error saying there is no such process", err)
	}
	if _, err := Attach(ctx, os.Getpid(), Injection{}); err == nil || !strings.Contains(err.Error(), "Syscalls is empty") {
		t.Errorf("Attach with an empty injection: %v; want the validation error", err)
	}
	c := startPython(t, pythons(t)[0], "spawn_probe.py")
	c.next()
	bad := Injection{Syscalls: []string{"no_such_call"}, Errno: "EMFILE"}
	if _, err := Attach(ctx, c.pid, bad); err == nil || !strings.Contains(err.Error(), "invalid system call") {
		t.Errorf("Attach with an unknown syscall: %v; want strace's complaint", err)
	}
	if got := c.ask("fork"); got != "ok" {
		t.Errorf("the process after a failed Attach: %q; want ok", got)
	}
}
