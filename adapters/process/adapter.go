package process

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"time"

	"github.com/sockspec/sockspec/internal/procgroup"
	"github.com/sockspec/sockspec/spec/driver"
)

// adapter is one running adapter process, in a process group of its own,
// and the Peer that speaks with it over its pipes. It is the Host of the
// session it serves.
type adapter struct {
	group  *procgroup.Group
	pgid   int
	peer   *Peer
	exited chan struct{} // closed when the process is reaped and pending commands failed
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
	var files []*os.File // every end, until the child has its own
	closeAll := func() {
		for _, f := range files {
			f.Close()
		}
	}
	var ends [3][2]*os.File // stdin, stdout, stderr: read and write ends
	for i := range ends {
		r, w, err := os.Pipe()
		if err != nil {
			closeAll()
			return nil, err
		}
		ends[i] = [2]*os.File{r, w}
		files = append(files, r, w)
	}
	cmd := &exec.Cmd{
		Path:   path,
		Args:   t.Argv,
		Env:    environ(t),
		Stdin:  ends[0][0],
		Stdout: ends[1][1],
		Stderr: ends[2][1],
	}
	// A group of its own, so that request children die with it; and the
	// kernel kills the adapter if the harness dies first.
	p := &adapter{exited: make(chan struct{})}
	p.group, err = procgroup.Start(cmd)
	ends[0][0].Close()
	ends[1][1].Close()
	ends[2][1].Close()
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("process: starting the adapter %q: %w", t.Argv, err)
	}
	p.pgid = p.group.PGID()
	p.peer, err = NewPeer(ends[0][1], ends[1][0], ends[2][0], PeerOptions{
		Tier: "process", Validate: t.Validate, MaxEvents: t.MaxEvents, Clock: time.Now(), Kill: p.kill,
	})
	if err != nil {
		closeAll()
		p.group.Stop(0)
		return nil, err
	}
	// process.KillAll and Live count adapters in live; procgroup.KillAll
	// reaches these groups as well.
	liveMu.Lock()
	live[p] = struct{}{}
	liveMu.Unlock()
	go p.wait()

	hello, err := p.peer.AwaitHello(ctx, t.helloBound(), p.exited)
	switch {
	case errors.Is(err, ErrNoHello):
		p.close()
		return nil, fmt.Errorf("process: the adapter %q said no hello within %v%s", t.Argv, t.helloBound(), p.peer.StderrNote())
	case err != nil:
		p.close()
		return nil, fmt.Errorf("process: the adapter %q ended before its hello: %w%s", t.Argv, err, p.peer.StderrNote())
	case hello.Protocol != driver.ProtocolVersion:
		p.close()
		return nil, fmt.Errorf("process: the adapter %q speaks protocol %d; this harness speaks %d", t.Argv, hello.Protocol, driver.ProtocolVersion)
	}
	return p, nil
}

// wait fails every pending command once the adapter is reaped.
func (p *adapter) wait() {
	<-p.group.Exited()
	p.peer.Gone(fmt.Errorf("%w (%v)", ErrAdapterGone, exitText(p.group.ExitErr())))
	close(p.exited)
}

func exitText(err error) string {
	if err == nil {
		return "status 0"
	}
	return err.Error()
}

// close says bye, waits a little for the adapter to exit, then kills its
// process group and reaps it, and waits for the readers.
func (p *adapter) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), ByeBound)
	defer cancel()
	p.peer.Bye(ctx)
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
	if !p.peer.WaitOutput(reapBound) && err == nil {
		err = fmt.Errorf("process: a process of the adapter's group (pgid %d) still holds its output %v after SIGKILL; it left the group", p.pgid, reapBound)
	}
	return err
}

// kill sends SIGKILL to the adapter's whole process group.
func (p *adapter) kill() { p.group.Kill() }

// The adapter is its session's Host: its process group leader is what
// signals, faults and hygiene reach, and clients dial the server from the
// harness's own network.

func (p *adapter) PID() int { return p.pgid }

func (p *adapter) Dial(ctx context.Context, family driver.Family, address, dir string, unbound bool) (net.Conn, error) {
	return driver.Dial(ctx, family, address, dir, unbound)
}

func (p *adapter) End() error { return p.close() }

// session is a Session whose adapter is a child process.
type session struct {
	*Session
	p *adapter
}

func startSession(ctx context.Context, t *Target, cfg driver.ServerConfig) (*session, error) {
	dir, err := os.MkdirTemp("", "sockspec")
	if err != nil {
		return nil, err
	}
	p, err := startAdapter(ctx, t)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s, err := StartSession(ctx, p.peer, p, cfg, dir)
	if err != nil {
		return nil, err
	}
	return &session{Session: s, p: p}, nil
}
