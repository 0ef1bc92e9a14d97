package containers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/sockspec/sockspec/internal/osfault"
	"github.com/sockspec/sockspec/internal/procfs"
	"github.com/sockspec/sockspec/spec/driver"
)

// session is one container whose adapter built one server.
type session struct {
	t     *Target
	b     *box
	p     *peer
	cfg   driver.ServerConfig
	trace driver.Trace
	dir   string // shared with the container: socket paths live here
	// inject makes faults happen to the adapter's process from outside,
	// by its host pid: the container shares the host's kernel.
	inject *osfault.Injector

	mu      sync.Mutex
	address string
	closed  bool
}

// sharedDir makes a directory the container's user may write sockets in;
// it is mounted into the container at the same path.
func sharedDir() (string, error) {
	dir, err := os.MkdirTemp("", "sockspec-ct")
	if err != nil {
		return "", err
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

func startSession(ctx context.Context, t *Target, cfg driver.ServerConfig) (_ *session, err error) {
	s := &session{t: t, cfg: cfg}
	sp, err := t.take(ctx)
	if err != nil {
		return nil, err
	}
	s.b, s.p, s.dir = sp.b, sp.p, sp.dir
	defer func() {
		if err != nil {
			t.retire(s.b, s.p)
			os.RemoveAll(s.dir)
		}
	}()
	if s.cfg.Address == "" {
		if cfg.Family.IsUnix() {
			s.cfg.Address = filepath.Join(s.dir, "server.sock")
		} else {
			s.cfg.Address = "127.0.0.1:0"
		}
	}
	// The session starts now, however long its container waited.
	start := time.Now()
	s.p.startClock(start)
	s.p.onEvent = func(e driver.Event) { s.trace.Append(e) }
	s.inject = osfault.NewInjector(s.b.PID, s.p.hello.Language, &s.trace, start)
	m, err := s.call(ctx, driver.Command{Cmd: driver.CmdStart, Config: &s.cfg})
	if err == nil && m.Result != nil && m.Result.Exception != nil {
		err = fmt.Errorf("containers: building the server raised %s", m.Result.Exception)
	}
	if err == nil && s.Address() == "" {
		err = errors.New("containers: protocol: the reply to start names no address")
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

func (s *session) call(ctx context.Context, c driver.Command) (driver.Message, error) {
	if s.isClosed() {
		return driver.Message{}, driver.ErrSessionClosed
	}
	m, err := s.p.call(ctx, c)
	if m.Address != "" {
		s.mu.Lock()
		s.address = m.Address
		s.mu.Unlock()
	}
	return m, err
}

func (s *session) result(ctx context.Context, c driver.Command) (driver.Result, error) {
	m, err := s.call(ctx, c)
	if err != nil {
		return driver.Result{}, err
	}
	if m.Result == nil {
		return driver.Result{}, fmt.Errorf("containers: the reply to %s carries no result", c.Cmd)
	}
	return *m.Result, nil
}

func (s *session) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *session) Address() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.address
}

func (s *session) Trace() *driver.Trace { return &s.trace }

func (s *session) Dial(ctx context.Context, unbound bool) (net.Conn, error) {
	return s.t.net.dial(ctx, s.cfg.Family, s.Address(), s.dir, unbound)
}

func (s *session) HandleRequest(ctx context.Context) (driver.Result, error) {
	return s.result(ctx, driver.Command{Cmd: driver.CmdHandleRequest})
}

func (s *session) ServeForever(ctx context.Context, poll time.Duration) error {
	_, err := s.call(ctx, driver.Command{Cmd: driver.CmdServeForever, PollInterval: driver.PollSeconds(poll)})
	return err
}

func (s *session) Shutdown(ctx context.Context) (driver.Result, error) {
	return s.result(ctx, driver.Command{Cmd: driver.CmdShutdown})
}

func (s *session) ServerClose(ctx context.Context) (driver.Result, error) {
	return s.result(ctx, driver.Command{Cmd: driver.CmdServerClose})
}

func (s *session) ExitContext(ctx context.Context) (driver.Result, error) {
	return s.result(ctx, driver.Command{Cmd: driver.CmdExitContext})
}

func (s *session) State(ctx context.Context) (driver.State, error) {
	m, err := s.call(ctx, driver.Command{Cmd: driver.CmdState})
	if err != nil {
		return driver.State{}, err
	}
	if m.State == nil {
		return driver.State{}, errors.New("containers: the reply to state carries no state")
	}
	return *m.State, nil
}

// signals are the signals of the protocol.
var signals = map[string]syscall.Signal{"SIGUSR1": syscall.SIGUSR1, "SIGALRM": syscall.SIGALRM, "SIGUSR2": syscall.SIGUSR2}

// Signal delivers sig from the host to the threads of the adapter that
// are blocked in a wait, as the process tier does.
func (s *session) Signal(ctx context.Context, sig string) error {
	no, ok := signals[sig]
	if !ok {
		return fmt.Errorf("containers: signal %q: want SIGUSR1, SIGALRM or SIGUSR2", sig)
	}
	if s.isClosed() {
		return driver.ErrSessionClosed
	}
	if ctx.Err() != nil {
		return driver.ErrNoReply
	}
	return osfault.SignalBlocked(s.b.PID, no)
}

func (s *session) Stderr() string { return s.p.stderr.String() }

func (s *session) Stdout() string { return s.p.stdout.String() }

func (s *session) StartForeignChild(ctx context.Context) (driver.ForeignChild, error) {
	m, err := s.call(ctx, driver.Command{Cmd: driver.CmdForeignStart})
	if err != nil {
		return nil, err
	}
	if m.Child == 0 {
		return nil, errors.New("containers: the reply to foreign_start names no child")
	}
	return &foreignChild{s: s, id: m.Child}, nil
}

type foreignChild struct {
	s  *session
	id int
}

func (f *foreignChild) Exit(ctx context.Context) error {
	_, err := f.s.call(ctx, driver.Command{Cmd: driver.CmdForeignExit, Child: f.id})
	return err
}

func (f *foreignChild) Reap(ctx context.Context) (int, bool, error) {
	m, err := f.s.call(ctx, driver.Command{Cmd: driver.CmdForeignReap, Child: f.id})
	if err != nil {
		return 0, false, err
	}
	if m.Stolen {
		return 0, true, nil
	}
	if m.Status == nil {
		return 0, false, errors.New("containers: the reply to foreign_reap has neither status nor stolen")
	}
	return *m.Status, false, nil
}

// Close ends the adapter and the shared directory; once the container
// has stopped, its removal may finish after Close returns (Target.retire).
func (s *session) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	lifted := s.inject.Close()
	err := s.t.retire(s.b, s.p)
	os.RemoveAll(s.dir)
	return errors.Join(err, lifted)
}

func (s *session) Inject(ctx context.Context, f driver.Fault) (func() error, error) {
	if s.isClosed() {
		return nil, driver.ErrSessionClosed
	}
	return s.inject.Inject(ctx, f)
}

// Inspect reads the adapter's process from the host's /proc.
func (s *session) Inspect(ctx context.Context) (driver.Hygiene, error) {
	if err := ctx.Err(); err != nil {
		return driver.Hygiene{}, err
	}
	return procfs.Inspect(s.b.PID)
}

func removeDir(dir string) error { return os.RemoveAll(dir) }
