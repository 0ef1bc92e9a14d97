package impl

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"time"
)

// ChildBuilder rebuilds, inside a request child, the Config of the server
// that forked it, from the parameters the parent passed in ForkRecipe.
// Handler, Overrides (FinishRequest, ShutdownRequest, CloseRequest,
// HandleError), Trace and ErrorLog of the returned Config are used in the
// child; Family and the server address come from the parent.
type ChildBuilder func(params []byte) (Config, error)

var (
	childMu       sync.Mutex
	childBuilders = map[string]ChildBuilder{}
)

// RegisterChild makes a recipe known to this program, so that a Forking
// server can name it in Config.Fork and its children can rebuild the
// handler. Call it from an init function or before ChildMain: a request
// child is a new run of the program and registers its recipes the same way.
// It panics when name is empty or already registered.
func RegisterChild(name string, build ChildBuilder) {
	childMu.Lock()
	defer childMu.Unlock()
	if name == "" || build == nil {
		panic("impl: RegisterChild needs a name and a builder")
	}
	if _, dup := childBuilders[name]; dup {
		panic(fmt.Sprintf("impl: RegisterChild(%q) called twice", name))
	}
	childBuilders[name] = build
}

func lookupChild(name string) (ChildBuilder, bool) {
	childMu.Lock()
	defer childMu.Unlock()
	b, ok := childBuilders[name]
	return b, ok
}

// childEnv carries the request description to the child.
const childEnv = "SOCKSPEC_IMPL_CHILD"

// Descriptors of the child: the request's socket, then the trace pipe.
const (
	childSocketFD = 3
	childTraceFD  = 4
)

// childPayload is what the parent tells a request child.
type childPayload struct {
	Recipe     string `json:"recipe"`
	Params     []byte `json:"params,omitempty"`
	Family     Family `json:"family"`
	ServerAddr string `json:"server_addr"`
	RequestID  uint64 `json:"request_id"`
	ClientAddr string `json:"client_addr,omitempty"`
	Data       []byte `json:"data,omitempty"`
	Trace      bool   `json:"trace,omitempty"`
}

// forkRequest is ForkingMixIn.process_request in the parent: start a child
// with a duplicate of the request's socket, note its pid, and close the
// parent's copy with close_request, never shutdown_request, so the client's
// connection stays whole for the child (FRK-01, FRK-02). A failure to start
// the child is returned and takes the handle_error path (FRK-10).
func (s *Server) forkRequest(r *Request) error {
	sock, err := requestFile(r)
	if err != nil {
		return fmt.Errorf("passing the request to a child: %w", err)
	}
	defer sock.Close()
	p := childPayload{
		Recipe: s.cfg.Fork.Name, Params: s.cfg.Fork.Params, Family: s.cfg.Family,
		ServerAddr: s.Address(), RequestID: r.ID, ClientAddr: r.addr(), Data: r.Data,
		Trace: s.cfg.Trace != nil,
	}
	env, err := json.Marshal(p)
	if err != nil {
		return err
	}
	spec := ChildSpec{Env: []string{childEnv + "=" + string(env)}, Files: []*os.File{sock}}
	var pipes []*os.File // parent ends, closed by the supervisor
	var childEnds []*os.File
	defer func() {
		for _, f := range childEnds {
			f.Close()
		}
	}()
	var traceR, errR *os.File
	if p.Trace {
		rd, wr, err := os.Pipe()
		if err != nil {
			return err
		}
		traceR, pipes, childEnds = rd, append(pipes, rd), append(childEnds, wr)
		spec.Files = append(spec.Files, wr)
	}
	if s.cfg.ErrorLog != nil {
		rd, wr, err := os.Pipe()
		if err != nil {
			closeAll(pipes)
			return err
		}
		errR, pipes, childEnds = rd, append(pipes, rd), append(childEnds, wr)
		spec.Stderr = wr
	}
	child, err := s.cfg.Spawner.Spawn(spec)
	if err != nil {
		closeAll(pipes)
		return fmt.Errorf("starting the request child: %w", err)
	}
	s.children.add(child.PID())
	go s.superviseChild(child, traceR, errR)
	s.closeRequest(r)
	return nil
}

func closeAll(fs []*os.File) {
	for _, f := range fs {
		f.Close()
	}
}

// requestFile duplicates the request's socket for the child: the connection
// for stream servers, the server's own socket for datagram servers, through
// which the child replies (FRK-13).
func requestFile(r *Request) (*os.File, error) {
	var sock any = r.Conn
	if r.Conn == nil {
		sock = r.PacketConn
	}
	f, ok := sock.(interface{ File() (*os.File, error) })
	if !ok {
		return nil, fmt.Errorf("a socket of type %T has no file descriptor to pass to a child process", sock)
	}
	return f.File()
}

// superviseChild relays the child's trace and error output and then reaps
// it, so that its events all arrive before its exit is recorded.
func (s *Server) superviseChild(c Child, traceR, errR *os.File) {
	var wg sync.WaitGroup
	if traceR != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer traceR.Close()
			relayTrace(traceR, s.cfg.Trace)
		}()
	}
	if errR != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer errR.Close()
			_, _ = io.Copy(lockedWriter{&s.errorLogOnce, s.errorLog()}, errR)
		}()
	}
	wg.Wait()
	status, err := c.Wait()
	result := strconv.Itoa(status)
	s.trace.trace.emit(Event{Hook: HookChildExit, Phase: Return, PID: c.PID(), Time: s.cfg.Clock.Now(), Err: err, Result: result})
	s.children.exited(c.PID())
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// wireEvent is an Event on the trace pipe.
type wireEvent struct {
	Hook    Hook   `json:"hook"`
	Phase   Phase  `json:"phase"`
	Request uint64 `json:"request,omitempty"`
	Addr    string `json:"addr,omitempty"`
	PID     int    `json:"pid"`
	G       uint64 `json:"g,omitempty"`
	Time    int64  `json:"time"`
	Err     string `json:"err,omitempty"`
	ErrKind string `json:"err_kind,omitempty"`
	Result  string `json:"result,omitempty"`
}

func toWire(e Event) wireEvent {
	w := wireEvent{Hook: e.Hook, Phase: e.Phase, Request: e.Request, Addr: e.ClientAddr, PID: e.PID, G: e.Goroutine, Time: e.Time.UnixNano(), Result: e.Result}
	if e.Err != nil {
		var fe *FatalError
		var pe *PanicError
		switch {
		case errors.As(e.Err, &fe):
			w.ErrKind, w.Err = "fatal", fe.Err.Error()
		case errors.As(e.Err, &pe):
			w.ErrKind, w.Err = "panic", fmt.Sprint(pe.Value)
		default:
			w.ErrKind, w.Err = "error", e.Err.Error()
		}
	}
	return w
}

func (w wireEvent) event() Event {
	e := Event{Hook: w.Hook, Phase: w.Phase, Request: w.Request, ClientAddr: w.Addr, PID: w.PID, Goroutine: w.G, Time: time.Unix(0, w.Time), Result: w.Result}
	switch w.ErrKind {
	case "fatal":
		e.Err = &FatalError{Err: errors.New(w.Err), Code: 1}
	case "panic":
		e.Err = &PanicError{Value: w.Err}
	case "error":
		e.Err = errors.New(w.Err)
	}
	return e
}

func relayTrace(r io.Reader, t *ServerTrace) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var w wireEvent
		if json.Unmarshal(sc.Bytes(), &w) == nil {
			t.emit(w.event())
		}
	}
}

// ChildMain serves the request of a request child and exits; in any other
// process it returns at once. Call it first thing in main, and in TestMain
// of tests that fork, before flags are parsed: a request child is this
// program run again with the request in its environment.
func ChildMain() {
	v, ok := os.LookupEnv(childEnv)
	if !ok {
		return
	}
	_ = os.Unsetenv(childEnv)
	os.Exit(runChild(v))
}

// runChild is ForkingMixIn.process_request in the child: finish_request, a
// failure to handle_error, shutdown_request on every path, and the exit
// status: 0 when the request succeeded, 1 otherwise (FRK-01, ERR-06).
func runChild(payload string) int {
	var p childPayload
	if err := json.Unmarshal([]byte(payload), &p); err != nil {
		fmt.Fprintf(os.Stderr, "impl: request child: bad %s: %v\n", childEnv, err)
		return 2
	}
	build, ok := lookupChild(p.Recipe)
	if !ok {
		fmt.Fprintf(os.Stderr, "impl: request child: recipe %q is not registered in this program: register it in an init function\n", p.Recipe)
		return 2
	}
	cfg, err := build(p.Params)
	if err != nil {
		fmt.Fprintf(os.Stderr, "impl: request child: recipe %q: %v\n", p.Recipe, err)
		return 2
	}
	cfg.Family, cfg.Address, cfg.DeferBind, cfg.Dispatch = p.Family, p.ServerAddr, true, Sync
	var traceOut *traceWriter
	if p.Trace {
		traceOut = &traceWriter{f: os.NewFile(childTraceFD, "trace")}
		defer traceOut.f.Close()
		cfg.Trace = traceOut.chain(cfg.Trace)
	}
	s, err := New(cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "impl: request child: %v\n", err)
		return 2
	}
	r, err := childRequest(s, p)
	if err != nil {
		fmt.Fprintf(os.Stderr, "impl: request child: %v\n", err)
		return 2
	}
	status := 0
	if err := s.finishRequest(r); err != nil {
		status = 1
		_ = s.failRequest(r, err)
	} else {
		s.shutdownRequest(r)
	}
	if r.PacketConn != nil {
		_ = r.PacketConn.Close() // the child's copy of the server's socket
	}
	return status
}

func childRequest(s *Server, p childPayload) (*Request, error) {
	f := os.NewFile(childSocketFD, "request")
	defer f.Close()
	r := &Request{ID: p.RequestID, Server: s, Data: p.Data}
	if !p.Family.IsDatagram() {
		conn, err := net.FileConn(f)
		if err != nil {
			return nil, fmt.Errorf("taking over the connection: %w", err)
		}
		r.Conn, r.ClientAddr = conn, conn.RemoteAddr()
		return r, nil
	}
	pc, err := net.FilePacketConn(f)
	if err != nil {
		return nil, fmt.Errorf("taking over the server socket: %w", err)
	}
	r.PacketConn = pc
	if p.ClientAddr != "" {
		if p.Family == UDP {
			r.ClientAddr, err = net.ResolveUDPAddr("udp", p.ClientAddr)
		} else {
			r.ClientAddr = &net.UnixAddr{Name: p.ClientAddr, Net: "unixgram"}
		}
	}
	return r, err
}

// traceWriter sends the child's events to the parent, one line per event
// in a single write.
type traceWriter struct {
	mu sync.Mutex
	f  *os.File
}

func (t *traceWriter) chain(next *ServerTrace) *ServerTrace {
	send := func(e Event) {
		b, err := json.Marshal(toWire(e))
		if err != nil {
			return
		}
		t.mu.Lock()
		defer t.mu.Unlock()
		_, _ = t.f.Write(append(b, '\n'))
	}
	return &ServerTrace{
		Call: func(e Event) {
			send(e)
			if next != nil && next.Call != nil {
				next.Call(e)
			}
		},
		Return: func(e Event) {
			send(e)
			if next != nil && next.Return != nil {
				next.Return(e)
			}
		},
	}
}
