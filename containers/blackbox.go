package containers

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/client"

	"github.com/sockspec/sockspec/adapters/blackbox"
	"github.com/sockspec/sockspec/internal/procfs"
	"github.com/sockspec/sockspec/spec/driver"
)

// blackboxProgram is what an image= target's user declared of its server:
// the semantics of adapters/blackbox (exec: targets), inside the image.
// The program gets SOCKSPEC_FAMILY, SOCKSPEC_ADDRESS and, for TCP and
// UDP, SOCKSPEC_HOST and SOCKSPEC_PORT; it is ready once its first line
// of output names the address it serves, or once the container's socket
// tables show a socket of its processes serving SOCKSPEC_ADDRESS.
type blackboxProgram struct {
	o Options
	// declared is the program as adapters/blackbox sees it: what it
	// refuses of a configuration is refused here too.
	declared *blackbox.Target
	info     driver.Info
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
	return &blackboxProgram{o: o, declared: bt, info: info}, nil
}

func (t *Target) startBlackbox(ctx context.Context, cfg driver.ServerConfig) (_ driver.Session, err error) {
	p := t.blackbox
	if what := p.declared.Unsupported(cfg); what != "" {
		return nil, &driver.UnsupportedError{What: what}
	}
	network, err := t.network(ctx)
	if err != nil {
		return nil, err
	}
	dir, err := sharedDir()
	if err != nil {
		return nil, err
	}
	var envAddr string
	env := []string{"PYTHONUNBUFFERED=1", "SOCKSPEC_FAMILY=" + string(p.o.Family)}
	if p.o.Family.IsUnix() {
		envAddr = dir + "/server.sock"
		env = append(env, "SOCKSPEC_ADDRESS="+envAddr)
	} else {
		port, err := t.net.freePort(p.o.Family)
		if err != nil {
			removeDir(dir)
			return nil, fmt.Errorf("containers: choosing a free %s port: %w", p.o.Family, err)
		}
		envAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		env = append(env, "SOCKSPEC_ADDRESS="+envAddr, "SOCKSPEC_HOST=127.0.0.1", "SOCKSPEC_PORT="+strconv.Itoa(port))
	}
	b, err := t.run(ctx, boxSpec{image: t.image, argv: t.argv, env: env, role: "session", limits: t.o.Limits.withDefaults(), network: network, shared: dir, user: t.o.User})
	if err != nil {
		removeDir(dir)
		return nil, err
	}
	stdout, stderr := b.readStreams()
	s := &bbSession{t: t, o: p.o, b: b}
	declared := blackbox.Options{Family: p.o.Family, Capabilities: p.o.Capabilities}
	s.Session = blackbox.NewSession("containers", "the program of "+t.image, declared, boxPlace{t: t, b: b}, dir, stdout, stderr)
	if err := s.awaitReady(ctx, envAddr); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// bbSession is one container of a black-box program: adapters/blackbox's
// session, whose Place is the container.
type bbSession struct {
	*blackbox.Session
	t *Target
	o Options
	b *box
}

// boxPlace is a black-box program's container: clients dial in the
// target's network, and the program ends as exec: programs end, by
// SIGTERM, and after blackbox.TermGrace the container is removed
// (SIGKILL to all of it).
type boxPlace struct {
	t *Target
	b *box
}

func (p boxPlace) Dial(ctx context.Context, family driver.Family, address, dir string, unbound bool) (net.Conn, error) {
	return p.t.net.dial(ctx, family, address, dir, unbound)
}

func (p boxPlace) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), removeBound)
	_, _ = p.b.e.Client.ContainerKill(ctx, p.b.id, client.ContainerKillOptions{Signal: "TERM"})
	cancel()
	p.b.waitExit(blackbox.TermGrace)
	err := p.b.remove()
	p.t.forget(p.b)
	return err
}

// awaitReady waits, within the program's ready bound, until a process of
// the container serves the address (the announced one or envAddr).
func (s *bbSession) awaitReady(ctx context.Context, envAddr string) error {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, s.o.ReadyTimeout)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	lines := s.FirstLine()
	announced := ""
	for {
		for _, addr := range []string{announced, envAddr} {
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
				s.Serving(addr, pid, s.b.started)
				return nil
			}
		}
		if s.b.exited() {
			s.WaitOutput(200 * time.Millisecond)
			if cmd, ok := noCommand(s.Stderr()); ok {
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
			return fmt.Errorf("containers: the program of %s was not ready within %v: nothing in the container serves %s (SOCKSPEC_ADDRESS); it must print the address it serves as its first line, or serve SOCKSPEC_ADDRESS%s", s.t.image, s.o.ReadyTimeout, envAddr, s.outputLast())
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
	if l := lastLine(s.Stderr()); l != "" {
		return fmt.Sprintf("; its stderr ends %q", l)
	}
	if l := lastLine(s.Stdout()); l != "" {
		return fmt.Sprintf("; its output ends %q", l)
	}
	return ""
}
