package blackbox

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sockspec/sockspec/internal/procgroup"
	"github.com/sockspec/sockspec/internal/testkit"
	"github.com/sockspec/sockspec/spec/driver"
)

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// example is the shell command that runs a testdata server; -B keeps the
// interpreter from writing bytecode into testdata.
func example(t *testing.T, py, name string) string {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%q -B %q", py, path)
}

// startTest runs a target's session and registers a Close that checks that
// nothing of the program is left.
func startTest(t *testing.T, o Options) *session {
	t.Helper()
	tgt, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	sess, err := tgt.Start(ctx, driver.ServerConfig{Family: tgt.o.Family, Dispatch: tgt.o.Dispatch})
	if err != nil {
		t.Fatal(err)
	}
	s := sess.(*session)
	t.Cleanup(func() { closeAndCheck(t, s) })
	return s
}

// closeAndCheck closes s and checks that no process of its group is left,
// zombies included, and that its files are gone.
func closeAndCheck(t *testing.T, s *session) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	pgid := s.group.PGID()
	if err := syscall.Kill(-pgid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("after Close, kill(-%d, 0) = %v; want ESRCH", pgid, err)
	}
	if left := groupMembers(pgid); len(left) > 0 {
		t.Errorf("after Close, processes of group %d are left (zombies included): %+v", pgid, left)
	}
	if fileExists(s.dir) {
		t.Errorf("after Close, %s is left", s.dir)
	}
	if err := s.Close(); err != nil {
		t.Errorf("a second Close: %v", err)
	}
}

// echo sends one line through a fresh client and checks that it comes back.
func echo(t *testing.T, s *session, msg string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := s.Dial(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(driver.Echo(msg).Line()); err != nil {
		t.Fatal(err)
	}
	got, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || got != msg+"\n" {
		t.Fatalf("echo of %q = %q, %v", msg, got, err)
	}
}

// await polls the server's process until cond holds for what /proc shows;
// /proc gives no event for a child's exit.
func await(t *testing.T, s *session, what string, cond func(driver.Hygiene) bool) driver.Hygiene {
	t.Helper()
	var h driver.Hygiene
	testkit.WaitForNoError(t, 5*time.Second, "the server to show "+what, func() error {
		var err error
		if h, err = s.Inspect(context.Background()); err == nil && !cond(h) {
			err = fmt.Errorf("%+v", h)
		}
		return err
	})
	return h
}

func cmdline(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(string(b), "\x00", " ")
}

// Each example serves 5 requests, each in a child; the reaper is left with
// no zombie, the other with 5, and SIGTERM ends both.
func TestForkingExamples(t *testing.T) {
	for _, version := range []string{"3", "2.7"} {
		for _, tc := range []struct {
			script  string
			zombies int
		}{{"fork_reaper.py", 0}, {"fork_noreap.py", 5}} {
			t.Run(version+"/"+tc.script, func(t *testing.T) {
				s := startTest(t, Options{Command: example(t, testkit.Python(t, version), tc.script), Dispatch: driver.Forking})
				if line, _, _ := strings.Cut(s.Stdout(), "\n"); line != s.Address() {
					t.Fatalf("address %q; want the one announced, %q", s.Address(), line)
				}
				if cl := cmdline(t, s.pid); !strings.Contains(cl, tc.script) {
					t.Fatalf("the server's pid %d runs %q; want the python holding the socket", s.pid, cl)
				}
				base := await(t, s, "a server ready", func(driver.Hygiene) bool { return true })
				for i := range 5 {
					echo(t, s, fmt.Sprintf("request %d", i))
				}
				// The parent closes its copy of a connection after the fork,
				// perhaps after the child has answered: the count of its
				// descriptors is awaited too.
				await(t, s, fmt.Sprintf("%d zombies, no live child and the %d descriptors it started with", tc.zombies, base.FDs), func(h driver.Hygiene) bool {
					return h.Zombies == tc.zombies && h.Children == 0 && h.FDs == base.FDs
				})
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				if err := s.group.ExitErr(); err == nil || err.Error() != "signal: terminated" {
					t.Fatalf("the program ended with %v; want SIGTERM to end it", err)
				}
			})
		}
	}
}

// A program that prints nothing is seen ready in /proc/net, for every
// family; the server's pid is that of the python holding the socket, not
// the shell's that runs it.
func TestReadyThroughProc(t *testing.T) {
	py := testkit.Python(t, "3")
	for _, family := range driver.Families {
		t.Run(string(family), func(t *testing.T) {
			// The trailing command keeps /bin/sh from exec'ing python.
			s := startTest(t, Options{Command: example(t, py, "quiet_echo.py") + "; exit $?", Family: family})
			if s.pid == s.group.PGID() {
				t.Fatalf("the server's pid is the shell's, %d", s.pid)
			}
			if cl := cmdline(t, s.pid); !strings.Contains(cl, "quiet_echo.py") {
				t.Fatalf("the server's pid %d runs %q", s.pid, cl)
			}
			addr, _ := s.env(t, "SOCKSPEC_ADDRESS")
			fam, _ := s.env(t, "SOCKSPEC_FAMILY")
			host, hasHost := s.env(t, "SOCKSPEC_HOST")
			port, hasPort := s.env(t, "SOCKSPEC_PORT")
			if addr != s.Address() || fam != string(family) || hasHost != !family.IsUnix() || hasPort != !family.IsUnix() ||
				(hasHost && net.JoinHostPort(host, port) != addr) {
				t.Fatalf("the environment says family %q, address %q, host %q, port %q; the session serves %s at %q", fam, addr, host, port, family, s.Address())
			}
			if s.Stdout() != "" {
				t.Fatalf("stdout %q; want nothing", s.Stdout())
			}
			echo(t, s, "one")
			echo(t, s, "two")
		})
	}
}

// A program that binds port 0 itself and prints what it got is dialled
// there; a wildcard host is dialled on loopback.
func TestAnnouncedAddress(t *testing.T) {
	py := testkit.Python(t, "3")
	s := startTest(t, Options{Command: "SOCKSPEC_ADDRESS=0.0.0.0:0 " + example(t, py, "fork_reaper.py"), Dispatch: driver.Forking})
	if !strings.HasPrefix(s.Address(), "127.0.0.1:") || strings.HasPrefix(s.Stdout(), "127.0.0.1:") {
		t.Fatalf("address %q from the line %q; want 0.0.0.0 dialled as 127.0.0.1", s.Address(), s.Stdout())
	}
	echo(t, s, "wildcard")

	// A first line that is no address leaves readiness to /proc/net.
	b := startTest(t, Options{Command: "echo 'starting up'; exec " + example(t, py, "quiet_echo.py")})
	if addr, _ := b.env(t, "SOCKSPEC_ADDRESS"); b.Stdout() != "starting up\n" || b.Address() != addr {
		t.Fatalf("stdout %q, address %q; want the banner and SOCKSPEC_ADDRESS", b.Stdout(), b.Address())
	}
	echo(t, b, "after a banner")

	l, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Logf("no IPv6 loopback here (%v): the [v6]:port line is not tried", err)
		return
	}
	l.Close()
	v6 := startTest(t, Options{Command: "SOCKSPEC_ADDRESS='[::1]:0' " + example(t, py, "fork_reaper.py"), Dispatch: driver.Forking})
	if !strings.HasPrefix(v6.Address(), "[::1]:") {
		t.Fatalf("address %q; want [::1]:port", v6.Address())
	}
	echo(t, v6, "six")
}

// env is the value of key in the server's environment.
func (s *session) env(t *testing.T, key string) (string, bool) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", s.pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range strings.Split(string(b), "\x00") {
		if v, ok := strings.CutPrefix(kv, key+"="); ok {
			return v, true
		}
	}
	return "", false
}

func TestBadOptions(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{Command: "  "}, "the command is empty"},
		{Options{Command: "x", Family: "sctp"}, `family "sctp": want one of [tcp udp unix_stream unix_dgram]`},
		{Options{Command: "x", Dispatch: "async"}, `dispatch "async": want one of [sync threading forking]`},
		{Options{Command: "x", Capabilities: []string{"telepathy"}}, `capability "telepathy" is not one sockspec knows`},
		{Options{Command: "x", Capabilities: []string{"trace"}}, "reports no hook calls"},
		{Options{Command: "x", Capabilities: []string{"udp"}}, "declare it with Options.Family"},
		{Options{Command: "x", Capabilities: []string{"max_children"}}, "a setting of the server"},
		{Options{Command: "x", ReadyTimeout: -time.Second}, "ReadyTimeout is negative"},
	} {
		if _, err := New(tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v; want an error saying %q", tc.o, err, tc.want)
		}
	}
}

func TestInfo(t *testing.T) {
	tgt, err := New(Options{Command: "./server --port 0", Family: driver.UnixStream, Dispatch: driver.Threading, Capabilities: []string{"signals", "signals"}})
	if err != nil {
		t.Fatal(err)
	}
	info := tgt.Info()
	declared, harness := info.Capabilities[:3], info.Capabilities[3:]
	if info.Name != "exec" || info.Version != "./server --port 0" || info.Language != "unknown" ||
		strings.Join(declared, ",") != "unix_stream,threading,signals" {
		t.Fatalf("Info = %+v", info)
	}
	// Then what the harness can do to the process from outside.
	for _, c := range harness {
		if !strings.HasPrefix(c, "inject.") {
			t.Fatalf("Info = %+v: %q is neither declared nor the harness's", info, c)
		}
	}
}

// A configuration the program was not declared for, or one with any
// setting, is N/A before any process starts.
func TestUnsupportedConfig(t *testing.T) {
	tgt, err := New(Options{Command: "exit 1"})
	if err != nil {
		t.Fatal(err)
	}
	no := false
	for _, tc := range []struct {
		cfg  driver.ServerConfig
		want string
	}{
		{driver.ServerConfig{Family: driver.TCP, Dispatch: driver.Sync, Timeout: driver.After(time.Second)}, "a configured timeout: a black-box program takes no timeout"},
		{driver.ServerConfig{Family: driver.TCP, Dispatch: driver.Sync, MaxChildren: 3}, "max_children"},
		{driver.ServerConfig{Family: driver.TCP, Dispatch: driver.Sync, VerifyReject: true}, "verify_reject"},
		{driver.ServerConfig{Family: driver.TCP, Dispatch: driver.Sync, Faults: []driver.Fault{{Op: "accept", Errno: "EMFILE", Nth: 1}}}, "injected faults"},
		{driver.ServerConfig{Family: driver.TCP, Dispatch: driver.Sync, BindAndActivate: &no}, "bind_and_activate=False"},
		{driver.ServerConfig{Family: driver.TCP, Dispatch: driver.Sync, Address: "127.0.0.1:1"}, "SOCKSPEC_ADDRESS"},
		{driver.ServerConfig{Family: driver.UDP, Dispatch: driver.Sync}, "family udp (the program was declared to serve tcp)"},
		{driver.ServerConfig{Family: driver.TCP, Dispatch: driver.Forking}, "dispatch forking (the program was declared sync)"},
	} {
		before := procgroup.Live()
		_, err := tgt.Start(context.Background(), tc.cfg)
		var un *driver.UnsupportedError
		if !errors.As(err, &un) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Start(%+v) = %v; want an UnsupportedError saying %q", tc.cfg, err, tc.want)
		}
		if procgroup.Live() != before {
			t.Errorf("Start(%+v) left a process group", tc.cfg)
		}
	}
	yes := true
	if _, err := tgt.Start(context.Background(), driver.ServerConfig{Family: driver.TCP, Dispatch: driver.Sync, BindAndActivate: &yes}); err == nil || strings.Contains(err.Error(), "does not support") {
		t.Fatalf("bind_and_activate=True is the default and must be accepted; Start = %v", err)
	}
}

// A program that exits at once is an error with its status and stderr,
// given as soon as it exits.
func TestExitsAtOnce(t *testing.T) {
	tgt, err := New(Options{Command: "echo 'cannot open config' >&2; exit 3"})
	if err != nil {
		t.Fatal(err)
	}
	before := procgroup.Live()
	begin := time.Now()
	_, err = tgt.Start(context.Background(), driver.ServerConfig{Family: driver.TCP, Dispatch: driver.Sync})
	if err == nil || !strings.Contains(err.Error(), "exited before it served (exit status 3)") || !strings.Contains(err.Error(), "cannot open config") {
		t.Fatalf("Start = %v; want the exit status and the stderr", err)
	}
	if took := time.Since(begin); took > ReadyTimeout/2 {
		t.Fatalf("the exit took %v to be seen", took)
	}
	if procgroup.Live() != before {
		t.Fatal("the failed start left a process group")
	}
}

// A program that never serves is an error naming what was awaited, within
// ReadyTimeout; the harness's own deadline is ErrNoReply (a HANG).
func TestNeverReady(t *testing.T) {
	tgt, err := New(Options{Command: "echo 'listening soon'; exec sleep 60", ReadyTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	cfg := driver.ServerConfig{Family: driver.TCP, Dispatch: driver.Sync}
	_, err = tgt.Start(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "was not ready within 300ms") || !strings.Contains(err.Error(), `"listening soon"`) || errors.Is(err, driver.ErrNoReply) {
		t.Fatalf("Start = %v; want a readiness error quoting the first line", err)
	}
	tgt.o.ReadyTimeout = time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err = tgt.Start(ctx, cfg); !errors.Is(err, driver.ErrNoReply) {
		t.Fatalf("Start past the harness's deadline = %v; want ErrNoReply", err)
	}
}

// The server's methods are N/A; ServeForever has nothing to do; the trace
// stays empty; signals reach the server's process only when vouched for.
func TestSessionSurface(t *testing.T) {
	py := testkit.Python(t, "3")
	ctx := context.Background()
	s := startTest(t, Options{Command: "exec " + example(t, py, "fork_reaper.py"), Dispatch: driver.Forking})
	if err := s.ServeForever(ctx, time.Second); err != nil {
		t.Fatal(err)
	}
	var un *driver.UnsupportedError
	if _, err := s.HandleRequest(ctx); !errors.As(err, &un) || !strings.Contains(err.Error(), "handle_request(): a black-box program serves on its own") {
		t.Fatalf("HandleRequest: %v", err)
	}
	if _, err := s.Shutdown(ctx); !errors.As(err, &un) {
		t.Fatalf("Shutdown: %v", err)
	}
	if _, err := s.ServerClose(ctx); !errors.As(err, &un) {
		t.Fatalf("ServerClose: %v", err)
	}
	if _, err := s.State(ctx); !errors.As(err, &un) {
		t.Fatalf("State: %v", err)
	}
	echo(t, s, "traced?")
	if n := len(s.Trace().Events()); n != 0 {
		t.Fatalf("the trace has %d events", n)
	}
	if err := s.Signal(ctx, "SIGUSR1"); !errors.As(err, &un) {
		t.Fatalf("Signal without the vouch: %v", err)
	}

	// Vouched: the signal reaches the python server (which does not handle
	// SIGUSR1, so it dies of it).
	v := startTest(t, Options{Command: "exec " + example(t, py, "fork_reaper.py"), Dispatch: driver.Forking, Capabilities: []string{"signals"}})
	if err := v.Signal(ctx, "SIGHUP"); err == nil || !strings.Contains(err.Error(), "want SIGUSR1, SIGALRM or SIGUSR2") {
		t.Fatalf("Signal(SIGHUP): %v", err)
	}
	if err := v.Signal(ctx, "SIGUSR1"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-v.group.Exited():
	case <-time.After(5 * time.Second):
		t.Fatal("the server survived SIGUSR1")
	}
	if err := v.group.ExitErr(); err == nil || err.Error() != "signal: user defined signal 1" {
		t.Fatalf("the server ended with %v; want SIGUSR1", err)
	}
}

// exec: takes the command after the colon and the declarations of the
// options.
func TestScheme(t *testing.T) {
	reg := driver.NewRegistry(Scheme())
	target, err := reg.Open("exec: ./server --port 0", driver.OpenOptions{Family: driver.UDP, Vouch: []string{"signals"}})
	if err != nil {
		t.Fatal(err)
	}
	if info := target.Info(); info.Version != "./server --port 0" || !info.Capabilities.Has("udp", "signals") {
		t.Errorf("Info() = %+v; want the command as version, udp and signals", info)
	}
	if _, err := reg.Open("exec: ", driver.OpenOptions{}); err == nil || !strings.Contains(err.Error(), "write exec:'COMMAND ARGS'") {
		t.Errorf("an empty command: %v", err)
	}
}
