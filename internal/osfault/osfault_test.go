package osfault

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sockspec/sockspec/internal/testkit"
)

// lineWait bounds every wait for a line of a Python child.
const lineWait = 10 * time.Second

// pythons are the interpreters the tests run their snippets with: 3.11
// and 2.7, else the system python3.
func pythons(t *testing.T) []string { return testkit.Pythons(t, "3.11", "2.7") }

// eachPython runs f as a subtest per interpreter.
func eachPython(t *testing.T, f func(t *testing.T, python string)) {
	for _, py := range pythons(t) {
		t.Run(filepath.Base(py), func(t *testing.T) { f(t, py) })
	}
}

// closeAtEnd calls close at the test's end and fails the test on its error.
func closeAtEnd(t *testing.T, close func() error) {
	t.Cleanup(func() {
		if err := close(); err != nil {
			t.Error(err)
		}
	})
}

// child is a Python child process in its own process group, killed and
// reaped at the test's end.
type child struct {
	t     *testing.T
	cmd   *exec.Cmd
	pid   int
	stdin *os.File
	out   *testkit.Lines // its stdout
}

// startPython runs testdata/script with python, in its own process group.
func startPython(t *testing.T, python, script string, args ...string) *child {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, python, append([]string{filepath.Join("testdata", script)}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.Stderr = os.Stderr
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin, cmd.Stdout = inR, outW
	err = cmd.Start()
	inR.Close()
	outW.Close()
	if err != nil {
		cancel()
		t.Fatalf("starting %s %s: %v", python, script, err)
	}
	name := fmt.Sprintf("the output of %s (process %d)", script, cmd.Process.Pid)
	c := &child{t: t, cmd: cmd, pid: cmd.Process.Pid, stdin: inW, out: testkit.ReadLines(t, name, outR, lineWait)}
	t.Cleanup(func() {
		cancel() // kills the whole group
		_ = cmd.Wait()
		inW.Close()
		select {
		case <-c.out.Done():
		case <-time.After(lineWait):
			t.Errorf("the stdout of %s stayed open %v after its group was killed", script, lineWait)
		}
	})
	return c
}

// next is the child's next line of output.
func (c *child) next() string {
	c.t.Helper()
	return c.out.Next()
}

// ask writes a request line and returns the answer line.
func (c *child) ask(req string) string {
	c.t.Helper()
	if _, err := fmt.Fprintln(c.stdin, req); err != nil {
		c.t.Fatalf("writing %q to process %d: %v", req, c.pid, err)
	}
	return c.next()
}

// acceptLoop starts testdata/accept_loop.py and returns it with the
// address it listens on.
func acceptLoop(t *testing.T, python string, args ...string) (*child, string) {
	t.Helper()
	c := startPython(t, python, "accept_loop.py", args...)
	port, ok := strings.CutPrefix(c.next(), "port ")
	if !ok {
		t.Fatalf("accept_loop.py did not say its port")
	}
	return c, "127.0.0.1:" + port
}

// connect makes a client connection to addr, closed at the test's end. The
// kernel completes it into the listen backlog; no accept is needed.
func connect(t *testing.T, addr string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, lineWait)
	if err != nil {
		t.Fatalf("connecting to %s: %v", addr, err)
	}
	t.Cleanup(func() { conn.Close() })
}
