package process

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/sockspec/sockspec/internal/testkit"
	"github.com/sockspec/sockspec/spec/driver"
)

// fakeAdapter is the adapter's end of a Peer's streams, in memory: what a
// container's attach stream is to containers/, and a child's pipes here.
type fakeAdapter struct {
	commands *bufio.Reader // what the peer sent
	out      *io.PipeWriter
	errOut   *io.PipeWriter
	killed   chan struct{}
}

func newFakePeer(t *testing.T, o PeerOptions) (*Peer, *fakeAdapter) {
	t.Helper()
	harness, adapter := net.Pipe()
	outR, outW := io.Pipe()
	errR, errW := io.Pipe()
	a := &fakeAdapter{commands: bufio.NewReader(adapter), out: outW, errOut: errW, killed: make(chan struct{}, 8)}
	o.Kill = func() { a.killed <- struct{}{} }
	p, err := NewPeer(harness, outR, errR, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		outW.Close()
		errW.Close()
		adapter.Close()
		harness.Close()
		if !p.WaitOutput(5 * time.Second) {
			t.Error("the peer's readers outlived the streams")
		}
	})
	return p, a
}

// say writes lines to the adapter's stdout; a goroutine of its own
// writes what the peer reads only after the write returns.
func (a *fakeAdapter) say(lines ...string) {
	for _, l := range lines {
		if _, err := io.WriteString(a.out, l+"\n"); err != nil {
			return // the test ended the stream
		}
	}
}

const fakeHello = `{"type":"hello","protocol":1,"name":"fake","version":"0","language":"go","capabilities":["tcp"]}`

// A Peer over any streams: it hears the hello, keeps an event's own time
// as its Stamp, answers a command with its reply, and takes the end of
// the output as the adapter's exit when told to.
func TestPeerOverAnyStreams(t *testing.T) {
	p, a := newFakePeer(t, PeerOptions{Tier: "test", Clock: time.Now(), OutputEndIsExit: true})
	events := make(chan driver.Event, 1)
	p.OnEvent(func(e driver.Event) { events <- e })
	go a.say(fakeHello)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if h, err := p.AwaitHello(ctx, 5*time.Second, p.OutputEnded()); err != nil || h.Name != "fake" || p.Hello().Name != "fake" {
		t.Fatalf("AwaitHello = %v, %v", h, err)
	}
	go a.say(`{"type":"event","hook":"handle","phase":"call","pid":1,"seq":1,"time":5000}`)
	select {
	case e := <-events:
		if e.Stamp != 5000 || e.Time <= 0 {
			t.Errorf("the event has Stamp %v and Time %v; want Stamp 5µs, the wire's, and Time the harness's", e.Stamp, e.Time)
		}
	case <-ctx.Done():
		t.Fatal("no event")
	}
	replied := make(chan error, 1)
	go func() {
		line, err := a.commands.ReadString('\n')
		if err == nil && !strings.Contains(line, `"state"`) {
			err = errors.New("the command is " + line)
		}
		if err == nil {
			_, err = io.WriteString(a.out, `{"type":"reply","id":1,"state":{"serving":false}}`+"\n")
		}
		replied <- err
	}()
	if _, err := p.Call(ctx, driver.Command{Cmd: driver.CmdState}); err != nil {
		t.Fatalf("Call: %v", err)
	}
	if err := <-replied; err != nil {
		t.Fatal(err)
	}
	io.WriteString(a.errOut, "last words\n")
	a.errOut.Close()
	a.out.Close()
	select {
	case <-p.OutputEnded():
	case <-ctx.Done():
		t.Fatal("the end of the output went unseen")
	}
	_, err := p.Call(ctx, driver.Command{Cmd: driver.CmdState})
	if !errors.Is(err, ErrAdapterGone) || !strings.HasPrefix(err.Error(), "test: ") || !strings.Contains(err.Error(), "last words") {
		t.Errorf("a call after the output ended: %v; want the tier's ErrAdapterGone with the adapter's stderr", err)
	}
}

// An event flood breaks the protocol: the peer fails with the bound named,
// and the adapter is killed once however long the flood goes on.
func TestPeerEventFlood(t *testing.T) {
	p, a := newFakePeer(t, PeerOptions{Tier: "test", MaxEvents: 3, Clock: time.Now()})
	a.say(fakeHello)
	for range 10 {
		a.say(`{"type":"event","hook":"handle","phase":"call","pid":1,"seq":1}`)
	}
	testkit.WaitFor(t, 5*time.Second, "the flood to break the peer", func() bool { return p.Err() != nil })
	if err := p.Err(); !strings.Contains(err.Error(), "more than 3 events in one session: an event flood") {
		t.Fatalf("after the flood: %v", err)
	}
	if len(a.killed) != 1 {
		t.Errorf("the adapter was killed %d times; want once", len(a.killed))
	}
}

// Validate applies the protocol's JSON Schema to every line, on any
// streams: a hello the Go types let through is refused.
func TestPeerValidate(t *testing.T) {
	p, a := newFakePeer(t, PeerOptions{Tier: "test", Validate: true, Clock: time.Now()})
	// A null version reads as "" in the Go types; the schema wants a string.
	go a.say(`{"type":"hello","protocol":1,"name":"fake","version":null,"capabilities":["tcp"]}`)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	select {
	case <-a.killed:
	case <-ctx.Done():
		t.Fatal("a hello the schema refuses did not end the adapter")
	}
	if err := p.Err(); err == nil || !strings.Contains(err.Error(), "line 1") || !strings.Contains(err.Error(), "/version") {
		t.Fatalf("Err = %v; want the schema's complaint about line 1's /version", err)
	}
}
