package impl_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sockspec/sockspec/fakes"
	"github.com/sockspec/sockspec/impl"
	"github.com/sockspec/sockspec/internal/testkit"
	"github.com/sockspec/sockspec/spec/driver"
)

func TestMain(m *testing.M) {
	impl.ChildMain()
	testkit.Main(m)
}

// Recipes a request child of this test binary can rebuild.
func init() {
	impl.RegisterChild("test-echo", func([]byte) (impl.Config, error) {
		return impl.Config{Handler: impl.LineTransform(func(b []byte) []byte { return b })}, nil
	})
	impl.RegisterChild("test-script", func(p []byte) (impl.Config, error) {
		return impl.Config{Handler: scripted}, nil
	})
}

// scripted is a handler driven by the request's first line, so that a
// request child (which cannot share closures with the test) behaves as the
// test asks: "echo X", "fail", "panic", "fatal", "sleep D", "exit N".
func scripted() impl.Handler { return &scriptHandler{} }

type scriptHandler struct {
	impl.BaseHandler
	line []byte
	out  io.Writer
	dg   *impl.DatagramHandler
	st   *impl.StreamHandler
}

func (h *scriptHandler) Setup(r *impl.Request) error {
	if r.Conn != nil {
		h.st = &impl.StreamHandler{}
		if err := h.st.Setup(r); err != nil {
			return err
		}
		line, err := h.st.Rfile.ReadBytes('\n')
		if err != nil && len(line) == 0 {
			return fmt.Errorf("reading script: %w", err)
		}
		h.line, h.out = bytes.TrimSpace(line), h.st.Wfile
		if string(h.line) == "setup-fail" {
			return errors.New("setup failed on purpose")
		}
		return nil
	}
	h.dg = &impl.DatagramHandler{}
	if err := h.dg.Setup(r); err != nil {
		return err
	}
	h.line, h.out = bytes.TrimSpace(r.Data), h.dg.Wfile
	return nil
}

func (h *scriptHandler) Handle(r *impl.Request) error {
	cmd, arg, _ := strings.Cut(string(h.line), " ")
	switch cmd {
	case "echo":
		_, err := fmt.Fprintf(h.out, "%s\n", arg)
		return err
	case "fail":
		fmt.Fprintf(h.out, "partial\n")
		return errors.New("handler failed on purpose")
	case "panic":
		panic("handler panicked on purpose")
	case "fatal":
		return impl.Fatal(errors.New("fatal on purpose"))
	case "sleep":
		d, _ := time.ParseDuration(arg)
		time.Sleep(d) // the handler's own work, not a wait for the test
		_, err := fmt.Fprintf(h.out, "slept\n")
		return err
	case "hold":
		// Tell the client the handler runs, then wait for its go-ahead: the
		// test decides when the request ends, in any process.
		if _, err := fmt.Fprintf(h.out, "held\n"); err != nil {
			return err
		}
		if _, err := h.st.Rfile.ReadBytes('\n'); err != nil {
			return fmt.Errorf("waiting for release: %w", err)
		}
		_, err := fmt.Fprintf(h.out, "released\n")
		return err
	case "pid":
		_, err := fmt.Fprintf(h.out, "%d\n", os.Getpid())
		return err
	}
	return fmt.Errorf("unknown script %q", h.line)
}

func (h *scriptHandler) Finish(r *impl.Request) error {
	if h.dg != nil {
		return h.dg.Finish(r)
	}
	if h.st != nil {
		return h.st.Finish(r)
	}
	return nil
}

// recorder collects trace events; the waits below are its own.
type recorder struct{ fakes.Recorder }

// requestHooks keeps only the pipeline hooks of requests.
func requestHooks(e impl.Event) bool { return e.Request != 0 }

// addressFor gives a fresh address for a family.
func addressFor(t testing.TB, f impl.Family) string {
	switch f {
	case impl.TCP, impl.UDP:
		return "127.0.0.1:0"
	}
	return filepath.Join(shortTempDir(t), "s.sock")
}

// shortTempDir is a temporary directory with a short path: Unix socket paths
// are limited to 107 bytes and t.TempDir() can be longer.
func shortTempDir(t testing.TB) string {
	d, err := os.MkdirTemp("", "ss")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// newServer builds a server and closes it at the end of the test.
func newServer(t testing.TB, cfg impl.Config) *impl.Server {
	t.Helper()
	if cfg.Address == "" {
		cfg.Address = addressFor(t, cfg.Family)
	}
	if cfg.Handler == nil {
		cfg.Handler = scripted
	}
	if cfg.Dispatch == impl.Forking && cfg.Fork.Name == "" {
		cfg.Fork.Name = "test-script"
	}
	if cfg.ErrorLog == nil {
		cfg.ErrorLog = io.Discard
	}
	s, err := impl.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.ServerClose() })
	return s
}

// client is a test client of any family.
type client struct {
	t    testing.TB
	conn net.Conn
}

func dial(t testing.TB, s *impl.Server) *client {
	t.Helper()
	var conn net.Conn
	var err error
	switch s.Family() {
	case impl.TCP:
		conn, err = net.DialTimeout("tcp", s.Address(), 5*time.Second)
	case impl.UnixStream:
		conn, err = net.DialTimeout("unix", s.Address(), 5*time.Second)
	case impl.UDP:
		conn, err = net.Dial("udp", s.Address())
	case impl.UnixDatagram:
		local := filepath.Join(shortTempDir(t), "c.sock")
		conn, err = net.DialUnix("unixgram", &net.UnixAddr{Name: local, Net: "unixgram"}, &net.UnixAddr{Name: s.Address(), Net: "unixgram"})
	}
	if err != nil {
		t.Fatalf("dial %v %s: %v", s.Family(), s.Address(), err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	return &client{t: t, conn: conn}
}

func (c *client) send(line string) {
	c.t.Helper()
	if _, err := c.conn.Write([]byte(line + "\n")); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// readAll reads the reply: to EOF for streams, one datagram otherwise.
func (c *client) readAll() (string, error) {
	if _, ok := c.conn.(*net.UDPConn); ok || isUnixgram(c.conn) {
		buf := make([]byte, 65536)
		n, err := c.conn.Read(buf)
		return string(buf[:n]), err
	}
	b, err := io.ReadAll(c.conn)
	return string(b), err
}

func isUnixgram(c net.Conn) bool {
	u, ok := c.(*net.UnixConn)
	return ok && u.LocalAddr().Network() == "unixgram"
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// readLine reads one line of the reply.
func (c *client) readLine() string {
	c.t.Helper()
	line, err := driver.ReadReplyLine(c.conn)
	if err != nil {
		c.t.Fatalf("reading a line: got %q, then %v", line, err)
	}
	return line
}

// serve runs ServeForever in the background and returns a channel with its
// result; the test's cleanup shuts it down if it still runs.
func serve(t testing.TB, s *impl.Server, poll time.Duration) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	finished := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		defer close(finished)
		done <- s.ServeForever(ctx, poll)
	}()
	t.Cleanup(func() {
		cancel()
		s.ServerClose()
		select {
		case <-finished:
		case <-time.After(10 * time.Second):
			t.Errorf("ServeForever did not return within 10s of cancel and ServerClose")
		}
	})
	return done
}

// waitFor blocks until the recorder saw a return of hook h (n times in all),
// or fails the test after a bound.
func (r *recorder) waitFor(t testing.TB, h impl.Hook, n int) {
	t.Helper()
	r.waitUntil(t, fmt.Sprintf("%d returns of %s", n, h), func() bool { return len(r.Returns(h)) >= n })
}

// waitForCall blocks until the recorder saw n calls of hook h.
func (r *recorder) waitForCall(t testing.TB, h impl.Hook, n int) {
	t.Helper()
	r.waitUntil(t, fmt.Sprintf("%d calls of %s", n, h), func() bool { return r.Count(h) >= n })
}

// waitUntil waits up to 10s for cond, and fails the test with the trace.
func (r *recorder) waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testkit.WaitForNoError(t, 10*time.Second, what, func() error {
		if cond() {
			return nil
		}
		return fmt.Errorf("trace %v", r.Calls())
	})
}

// recv waits up to 10s for a value from ch.
func recv[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("waited 10s for %s", what)
	}
	var zero T
	return zero
}
