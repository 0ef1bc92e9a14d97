package process

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/sockspec/sockspec/internal/waitgroup"

	"github.com/sockspec/sockspec/internal/procgroup"
	"github.com/sockspec/sockspec/internal/protoschema"
	"github.com/sockspec/sockspec/spec/driver"
)

// Peer speaks the driver protocol (spec/driver/PROTOCOL.md) with one
// adapter over its three standard streams, wherever the adapter runs: the
// pipes of a child process here, the attach stream of a container in
// containers/. It reads the hello, events, replies and output as JSON
// lines, sends commands, and turns every way the adapter can break the
// protocol into the session's error.
type Peer struct {
	o     PeerOptions
	in    Stdin
	hello chan driver.Message

	mu      sync.Mutex
	clock   time.Time // events count from here
	onEvent func(driver.Event)
	nextID  int64
	pending map[int64]chan driver.Message
	broken  error // set once: a protocol error or the adapter's exit
	heard   driver.Message

	stderr     procgroup.TailBuffer
	stdout     procgroup.TailBuffer // the server's own output, from output messages
	stderrRead chan struct{}        // closed when the adapter's stderr ended
	outEnded   chan struct{}        // closed when its stdout ended, after any failure it caused
	readers    sync.WaitGroup
	writeMu    sync.Mutex // one writer at a time: lines must not interleave
	killOnce   sync.Once
}

// Stdin is the adapter's standard input: commands are written to it, a
// deadline bounds every write, and Close gives the adapter its end of
// file.
type Stdin interface {
	io.WriteCloser
	SetWriteDeadline(time.Time) error
}

// PeerOptions are what a tier tells a Peer of its adapter.
type PeerOptions struct {
	// Tier prefixes the peer's errors ("process", "containers").
	Tier string
	// Validate checks every message against the protocol's JSON Schema
	// (internal/protoschema) and the Go types, unknown fields refused.
	Validate bool
	// MaxEvents bounds the session's events; 0 is MaxEvents.
	MaxEvents int
	// Clock is when the adapter's events count from (SetClock moves it).
	Clock time.Time
	// Kill ends the adapter when it breaks the protocol; it is called
	// once, and must not block on the peer.
	Kill func()
	// OutputEndIsExit: the end of the adapter's stdout is its exit. A
	// tier that learns of the exit otherwise (a reaped child) calls Gone
	// itself, with the exit status.
	OutputEndIsExit bool
}

// ErrAdapterGone is the error of a command whose adapter exited.
var ErrAdapterGone = errors.New("the adapter exited")

// stderrDrain bounds the wait for the rest of a dead adapter's stderr.
const stderrDrain = 200 * time.Millisecond

// NewPeer starts reading the adapter's stdout and stderr; out and errOut
// are closed, when they are io.Closers, once read to their end.
func NewPeer(in Stdin, out, errOut io.Reader, o PeerOptions) (*Peer, error) {
	var check func([]byte) error // Validate: the schema's
	if o.Validate {
		v, err := protoschema.Default()
		if err != nil {
			return nil, err
		}
		check = v.Check
	}
	if o.MaxEvents <= 0 {
		o.MaxEvents = MaxEvents
	}
	p := &Peer{
		o: o, in: in, clock: o.Clock,
		hello:      make(chan driver.Message, 1),
		pending:    map[int64]chan driver.Message{},
		stderrRead: make(chan struct{}),
		outEnded:   make(chan struct{}),
	}
	p.readers.Add(2)
	go p.readStderr(errOut)
	go p.readStdout(out, check)
	return p, nil
}

// ErrNoHello is AwaitHello's error when no hello came within its bound.
var ErrNoHello = errors.New("no hello")

// AwaitHello waits within bound for the adapter's hello. It returns
// ErrNoHello when none came in time, and the peer's failure (ErrAdapterGone
// when it has none) when gone closed first.
func (p *Peer) AwaitHello(ctx context.Context, bound time.Duration, gone <-chan struct{}) (driver.Message, error) {
	ctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	select {
	case h := <-p.hello:
		p.mu.Lock()
		p.heard = h
		p.mu.Unlock()
		return h, nil
	case <-gone:
		if err := p.Err(); err != nil {
			return driver.Message{}, err
		}
		return driver.Message{}, ErrAdapterGone
	case <-ctx.Done():
		return driver.Message{}, ErrNoHello
	}
}

// Hello is the hello AwaitHello returned.
func (p *Peer) Hello() driver.Message {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.heard
}

// OutputEnded is closed when the adapter's stdout has ended.
func (p *Peer) OutputEnded() <-chan struct{} { return p.outEnded }

// SetClock makes the adapter's events count from at: a session's start,
// which for an adapter started ahead of its session comes later.
func (p *Peer) SetClock(at time.Time) {
	p.mu.Lock()
	p.clock = at
	p.mu.Unlock()
}

// Clock is when the adapter's events count from.
func (p *Peer) Clock() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.clock
}

// OnEvent hands the adapter's events, stamped with their time since the
// clock, to f.
func (p *Peer) OnEvent(f func(driver.Event)) {
	p.mu.Lock()
	p.onEvent = f
	p.mu.Unlock()
}

func (p *Peer) event(e driver.Event) {
	p.mu.Lock()
	since, f := p.clock, p.onEvent
	p.mu.Unlock()
	e.Stamp = e.Time // the adapter's clock, before the harness's
	e.Time = time.Since(since)
	if f != nil {
		f(e)
	}
}

// readStdout decodes the adapter's messages until its output ends. check,
// when set, validates each against the protocol's schema, and the decoder
// is strict then too.
func (p *Peer) readStdout(r io.Reader, check func([]byte) error) {
	defer p.readers.Done()
	defer closeReader(r)
	dec := driver.NewDecoder(r)
	dec.Strict, dec.Check = check != nil, check
	saidHello := false
	events := 0
	for {
		m, err := dec.Decode()
		if err != nil {
			if !endOfStream(err) {
				p.violated(err)
			} else if p.o.OutputEndIsExit {
				p.Gone(ErrAdapterGone)
			}
			// Drain what is left so that writers never block on a full pipe.
			_, _ = io.Copy(io.Discard, r)
			close(p.outEnded)
			return
		}
		switch {
		case !saidHello && m.Type != driver.TypeHello:
			p.violated(&driver.ProtocolError{Line: dec.Line(), Field: "type", Msg: fmt.Sprintf("%q before hello: the first line must be the hello", m.Type)})
		case m.Type == driver.TypeHello:
			if saidHello {
				p.violated(&driver.ProtocolError{Line: dec.Line(), Field: "type", Msg: "a second hello"})
				continue
			}
			saidHello = true
			p.hello <- m
		case m.Type == driver.TypeEvent:
			if events++; events > p.o.MaxEvents {
				p.violated(&driver.ProtocolError{Line: dec.Line(), Msg: fmt.Sprintf("more than %d events in one session: an event flood", p.o.MaxEvents)})
				continue
			}
			p.event(*m.Event)
		case m.Type == driver.TypeOutput:
			_, _ = p.stdout.Write([]byte(m.Text))
		case m.Type == driver.TypeReply:
			p.mu.Lock()
			ch, ok := p.pending[m.ID]
			delete(p.pending, m.ID)
			p.mu.Unlock()
			if !ok {
				p.violated(&driver.ProtocolError{Line: dec.Line(), Field: "id", Msg: fmt.Sprintf("a reply to %d, which no command awaits", m.ID)})
				continue
			}
			ch <- m
		}
	}
}

// endOfStream tells the end of the adapter's output from a broken line.
func endOfStream(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, os.ErrClosed) || errors.Is(err, io.ErrClosedPipe) || errors.Is(err, net.ErrClosed)
}

func closeReader(r io.Reader) {
	if c, ok := r.(io.Closer); ok {
		c.Close()
	}
}

func (p *Peer) readStderr(r io.Reader) {
	defer p.readers.Done()
	defer closeReader(r)
	_, _ = io.Copy(&p.stderr, r)
	close(p.stderrRead)
}

// violated fails the peer with a broken protocol and ends the adapter.
func (p *Peer) violated(err error) {
	p.fail(err)
	if p.o.Kill != nil {
		p.killOnce.Do(p.o.Kill)
	}
}

// Gone records that the adapter exited, why wrapping ErrAdapterGone, once
// what it wrote to stderr before it died has been read (within
// stderrDrain: request children that outlive it may hold the stream).
func (p *Peer) Gone(why error) {
	select {
	case <-p.stderrRead:
	case <-time.After(stderrDrain):
	}
	p.fail(why)
}

// fail records the first reason the adapter is unusable and wakes every
// pending command with it.
func (p *Peer) fail(err error) {
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

// Err is the first reason the adapter became unusable, or nil.
func (p *Peer) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.broken
}

// Call sends a command and waits for its reply within ctx. A context that
// ends first is driver.ErrNoReply: the adapter stopped answering.
func (p *Peer) Call(ctx context.Context, c driver.Command) (driver.Message, error) {
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
			return driver.Message{}, p.adapterError(p.Err())
		}
		if m.Error != "" {
			return m, fmt.Errorf("%s: the adapter could not %s: %s", p.o.Tier, c.Cmd, m.Error)
		}
		return m, nil
	case <-ctx.Done():
		return driver.Message{}, driver.ErrNoReply
	}
}

func (p *Peer) adapterError(err error) error {
	return fmt.Errorf("%s: %w%s", p.o.Tier, err, p.StderrNote())
}

// send writes one command; a write that blocks past ctx (an adapter that
// stopped reading) is ErrNoReply.
func (p *Peer) send(ctx context.Context, c driver.Command) error {
	var buf bytes.Buffer
	if err := driver.EncodeCommand(&buf, c); err != nil {
		return err
	}
	dl, _ := ctx.Deadline() // none: the zero time, no deadline
	p.writeMu.Lock()
	_ = p.in.SetWriteDeadline(dl)
	_, err := p.in.Write(buf.Bytes())
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

// Bye tells the adapter to exit, within ctx, and ends its stdin.
func (p *Peer) Bye(ctx context.Context) {
	_ = p.send(ctx, driver.Command{ID: 1 << 62, Cmd: driver.CmdBye})
	_ = p.in.Close()
}

// WaitOutput waits up to bound for the adapter's stdout and stderr to be
// read to their end, and reports whether they were.
func (p *Peer) WaitOutput(bound time.Duration) bool {
	return waitgroup.Within(&p.readers, bound)
}

// Stderr is what the adapter and its children wrote to standard error.
func (p *Peer) Stderr() string { return p.stderr.String() }

// Stdout is what the server printed to its standard output.
func (p *Peer) Stdout() string { return p.stdout.String() }

// StderrNote is the tail of the adapter's stderr, for an error message.
func (p *Peer) StderrNote() string { return stderrNote(p.stderr.String()) }

func stderrNote(stderr string) string {
	stderr = strings.TrimSpace(stderr)
	if stderr == "" {
		return ""
	}
	const keep = 2000
	if len(stderr) > keep {
		stderr = "…" + stderr[len(stderr)-keep:]
	}
	return fmt.Sprintf("\nadapter stderr:\n%s", stderr)
}
