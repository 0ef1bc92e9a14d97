package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/sockspec/sockspec/adapters/inproc"
	"github.com/sockspec/sockspec/spec/driver"
)

// adapterCommand is the reference speaking the driver protocol: what a
// process target runs, so that the process tier is checked against the
// implementation whose verdicts are known.
var adapterCommand = command{
	name:    "adapter",
	summary: "speak the driver protocol on stdin/stdout, serving with the reference",
	usage:   adapterUsage,
	run:     runAdapter,
}

const adapterUsage = `Usage: sockspec adapter [--mutation NAME]

Runs the Go reference as a driver-protocol adapter (spec/driver/PROTOCOL.md):
commands as JSON lines on standard input, hello, replies and events as JSON
lines on standard output, handle_error's reports on standard error. One
process serves one server. sockspec run --target reference-process starts
it; any harness that speaks the protocol can.

Flags:
  --mutation NAME
        break the reference as the named mutant does (spec/mutants)
`

func runAdapter(_ context.Context, e env) int {
	fs := flag.NewFlagSet("adapter", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	mutation := fs.String("mutation", "", "")
	if status, done := parseFlags(e, fs, "adapter", adapterUsage, e.Args); done {
		return status
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.Stderr, "sockspec adapter: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	a := &protocolAdapter{target: &inproc.Target{Mutation: *mutation, Mutations: mutations(), ErrorLog: e.Stderr}, out: e.Stdout, errs: e.Stderr}
	return a.serve(os.Stdin)
}

// protocolAdapter runs one session of the reference for one harness.
type protocolAdapter struct {
	target *inproc.Target
	out    io.Writer
	errs   io.Writer

	writeMu sync.Mutex // one message a Write, never interleaved
	sent    int        // events of the trace written so far

	mu      sync.Mutex
	session driver.Session
	foreign map[int]driver.ForeignChild
	calls   sync.WaitGroup
}

func (a *protocolAdapter) serve(in io.Reader) int {
	info := a.target.Info()
	a.write(driver.Message{Type: driver.TypeHello, Protocol: driver.ProtocolVersion, Name: "sockspec-reference",
		Version: info.Version, Language: "go", Capabilities: info.Capabilities})
	ctx, cancel := context.WithCancel(context.Background())
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
			fmt.Fprintf(a.errs, "sockspec adapter: %v\n", err)
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
	a.mu.Lock()
	s := a.session
	a.mu.Unlock()
	if s != nil {
		if err := s.Close(); err != nil {
			fmt.Fprintf(a.errs, "sockspec adapter: %v\n", err)
		}
	}
	a.calls.Wait()
	a.flushEvents()
	return status
}

// raiseOn is the protocol's raising SIGUSR2 handler, until ctx ends: each
// signal of usr2 ends the session's serving loop with an error, the Go
// analogue of an exception raised into serve_forever (SHD-12). The harness
// sends it straight to this process, as it would to any server's.
func (a *protocolAdapter) raiseOn(ctx context.Context, usr2 <-chan os.Signal) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-usr2:
			a.mu.Lock()
			s := a.session
			a.mu.Unlock()
			if r, ok := s.(interface{ RaiseInLoop() }); ok {
				r.RaiseInLoop()
			}
		}
	}
}

func (a *protocolAdapter) start(ctx context.Context, c driver.Command) {
	a.mu.Lock()
	twice := a.session != nil
	a.mu.Unlock()
	if twice {
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

// run carries out one command on the session and replies.
func (a *protocolAdapter) run(ctx context.Context, c driver.Command) {
	a.mu.Lock()
	s := a.session
	a.mu.Unlock()
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
		r, err = s.(driver.ContextManager).ExitContext(ctx)
		m.Result = &r
	case driver.CmdState:
		var st driver.State
		st, err = s.State(ctx)
		m.State = &st
	case driver.CmdSignal:
		err = s.(driver.Signaller).Signal(ctx, c.Signal)
		m.Result = &driver.Result{Value: "None"}
	case driver.CmdForeignStart:
		var fc driver.ForeignChild
		fc, err = s.(driver.ForeignChildren).StartForeignChild(ctx)
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
func (a *protocolAdapter) forwardEvents(ctx context.Context, t *driver.Trace) {
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
func (a *protocolAdapter) flushEvents() {
	a.mu.Lock()
	s := a.session
	a.mu.Unlock()
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

func (a *protocolAdapter) reply(m driver.Message) {
	a.flushEvents()
	m.Type = driver.TypeReply
	a.write(m)
}

func (a *protocolAdapter) write(m driver.Message) {
	a.writeMu.Lock()
	defer a.writeMu.Unlock()
	a.writeLocked(m)
}

func (a *protocolAdapter) writeLocked(m driver.Message) {
	if err := driver.EncodeMessage(a.out, m); err != nil {
		fmt.Fprintf(a.errs, "sockspec adapter: writing to the harness: %v\n", err)
	}
}
