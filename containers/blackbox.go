package containers

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/client"

	"github.com/sockspec/sockspec/adapters/blackbox"
	"github.com/sockspec/sockspec/adapters/process"
	"github.com/sockspec/sockspec/internal/osfault"
	"github.com/sockspec/sockspec/internal/procfs"
	"github.com/sockspec/sockspec/internal/procgroup"
	"github.com/sockspec/sockspec/spec/driver"
)

// blackboxProgram is what an image= target's user declared of its server:
// the semantics of adapters/blackbox (exec: targets), inside the image.
// The program gets SOCKSPEC_FAMILY, SOCKSPEC_ADDRESS and, for TCP and
// UDP, SOCKSPEC_HOST and SOCKSPEC_PORT; it is ready once its first line
// of output names the address it serves, or once the container's socket
// tables show a socket of its processes serving SOCKSPEC_ADDRESS.
type blackboxProgram struct {
	o    Options
	info driver.Info
}

func newBlackbox(o Options, image string, argv []string) (*blackboxProgram, error) {
	command := image
	if len(argv) > 0 {
		command += " " + strings.Join(argv, " ")
	}
	// adapters/blackbox checks the declaration as it does for exec:.
	bt, err := blackbox.New(blackbox.Options{Command: command, Family: o.Family, Dispatch: o.Dispatch, Capabilities: o.Capabilities, ReadyTimeout: o.ReadyTimeout})
	if err != nil {
		return nil, fmt.Errorf("containers: %w", err)
	}
	if o.Family == "" {
		o.Family = driver.TCP
	}
	if o.Dispatch == "" {
		o.Dispatch = driver.Sync
	}
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = blackbox.ReadyTimeout
	}
	info := bt.Info()
	info.Name, info.Version = "container:image="+image, command
	// The harness's means over a process in a container are not all those
	// it has over its own children.
	info.Capabilities = slices.DeleteFunc(slices.Clone(info.Capabilities), func(c string) bool { return strings.HasPrefix(c, "inject.") })
	info.Capabilities = append(info.Capabilities, harnessCaps("unknown", o.user())...)
	return &blackboxProgram{o: o, info: info}, nil
}

// unsupported names what cfg asks that a black box cannot give, or "".
func (p *blackboxProgram) unsupported(cfg driver.ServerConfig) string {
	if cfg.Family != p.o.Family {
		return fmt.Sprintf("family %s (the program was declared to serve %s)", cfg.Family, p.o.Family)
	}
	if cfg.Dispatch != p.o.Dispatch {
		return fmt.Sprintf("dispatch %s (the program was declared %s)", cfg.Dispatch, p.o.Dispatch)
	}
	if b := cfg.BindAndActivate; b != nil && !*b {
		return "bind_and_activate=False: a black-box program binds and listens from its start"
	}
	if cfg.Address != "" {
		return "a chosen address: a black-box program serves the one sockspec gives it in SOCKSPEC_ADDRESS"
	}
	v := reflect.ValueOf(cfg)
	for _, f := range reflect.VisibleFields(v.Type()) {
		switch f.Name {
		case "Family", "Dispatch", "BindAndActivate", "Address":
			continue
		}
		if !v.FieldByIndex(f.Index).IsZero() {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			return fmt.Sprintf("a configured %s: a black-box program takes none", name)
		}
	}
	return ""
}

func (t *Target) startBlackbox(ctx context.Context, cfg driver.ServerConfig) (_ driver.Session, err error) {
	p := t.blackbox
	if what := p.unsupported(cfg); what != "" {
		return nil, &driver.UnsupportedError{What: what}
	}
	network, err := t.network(ctx)
	if err != nil {
		return nil, err
	}
	s := &bbSession{t: t, o: p.o, firstLine: make(chan string, 1)}
	if s.dir, err = sharedDir(); err != nil {
		return nil, err
	}
	env := []string{"PYTHONUNBUFFERED=1", "SOCKSPEC_FAMILY=" + string(p.o.Family)}
	if p.o.Family.IsUnix() {
		s.address = s.dir + "/server.sock"
		env = append(env, "SOCKSPEC_ADDRESS="+s.address)
	} else {
		port, err := t.net.freePort(p.o.Family)
		if err != nil {
			removeDir(s.dir)
			return nil, fmt.Errorf("containers: choosing a free %s port: %w", p.o.Family, err)
		}
		s.address = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		env = append(env, "SOCKSPEC_ADDRESS="+s.address, "SOCKSPEC_HOST=127.0.0.1", "SOCKSPEC_PORT="+strconv.Itoa(port))
	}
	s.b, err = t.run(ctx, boxSpec{image: t.image, argv: t.argv, env: env, role: "session", limits: t.o.Limits.withDefaults(), network: network, shared: s.dir, user: t.o.User})
	if err != nil {
		removeDir(s.dir)
		return nil, err
	}
	stdout, stderr := s.b.readStreams()
	s.readers.Add(2)
	go s.readStdout(stdout)
	go func() {
		defer s.readers.Done()
		_, _ = io.Copy(&s.stderr, stderr)
	}()
	if err := s.awaitReady(ctx); err != nil {
		s.Close()
		return nil, err
	}
	s.inject = osfault.NewInjector(s.pid, "unknown", &s.trace, s.b.started)
	return s, nil
}

// bbSession is one container of a black-box program.
type bbSession struct {
	t       *Target
	o       Options
	b       *box
	dir     string
	address string
	pid     int // host pid of the process that holds the server's socket
	trace   driver.Trace
	inject  *osfault.Injector

	stdout, stderr procgroup.TailBuffer
	firstLine      chan string
	readers        sync.WaitGroup

	mu        sync.Mutex
	closed    bool
	closeOnce sync.Once
	closeErr  error
}

func (s *bbSession) readStdout(stdout io.Reader) {
	defer s.readers.Done()
	br := bufio.NewReaderSize(stdout, 4096)
	line, err := br.ReadSlice('\n')
	_, _ = s.stdout.Write(line)
	if err == nil {
		s.firstLine <- string(line)
	}
	close(s.firstLine)
	_, _ = io.Copy(&s.stdout, br)
}

// awaitReady waits, within the program's ready bound, until a process of
// the container serves the address (the announced one or the given one).
func (s *bbSession) awaitReady(ctx context.Context) error {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, s.o.ReadyTimeout)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	lines := s.firstLine
	announced := ""
	for {
		for _, addr := range []string{announced, s.address} {
			if addr == "" {
				continue
			}
			inode, err := findSocket(s.b.initPID, s.o.Family, addr)
			if err != nil && procfs.Alive(s.b.initPID) {
				return fmt.Errorf("containers: reading the container's socket tables: %w", err)
			}
			if inode == 0 {
				continue
			}
			if pid := holderPID(s.b.initPID, inode); pid != 0 {
				s.address, s.pid = addr, pid
				return nil
			}
		}
		if s.b.exited() {
			s.waitOutput(200 * time.Millisecond)
			if cmd, ok := noCommand(s.stderr.String()); ok {
				return fmt.Errorf("containers: the image %s has no command %q: give one it has (cmd=…)", s.t.image, cmd)
			}
			return fmt.Errorf("containers: the program of %s exited before it served: it must serve SOCKSPEC_ADDRESS until stopped%s", s.t.image, s.outputLast())
		}
		select {
		case line, ok := <-lines:
			if !ok {
				lines = nil
				continue
			}
			announced = announcedAddress(s.o.Family, strings.TrimSpace(line))
		case <-tick.C:
		case <-ctx.Done():
			if parent.Err() != nil {
				return fmt.Errorf("%w: the program of %s was not ready by the harness's deadline", driver.ErrNoReply, s.t.image)
			}
			return fmt.Errorf("containers: the program of %s was not ready within %v: nothing in the container serves %s (SOCKSPEC_ADDRESS); it must print the address it serves as its first line, or serve SOCKSPEC_ADDRESS%s", s.t.image, s.o.ReadyTimeout, s.address, s.outputLast())
		}
	}
}

func announcedAddress(family driver.Family, line string) string {
	if family.IsUnix() {
		if strings.HasPrefix(line, "/") {
			return line
		}
		return ""
	}
	host, port, err := net.SplitHostPort(line)
	if err != nil || host == "" {
		return ""
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return ""
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// outputLast is the program's last line of output, for a one-line error.
func (s *bbSession) outputLast() string {
	if l := lastLine(s.stderr.String()); l != "" {
		return fmt.Sprintf("; its stderr ends %q", l)
	}
	if l := lastLine(s.stdout.String()); l != "" {
		return fmt.Sprintf("; its output ends %q", l)
	}
	return ""
}

func (s *bbSession) waitOutput(bound time.Duration) {
	done := make(chan struct{})
	go func() { s.readers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(bound):
	}
}

func (s *bbSession) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *bbSession) Address() string { return s.address }

func (s *bbSession) Dial(ctx context.Context, unbound bool) (net.Conn, error) {
	if s.isClosed() {
		return nil, driver.ErrSessionClosed
	}
	return s.t.net.dial(ctx, s.o.Family, s.address, s.dir, unbound)
}

func (s *bbSession) ServeForever(context.Context, time.Duration) error {
	if s.isClosed() {
		return driver.ErrSessionClosed
	}
	return nil
}

func unsupportedCall(method string) error {
	return &driver.UnsupportedError{What: method + ": a black-box program serves on its own; rules that call it are N/A"}
}

func (s *bbSession) HandleRequest(context.Context) (driver.Result, error) {
	return driver.Result{}, unsupportedCall("handle_request()")
}

func (s *bbSession) Shutdown(context.Context) (driver.Result, error) {
	return driver.Result{}, unsupportedCall("shutdown()")
}

func (s *bbSession) ServerClose(context.Context) (driver.Result, error) {
	return driver.Result{}, unsupportedCall("server_close()")
}

func (s *bbSession) State(context.Context) (driver.State, error) {
	return driver.State{}, unsupportedCall("the server's state")
}

func (s *bbSession) Trace() *driver.Trace { return &s.trace }

func (s *bbSession) Inspect(ctx context.Context) (driver.Hygiene, error) {
	if err := ctx.Err(); err != nil {
		return driver.Hygiene{}, err
	}
	if s.isClosed() {
		return driver.Hygiene{}, driver.ErrSessionClosed
	}
	return procfs.Inspect(s.pid)
}

func (s *bbSession) Inject(ctx context.Context, f driver.Fault) (func() error, error) {
	if s.isClosed() {
		return nil, driver.ErrSessionClosed
	}
	return s.inject.Inject(ctx, f)
}

func (s *bbSession) Signal(ctx context.Context, sig string) error {
	if !slices.Contains(s.o.Capabilities, driver.CapSignals) {
		return &driver.UnsupportedError{What: "signals: the program was not vouched to survive SIGUSR1, SIGALRM and SIGUSR2 (capability \"signals\")"}
	}
	no, ok := process.Signals[sig]
	if !ok {
		return fmt.Errorf("containers: signal %q: want SIGUSR1, SIGALRM or SIGUSR2", sig)
	}
	if s.isClosed() {
		return driver.ErrSessionClosed
	}
	if ctx.Err() != nil {
		return driver.ErrNoReply
	}
	return osfault.SignalBlocked(s.pid, no)
}

func (s *bbSession) Stderr() string { return s.stderr.String() }
func (s *bbSession) Stdout() string { return s.stdout.String() }

// Close ends the program as exec: targets end: SIGTERM, and after
// blackbox.TermGrace the container is removed (SIGKILL to all of it).
func (s *bbSession) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.closeOnce.Do(func() {
		var errs []error
		if s.inject != nil {
			errs = append(errs, s.inject.Close())
		}
		ctx, cancel := context.WithTimeout(context.Background(), removeBound)
		_, _ = s.b.e.Client.ContainerKill(ctx, s.b.id, client.ContainerKillOptions{Signal: "TERM"})
		cancel()
		s.b.waitExit(blackbox.TermGrace)
		errs = append(errs, s.b.remove())
		s.t.forget(s.b)
		s.waitOutput(removeBound)
		errs = append(errs, removeDir(s.dir))
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}
