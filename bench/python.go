package bench

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sockspec/sockspec/internal/pyenv"
)

// echoPy is the CPython server. It is embedded so that the benchmark binary
// runs from any directory, and given to the interpreter with -c.
//
//go:embed echo.py
var echoPy string

// Python is a CPython interpreter found on this machine.
type Python struct {
	Path    string // the interpreter binary itself, never a pyenv shim
	Version string // e.g. 3.11.7
}

// FindPython finds CPython 3.11 the way every other part of sockspec does
// (internal/pyenv: pyenv's newest 3.11.N, else a python3.11 on PATH that is
// not a pyenv shim, since a shim is a shell script that would add a process
// and tens of milliseconds to every start) and asks it for its version.
func FindPython(ctx context.Context) (Python, error) {
	exe := pyenv.Find("3.11")
	if exe == "" {
		return Python{}, ErrNoPython
	}
	py, err := ProbePython(ctx, exe)
	if err != nil {
		return Python{}, errors.Join(ErrNoPython, err)
	}
	return py, nil
}

// ProbePython runs the interpreter at path once to learn its real binary and
// version, and fails unless it is CPython 3.11.
func ProbePython(ctx context.Context, path string) (Python, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "-I", "-c",
		"import sys; print(sys.executable); print(sys.version.split()[0])")
	cmd.WaitDelay = time.Second
	out, err := cmd.Output()
	if err != nil {
		return Python{}, fmt.Errorf("%s: %w", path, err)
	}
	lines := strings.Fields(string(out))
	if len(lines) != 2 {
		return Python{}, fmt.Errorf("%s: unexpected answer %q", path, out)
	}
	if !strings.HasPrefix(lines[1], "3.11.") {
		return Python{}, fmt.Errorf("%s is CPython %s, not 3.11", path, lines[1])
	}
	return Python{Path: lines[0], Version: lines[1]}, nil
}

// pyServer is echo.py running in a process group of its own, so that a
// forced stop reaches the request children of ForkingTCPServer too.
type pyServer struct {
	cmd    *exec.Cmd
	stdin  interface{ Close() error }
	addr   string
	stderr *cappedBuffer
	exited chan struct{} // closed when cmd.Wait has returned
	werr   error         // cmd.Wait's result, valid once exited is closed
}

// pyStartTimeout bounds the wait for the interpreter to print its port.
const pyStartTimeout = 15 * time.Second

func startPython(python, mode string) (*pyServer, error) {
	cmd := exec.Command(python, "-I", "-c", echoPy, mode, strconv.Itoa(QueueSize))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	// Wait gives up on the output pipes this long after the interpreter
	// exited, should a request child still hold them.
	cmd.WaitDelay = 2 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	port := &firstLine{ready: make(chan struct{})}
	p := &pyServer{cmd: cmd, stdin: stdin, stderr: &cappedBuffer{max: 64 << 10}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = port, p.stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		p.werr = cmd.Wait()
		close(p.exited)
	}()
	timer := time.NewTimer(pyStartTimeout)
	defer timer.Stop()
	select {
	case <-port.ready:
	case <-p.exited:
	case <-timer.C:
	}
	line, ok := port.get()
	if n, err := strconv.Atoi(strings.TrimSpace(line)); ok && err == nil && n > 0 {
		p.addr = "127.0.0.1:" + strconv.Itoa(n)
		return p, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = p.Stop(ctx)
	return nil, fmt.Errorf("CPython %s server did not print its port (got %q): %s", mode, line, p.stderr.String())
}

func (p *pyServer) Addr() string { return p.addr }

// Stop closes stdin, which makes echo.py shut down and call server_close,
// and waits for the exit. When that does not happen within half of ctx's
// time (or 10 s), the process group gets SIGTERM, then SIGKILL; the process
// is always waited for.
func (p *pyServer) Stop(ctx context.Context) error {
	_ = p.stdin.Close()
	grace := 10 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		grace = time.Until(dl) / 2
	}
	if p.waitExit(grace) {
		return p.exitError()
	}
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	if p.waitExit(2 * time.Second) {
		return fmt.Errorf("CPython server needed SIGTERM to stop: %v", p.exitError())
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	if p.waitExit(5 * time.Second) {
		return fmt.Errorf("CPython server needed SIGKILL to stop")
	}
	return fmt.Errorf("CPython server (pid %d) did not exit even after SIGKILL", pgid)
}

func (p *pyServer) waitExit(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-p.exited:
		return true
	case <-t.C:
		return false
	}
}

func (p *pyServer) exitError() error {
	if p.werr == nil {
		return nil
	}
	return fmt.Errorf("CPython server: %w: %s", p.werr, p.stderr.String())
}

// firstLine keeps the first line written to it and discards the rest.
type firstLine struct {
	mu    sync.Mutex
	buf   []byte
	done  bool
	ready chan struct{}
}

func (f *firstLine) Write(b []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.done {
		return len(b), nil
	}
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		f.buf = append(f.buf, b[:i]...)
		f.done = true
		close(f.ready)
		return len(b), nil
	}
	if len(f.buf) < 1024 {
		f.buf = append(f.buf, b...)
	}
	return len(b), nil
}

func (f *firstLine) get() (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return string(f.buf), f.done
}

// cappedBuffer keeps the first max bytes written to it: enough for a
// traceback, without letting a server that fails on every request fill
// memory.
type cappedBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (c *cappedBuffer) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if room := c.max - len(c.buf); room > 0 {
		c.buf = append(c.buf, b[:min(room, len(b))]...)
	}
	return len(b), nil
}

func (c *cappedBuffer) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.TrimSpace(string(c.buf))
}
