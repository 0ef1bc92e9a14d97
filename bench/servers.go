package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/sockspec/sockspec/impl"
)

// Kind names one of the servers under test.
type Kind string

// The servers of the benchmark, in the order the table lists them.
const (
	RefSync      Kind = "ref-sync"      // impl, Dispatch Sync
	RefThreading Kind = "ref-threading" // impl, Dispatch Threading
	RefForking   Kind = "ref-forking"   // impl, Dispatch Forking (a process exec per request)
	BareGo       Kind = "bare-go"       // accept loop plus a goroutine per connection
	PyThreading  Kind = "py-threading"  // CPython socketserver.ThreadingTCPServer
	PyForking    Kind = "py-forking"    // CPython socketserver.ForkingTCPServer
)

// AllKinds lists every server, in table order.
var AllKinds = []Kind{RefSync, RefThreading, RefForking, BareGo, PyThreading, PyForking}

// ParseKind checks a server name.
func ParseKind(s string) (Kind, error) {
	for _, k := range AllKinds {
		if string(k) == s {
			return k, nil
		}
	}
	return "", fmt.Errorf("unknown server %q: use one of %v", s, AllKinds)
}

// IsPython reports whether the server is a CPython process.
func (k Kind) IsPython() bool { return k == PyThreading || k == PyForking }

// IsForking reports whether the server starts a process per request, which
// makes it two orders of magnitude slower and is why it gets its own N.
func (k Kind) IsForking() bool { return k == RefForking || k == PyForking }

// QueueSize is the listen backlog of every server that lets it be chosen:
// the reference's RequestQueueSize and CPython's request_queue_size. The
// CPython default of 5 would make the comparison one of backlogs, not of
// servers, so both get 128.
const QueueSize = 128

// Server is a running server under test.
type Server interface {
	// Addr is the host:port clients dial.
	Addr() string
	// Stop shuts the server down cleanly and waits, at most until ctx is
	// done, for everything it started (goroutines, processes) to end.
	Stop(ctx context.Context) error
}

// ErrNoPython is returned by Start for a CPython server when no python3.11
// interpreter was found.
var ErrNoPython = errors.New("python3.11 not found")

// Start starts a server of kind k. python is the CPython 3.11 interpreter
// for the py-* kinds; when it is empty those return ErrNoPython.
func Start(k Kind, python string) (Server, error) {
	switch k {
	case RefSync:
		return startRef(impl.Sync)
	case RefThreading:
		return startRef(impl.Threading)
	case RefForking:
		return startRef(impl.Forking)
	case BareGo:
		return startBare()
	case PyThreading, PyForking:
		if python == "" {
			return nil, ErrNoPython
		}
		mode := "threading"
		if k == PyForking {
			mode = "forking"
		}
		return startPython(python, mode)
	}
	return nil, fmt.Errorf("unknown server %q", k)
}

// forkRecipe is the name under which a request child of ref-forking finds
// its handler.
const forkRecipe = "sockspec-bench-echo"

func init() {
	impl.RegisterChild(forkRecipe, func([]byte) (impl.Config, error) {
		return impl.Config{Handler: echoHandler()}, nil
	})
}

// echoHandler is the reference's echo: LineTransform of the identity.
func echoHandler() impl.NewHandler {
	return impl.LineTransform(func(b []byte) []byte { return b })
}

// refServer is the reference served by ServeForever on a goroutine.
type refServer struct {
	s      *impl.Server
	cancel context.CancelFunc
	done   chan error // ServeForever's result
}

func startRef(d impl.Dispatch) (*refServer, error) {
	cfg := impl.Config{
		Family:           impl.TCP,
		Address:          "127.0.0.1:0",
		Handler:          echoHandler(),
		Dispatch:         d,
		RequestQueueSize: QueueSize,
	}
	if d == impl.Forking {
		cfg.Fork = impl.ForkRecipe{Name: forkRecipe}
	}
	s, err := impl.New(cfg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &refServer{s: s, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- s.ServeForever(ctx, 0) }()
	return r, nil
}

func (r *refServer) Addr() string { return r.s.Address() }

// Stop is Shutdown then ServerClose, the order a socketserver program uses.
// ServerClose waits for request goroutines or children (block_on_close),
// which has no limit of its own, so it runs on a goroutine and the wait for
// it is bounded by ctx.
func (r *refServer) Stop(ctx context.Context) error {
	defer r.cancel()
	serr := r.s.Shutdown(ctx)
	closed := make(chan error, 1)
	go func() { closed <- r.s.ServerClose() }()
	var cerr error
	select {
	case cerr = <-closed:
	case <-ctx.Done():
		return fmt.Errorf("ServerClose did not return: %w", ctx.Err())
	}
	var lerr error
	select {
	case lerr = <-r.done:
	case <-ctx.Done():
		return fmt.Errorf("ServeForever did not return: %w", ctx.Err())
	}
	if lerr != nil && !errors.Is(lerr, impl.ErrServerClosed) {
		return fmt.Errorf("ServeForever: %w", lerr)
	}
	return errors.Join(serr, cerr)
}

// bareServer is the practical limit of a Go echo server on this machine:
// nothing between accept and the handler but a go statement.
type bareServer struct {
	ln       net.Listener
	handlers sync.WaitGroup
	loop     chan struct{} // closed when the accept loop returns
}

func startBare() (*bareServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b := &bareServer{ln: ln, loop: make(chan struct{})}
	go b.serve()
	return b, nil
}

func (b *bareServer) Addr() string { return b.ln.Addr().String() }

func (b *bareServer) serve() {
	defer close(b.loop)
	for {
		c, err := b.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// EMFILE and friends: pause rather than spin, as any real server must.
			time.Sleep(5 * time.Millisecond)
			continue
		}
		b.handlers.Add(1)
		go b.handle(c)
	}
}

// handle reads one line, writes it back, half-closes and closes: the same
// wire behaviour as the reference's shutdown_request.
func (b *bareServer) handle(c net.Conn) {
	defer b.handlers.Done()
	defer c.Close()
	var buf [4096]byte
	n := 0
	for n < len(buf) {
		m, err := c.Read(buf[n:])
		n += m
		if err != nil || indexNewline(buf[n-m:n]) >= 0 {
			break
		}
	}
	if i := indexNewline(buf[:n]); i >= 0 {
		n = i + 1
	}
	if _, err := c.Write(buf[:n]); err != nil {
		return
	}
	_ = c.(*net.TCPConn).CloseWrite()
}

func indexNewline(b []byte) int { return bytes.IndexByte(b, '\n') }

// Stop closes the listener and waits, bounded by ctx, for the accept loop
// and every handler.
func (b *bareServer) Stop(ctx context.Context) error {
	err := b.ln.Close()
	done := make(chan struct{})
	go func() {
		<-b.loop
		b.handlers.Wait()
		close(done)
	}()
	select {
	case <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("bare-go handlers did not finish: %w", ctx.Err())
	}
}
