package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sockspec/sockspec/internal/procfs"
	"github.com/sockspec/sockspec/internal/testkit"
)

// Bounds of the waits of the end-to-end tests. They are generous: each
// only matters when something hangs.
const (
	startTimeout = 10 * time.Second // until the address line
	ioTimeout    = 5 * time.Second  // one client exchange
	exitTimeout  = 10 * time.Second // from a signal to the exit
	procTimeout  = 5 * time.Second  // until /proc shows what is expected
)

// serverProc is a running "sockspec serve". Its standard output and error
// are pipes read by goroutines; reaching the end of both after the exit
// shows that no process that inherited them (a request child) outlived it.
type serverProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	addr   string // the first line of stdout
	exited chan struct{}

	outR, errR *os.File
	outDone    chan struct{} // stdout reached its end
	errDone    chan struct{} // stderr reached its end
	rest       bytes.Buffer  // stdout after the first line; read after outDone
	errLines   chan string   // stderr, line by line, for waitStderr
	quit       chan struct{} // stops the stderr reader from blocking on errLines
	// errText is all of stderr, for messages.
	errText testkit.Buffer
}

// startServer runs "sockspec serve ARGS" and returns once it printed its
// address. The process, and any child of it, is killed and waited for when
// the test ends.
func startServer(t *testing.T, args ...string) *serverProc {
	t.Helper()
	bin := binary(t)
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"serve"}, args...)...)
	cmd.Stdout, cmd.Stderr = outW, errW
	err = cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		t.Fatal(err)
	}
	s := &serverProc{
		t: t, cmd: cmd, exited: make(chan struct{}),
		outR: outR, errR: errR, outDone: make(chan struct{}), errDone: make(chan struct{}),
		errLines: make(chan string, 64), quit: make(chan struct{}),
	}
	go func() {
		_ = cmd.Wait()
		close(s.exited)
	}()
	first := make(chan string, 1)
	go s.readStdout(first)
	go s.readStderr()
	t.Cleanup(s.cleanup)

	select {
	case line, ok := <-first:
		if !ok {
			t.Fatalf("sockspec serve %q printed no address (exit status %d); stderr:\n%s", args, s.waitExit(), s.stderr())
		}
		s.addr = strings.TrimSuffix(line, "\n")
	case <-time.After(startTimeout):
		t.Fatalf("sockspec serve %q printed no address within %v; stderr:\n%s", args, startTimeout, s.stderr())
	}
	return s
}

func (s *serverProc) readStdout(first chan<- string) {
	defer close(s.outDone)
	br := bufio.NewReader(s.outR)
	line, err := br.ReadString('\n')
	if err != nil {
		close(first)
		return
	}
	first <- line
	_, _ = io.Copy(&s.rest, br)
}

func (s *serverProc) readStderr() {
	defer close(s.errDone)
	defer close(s.errLines)
	sc := bufio.NewScanner(s.errR)
	for sc.Scan() {
		s.errText.Write([]byte(sc.Text() + "\n"))
		select {
		case s.errLines <- sc.Text():
		case <-s.quit:
		}
	}
}

func (s *serverProc) pid() int { return s.cmd.Process.Pid }

func (s *serverProc) stderr() string {
	return s.errText.String()
}

func (s *serverProc) signal(sig os.Signal) {
	s.t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("sending %v to the server: %v", sig, err)
	}
}

// waitExit waits for the server to exit and returns its exit status.
func (s *serverProc) waitExit() int {
	s.t.Helper()
	select {
	case <-s.exited:
	case <-time.After(exitTimeout):
		s.t.Fatalf("server %d has not exited within %v; stderr:\n%s", s.pid(), exitTimeout, s.stderr())
	}
	return s.cmd.ProcessState.ExitCode()
}

// waitOutputClosed waits, after the exit, for the end of stdout and
// stderr, and returns what stdout held after the address line.
func (s *serverProc) waitOutputClosed() string {
	s.t.Helper()
	deadline := time.After(exitTimeout)
	for _, ch := range []chan struct{}{s.outDone, s.errDone} {
		select {
		case <-ch:
		case <-deadline:
			s.t.Fatalf("the output of server %d is still open after its exit: a process it started outlived it", s.pid())
		}
	}
	return s.rest.String()
}

// waitStderr waits for a line of stderr that contains want.
func (s *serverProc) waitStderr(want string) string {
	s.t.Helper()
	deadline := time.After(ioTimeout)
	for {
		select {
		case line, ok := <-s.errLines:
			if !ok {
				s.t.Fatalf("stderr ended without a line containing %q:\n%s", want, s.stderr())
			}
			if strings.Contains(line, want) {
				return line
			}
		case <-deadline:
			s.t.Fatalf("no line of stderr contains %q within %v:\n%s", want, ioTimeout, s.stderr())
		}
	}
}

// cleanup kills the server's children and the server, if still there, and
// waits for the server and the output readers.
func (s *serverProc) cleanup() {
	select {
	case <-s.exited:
	default:
		for _, c := range childrenOf(s.pid()) {
			_ = syscall.Kill(c.PID, syscall.SIGKILL)
		}
		_ = s.cmd.Process.Kill()
		select {
		case <-s.exited:
		case <-time.After(exitTimeout):
			s.t.Errorf("server %d not reaped %v after SIGKILL", s.pid(), exitTimeout)
		}
	}
	close(s.quit)
	s.outR.Close() // ends the readers even if an orphan still holds the pipes
	s.errR.Close()
	<-s.outDone
	<-s.errDone
}

// runSockspec runs the binary to completion and returns its exit status
// and output; for commands that do not serve.
func runSockspec(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runSockspecBound(t, exitTimeout, args...)
}

// runSockspecBound runs the program to its end, killed after bound.
func runSockspecBound(t *testing.T, bound time.Duration, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, binary(t), args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("sockspec %q: %v", args, err)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errb.String()
}

// shortDir is a fresh directory for unix sockets: t.TempDir's long names
// can exceed the 107 bytes of a socket path.
func shortDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "ss")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// childrenOf lists the processes whose parent is pid, zombies included.
func childrenOf(pid int) []procStat {
	var out []procStat
	for n, st := range procfs.Processes() {
		if st.PPID == pid {
			out = append(out, procStat{PID: n, Stat: st})
		}
	}
	return out
}

// waitChildren waits until pid has exactly n children, none a zombie, and
// returns them. /proc gives no event to wait on, hence the short poll.
func waitChildren(t *testing.T, pid, n int) []procStat {
	t.Helper()
	var cs []procStat
	testkit.WaitForNoError(t, procTimeout, fmt.Sprintf("process %d to have %d live children", pid, n), func() error {
		cs = childrenOf(pid)
		live := 0
		for _, c := range cs {
			if c.State != 'Z' {
				live++
			}
		}
		if len(cs) == n && live == n {
			return nil
		}
		return fmt.Errorf("children %+v", cs)
	})
	return cs
}

// waitGone waits until no process has pid any more: it exited and was
// reaped.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	testkit.WaitForNoError(t, procTimeout, fmt.Sprintf("process %d to be gone", pid), func() error {
		st, err := readProcStat(pid)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("%+v (err %v)", st, err)
	})
}

// request sends msg to a server of the given family at addr and returns
// the reply: for stream families everything up to the server's half-close.
func request(t *testing.T, family, addr, msg string) string {
	t.Helper()
	switch family {
	case "tcp", "unix":
		c, err := net.DialTimeout(family, addr, ioTimeout)
		if err != nil {
			t.Fatalf("connecting to %s %s: %v", family, addr, err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(ioTimeout))
		if _, err := io.WriteString(c, msg); err != nil {
			t.Fatalf("sending to %s %s: %v", family, addr, err)
		}
		reply, err := io.ReadAll(c)
		if err != nil {
			t.Fatalf("reading the reply from %s %s: %v (got %q)", family, addr, err, reply)
		}
		return string(reply)
	case "udp":
		raddr, err := net.ResolveUDPAddr("udp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c, err := net.DialUDP("udp", nil, raddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return datagramExchange(t, c, nil, msg)
	case "unixgram":
		// The server replies to the client's address: the client must bind.
		local := &net.UnixAddr{Name: filepath.Join(shortDir(t), "c"), Net: "unixgram"}
		c, err := net.ListenUnixgram("unixgram", local)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return datagramExchange(t, c, &net.UnixAddr{Name: addr, Net: "unixgram"}, msg)
	}
	t.Fatalf("unknown family %q", family)
	return ""
}

// datagramExchange sends one datagram (to to, or on a connected socket
// when to is nil) and reads one back.
func datagramExchange(t *testing.T, c net.PacketConn, to net.Addr, msg string) string {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(ioTimeout))
	var err error
	if to == nil {
		_, err = c.(net.Conn).Write([]byte(msg))
	} else {
		_, err = c.WriteTo([]byte(msg), to)
	}
	if err != nil {
		t.Fatalf("sending a datagram: %v", err)
	}
	buf := make([]byte, 64<<10)
	n, _, err := c.ReadFrom(buf)
	if err != nil {
		t.Fatalf("reading the reply datagram: %v", err)
	}
	return string(buf[:n])
}
