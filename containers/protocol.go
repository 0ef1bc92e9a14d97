package containers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/sockspec/sockspec/adapters/process"
	"github.com/sockspec/sockspec/spec/driver"
)

// Bounds of the waits no spec bounds, as adapters/process has them.
const (
	HelloBound = process.HelloBound
	ByeBound   = process.ByeBound
)

// startPeer speaks the driver protocol (spec/driver/PROTOCOL.md) with the
// adapter of one container, over the container's attach stream (commands
// go to its stdin, messages come from its stdout, its stderr is kept),
// and waits for its hello. The peer is adapters/process's: only how the
// adapter is reached and killed is the container's.
func startPeer(ctx context.Context, b *box, validate bool, what string) (*process.Peer, error) {
	stdout, stderr := b.readStreams()
	p, err := process.NewPeer(stdinOf{b.attach.Conn}, stdout, stderr, process.PeerOptions{
		Tier:     "containers",
		Validate: validate,
		// Events count from the container's start until a session takes
		// the container (process.Session's start sets the clock again).
		Clock: b.started,
		// A protocol error kills the container, as the process tier
		// kills the adapter's group; the engine's call must not hold up
		// the reader.
		Kill: func() { go b.kill() },
		// Nothing else tells of the adapter's exit: the end of its output
		// does.
		OutputEndIsExit: true,
	})
	if err != nil {
		return nil, err
	}
	hello, err := p.AwaitHello(ctx, HelloBound, p.OutputEnded())
	switch {
	case errors.Is(err, process.ErrNoHello):
		return nil, fmt.Errorf("containers: the adapter of %s said no hello within %v: its command must speak the driver protocol (spec/driver/PROTOCOL.md)%s", what, HelloBound, stderrLast(p))
	case err != nil:
		p.WaitOutput(200 * time.Millisecond)
		if cmd, ok := noCommand(p.Stderr()); ok {
			return nil, fmt.Errorf("containers: the image %s has no command %q: give one it has (cmd=…)", what, cmd)
		}
		return nil, fmt.Errorf("containers: the adapter of %s ended before its hello (%v): its command must speak the driver protocol (spec/driver/PROTOCOL.md)%s", what, oneLine(err), stderrLast(p))
	case hello.Protocol != driver.ProtocolVersion:
		return nil, fmt.Errorf("containers: the adapter of %s speaks protocol %d; this harness speaks %d", what, hello.Protocol, driver.ProtocolVersion)
	}
	return p, nil
}

// stdinOf is the container's stdin in its attach stream: closing it ends
// the adapter's input and leaves the stream's reading half open.
type stdinOf struct{ net.Conn }

func (s stdinOf) Close() error {
	if cw, ok := s.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// streamBound bounds the wait for a stopped container's output stream to
// end (the daemon closes it some 30 ms after the container stops).
const streamBound = time.Second

// end says bye and ends the adapter's stdin, then waits, within ByeBound,
// for every process of the container to exit, and for its output to end.
// It reports whether both happened: the container has then stopped, none
// of its sockets is open and all it wrote was read; only its removal is
// left. It does not remove the container (Target.retire does).
func end(b *box, p *process.Peer) bool {
	ctx, cancel := context.WithTimeout(context.Background(), ByeBound)
	defer cancel()
	p.Bye(ctx)
	return b.waitStopped(ByeBound) && p.WaitOutput(streamBound)
}

// stderrLast is the adapter's last line of stderr, for a one-line error.
func stderrLast(p *process.Peer) string {
	if l := lastLine(p.Stderr()); l != "" {
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
