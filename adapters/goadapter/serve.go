package goadapter

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/sockspec/sockspec/spec/driver"
)

// Raiser is a Session whose serving loop can be ended by SIGUSR2's raising
// handler: RaiseInLoop ends a running serve_forever with an error, the Go
// analogue of an exception raised into it (SHD-12), and does nothing when
// no loop runs.
type Raiser interface {
	RaiseInLoop()
}

// Main serves target on standard input and output, reports on standard
// error, closes the target and exits with Serve's status. Call it last in
// main.
func Main(target driver.Target) {
	status := Serve(context.Background(), target, os.Stdin, os.Stdout, os.Stderr)
	if err := target.Close(); err != nil {
		fmt.Fprintf(os.Stderr, "goadapter: closing the target: %v\n", err)
		status = max(status, 1)
	}
	os.Exit(status)
}

// Serve is one adapter session: it writes the hello of target.Info() to
// out, reads commands from in until bye or the end of in, starts one
// session of target and runs the commands on it, writing replies and the
// session's events to out. What the adapter itself has to report goes to
// errs. While it runs, SIGUSR2 is caught and raised into the session's
// serving loop (Raiser).
//
// ctx is the parent of every call's context: cancelling it makes the calls
// under way give up, but Serve returns only when in ends or bye comes. At
// the end Serve closes the session and waits for every command it started.
// The target stays open: it is the caller's. Serve returns 0, or 2 when a
// command line could not be read.
func Serve(ctx context.Context, target driver.Target, in io.Reader, out, errs io.Writer) int {
	a := &adapter{target: target, out: out, errs: errs}
	return a.serve(ctx, in)
}

// adapter runs one session of a target for one harness.
type adapter struct {
	target driver.Target
	out    io.Writer
	errs   io.Writer

	writeMu sync.Mutex // one message a Write, never interleaved
	sent    int        // events of the trace written so far

	mu      sync.Mutex
	session driver.Session
	foreign map[int]driver.ForeignChild
	calls   sync.WaitGroup
}

func (a *adapter) serve(parent context.Context, in io.Reader) int {
	info := a.target.Info()
	a.write(driver.Message{Type: driver.TypeHello, Protocol: driver.ProtocolVersion, Name: info.Name,
		Version: info.Version, Language: info.Language, Capabilities: info.Capabilities})
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	usr2 := make(chan os.Signal, 1)
	signal.Notify(usr2, syscall.SIGUSR2)
	defer signal.Stop(usr2)
	raising := make(chan struct{})
	go func() {
		defer close(raising)
		a.raiseOn(ctx, usr2)
	}()
	defer func() {
		cancel()
		<-raising
	}()
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), driver.MaxLine)
	status := 0
	for sc.Scan() {
		c, err := driver.DecodeCommand(sc.Bytes())
		if err != nil {
			fmt.Fprintf(a.errs, "goadapter: %v\n", err)
			status = 2
			break
		}
		if c.Cmd == driver.CmdBye {
			break
		}
		if c.Cmd == driver.CmdStart {
			a.start(ctx, c)
			continue
		}
		a.calls.Add(1)
		go func() {
			defer a.calls.Done()
			a.run(ctx, c)
		}()
	}
	cancel()
	if s := a.current(); s != nil {
		if err := s.Close(); err != nil {
			fmt.Fprintf(a.errs, "goadapter: %v\n", err)
		}
	}
	a.calls.Wait()
	a.flushEvents()
	return status
}

func (a *adapter) current() driver.Session {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.session
}

// raiseOn is the protocol's raising SIGUSR2 handler, until ctx ends: each
// signal of usr2 ends the session's serving loop with an error. The
// harness sends it straight to this process, as it would to any server's.
func (a *adapter) raiseOn(ctx context.Context, usr2 <-chan os.Signal) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-usr2:
			if r, ok := a.current().(Raiser); ok {
				r.RaiseInLoop()
			}
		}
	}
}

func (a *adapter) start(ctx context.Context, c driver.Command) {
	if a.current() != nil {
		a.reply(driver.Message{ID: c.ID, Error: "this adapter serves one server: start came twice"})
		return
	}
	s, err := a.target.Start(ctx, *c.Config)
	if err != nil {
		a.reply(driver.Message{ID: c.ID, Error: err.Error()})
		return
	}
	a.mu.Lock()
	a.session = s
	a.foreign = map[int]driver.ForeignChild{}
	a.mu.Unlock()
	go a.forwardEvents(ctx, s.Trace())
	a.reply(driver.Message{ID: c.ID, Result: &driver.Result{Value: "None"}, Address: s.Address()})
}

// lacks is the error of a command whose interface the session lacks.
func lacks(cmd, iface string) error {
	return fmt.Errorf("%s: the session is no %s", cmd, iface)
}

// run carries out one command on the session and replies.
func (a *adapter) run(ctx context.Context, c driver.Command) {
	s := a.current()
	if s == nil {
		a.reply(driver.Message{ID: c.ID, Error: c.Cmd + " before start"})
		return
	}
	m := driver.Message{ID: c.ID}
	var err error
	var r driver.Result
	switch c.Cmd {
	case driver.CmdHandleRequest:
		r, err = s.HandleRequest(ctx)
		m.Result = &r
	case driver.CmdServeForever:
		if c.PollInterval == nil {
			err = errors.New("serve_forever needs poll_interval")
			break
		}
		err = s.ServeForever(ctx, time.Duration(*c.PollInterval*float64(time.Second)))
		m.Result = &driver.Result{Value: "None"}
	case driver.CmdShutdown:
		r, err = s.Shutdown(ctx)
		m.Result = &r
	case driver.CmdServerClose:
		r, err = s.ServerClose(ctx)
		m.Result = &r
	case driver.CmdExitContext:
		cm, ok := s.(driver.ContextManager)
		if !ok {
			err = lacks(c.Cmd, "driver.ContextManager")
			break
		}
		r, err = cm.ExitContext(ctx)
		m.Result = &r
	case driver.CmdState:
		var st driver.State
		st, err = s.State(ctx)
		m.State = &st
	case driver.CmdSignal:
		sg, ok := s.(driver.Signaller)
		if !ok {
			err = lacks(c.Cmd, "driver.Signaller")
			break
		}
		err = sg.Signal(ctx, c.Signal)
		m.Result = &driver.Result{Value: "None"}
	case driver.CmdForeignStart:
		fs, ok := s.(driver.ForeignChildren)
		if !ok {
			err = lacks(c.Cmd, "driver.ForeignChildren")
			break
		}
		var fc driver.ForeignChild
		fc, err = fs.StartForeignChild(ctx)
		if err == nil {
			a.mu.Lock()
			m.Child = len(a.foreign) + 1
			a.foreign[m.Child] = fc
			a.mu.Unlock()
		}
	case driver.CmdForeignExit, driver.CmdForeignReap:
		a.mu.Lock()
		fc := a.foreign[c.Child]
		a.mu.Unlock()
		if fc == nil {
			err = fmt.Errorf("no foreign child %d", c.Child)
			break
		}
		if c.Cmd == driver.CmdForeignExit {
			err = fc.Exit(ctx)
			m.Result = &driver.Result{Value: "None"}
			break
		}
		var status int
		status, m.Stolen, err = fc.Reap(ctx)
		if err == nil && !m.Stolen {
			m.Status = &status
		}
	default:
		err = fmt.Errorf("unknown command %q", c.Cmd)
	}
	if err != nil {
		m = driver.Message{ID: c.ID, Error: err.Error()}
	}
	m.Address = s.Address()
	a.reply(m)
}

// forwardEvents writes the session's events as they come.
func (a *adapter) forwardEvents(ctx context.Context, t *driver.Trace) {
	for {
		a.writeMu.Lock()
		seen := a.sent
		a.writeMu.Unlock()
		if t.Wait(ctx, func(es []driver.Event) bool { return len(es) > seen }) != nil {
			return
		}
		a.flushEvents()
	}
}

// flushEvents writes every event not written yet. Replies call it first,
// so that a reply never overtakes the events of the call it answers.
func (a *adapter) flushEvents() {
	s := a.current()
	if s == nil {
		return
	}
	es := s.Trace().Events()
	a.writeMu.Lock()
	defer a.writeMu.Unlock()
	for ; a.sent < len(es); a.sent++ {
		e := es[a.sent]
		a.writeLocked(driver.Message{Type: driver.TypeEvent, Event: &e})
	}
}

func (a *adapter) reply(m driver.Message) {
	a.flushEvents()
	m.Type = driver.TypeReply
	a.write(m)
}

func (a *adapter) write(m driver.Message) {
	a.writeMu.Lock()
	defer a.writeMu.Unlock()
	a.writeLocked(m)
}

func (a *adapter) writeLocked(m driver.Message) {
	if err := driver.EncodeMessage(a.out, m); err != nil {
		fmt.Fprintf(a.errs, "goadapter: writing to the harness: %v\n", err)
	}
}
