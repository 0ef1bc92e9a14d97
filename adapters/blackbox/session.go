package blackbox

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sockspec/sockspec/internal/procgroup"
	"github.com/sockspec/sockspec/spec/driver"
)

// session is one run of the program in a process group of its own.
type session struct {
	*Session
	group *procgroup.Group
}

// groupPlace is a program's process group, as its Session's Place.
type groupPlace struct {
	group   *procgroup.Group
	command string
}

func (g groupPlace) Dial(ctx context.Context, family driver.Family, address, dir string, unbound bool) (net.Conn, error) {
	return driver.Dial(ctx, family, address, dir, unbound)
}

// Stop sends SIGTERM to the group, SIGKILL after TermGrace, and reaps
// every process of it (the server's zombies and orphans included).
func (g groupPlace) Stop() error {
	if err := g.group.Stop(TermGrace); err != nil {
		return fmt.Errorf("blackbox: %q: %w", g.command, err)
	}
	return nil
}

// start runs the program and waits until it is ready.
func start(ctx context.Context, o Options) (_ *session, err error) {
	dir, err := os.MkdirTemp("", "sockspec-exec")
	if err != nil {
		return nil, err
	}
	// Until the group runs, a failure undoes by hand; after, Close does.
	undo := []func() error{func() error { return os.RemoveAll(dir) }}
	defer func() {
		if err != nil && undo != nil {
			for _, u := range undo {
				u()
			}
		}
	}()
	envAddr, env, err := environ(o, dir)
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
	group, err := procgroup.Start(cmd)
	if err != nil {
		return nil, fmt.Errorf("blackbox: starting %q: %w", o.Command, err)
	}
	undo = nil
	outW.Close() // the program holds the write ends now
	errW.Close()
	s := &session{group: group}
	s.Session = NewSession("blackbox", strconv.Quote(o.Command), o, groupPlace{group, o.Command}, dir, outR, errR)
	if err := s.awaitReady(ctx, envAddr, time.Now()); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// environ chooses the address the program is to serve and returns it with
// the program's environment.
func environ(o Options, dir string) (string, []string, error) {
	env := append(os.Environ(), "PYTHONUNBUFFERED=1") // a Python server's address line must not wait in a buffer
	env = append(env, o.Env...)
	family := o.Family
	env = append(env, "SOCKSPEC_FAMILY="+string(family))
	if family.IsUnix() {
		path := filepath.Join(dir, "server.sock")
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

// readyPoll is the pace at which /proc/net is read while the program
// starts: the kernel gives no event for a socket's listen.
const readyPoll = 10 * time.Millisecond

// awaitReady waits until the program serves: at the address its first
// line announces, or at envAddr. The server's pid is the process of the
// group that holds that socket; faults count from begun.
func (s *session) awaitReady(ctx context.Context, envAddr string, begun time.Time) error {
	bound := s.o.ReadyTimeout
	parent := ctx
	ctx, cancel := context.WithTimeout(parent, bound)
	defer cancel()
	tick := time.NewTicker(readyPoll)
	defer tick.Stop()
	lines := s.FirstLine()
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
				s.Serving(addr, pid, begun)
				return nil
			}
		}
		if exited == nil && liveMembers(s.group.PGID()) == 0 {
			// All it wrote before it died explains its death.
			s.WaitOutput(outputBound)
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
