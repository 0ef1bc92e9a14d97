package process

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/sockspec/sockspec/internal/procgroup"
	"github.com/sockspec/sockspec/internal/protoschema"
	"github.com/sockspec/sockspec/spec/driver"
)

// adapter is one running adapter process: its pipes, the goroutines that
// read them, and the replies awaited.
type adapter struct {
	group *procgroup.Group
	pgid  int
	stdin *os.File // the write end; deadlines bound every write
	hello driver.Message
	start time.Time

	// onEvent receives the adapter's events, stamped with their time.
	onEvent func(driver.Event)

	mu      sync.Mutex
	nextID  int64
	pending map[int64]chan driver.Message
	broken  error // set once: a protocol error or the adapter's exit
	stderr  procgroup.TailBuffer
	stdout  procgroup.TailBuffer // the server's own standard output, from output messages
	exited  chan struct{}        // closed when the process is reaped and pending commands failed
	// stderrRead is closed when the adapter's standard error ends.
	stderrRead chan struct{}
	readers    sync.WaitGroup
	writeMu    sync.Mutex // one writer at a time: lines must not interleave
}

// startAdapter runs the adapter and waits for its hello.
func startAdapter(ctx context.Context, t *Target) (*adapter, error) {
	if len(t.Argv) == 0 {
		return nil, errors.New("process: the target has no command: give the adapter's command line")
	}
	path, err := exec.LookPath(t.Argv[0])
	if err != nil {
		return nil, fmt.Errorf("process: the adapter %q: %w", t.Argv[0], err)
	}
	var check func([]byte) error // --validate-protocol: the schema's
	if t.Validate {
		v, err := protoschema.Default()
		if err != nil {
			return nil, err
		}
		check = v.Check
	}
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		outR.Close()
		outW.Close()
		return nil, err
	}
	cmd := &exec.Cmd{
		Path:   path,
		Args:   t.Argv,
		Env:    environ(t),
		Stdin:  inR,
		Stdout: outW,
		Stderr: errW,
	}
	// A group of its own, so that request children die with it; and the
	// kernel kills the adapter if the harness dies first.
	p := &adapter{stdin: inW, start: time.Now(), pending: map[int64]chan driver.Message{}, exited: make(chan struct{}), stderrRead: make(chan struct{})}
	p.group, err = procgroup.Start(cmd)
	inR.Close()
	outW.Close()
	errW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		errR.Close()
		return nil, fmt.Errorf("process: starting the adapter %q: %w", t.Argv, err)
	}
	p.pgid = p.group.PGID()
	// process.KillAll and Live count adapters in live; procgroup.KillAll
	// reaches these groups as well.
	liveMu.Lock()
	live[p] = struct{}{}
	liveMu.Unlock()
	go p.wait()

	hello := make(chan driver.Message, 1)
	p.readers.Add(2)
	go p.readStderr(errR)
	maxEvents := t.MaxEvents
	if maxEvents <= 0 {
		maxEvents = MaxEvents
	}
	go p.readStdout(outR, check, maxEvents, hello)

	hctx, cancel := context.WithTimeout(ctx, t.helloBound())
	defer cancel()
	select {
	case h := <-hello:
		p.hello = h
	case <-p.exited:
		err := p.failure()
		p.close()
		return nil, fmt.Errorf("process: the adapter %q ended before its hello: %w%s", t.Argv, err, stderrNote(p.stderr.String()))
	case <-hctx.Done():
		p.close()
		return nil, fmt.Errorf("process: the adapter %q said no hello within %v%s", t.Argv, t.helloBound(), stderrNote(p.stderr.String()))
	}
	if p.hello.Protocol != driver.ProtocolVersion {
		p.close()
		return nil, fmt.Errorf("process: the adapter %q speaks protocol %d; this harness speaks %d", t.Argv, p.hello.Protocol, driver.ProtocolVersion)
	}
	return p, nil
}

// wait fails every pending command once the adapter is reaped.
func (p *adapter) wait() {
	<-p.group.Exited()
	// What the adapter wrote to stderr before it died explains its death:
	// the error waits for the pipe to be read to its end, unless request
	// children that outlive the adapter still hold it open.
	select {
	case <-p.stderrRead:
	case <-time.After(stderrDrain):
	}
	p.fail(fmt.Errorf("%w (%v)", errAdapterGone, exitText(p.group.ExitErr())))
	close(p.exited)
}

// stderrDrain bounds the wait for the rest of a dead adapter's stderr.
const stderrDrain = 200 * time.Millisecond

func exitText(err error) string {
	if err == nil {
		return "status 0"
	}
	return err.Error()
}

// readStdout decodes the adapter's messages until its output ends. check,
// when set, validates each against the protocol's schema, and the decoder
// is strict then too.
func (p *adapter) readStdout(r *os.File, check func([]byte) error, maxEvents int, hello chan<- driver.Message) {
	defer p.readers.Done()
	defer r.Close()
	dec := driver.NewDecoder(r)
	dec.Strict, dec.Check = check != nil, check
	saidHello := false
	events := 0
	for {
		m, err := dec.Decode()
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, os.ErrClosed) {
				p.fail(err)
				p.kill()
			}
			// Drain what is left so that writers never block on a full pipe.
			_, _ = io.Copy(io.Discard, r)
			return
		}
		switch {
		case !saidHello && m.Type != driver.TypeHello:
			p.fail(&driver.ProtocolError{Line: dec.Line(), Field: "type", Msg: fmt.Sprintf("%q before hello: the first line must be the hello", m.Type)})
			p.kill()
		case m.Type == driver.TypeHello:
			if saidHello {
				p.fail(&driver.ProtocolError{Line: dec.Line(), Field: "type", Msg: "a second hello"})
				p.kill()
				continue
			}
			saidHello = true
			hello <- m
		case m.Type == driver.TypeEvent:
			if events++; events > maxEvents {
				p.fail(&driver.ProtocolError{Line: dec.Line(), Msg: fmt.Sprintf("more than %d events in one session: an event flood", maxEvents)})
				p.kill()
				continue
			}
			e := *m.Event
			e.Stamp = e.Time // the adapter's clock, before the harness's
			e.Time = time.Since(p.start)
			if p.onEvent != nil {
				p.onEvent(e)
			}
		case m.Type == driver.TypeOutput:
			_, _ = p.stdout.Write([]byte(m.Text))
		case m.Type == driver.TypeReply:
			p.mu.Lock()
			ch, ok := p.pending[m.ID]
			delete(p.pending, m.ID)
			p.mu.Unlock()
			if !ok {
				p.fail(&driver.ProtocolError{Line: dec.Line(), Field: "id", Msg: fmt.Sprintf("a reply to %d, which no command awaits", m.ID)})
				p.kill()
				continue
			}
			ch <- m
		}
	}
}

func (p *adapter) readStderr(r *os.File) {
	defer p.readers.Done()
	defer r.Close()
	_, _ = io.Copy(&p.stderr, r)
	close(p.stderrRead)
}

// fail records the first reason the adapter is unusable and wakes every
// pending command with it.
func (p *adapter) fail(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.broken == nil {
		p.broken = err
	}
	for id, ch := range p.pending {
		close(ch)
		delete(p.pending, id)
	}
}

func (p *adapter) failure() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.broken
}

// call sends a command and waits for its reply within ctx. A context that
// ends first is driver.ErrNoReply: the adapter stopped answering.
func (p *adapter) call(ctx context.Context, c driver.Command) (driver.Message, error) {
	ch := make(chan driver.Message, 1)
	p.mu.Lock()
	if p.broken != nil {
		err := p.broken
		p.mu.Unlock()
		return driver.Message{}, p.adapterError(err)
	}
	p.nextID++
	c.ID = p.nextID
	p.pending[c.ID] = ch
	p.mu.Unlock()
	if err := p.send(ctx, c); err != nil {
		p.mu.Lock()
		delete(p.pending, c.ID)
		p.mu.Unlock()
		return driver.Message{}, err
	}
	select {
	case m, ok := <-ch:
		if !ok {
			return driver.Message{}, p.adapterError(p.failure())
		}
		if m.Error != "" {
			return m, fmt.Errorf("process: the adapter could not %s: %s", c.Cmd, m.Error)
		}
		return m, nil
	case <-ctx.Done():
		return driver.Message{}, driver.ErrNoReply
	}
}

func (p *adapter) adapterError(err error) error {
	return fmt.Errorf("process: %w%s", err, stderrNote(p.stderr.String()))
}

// send writes one command; a write that blocks past ctx (an adapter that
// stopped reading) is ErrNoReply.
func (p *adapter) send(ctx context.Context, c driver.Command) error {
	var buf bytes.Buffer
	if err := driver.EncodeCommand(&buf, c); err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok {
		p.stdin.SetWriteDeadline(dl)
	} else {
		p.stdin.SetWriteDeadline(time.Time{})
	}
	p.writeMu.Lock()
	_, err := p.stdin.Write(buf.Bytes())
	p.writeMu.Unlock()
	switch {
	case err == nil:
		return nil
	case errors.Is(err, os.ErrDeadlineExceeded):
		return driver.ErrNoReply
	default:
		return p.adapterError(fmt.Errorf("writing %s to the adapter: %w", c.Cmd, err))
	}
}

// close says bye, waits a little for the adapter to exit, then kills its
// process group and reaps it, and waits for the readers.
func (p *adapter) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), ByeBound)
	defer cancel()
	_ = p.send(ctx, driver.Command{ID: 1 << 62, Cmd: driver.CmdBye})
	p.stdin.Close()
	select {
	case <-p.exited:
	case <-ctx.Done():
	}
	// Whatever exited, request children of the group may live on.
	var err error
	if gerr := p.group.Stop(0); gerr != nil {
		err = fmt.Errorf("process: the adapter's group: %w", gerr)
	}
	liveMu.Lock()
	delete(live, p)
	liveMu.Unlock()
	done := make(chan struct{})
	go func() { p.readers.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(reapBound):
		if err == nil {
			err = fmt.Errorf("process: a process of the adapter's group (pgid %d) still holds its output %v after SIGKILL; it left the group", p.pgid, reapBound)
		}
	}
	return err
}

// kill sends SIGKILL to the adapter's whole process group.
func (p *adapter) kill() { p.group.Kill() }
