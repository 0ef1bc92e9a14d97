package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sockspec/sockspec/internal/procfs"
	"github.com/sockspec/sockspec/internal/testkit"
	"github.com/sockspec/sockspec/spec/rules"
)

var (
	allFamilies = []string{"tcp", "udp", "unix", "unixgram"}
	allModes    = []string{"sync", "threading", "forking"}
	inetAddr    = regexp.MustCompile(`^127\.0\.0\.1:[1-9][0-9]*$`)
)

func isUnix(family string) bool { return family == "unix" || family == "unixgram" }

// TestServeEndToEnd runs the binary for every family, mode and handler:
// the first line is the address, replies are right, no request child is
// left once the requests are done, SIGTERM stops it with status 0, a unix
// socket file is removed, and nothing outlives it.
func TestServeEndToEnd(t *testing.T) {
	binary(t) // build once, before the parallel subtests race for it
	for _, family := range allFamilies {
		for _, mode := range allModes {
			for _, handler := range []string{"echo", "upper"} {
				t.Run(family+"/"+mode+"/"+handler, func(t *testing.T) {
					t.Parallel()
					checkServe(t, family, mode, handler)
				})
			}
		}
	}
}

func checkServe(t *testing.T, family, mode, handler string) {
	args := []string{"--family", family, "--mode", mode, "--handler", handler, "--poll-interval", "100ms"}
	var path string
	if isUnix(family) {
		path = filepath.Join(shortDir(t), "s.sock")
		args = append(args, "--addr", path)
	}
	s := startServer(t, args...)
	if isUnix(family) && s.addr != path || !isUnix(family) && !inetAddr.MatchString(s.addr) {
		t.Fatalf("first line %q is not the bound address", s.addr)
	}

	msg := "Hello, sockspec!"
	if family == "tcp" || family == "unix" {
		msg += "\n" // a stream request is one line
	}
	want := msg
	if handler == "upper" {
		want = strings.ToUpper(msg)
	}
	for range 2 { // the server goes on after a request
		if got := request(t, family, s.addr, msg); got != want {
			t.Fatalf("reply %q, want %q; stderr:\n%s", got, want, s.stderr())
		}
	}
	// Every request is answered: any request child must be gone and
	// reaped, no zombie among them.
	waitChildren(t, s.pid(), 0)

	s.signal(syscall.SIGTERM)
	if code := s.waitExit(); code != 0 {
		t.Fatalf("exit status %d after SIGTERM, want 0; stderr:\n%s", code, s.stderr())
	}
	if path != "" {
		if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("socket file %s after the exit: %v, want it removed", path, err)
		}
	}
	if rest := s.waitOutputClosed(); rest != "" {
		t.Errorf("stdout after the address line: %q, want nothing", rest)
	}
	if e := s.stderr(); e != "" {
		t.Errorf("stderr: %q, want nothing", e)
	}
}

// TestForkingConcurrentClients holds five connections open at once: five
// request children serve them side by side. SIGTERM then closes the socket
// at once but the exit waits for the children (block_on_close), which
// still answer their clients, and every child is reaped.
func TestForkingConcurrentClients(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--mode", "forking", "--handler", "upper")
	const n = 5
	conns := make([]net.Conn, n)
	for i := range conns {
		c, err := net.DialTimeout("tcp", s.addr, ioTimeout)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		_ = c.SetDeadline(time.Now().Add(ioTimeout + exitTimeout))
		conns[i] = c
	}
	kids := waitChildren(t, s.pid(), n) // each child waits for its line

	s.signal(syscall.SIGTERM)
	s.waitStderr("waiting for 5 request children to finish")
	if c, err := net.DialTimeout("tcp", s.addr, ioTimeout); err == nil {
		c.Close()
		t.Error("the server still accepts connections while it waits for its children")
	}
	select {
	case <-s.exited:
		t.Fatal("the server exited before its request children finished")
	default:
	}

	for i := n - 1; i >= 0; i-- {
		line := "client " + string(rune('a'+i)) + "\n"
		if _, err := io.WriteString(conns[i], line); err != nil {
			t.Fatal(err)
		}
		reply, err := io.ReadAll(conns[i])
		if err != nil || string(reply) != strings.ToUpper(line) {
			t.Fatalf("client %d: reply %q (%v), want %q", i, reply, err, strings.ToUpper(line))
		}
	}
	if code := s.waitExit(); code != 0 {
		t.Fatalf("exit status %d, want 0; stderr:\n%s", code, s.stderr())
	}
	s.waitOutputClosed()
	for _, k := range kids {
		if st, err := readProcStat(k.PID); err == nil {
			t.Errorf("request child %d outlived the server: %+v", k.PID, st)
		}
	}
}

// TestSIGINT checks that SIGINT stops the server like SIGTERM does.
func TestSIGINT(t *testing.T) {
	t.Parallel()
	path := filepath.Join(shortDir(t), "s.sock")
	s := startServer(t, "--family", "unix", "--addr", path, "--mode", "threading")
	if got := request(t, "unix", s.addr, "x\n"); got != "x\n" {
		t.Fatalf("reply %q", got)
	}
	s.signal(syscall.SIGINT)
	if code := s.waitExit(); code != 0 {
		t.Fatalf("exit status %d after SIGINT, want 0; stderr:\n%s", code, s.stderr())
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("socket file %s after the exit: %v, want it removed", path, err)
	}
	s.waitOutputClosed()
}

// TestSecondSignalStopsAtOnce: a child waits for a silent client, the
// first SIGTERM waits for it, the second kills it and exits 1.
func TestSecondSignalStopsAtOnce(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--mode", "forking")
	c, err := net.DialTimeout("tcp", s.addr, ioTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	kids := waitChildren(t, s.pid(), 1)

	s.signal(syscall.SIGTERM)
	s.waitStderr("waiting for 1 request child to finish")
	s.signal(syscall.SIGTERM)
	if code := s.waitExit(); code != 1 {
		t.Fatalf("exit status %d after a second signal, want 1; stderr:\n%s", code, s.stderr())
	}
	s.waitOutputClosed()
	if e := s.stderr(); !strings.Contains(e, "stopped at once") || !strings.Contains(e, "1 request child killed") {
		t.Errorf("stderr does not say the stop was forced:\n%s", e)
	}
	waitGone(t, kids[0].PID)
}

// TestStreamTimeout: with --timeout, a client that sends nothing is
// dropped and the failure reported by handle_error, in the server and in
// a request child alike (the timeout travels in the fork recipe).
func TestStreamTimeout(t *testing.T) {
	for _, mode := range allModes {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, "--mode", mode, "--timeout", "200ms")
			c, err := net.DialTimeout("tcp", s.addr, ioTimeout)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(ioTimeout))
			if reply, err := io.ReadAll(c); err != nil || len(reply) != 0 {
				t.Fatalf("a silent client got %q (%v), want the connection closed", reply, err)
			}
			s.waitStderr("Exception occurred during processing of request")
			s.waitStderr("i/o timeout")
			// The server is still fine for the next client.
			if got := request(t, "tcp", s.addr, "next\n"); got != "next\n" {
				t.Fatalf("reply %q", got)
			}
			s.signal(syscall.SIGTERM)
			if code := s.waitExit(); code != 0 {
				t.Fatalf("exit status %d, want 0; stderr:\n%s", code, s.stderr())
			}
		})
	}
}

// TestBindConflict: a second server on a taken port exits 1 and says why.
func TestBindConflict(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	code, stdout, stderr := runSockspec(t, "serve", "--addr", s.addr)
	if code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	if stdout != "" {
		t.Errorf("stdout %q, want nothing", stdout)
	}
	for _, w := range []string{"sockspec serve: cannot bind tcp " + s.addr, "address already in use", "--addr"} {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr %q does not contain %q", stderr, w)
		}
	}
	if strings.Count(stderr, "\n") != 1 {
		t.Errorf("stderr %q is not one line", stderr)
	}
	// The first server is unharmed.
	if got := request(t, "tcp", s.addr, "still here\n"); got != "still here\n" {
		t.Errorf("reply %q", got)
	}
}

// TestBinaryUsageAndBadFlags checks exit statuses of the real program.
func TestBinaryUsageAndBadFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args           []string
		code           int
		stdout, stderr string
	}{
		{nil, 2, "", "Commands:"},
		{[]string{"help"}, 0, "serve", ""},
		{[]string{"-h"}, 0, "serve", ""},
		{[]string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{[]string{"serve", "-h"}, 0, "--timeout D", ""},
		{[]string{"serve", "--mode", "fork"}, 2, "", "--mode"},
		{[]string{"serve", "--family", "unix"}, 2, "", "--addr is required"},
		{[]string{"serve", "--timeout", "-1s"}, 2, "", "--timeout"},
		{[]string{"serve", "--handler", "lower"}, 2, "", "--handler"},
		{[]string{"serve", "--nope"}, 2, "", "-nope"},
		{[]string{"serve", "extra"}, 2, "", `"extra"`},
	} {
		code, stdout, stderr := runSockspec(t, tc.args...)
		if code != tc.code || !strings.Contains(stdout, tc.stdout) || !strings.Contains(stderr, tc.stderr) {
			t.Errorf("sockspec %q: status %d, stdout %q, stderr %q; want %d, %q, %q", tc.args, code, stdout, stderr, tc.code, tc.stdout, tc.stderr)
		}
	}
}

// TestBinaryRules checks that "sockspec rules" prints the whole registry.
func TestBinaryRules(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := runSockspec(t, "rules", "--format", "json")
	if code != 0 {
		t.Fatalf("sockspec rules --format json: status %d, stderr %q", code, stderr)
	}
	var got []rules.Rule
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("sockspec rules --format json printed no JSON list of rules: %v", err)
	}
	if len(got) != len(rules.All()) || got[0].ID != rules.All()[0].ID {
		t.Errorf("printed %d rules starting with %q; the registry has %d", len(got), got[0].ID, len(rules.All()))
	}
	code, stdout, _ = runSockspec(t, "rules")
	if code != 0 || !strings.Contains(stdout, "ORD-03") || !strings.Contains(stdout, "SHOULD") {
		t.Errorf("sockspec rules: status %d, table %q", code, stdout)
	}
	code, _, stderr = runSockspec(t, "rules", "--format", "xml")
	if code != 2 || !strings.Contains(stderr, "--format") {
		t.Errorf("sockspec rules --format xml: status %d, stderr %q; want 2 and a word on --format", code, stderr)
	}
}

// TestBinaryRun runs one rule's specs against the reference and against a
// mutant that breaks it, and checks the exit statuses and the report.
func TestBinaryRun(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	code, stdout, stderr := runSockspec(t, "run", "--target", "reference", "--label-filter", "rule:ORD-03", "--report-dir", dir)
	if code != 0 {
		t.Fatalf("run against the reference: status %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	var v struct {
		Conformant bool `json:"conformant"`
		Rules      []struct {
			Rule    string `json:"rule"`
			Outcome string `json:"outcome"`
		} `json:"rules"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if !v.Conformant || len(v.Rules) != 1 || v.Rules[0].Rule != "ORD-03" || v.Rules[0].Outcome != "PASS" {
		t.Errorf("report.json: %s", b)
	}
	if _, err := os.Stat(filepath.Join(dir, "junit.xml")); err != nil {
		t.Errorf("no junit.xml: %v", err)
	}
	if page, err := os.ReadFile(filepath.Join(dir, "report.html")); err != nil || !strings.Contains(string(page), `data-detail="d-ORD-03-0"`) {
		t.Errorf("no report.html with ORD-03's cell beside report.json: %v", err)
	}
	code, stdout, _ = runSockspec(t, "run", "--target", "mutant:ord03-verify-ignored", "--label-filter", "rule:ORD-03")
	if code != 1 || !strings.Contains(stdout, "ORD-03") {
		t.Errorf("run against a mutant of ORD-03: status %d, want 1; stdout %s", code, stdout)
	}
	code, _, stderr = runSockspec(t, "run", "--target", "nope")
	if code != 2 || !strings.Contains(stderr, "--target") {
		t.Errorf("run --target nope: status %d, stderr %q; want 2 and a word on --target", code, stderr)
	}
}

// TestProcessParity runs the suite against the reference in process and
// as a protocol adapter: the verdicts must be the same, rule by rule. A
// mutant through the process tier must fail its rule as it does in
// process.
func TestProcessParity(t *testing.T) {
	t.Parallel()
	inproc, inprocWhy := verdictOf(t, "--target", "reference")
	proc, procWhy := verdictOf(t, "--target", "reference-process", "--validate-protocol")
	if len(inproc) != len(rules.All()) {
		t.Errorf("in process, %d rules judged of %d", len(inproc), len(rules.All()))
	}
	for _, r := range rules.All() {
		if inproc[r.ID] != proc[r.ID] {
			t.Errorf("%s: %s in process, %s as a process\nin process: %s\nas a process: %s", r.ID, inproc[r.ID], proc[r.ID],
				inprocWhy[r.ID], procWhy[r.ID])
		}
	}
	mut, _ := verdictOf(t, "--target", "reference-process:ord03-verify-ignored", "--label-filter", "rule:ORD-03")
	if mut["ORD-03"] != "FAIL" {
		t.Errorf("the ORD-03 mutant as a process: %q, want FAIL", mut["ORD-03"])
	}
}

// TestHostileAdapterRun runs specs against adapters that crash or stop
// answering: each spec ends as ERROR or HANG, the run goes on to its
// summary, and no process of the adapters is left.
func TestHostileAdapterRun(t *testing.T) {
	t.Parallel()
	for script, want := range map[string]string{"crash-mid-spec": "ERROR", "never-answers": "HANG"} {
		path, err := filepath.Abs(filepath.Join("..", "..", "adapters", "process", "testdata", "hostile", script+".sh"))
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		code, stdout, stderr := runSockspecBound(t, time.Minute, "run", "--target", "process:"+path, "--label-filter", "rule:ORD-01 || rule:ORD-03", "--report-dir", dir)
		if code == 0 {
			t.Errorf("%s: status 0", script)
		}
		b, err := os.ReadFile(filepath.Join(dir, "report.json"))
		if err != nil {
			t.Fatalf("%s: no report (status %d): %v\n%s\n%s", script, code, err, stdout, stderr)
		}
		var v struct {
			Rules []struct {
				Rule    string `json:"rule"`
				Outcome string `json:"outcome"`
				Specs   []struct {
					Outcome string `json:"outcome"`
				} `json:"specs"`
			} `json:"rules"`
		}
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		if len(v.Rules) != 2 {
			t.Errorf("%s: %d rules judged, want both: the run must go on", script, len(v.Rules))
		}
		// The hostile adapters name an address nobody listens on: a client
		// that cannot connect is an ERROR too.
		seen := false
		for _, r := range v.Rules {
			if r.Outcome != "ERROR" && r.Outcome != "HANG" {
				t.Errorf("%s: %s is %s, want ERROR or HANG", script, r.Rule, r.Outcome)
			}
			for _, sp := range r.Specs {
				seen = seen || sp.Outcome == want
			}
		}
		if !seen {
			t.Errorf("%s: no rule is %s", script, want)
		}
		if left := processesRunning(path); len(left) > 0 {
			t.Errorf("%s: processes left running: %v", script, left)
		}
	}
}

// processesRunning lists the pids of the processes that run the program
// path: one of their arguments is path itself. (The harness names it only
// inside its --target, so it is not one of them.)
func processesRunning(path string) []string {
	var out []string
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err != nil {
			continue
		}
		for _, arg := range strings.Split(string(b), "\x00") {
			if arg == path {
				out = append(out, filepath.Base(d))
				break
			}
		}
	}
	return out
}

// hostileCopy is a copy, of this test's own, of a hostile adapter of
// adapters/process/testdata/hostile: the interrupt tests find it in /proc
// by its path, which no other test may share.
func hostileCopy(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "adapters", "process", "testdata", "hostile", name))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestInterruptKillsAdapters interrupts a run (Ctrl-C) while an adapter
// and the children it started are alive: none of them may outlive the run.
func TestInterruptKillsAdapters(t *testing.T) {
	t.Parallel()
	path := hostileCopy(t, "leaves-children.sh")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), "run", "--target", "process:"+path, "--label-filter", "rule:ORD-03")
	// Not the adapter that the harness starts to read its hello: the one
	// of the session, once it has started its children.
	interruptOnceRunning(t, cmd, path, func(adapter procfs.Stat, pid int) bool {
		for _, st := range procfs.Processes() {
			if st.PPID == pid {
				return true
			}
		}
		return false
	})
	if err := cmd.Wait(); err == nil {
		t.Error("an interrupted run exited 0")
	}
	expectGone(t, path)
}

// interruptOnceRunning starts cmd, waits for a process running the
// adapter path of which ready (given its /proc/PID/stat and pid) holds,
// and interrupts cmd (Ctrl-C); the caller waits for cmd.
func interruptOnceRunning(t *testing.T, cmd *exec.Cmd, path string, ready func(adapter procfs.Stat, pid int) bool) {
	t.Helper()
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	running := func() bool {
		for _, p := range processesRunning(path) {
			pid, _ := strconv.Atoi(p)
			if st, err := procfs.ReadStat(pid); err == nil && ready(st, pid) {
				return true
			}
		}
		return false
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil { // the wait below failed the test
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	testkit.WaitFor(t, 20*time.Second, "the adapter to start", running)
	cmd.Process.Signal(os.Interrupt)
}

// expectGone fails the test when the adapter path still runs 20 s on.
func expectGone(t *testing.T, path string) {
	t.Helper()
	testkit.WaitForNoError(t, 20*time.Second, "the adapter processes to end with the interrupted run", func() error {
		if left := processesRunning(path); len(left) > 0 {
			return fmt.Errorf("still running: %v", left)
		}
		return nil
	})
}
