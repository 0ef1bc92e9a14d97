package blackbox

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/sockspec/sockspec/internal/waitgroup"

	"github.com/sockspec/sockspec/internal/osfault"
	"github.com/sockspec/sockspec/internal/procfs"
	"github.com/sockspec/sockspec/internal/procgroup"
	"github.com/sockspec/sockspec/spec/driver"
)

// Session is one run of a black-box program, wherever it runs: a process
// group of the harness here (exec:), a container in containers/ (image=).
// It is the driver.Session of a program sockspec acts on only as its
// clients do, and from /proc; where the program runs, how it is stopped
// and how clients reach it are its Place's.
type Session struct {
	tier  string // the prefix of its errors ("blackbox", "containers")
	name  string // the program, as its errors name it
	o     Options
	place Place
	dir   string // the server's socket path and bound clients' live here
	trace driver.Trace
	// inject makes faults happen to the server's process from outside.
	inject *osfault.Injector

	address string // what clients dial
	pid     int    // the process that holds the server's socket

	stdout, stderr procgroup.TailBuffer
	firstLine      chan string // the first line of stdout, if it ends in a newline; then closed
	outputs        []io.Reader // stdout and stderr, closed once read or given up on
	readers        sync.WaitGroup

	mu     sync.Mutex
	closed bool // no more use: the program is being or has been stopped

	closeOnce sync.Once
	closeErr  error
}

// Place is where a black-box program runs, as its tier knows it.
type Place interface {
	// Dial opens a client of the server at address; dir holds the
	// sockets of bound Unix clients.
	Dial(ctx context.Context, family driver.Family, address, dir string, unbound bool) (net.Conn, error)
	// Stop ends the program and every process it started; what they
	// wrote may still be read after.
	Stop() error
}

// NewSession starts reading the program's stdout and stderr; name is the
// program as errors name it, dir is removed when the session closes.
func NewSession(tier, name string, o Options, place Place, dir string, stdout, stderr io.Reader) *Session {
	s := &Session{tier: tier, name: name, o: o, place: place, dir: dir, firstLine: make(chan string, 1), outputs: []io.Reader{stdout, stderr}}
	s.readers.Add(2)
	go s.readStdout(stdout)
	go func() {
		defer s.readers.Done()
		_, _ = io.Copy(&s.stderr, stderr)
	}()
	return s
}

// Serving records that the program serves address from process pid;
// faults are injected into that process from now on, on a clock that
// counts from start.
func (s *Session) Serving(address string, pid int, start time.Time) {
	s.address, s.pid = address, pid
	s.inject = osfault.NewInjector(pid, "unknown", &s.trace, start)
}

// FirstLine gives the program's first line of output when it ends within
// 4 KiB; then it is closed.
func (s *Session) FirstLine() <-chan string { return s.firstLine }

// readStdout keeps the program's output, and hands its first line to the
// readiness wait when the line ends within 4 KiB.
func (s *Session) readStdout(r io.Reader) {
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

// WaitOutput waits up to bound for the program's stdout and stderr to be
// read to their end, and reports whether they were.
func (s *Session) WaitOutput(bound time.Duration) bool {
	return waitgroup.Within(&s.readers, bound)
}

// Inject makes f happen to the server's process from outside: see
// driver.Injector. A black box's runtime is unknown: a fault its runtime
// cannot survive shows as a server that stops serving.
func (s *Session) Inject(ctx context.Context, f driver.Fault) (func() error, error) {
	if s.isClosed() {
		return nil, driver.ErrSessionClosed
	}
	return s.inject.Inject(ctx, f)
}

// unsupported is the error of a method that would call into the server.
func unsupported(method string) error {
	return &driver.UnsupportedError{What: method + ": a black-box program serves on its own; rules that call it are N/A"}
}

func (s *Session) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *Session) Address() string { return s.address }

func (s *Session) Dial(ctx context.Context, unbound bool) (net.Conn, error) {
	if s.isClosed() {
		return nil, driver.ErrSessionClosed
	}
	return s.place.Dial(ctx, s.o.Family, s.address, s.dir, unbound)
}

// ServeForever has nothing to start: the program serves from its start.
func (s *Session) ServeForever(context.Context, time.Duration) error {
	if s.isClosed() {
		return driver.ErrSessionClosed
	}
	return nil
}

func (s *Session) HandleRequest(context.Context) (driver.Result, error) {
	return driver.Result{}, unsupported("handle_request()")
}

func (s *Session) Shutdown(context.Context) (driver.Result, error) {
	return driver.Result{}, unsupported("shutdown()")
}

func (s *Session) ServerClose(context.Context) (driver.Result, error) {
	return driver.Result{}, unsupported("server_close()")
}

func (s *Session) State(context.Context) (driver.State, error) {
	return driver.State{}, unsupported("the server's state")
}

// Trace stays empty: a black box reports no hook calls.
func (s *Session) Trace() *driver.Trace { return &s.trace }

// Inspect reads the server's process from /proc.
func (s *Session) Inspect(ctx context.Context) (driver.Hygiene, error) {
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
func (s *Session) Signal(ctx context.Context, sig string) error {
	if !slices.Contains(s.o.Capabilities, driver.CapSignals) {
		return &driver.UnsupportedError{What: "signals: the program was not vouched to survive SIGUSR1, SIGALRM and SIGUSR2 (capability \"signals\")"}
	}
	no, ok := signals[sig]
	if !ok {
		return fmt.Errorf("%s: signal %q: want SIGUSR1, SIGALRM or SIGUSR2", s.tier, sig)
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
func (s *Session) Stderr() string { return s.stderr.String() }

// Stdout is what they wrote to standard output, the address line included.
func (s *Session) Stdout() string { return s.stdout.String() }

// Close ends the program (its Place's Stop: SIGTERM, and SIGKILL to all
// of it after TermGrace); then its output is read to the end and its files
// removed. Later calls return the first one's result.
func (s *Session) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.closeOnce.Do(func() { s.closeErr = s.close() })
	return s.closeErr
}

func (s *Session) close() error {
	var errs []error
	if s.inject != nil {
		// No strace, limit or cgroup may outlive the program.
		errs = append(errs, s.inject.Close())
	}
	errs = append(errs, s.place.Stop())
	if !s.WaitOutput(outputBound) {
		errs = append(errs, fmt.Errorf("%s: %s: a process that escaped the stop still holds its output %v after it", s.tier, s.name, outputBound))
		s.closeOutputs() // ends the readers' blocked reads
		s.readers.Wait()
	}
	s.closeOutputs()
	if err := os.RemoveAll(s.dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (s *Session) closeOutputs() {
	for _, r := range s.outputs {
		if c, ok := r.(io.Closer); ok {
			c.Close()
		}
	}
}
