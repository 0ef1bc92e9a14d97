package impl_test

import (
	"errors"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sockspec/sockspec/impl"
)

// FRK-01, FRK-02: the request runs in a child process; the parent only
// closes its copy (close_request), the child shuts the request down.
func TestFRK01ChildProcessFRK02ParentOnlyCloses(t *testing.T) {
	rec := &recorder{}
	s := newServer(t, impl.Config{Family: impl.TCP, Dispatch: impl.Forking, Trace: rec.Trace()})
	c := dial(t, s)
	c.send("pid")
	if err := s.HandleRequest(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	reply, _ := c.readAll()
	childPid, err := strconv.Atoi(strings.TrimSpace(reply))
	if err != nil || childPid == os.Getpid() {
		t.Fatalf("handler ran in pid %q, server is %d", reply, os.Getpid())
	}
	s.ServerClose()
	parent := func(e impl.Event) bool { return e.PID == os.Getpid() && e.Request != 0 }
	child := func(e impl.Event) bool { return e.PID == childPid }
	if got, want := rec.Calls(parent), []string{"verify_request", "process_request", "close_request"}; !slices.Equal(got, want) {
		t.Fatalf("parent hooks %v, want %v", got, want)
	}
	if got, want := rec.Calls(child), []string{"finish_request", "setup", "handle", "finish", "shutdown_request", "close_request"}; !slices.Equal(got, want) {
		t.Fatalf("child hooks %v, want %v", got, want)
	}
}

// FRK-06: MaxChildren holds under a HandleRequest loop: the next request is
// not taken until a child has exited (CPython 3.x does not enforce it there).
func TestFRK06MaxChildrenUnderHandleRequest(t *testing.T) {
	rec := &recorder{}
	s := newServer(t, impl.Config{Family: impl.TCP, Dispatch: impl.Forking, MaxChildren: 2, Trace: rec.Trace()})
	var held []*client
	for i := 0; i < 2; i++ {
		c := dial(t, s)
		c.send("hold")
		if err := s.HandleRequest(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		c.readLine()
		held = append(held, c)
	}
	third := dial(t, s)
	third.send("echo third")
	done := make(chan error, 1)
	go func() { done <- s.HandleRequest(ctxT(t)) }()
	if n := len(s.ActiveChildren()); n != 2 {
		t.Fatalf("active children %d", n)
	}
	held[0].send("go")
	held[0].readAll()
	if err := recv(t, done, "third HandleRequest"); err != nil {
		t.Fatal(err)
	}
	if got, _ := third.readAll(); got != "third\n" {
		t.Fatalf("third reply %q", got)
	}
	// The third request was taken only after a child had exited.
	var order []string
	for _, e := range rec.Events() {
		if e.Phase == impl.Return && (e.Hook == impl.HookChildExit || (e.Hook == impl.HookGetRequest && e.Err == nil)) {
			order = append(order, string(e.Hook))
		}
	}
	if len(order) < 4 || !slices.Equal(order[:4], []string{"get_request", "get_request", "child_exit", "get_request"}) {
		t.Fatalf("order %v", order)
	}
	held[1].send("go")
	held[1].readAll()
}

// FRK-06: MaxChildren holds under ServeForever too, and Shutdown is not
// held up by a loop waiting for a child slot.
func TestFRK06MaxChildrenUnderServeForever(t *testing.T) {
	rec := &recorder{}
	s := newServer(t, impl.Config{Family: impl.TCP, Dispatch: impl.Forking, MaxChildren: 1, Trace: rec.Trace()})
	done := serve(t, s, hour)
	first := dial(t, s)
	first.send("hold")
	first.readLine()
	second := dial(t, s)
	second.send("echo second")
	if err := s.Shutdown(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	recv(t, done, "ServeForever")
	if n := len(rec.Returns(impl.HookGetRequest)); n != 1 {
		t.Fatalf("get_request returned %d times with one child slot", n)
	}
	first.send("go")
	first.readAll()
}

// FRK-07: only the server's own children are waited for: a child the test
// started is still the test's to reap.
func TestFRK07ForeignChildrenAreNotReaped(t *testing.T) {
	foreign := exec.Command("sh", "-c", "exit 72")
	if err := foreign.Start(); err != nil {
		t.Skipf("no sh: %v", err)
	}
	s := newServer(t, impl.Config{Family: impl.TCP, Dispatch: impl.Forking, MaxChildren: 1})
	for i := 0; i < 3; i++ {
		c := dial(t, s)
		c.send("echo x")
		if err := s.HandleRequest(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		c.readAll()
	}
	s.ServerClose()
	err := foreign.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 72 {
		t.Fatalf("the test's own child: %v, want exit status 72", err)
	}
}

// FRK-08: no zombie outlives a request child.
func TestFRK08NoZombies(t *testing.T) {
	rec := &recorder{}
	s := newServer(t, impl.Config{Family: impl.TCP, Dispatch: impl.Forking, Trace: rec.Trace()})
	for i := 0; i < 5; i++ {
		c := dial(t, s)
		c.send("echo x")
		if err := s.HandleRequest(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		c.readAll()
	}
	rec.waitFor(t, impl.HookChildExit, 5) // each exit is recorded after the reap
	if z := zombiesOf(t, os.Getpid()); len(z) != 0 {
		t.Fatalf("zombie children %v", z)
	}
}

// zombiesOf lists the zombie children of pid from /proc.
func zombiesOf(t testing.TB, pid int) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	var out []int
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid …; comm may hold spaces, so cut at the last ')'.
		rest := string(b[strings.LastIndexByte(string(b), ')')+2:])
		f := strings.Fields(rest)
		if len(f) > 1 && f[0] == "Z" && f[1] == strconv.Itoa(pid) {
			out = append(out, p)
		}
	}
	return out
}

// FRK-09: ServerClose blocks until the children have exited, unless
// NoBlockOnClose is set.
func TestFRK09BlockOnClose(t *testing.T) {
	for _, block := range []bool{true, false} {
		t.Run("block="+strconv.FormatBool(block), func(t *testing.T) {
			rec := &recorder{}
			s := newServer(t, impl.Config{Family: impl.TCP, Dispatch: impl.Forking, NoBlockOnClose: !block, Trace: rec.Trace()})
			c := dial(t, s)
			c.send("hold")
			if err := s.HandleRequest(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			c.readLine()
			closed := make(chan error, 1)
			go func() { closed <- s.ServerClose() }()
			if !block {
				recv(t, closed, "ServerClose") // returns with the child still held
			}
			c.send("go")
			c.readAll()
			if block {
				recv(t, closed, "ServerClose")
				var order []string
				for _, e := range rec.Events() {
					if e.Phase == impl.Return && (e.Hook == impl.HookChildExit || e.Hook == impl.HookServerClose) {
						order = append(order, string(e.Hook))
					}
				}
				if !slices.Equal(order, []string{"child_exit", "server_close"}) {
					t.Fatalf("ServerClose returned before the child exited: %v", order)
				}
			}
			rec.waitFor(t, impl.HookChildExit, 1)
		})
	}
}

// failingSpawner fails every Spawn like fork under a pids limit.
type failingSpawner struct{}

func (failingSpawner) Spawn(impl.ChildSpec) (impl.Child, error) {
	return nil, &os.SyscallError{Syscall: "fork/exec", Err: syscall.EAGAIN}
}

// FRK-10: a failed fork goes to handle_error, the client gets EOF, and the
// server keeps serving.
func TestFRK10ForkFailure(t *testing.T) {
	var got error
	rec := &recorder{}
	s := newServer(t, impl.Config{Family: impl.TCP, Dispatch: impl.Forking, Spawner: failingSpawner{}, Trace: rec.Trace(),
		Overrides: impl.Overrides{HandleError: func(s *impl.Server, r *impl.Request, err error) error { got = err; return nil }}})
	c := dial(t, s)
	c.send("echo x")
	if err := s.HandleRequest(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(got, syscall.EAGAIN) {
		t.Fatalf("handle_error got %v, want EAGAIN", got)
	}
	if reply, err := c.readAll(); reply != "" || err != nil {
		t.Fatalf("client %q %v, want EOF", reply, err)
	}
	if n := rec.Count(impl.HookShutdownRequest); n != 1 {
		t.Fatalf("shutdown_request %d times", n)
	}
	// Service goes on.
	c2 := dial(t, s)
	c2.send("echo y")
	if err := s.HandleRequest(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if len(s.ActiveChildren()) != 0 {
		t.Fatalf("a failed spawn left an active child: %v", s.ActiveChildren())
	}
}

// TMO-06: a Forking server's default timeout is 300 s, as in CPython.
func TestTMO06ForkingDefaultTimeout(t *testing.T) {
	s := newServer(t, impl.Config{Family: impl.TCP, Dispatch: impl.Forking})
	if d, ok := s.Config().Timeout.Duration(); !ok || d != 300*time.Second {
		t.Fatalf("timeout %v", s.Config().Timeout)
	}
	s2 := newServer(t, impl.Config{Family: impl.TCP, Dispatch: impl.Forking, Timeout: impl.NoTimeout()})
	if _, ok := s2.Config().Timeout.Duration(); ok {
		t.Fatalf("explicit NoTimeout became %v", s2.Config().Timeout)
	}
}

// Forking needs a registered recipe; the error says what to do.
func TestForkingNeedsRecipe(t *testing.T) {
	_, err := impl.New(impl.Config{Family: impl.TCP, Address: "127.0.0.1:0", Handler: scripted, Dispatch: impl.Forking})
	if err == nil || !strings.Contains(err.Error(), "RegisterChild") {
		t.Fatalf("got %v", err)
	}
	_, err = impl.New(impl.Config{Family: impl.TCP, Address: "127.0.0.1:0", Handler: scripted, Dispatch: impl.Forking, Fork: impl.ForkRecipe{Name: "nope"}})
	if err == nil || !strings.Contains(err.Error(), `"nope" is not registered`) {
		t.Fatalf("got %v", err)
	}
}

// echildSpawner starts real children but reports, when one is waited for,
// that someone else reaped it first (SIGCHLD ignored, or another reaper).
type echildSpawner struct{}

func (echildSpawner) Spawn(spec impl.ChildSpec) (impl.Child, error) {
	c, err := impl.ExecSpawner{}.Spawn(spec)
	if err != nil {
		return nil, err
	}
	return echildChild{c}, nil
}

type echildChild struct{ impl.Child }

func (c echildChild) Wait() (int, error) {
	c.Child.Wait()
	return -1, &os.SyscallError{Syscall: "wait4", Err: syscall.ECHILD}
}

// FRK-11: a child reaped by someone else is forgotten without an error
// reaching the caller, and service goes on.
func TestFRK11ECHILDTolerated(t *testing.T) {
	rec := &recorder{}
	s := newServer(t, impl.Config{Family: impl.TCP, Dispatch: impl.Forking, Spawner: echildSpawner{}, Trace: rec.Trace()})
	for i := 0; i < 2; i++ {
		c := dial(t, s)
		c.send("echo x")
		if err := s.HandleRequest(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		if got, _ := c.readAll(); got != "x\n" {
			t.Fatalf("reply %q", got)
		}
	}
	rec.waitFor(t, impl.HookChildExit, 2)
	if err := s.ServerClose(); err != nil {
		t.Fatal(err)
	}
	if n := len(s.ActiveChildren()); n != 0 {
		t.Fatalf("%d children left active", n)
	}
	for _, e := range rec.Returns(impl.HookChildExit) {
		if !errors.Is(e.Err, syscall.ECHILD) {
			t.Fatalf("child_exit %+v", e)
		}
	}
}
