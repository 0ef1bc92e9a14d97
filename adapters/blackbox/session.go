package blackbox

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sockspec/sockspec/internal/osfault"
	"github.com/sockspec/sockspec/internal/procfs"
	"github.com/sockspec/sockspec/internal/procgroup"
	"github.com/sockspec/sockspec/spec/driver"
)

// session is one run of the program.
type session struct {
	o     Options
	group *procgroup.Group
	dir   string // the server's socket path and bound clients' live here
	trace driver.Trace
	// inject makes faults happen to the server's process from outside.
	inject *osfault.Injector

	address string // what clients dial
	pid     int    // the process that holds the server's socket

	stdout, stderr procgroup.TailBuffer
	firstLine      chan string // the first line of stdout, if it ends in a newline; then closed
	outputs        []*os.File  // the read ends of stdout and stderr
	readers        sync.WaitGroup

	mu     sync.Mutex
	closed bool // no more use: the program is being or has been stopped

	closeOnce sync.Once
	closeErr  error
}

// start runs the program and waits until it is ready.
func start(ctx context.Context, o Options) (_ *session, err error) {
	s := &session{o: o, firstLine: make(chan string, 1)}
	if s.dir, err = os.MkdirTemp("", "sockspec-exec"); err != nil {
		return nil, err
	}
	// Until the group runs, a failure undoes by hand; after, Close does.
	var undo []func() error
	defer func() {
		if err != nil && s.group == nil {
			for _, u := range undo {
				u()
			}
			os.RemoveAll(s.dir)
		}
	}()
	envAddr, env, err := s.environ()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	undo = append(undo, outR.Close, outW.Close)
	errR, errW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	undo = append(undo, errR.Close, errW.Close)
	cmd := exec.Command("/bin/sh", "-c", o.Command)
	cmd.Env, cmd.Dir, cmd.Stdout, cmd.Stderr = env, o.Dir, outW, errW
	s.group, err = procgroup.Start(cmd)
	if err != nil {
		return nil, fmt.Errorf("blackbox: starting %q: %w", o.Command, err)
	}
	outW.Close() // the program holds the write ends now
	errW.Close()
	s.outputs = []*os.File{outR, errR}
	s.readers.Add(2)
	go s.readStdout(outR)
	go func() {
		defer s.readers.Done()
		_, _ = io.Copy(&s.stderr, errR)
	}()
	begun := time.Now()
	if err := s.awaitReady(ctx, envAddr); err != nil {
		s.Close()
		return nil, err
	}
	s.inject = osfault.NewInjector(s.pid, "unknown", &s.trace, begun)
	return s, nil
}

// Inject makes f happen to the server's process from outside: see
// driver.Injector. A black box's runtime is unknown: a fault its runtime
// cannot survive shows as a server that stops serving.
func (s *session) Inject(ctx context.Context, f driver.Fault) (func() error, error) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, driver.ErrSessionClosed
	}
	return s.inject.Inject(ctx, f)
}

// environ chooses the address the program is to serve and returns it with
// the program's environment.
func (s *session) environ() (string, []string, error) {
	env := append(os.Environ(), "PYTHONUNBUFFERED=1") // a Python server's address line must not wait in a buffer
	env = append(env, s.o.Env...)
	family := s.o.Family
	env = append(env, "SOCKSPEC_FAMILY="+string(family))
	if family.IsUnix() {
		path := filepath.Join(s.dir, "server.sock")
		return path, append(env, "SOCKSPEC_ADDRESS="+path), nil
	}
	port, err := freePort(family)
	if err != nil {
		return "", nil, fmt.Errorf("blackbox: choosing a free %s port on 127.0.0.1: %w", family, err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	return addr, append(env, "SOCKSPEC_ADDRESS="+addr, "SOCKSPEC_HOST=127.0.0.1", "SOCKSPEC_PORT="+strconv.Itoa(port)), nil
}

// freePort is a loopback port the kernel had free a moment ago.
func freePort(family driver.Family) (int, error) {
	if family == driver.UDP {
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port, nil
	}
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// readStdout keeps the program's output, and hands its first line to the
// readiness wait when the line ends within 4 KiB.
func (s *session) readStdout(r *os.File) {
	defer s.readers.Done()
	br := bufio.NewReaderSize(r, 4096)
	line, err := br.ReadSlice('\n')
	_, _ = s.stdout.Write(line)
	if err == nil {
		s.firstLine <- string(line)
	}
	close(s.firstLine)
	_, _ = io.Copy(&s.stdout, br)
}

// readyPoll is the pace at which /proc/net is read while the program
// starts: the kernel gives no event for a socket's listen.
const readyPoll = 10 * time.Millisecond

// awaitReady waits until the program serves: at the address its first
// line announces, or at envAddr. The server's pid is the process of the
// group that holds that socket.
func (s *session) awaitReady(ctx context.Context, envAddr string) error {
	bound := s.o.ReadyTimeout
	parent := ctx
	ctx, cancel := context.WithTimeout(parent, bound)
	defer cancel()
	tick := time.NewTicker(readyPoll)
	defer tick.Stop()
	lines := s.firstLine
	var firstLine, announced string
	exited := s.group.Exited()
	for {
		for _, addr := range []string{announced, envAddr} {
			if addr == "" {
				continue
			}
			inode, err := findSocket(s.o.Family, addr)
			if err != nil {
				return fmt.Errorf("blackbox: reading /proc/net for %s: %w", addr, err)
			}
			if inode == 0 {
				continue
			}
			if pid := serverPID(s.group.PGID(), inode); pid != 0 {
				s.address, s.pid = addr, pid
				return nil
			}
		}
		if exited == nil && liveMembers(s.group.PGID()) == 0 {
			// All it wrote before it died explains its death.
			s.outputEnded(outputBound)
			return fmt.Errorf("blackbox: %q exited before it served (%s)%s", s.o.Command, exitText(s.group.ExitErr()), s.outputNote(firstLine))
		}
		select {
		case line, ok := <-lines:
			if !ok {
				lines = nil
				continue
			}
			firstLine = strings.TrimSpace(line)
			announced = s.announcedAddress(firstLine)
		case <-exited:
			exited = nil // the shell may have left the server running; the group says
		case <-tick.C:
		case <-ctx.Done():
			what := fmt.Sprintf("nothing of its process group serves %s (SOCKSPEC_ADDRESS)", envAddr)
			if announced != "" {
				what = fmt.Sprintf("nothing of its process group serves %s, which it announced, nor %s (SOCKSPEC_ADDRESS)", announced, envAddr)
			}
			const must = "the program must print the address it serves as its first line, or serve SOCKSPEC_ADDRESS"
			if parent.Err() != nil { // the harness's bound, not the program's
				return fmt.Errorf("%w: %q was not ready by the harness's deadline: %s; %s%s", driver.ErrNoReply, s.o.Command, what, must, s.outputNote(firstLine))
			}
			return fmt.Errorf("blackbox: %q was not ready within %v: %s; %s%s", s.o.Command, bound, what, must, s.outputNote(firstLine))
		}
	}
}

// announcedAddress is the address line announces, made dialable, or "".
// TCP and UDP: host:port or [v6]:port with a port other than 0 (a wildcard
// host is dialled on loopback); Unix: an absolute path, or an abstract name
// written @name.
func (s *session) announcedAddress(line string) string {
	if s.o.Family.IsUnix() {
		if strings.HasPrefix(line, "/") || strings.HasPrefix(line, "@") {
			return line
		}
		return ""
	}
	host, port, err := net.SplitHostPort(line)
	if err != nil || host == "" || strings.ContainsAny(host, " \t") {
		return ""
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return ""
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
		if ip.To4() == nil {
			host = "::1"
		}
	}
	return net.JoinHostPort(host, port)
}

// outputNote is what the program said, for an error: its first line and
// the tail of its standard error.
func (s *session) outputNote(firstLine string) string {
	var b strings.Builder
	if firstLine != "" {
		fmt.Fprintf(&b, "\nits first line of output: %q", firstLine)
	}
	if tail := strings.TrimSpace(s.stderr.String()); tail != "" {
		const keep = 2000
		if len(tail) > keep {
			tail = "…" + tail[len(tail)-keep:]
		}
		fmt.Fprintf(&b, "\nprogram stderr:\n%s", tail)
	}
	return b.String()
}

func exitText(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// unsupported is the error of a method that would call into the server.
func unsupported(method string) error {
	return &driver.UnsupportedError{What: method + ": a black-box program serves on its own; rules that call it are N/A"}
}

func (s *session) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *session) Address() string { return s.address }

func (s *session) Dial(ctx context.Context, unbound bool) (net.Conn, error) {
	if s.isClosed() {
		return nil, driver.ErrSessionClosed
	}
	return driver.Dial(ctx, s.o.Family, s.address, s.dir, unbound)
}

// ServeForever has nothing to start: the program serves from its start.
func (s *session) ServeForever(context.Context, time.Duration) error {
	if s.isClosed() {
		return driver.ErrSessionClosed
	}
	return nil
}

func (s *session) HandleRequest(context.Context) (driver.Result, error) {
	return driver.Result{}, unsupported("handle_request()")
}

func (s *session) Shutdown(context.Context) (driver.Result, error) {
	return driver.Result{}, unsupported("shutdown()")
}

func (s *session) ServerClose(context.Context) (driver.Result, error) {
	return driver.Result{}, unsupported("server_close()")
}

func (s *session) State(context.Context) (driver.State, error) {
	return driver.State{}, unsupported("the server's state")
}

// Trace stays empty: a black box reports no hook calls.
func (s *session) Trace() *driver.Trace { return &s.trace }

// Inspect reads the server's process from /proc.
func (s *session) Inspect(ctx context.Context) (driver.Hygiene, error) {
	if err := ctx.Err(); err != nil {
		return driver.Hygiene{}, err
	}
	if s.isClosed() {
		return driver.Hygiene{}, driver.ErrSessionClosed
	}
	return procfs.Inspect(s.pid)
}

// signals are those a Signaller delivers.
var signals = map[string]syscall.Signal{"SIGUSR1": syscall.SIGUSR1, "SIGALRM": syscall.SIGALRM, "SIGUSR2": syscall.SIGUSR2}

// Signal sends sig to the server's process, if its user vouched that it
// survives them: a program that does not handle SIGUSR1 dies of it.
func (s *session) Signal(ctx context.Context, sig string) error {
	if !slices.Contains(s.o.Capabilities, driver.CapSignals) {
		return &driver.UnsupportedError{What: "signals: the program was not vouched to survive SIGUSR1, SIGALRM and SIGUSR2 (capability \"signals\")"}
	}
	no, ok := signals[sig]
	if !ok {
		return fmt.Errorf("blackbox: signal %q: want SIGUSR1, SIGALRM or SIGUSR2", sig)
	}
	if s.isClosed() {
		return driver.ErrSessionClosed
	}
	if ctx.Err() != nil {
		return driver.ErrNoReply
	}
	return osfault.SignalBlocked(s.pid, no)
}

// Stderr is what the program and its children wrote to standard error.
func (s *session) Stderr() string { return s.stderr.String() }

// Stdout is what they wrote to standard output, the address line included.
func (s *session) Stdout() string { return s.stdout.String() }

// Close ends the program: SIGTERM to its group, SIGKILL after TermGrace,
// every process of the group reaped (the server's zombies and orphans
// included); then its output is read to the end and its files removed.
// Later calls return the first one's result.
func (s *session) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.closeOnce.Do(func() { s.closeErr = s.close() })
	return s.closeErr
}

// outputEnded waits up to bound for the program's stdout and stderr to be
// read to their end, and reports whether they were.
func (s *session) outputEnded(bound time.Duration) bool {
	done := make(chan struct{})
	go func() { s.readers.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(bound):
		return false
	}
}

func (s *session) close() error {
	var errs []error
	if s.inject != nil {
		// No strace, limit or cgroup may outlive the program.
		errs = append(errs, s.inject.Close())
	}
	if err := s.group.Stop(TermGrace); err != nil {
		errs = append(errs, fmt.Errorf("blackbox: %q: %w", s.o.Command, err))
	}
	if !s.outputEnded(outputBound) {
		errs = append(errs, fmt.Errorf("blackbox: %q: a process that left its group still holds its output %v after the group ended", s.o.Command, outputBound))
		for _, f := range s.outputs {
			f.Close() // ends the readers' blocked reads
		}
		s.readers.Wait()
	}
	for _, f := range s.outputs {
		f.Close()
	}
	if err := os.RemoveAll(s.dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
