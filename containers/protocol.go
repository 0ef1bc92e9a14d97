package containers

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

	"github.com/sockspec/sockspec/internal/procgroup"
	"github.com/sockspec/sockspec/spec/driver"
)

// Bounds of the waits no spec bounds, as adapters/process has them.
const (
	HelloBound = 10 * time.Second
	ByeBound   = 2 * time.Second
	maxEvents  = 2_000_000
)

// peer speaks the driver protocol (spec/driver/PROTOCOL.md) with the
// adapter of one container, over the container's attach stream: commands
// go to its stdin, messages come from its stdout, its stderr is kept.
type peer struct {
	b     *box
	hello driver.Message
	// onEvent receives the adapter's events, stamped with their time
	// since the session's start (startClock).
	onEvent func(driver.Event)

	mu      sync.Mutex
	since   time.Time
	nextID  int64
	pending map[int64]chan driver.Message
	broken  error
	stderr  procgroup.TailBuffer
	stdout  procgroup.TailBuffer // the server's own output, from output messages
	readers sync.WaitGroup
	writeMu sync.Mutex
	hellos  chan driver.Message
	ended   chan struct{} // closed when the adapter's stdout ended
}

// errAdapterGone is the error of a command whose adapter exited.
var errAdapterGone = errors.New("the adapter exited")

// startPeer reads the adapter's output and waits for its hello.
func startPeer(ctx context.Context, b *box, validate bool, what string) (*peer, error) {
	p := &peer{b: b, since: b.started, pending: map[int64]chan driver.Message{}, hellos: make(chan driver.Message, 1), ended: make(chan struct{})}
	stdout, stderr := b.readStreams()
	p.readers.Add(2)
	go p.readStderr(stderr)
	go p.readStdout(stdout, validate)
	hctx, cancel := context.WithTimeout(ctx, HelloBound)
	defer cancel()
	select {
	case h := <-p.hellos:
		p.hello = h
	case <-p.ended:
		err := p.failure()
		if err == nil {
			err = errAdapterGone
		}
		p.waitReaders(200 * time.Millisecond)
		if cmd, ok := noCommand(p.stderr.String()); ok {
			return nil, fmt.Errorf("containers: the image %s has no command %q: give one it has (cmd=…)", what, cmd)
		}
		return nil, fmt.Errorf("containers: the adapter of %s ended before its hello (%v): its command must speak the driver protocol (spec/driver/PROTOCOL.md)%s", what, oneLine(err), p.stderrLast())
	case <-hctx.Done():
		return nil, fmt.Errorf("containers: the adapter of %s said no hello within %v: its command must speak the driver protocol (spec/driver/PROTOCOL.md)%s", what, HelloBound, p.stderrLast())
	}
	if p.hello.Protocol != driver.ProtocolVersion {
		return nil, fmt.Errorf("containers: the adapter of %s speaks protocol %d; this harness speaks %d", what, p.hello.Protocol, driver.ProtocolVersion)
	}
	return p, nil
}

func (p *peer) readStderr(stderr io.Reader) {
	defer p.readers.Done()
	_, _ = io.Copy(&p.stderr, stderr)
}

func (p *peer) readStdout(stdout io.Reader, strict bool) {
	defer p.readers.Done()
	defer close(p.ended)
	dec := driver.NewDecoder(stdout)
	dec.Strict = strict
	saidHello := false
	events := 0
	for {
		m, err := dec.Decode()
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) || errors.Is(err, net.ErrClosed) {
				p.fail(errAdapterGone)
			} else {
				p.fail(err)
			}
			_, _ = io.Copy(io.Discard, stdout)
			return
		}
		switch {
		case !saidHello && m.Type != driver.TypeHello:
			p.fail(&driver.ProtocolError{Line: dec.Line(), Field: "type", Msg: fmt.Sprintf("%q before hello: the first line must be the hello", m.Type)})
		case m.Type == driver.TypeHello:
			if saidHello {
				p.fail(&driver.ProtocolError{Line: dec.Line(), Field: "type", Msg: "a second hello"})
				continue
			}
			saidHello = true
			p.hellos <- m
		case m.Type == driver.TypeEvent:
			if events++; events > maxEvents {
				p.fail(&driver.ProtocolError{Line: dec.Line(), Msg: fmt.Sprintf("more than %d events in one session: an event flood", maxEvents)})
				continue
			}
			e := *m.Event
			e.Stamp = e.Time // the adapter's clock, before the harness's
			e.Time = time.Since(p.clock())
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
				continue
			}
			ch <- m
		}
	}
}

// fail records the first reason the adapter is unusable and wakes every
// pending command with it. A protocol error kills the container, as the
// process tier kills the adapter's group.
func (p *peer) fail(err error) {
	p.mu.Lock()
	first := p.broken == nil
	if first {
		p.broken = err
	}
	for id, ch := range p.pending {
		close(ch)
		delete(p.pending, id)
	}
	p.mu.Unlock()
	var pe *driver.ProtocolError
	if first && errors.As(err, &pe) {
		go p.b.kill()
	}
}

func (p *peer) failure() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.broken
}

// call sends a command and waits for its reply within ctx; a context that
// ends first is driver.ErrNoReply.
func (p *peer) call(ctx context.Context, c driver.Command) (driver.Message, error) {
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
			return m, fmt.Errorf("containers: the adapter could not %s: %s", c.Cmd, m.Error)
		}
		return m, nil
	case <-ctx.Done():
		return driver.Message{}, driver.ErrNoReply
	}
}

func (p *peer) adapterError(err error) error {
	if errors.Is(err, errAdapterGone) {
		p.waitReaders(200 * time.Millisecond) // its last words explain its death
	}
	return fmt.Errorf("containers: %w%s", err, p.stderrNote())
}

// send writes one command to the container's stdin; a write that blocks
// past ctx (an adapter that stopped reading) is ErrNoReply.
func (p *peer) send(ctx context.Context, c driver.Command) error {
	var buf bytes.Buffer
	if err := driver.EncodeCommand(&buf, c); err != nil {
		return err
	}
	conn := p.b.attach.Conn
	dl, _ := ctx.Deadline()
	p.writeMu.Lock()
	_ = conn.SetWriteDeadline(dl)
	_, err := conn.Write(buf.Bytes())
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

// streamBound bounds the wait for a stopped container's output stream to
// end (the daemon closes it some 30 ms after the container stops).
const streamBound = time.Second

// end says bye and ends the adapter's stdin, then waits, within ByeBound,
// for every process of the container to exit, and for its output to end.
// It reports whether both happened: the container has then stopped, none
// of its sockets is open and all it wrote was read; only its removal is
// left. It does not remove the container (Target.retire does).
func (p *peer) end() bool {
	ctx, cancel := context.WithTimeout(context.Background(), ByeBound)
	defer cancel()
	_ = p.send(ctx, driver.Command{ID: 1 << 62, Cmd: driver.CmdBye})
	if cw, ok := p.b.attach.Conn.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	return p.b.waitStopped(ByeBound) && p.waitReaders(streamBound)
}

// startClock makes the adapter's events count from now: a session's
// start, which for a spare comes long after its container's.
func (p *peer) startClock(at time.Time) {
	p.mu.Lock()
	p.since = at
	p.mu.Unlock()
}

func (p *peer) clock() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.since
}

func (p *peer) waitReaders(bound time.Duration) bool {
	done := make(chan struct{})
	go func() { p.readers.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(bound):
		return false
	}
}

// stderrLast is the adapter's last line of stderr, for a one-line error.
func (p *peer) stderrLast() string {
	if l := lastLine(p.stderr.String()); l != "" {
		return fmt.Sprintf("; its stderr ends %q", l)
	}
	return ""
}

func oneLine(err error) string {
	if err == nil {
		return ""
	}
	return strings.ReplaceAll(err.Error(), "\n", " ")
}

func (p *peer) stderrNote() string {
	s := strings.TrimSpace(p.stderr.String())
	if s == "" {
		return ""
	}
	const keep = 2000
	if len(s) > keep {
		s = "…" + s[len(s)-keep:]
	}
	return "\nadapter stderr:\n" + s
}

// noCommand reads docker-init's report that it could not run the
// container's command, and returns the command.
func noCommand(stderr string) (string, bool) {
	_, rest, ok := strings.Cut(stderr, "[FATAL tini")
	if !ok {
		return "", false
	}
	_, rest, ok = strings.Cut(rest, "exec ")
	if !ok {
		return "", false
	}
	cmd, _, ok := strings.Cut(rest, " failed")
	return cmd, ok
}
