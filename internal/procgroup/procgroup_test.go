package procgroup

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// members lists the pids of every process of group pgid that /proc shows,
// zombies included.
func members(t *testing.T, pgid int) []int {
	t.Helper()
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var pids []int
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // it exited while we looked
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		if f[2] == strconv.Itoa(pgid) {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
			pids = append(pids, pid)
		}
	}
	return pids
}

func assertGone(t *testing.T, g *Group) {
	t.Helper()
	if err := syscall.Kill(-g.PGID(), 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("kill(-%d, 0) = %v; want ESRCH", g.PGID(), err)
	}
	if left := members(t, g.PGID()); len(left) > 0 {
		t.Errorf("processes of group %d left (zombies included): %v", g.PGID(), left)
	}
}

// startShell runs script in a group, with its stdout on a pipe, and returns
// the first line it prints (a script prints once it has set itself up).
func startShell(t *testing.T, script string) (*Group, string) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.Stdout = w
	g, err := Start(cmd)
	w.Close()
	if err != nil {
		r.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Stop(0); r.Close() })
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		lines <- strings.TrimSpace(line)
	}()
	select {
	case line := <-lines:
		return g, line
	case <-time.After(10 * time.Second):
		t.Fatalf("%q printed nothing within 10s", script)
	}
	return nil, ""
}

// The leader exits at once and leaves children behind, one of which
// leaves a zombie of its own: Stop reaps them all, orphans included.
func TestStopReapsOrphansAndZombies(t *testing.T) {
	g, line := startShell(t, `sleep 600 & (sleep 0 & exec sleep 600) & echo $!; exit 4`)
	<-g.Exited()
	var exit *exec.ExitError
	if err := g.ExitErr(); !errors.As(err, &exit) || exit.ExitCode() != 4 {
		t.Fatalf("ExitErr = %v; want exit status 4", err)
	}
	if n := len(members(t, g.PGID())); n < 2 {
		t.Fatalf("%d processes of the group before Stop; want the 2 sleepers at least (last one %s)", n, line)
	}
	if err := g.Stop(0); err != nil {
		t.Fatal(err)
	}
	assertGone(t, g)
	if err := g.Stop(0); err != nil {
		t.Fatalf("a second Stop: %v", err)
	}
	if err := g.Signal(syscall.SIGTERM); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("Signal after Stop = %v; want ESRCH without signalling", err)
	}
}

// With a grace, a group that ends on SIGTERM is not killed; one that
// ignores SIGTERM is killed once the grace has passed.
func TestStopGrace(t *testing.T) {
	for _, tc := range []struct {
		name, script string
		status       string
		minWait      time.Duration
	}{
		{name: "ends on SIGTERM", script: `trap 'exit 9' TERM; echo ready; while :; do sleep 0.05; done`, status: "exit status 9"},
		{name: "ignores SIGTERM", script: `trap '' TERM; echo ready; while :; do sleep 0.05; done`, status: "signal: killed", minWait: 300 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, _ := startShell(t, tc.script)
			if err := g.ExitErr(); !errors.Is(err, ErrRunning) {
				t.Fatalf("ExitErr while running = %v; want ErrRunning", err)
			}
			start := time.Now()
			if err := g.Stop(300 * time.Millisecond); err != nil {
				t.Fatal(err)
			}
			took := time.Since(start)
			if err := g.ExitErr(); err == nil || err.Error() != tc.status {
				t.Fatalf("ExitErr = %v; want %q", err, tc.status)
			}
			if took < tc.minWait || took > 300*time.Millisecond+ReapBound {
				t.Fatalf("Stop took %v; want between %v and the grace plus ReapBound", took, tc.minWait)
			}
			assertGone(t, g)
		})
	}
}

// KillAll kills every group not stopped yet; Stop then reaps it.
func TestKillAll(t *testing.T) {
	before := Live()
	var gs []*Group
	for range 2 {
		g, _ := startShell(t, `sleep 600 & echo ready; wait`)
		gs = append(gs, g)
	}
	if Live() != before+2 {
		t.Fatalf("Live = %d; want %d", Live(), before+2)
	}
	KillAll()
	for _, g := range gs {
		select {
		case <-g.Exited():
		case <-time.After(ReapBound):
			t.Fatalf("the leader of group %d outlived KillAll", g.PGID())
		}
		if err := g.Stop(time.Second); err != nil {
			t.Fatal(err)
		}
		assertGone(t, g)
	}
	if Live() != before {
		t.Fatalf("Live = %d after Stop; want %d", Live(), before)
	}
}

func TestStartRejectsCopiedOutput(t *testing.T) {
	cmd := exec.Command("/bin/true")
	cmd.Stdout = &bytes.Buffer{}
	_, err := Start(cmd)
	if err == nil || !strings.Contains(err.Error(), "cmd.Stdout is a *bytes.Buffer") {
		t.Fatalf("Start with a buffer as stdout: %v", err)
	}
	if _, err := Start(exec.Command("/no/such/program")); err == nil {
		t.Fatal("Start of a missing program succeeded")
	}
}

func TestTailBuffer(t *testing.T) {
	var b TailBuffer
	b.Write(bytes.Repeat([]byte("a"), TailKeep-10))
	b.Write([]byte("0123456789abcdefghij"))
	s := b.String()
	if len(s) != TailKeep || !strings.HasSuffix(s, "aaaa0123456789abcdefghij") {
		t.Fatalf("kept %d bytes ending %q; want the last %d", len(s), s[len(s)-24:], TailKeep)
	}
}
