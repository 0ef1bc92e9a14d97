package process

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

// Host is where a session's adapter runs, as its tier knows it: a child
// process of the harness here, a container in containers/.
type Host interface {
	// PID is the adapter's process as this machine's /proc sees it: what
	// signals and injected faults reach, and what hygiene reads.
	PID() int
	// Dial opens a client of the server at address; dir holds the
	// sockets of bound Unix clients.
	Dial(ctx context.Context, family driver.Family, address, dir string, unbound bool) (net.Conn, error)
	// End ends the adapter and all it started; a session calls it once.
	End() error
}

// Session is one server built by an adapter: the driver.Session whose
// methods are the protocol's commands, sent over a Peer. What differs
// between tiers (where the adapter runs, how it ends, how clients reach
// the server) is its Host's.
type Session struct {
	peer  *Peer
	host  Host
	cfg   driver.ServerConfig
	trace driver.Trace
	dir   string // socket paths of the server and of bound clients
	// inject makes faults happen to the adapter process from outside.
	inject *osfault.Injector

	mu      sync.Mutex
	address string
	closed  bool
}

// StartSession builds the server of cfg through the adapter behind peer,
// whose hello was heard. dir holds the session's socket paths (the
// server's, when cfg names no address) and is removed when the session
// closes. On error the adapter is ended and dir removed.
func StartSession(ctx context.Context, peer *Peer, host Host, cfg driver.ServerConfig, dir string) (*Session, error) {
	s := &Session{peer: peer, host: host, cfg: cfg, dir: dir}
	if s.cfg.Address == "" {
		if cfg.Family.IsUnix() {
			s.cfg.Address = filepath.Join(dir, "server.sock")
		} else {
			s.cfg.Address = "127.0.0.1:0"
		}
	}
	peer.OnEvent(func(e driver.Event) { s.trace.Append(e) })
	s.inject = osfault.NewInjector(host.PID(), peer.Hello().Language, &s.trace, peer.Clock())
	m, err := s.call(ctx, driver.Command{Cmd: driver.CmdStart, Config: &s.cfg})
	if err == nil && m.Result != nil && m.Result.Exception != nil {
		err = fmt.Errorf("%s: building the server raised %s", s.tier(), m.Result.Exception)
	}
	if err == nil && s.Address() == "" {
		err = fmt.Errorf("%s: protocol: the reply to start names no address", s.tier())
	}
	if err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Session) tier() string { return s.peer.o.Tier }

// call sends a command and notes the address the reply carries.
func (s *Session) call(ctx context.Context, c driver.Command) (driver.Message, error) {
	if s.isClosed() {
		return driver.Message{}, driver.ErrSessionClosed
	}
	m, err := s.peer.Call(ctx, c)
	if m.Address != "" {
		s.mu.Lock()
		s.address = m.Address
		s.mu.Unlock()
	}
	return m, err
}

// result is the call's Result, for commands whose reply must carry one.
func (s *Session) result(ctx context.Context, c driver.Command) (driver.Result, error) {
	m, err := s.call(ctx, c)
	if err != nil {
		return driver.Result{}, err
	}
	if m.Result == nil {
		return driver.Result{}, fmt.Errorf("%s: the reply to %s carries no result", s.tier(), c.Cmd)
	}
	return *m.Result, nil
}

func (s *Session) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *Session) Address() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.address
}

func (s *Session) Trace() *driver.Trace { return &s.trace }

func (s *Session) Dial(ctx context.Context, unbound bool) (net.Conn, error) {
	return s.host.Dial(ctx, s.cfg.Family, s.Address(), s.dir, unbound)
}

func (s *Session) HandleRequest(ctx context.Context) (driver.Result, error) {
	return s.result(ctx, driver.Command{Cmd: driver.CmdHandleRequest})
}

func (s *Session) ServeForever(ctx context.Context, poll time.Duration) error {
	_, err := s.call(ctx, driver.Command{Cmd: driver.CmdServeForever, PollInterval: driver.PollSeconds(poll)})
	return err
}

func (s *Session) Shutdown(ctx context.Context) (driver.Result, error) {
	return s.result(ctx, driver.Command{Cmd: driver.CmdShutdown})
}

func (s *Session) ServerClose(ctx context.Context) (driver.Result, error) {
	return s.result(ctx, driver.Command{Cmd: driver.CmdServerClose})
}

func (s *Session) ExitContext(ctx context.Context) (driver.Result, error) {
	return s.result(ctx, driver.Command{Cmd: driver.CmdExitContext})
}

func (s *Session) State(ctx context.Context) (driver.State, error) {
	m, err := s.call(ctx, driver.Command{Cmd: driver.CmdState})
	if err != nil {
		return driver.State{}, err
	}
	if m.State == nil {
		return driver.State{}, fmt.Errorf("%s: the reply to state carries no state", s.tier())
	}
	return *m.State, nil
}

// signals are the signals of the protocol, which an adapter handles from
// its start.
var signals = map[string]syscall.Signal{"SIGUSR1": syscall.SIGUSR1, "SIGALRM": syscall.SIGALRM, "SIGUSR2": syscall.SIGUSR2}

// Signal delivers sig to the threads of the adapter's process that are
// blocked in a wait (driver.ErrNotBlocked when none is), straight from
// the harness: a bomber's rate must not hang on the adapter's answering a
// command, or the gaps between signals become long enough for a restarted
// wait to end.
func (s *Session) Signal(ctx context.Context, sig string) error {
	no, ok := signals[sig]
	if !ok {
		return fmt.Errorf("%s: signal %q: want SIGUSR1, SIGALRM or SIGUSR2", s.tier(), sig)
	}
	if s.isClosed() {
		return driver.ErrSessionClosed
	}
	if err := ctx.Err(); err != nil {
		return driver.ErrNoReply
	}
	return osfault.SignalBlocked(s.host.PID(), no)
}

// Stderr is what the adapter and its children wrote to standard error.
func (s *Session) Stderr() string { return s.peer.Stderr() }

// Stdout is what the server printed to its standard output.
func (s *Session) Stdout() string { return s.peer.Stdout() }

func (s *Session) StartForeignChild(ctx context.Context) (driver.ForeignChild, error) {
	m, err := s.call(ctx, driver.Command{Cmd: driver.CmdForeignStart})
	if err != nil {
		return nil, err
	}
	if m.Child == 0 {
		return nil, fmt.Errorf("%s: the reply to foreign_start names no child", s.tier())
	}
	return &foreignChild{s: s, id: m.Child}, nil
}

type foreignChild struct {
	s  *Session
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
		return 0, false, fmt.Errorf("%s: the reply to foreign_reap has neither status nor stolen", f.s.tier())
	}
	return *m.Status, false, nil
}

// Close lifts the injected faults, ends the adapter (its Host's End) and
// removes the socket paths.
func (s *Session) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	// No strace, limit or cgroup may outlive the server.
	lifted := s.inject.Close()
	err := s.host.End()
	os.RemoveAll(s.dir)
	return errors.Join(err, lifted)
}

// Inject makes f happen to the adapter process: see driver.Injector.
func (s *Session) Inject(ctx context.Context, f driver.Fault) (func() error, error) {
	if s.isClosed() {
		return nil, driver.ErrSessionClosed
	}
	return s.inject.Inject(ctx, f)
}

// Inspect reads the adapter process's state from /proc.
func (s *Session) Inspect(ctx context.Context) (driver.Hygiene, error) {
	if err := ctx.Err(); err != nil {
		return driver.Hygiene{}, err
	}
	return procfs.Inspect(s.host.PID())
}
