package containers

import (
	"context"
	"net"
	"os"
	"time"

	"github.com/sockspec/sockspec/adapters/process"
	"github.com/sockspec/sockspec/spec/driver"
)

// session is one container whose adapter built one server: the process
// tier's session, whose Host is the container.
type session struct {
	*process.Session
	b *box
}

// sharedDir makes a directory the container's user may write sockets in;
// it is mounted into the container at the same path.
func sharedDir() (string, error) {
	dir, err := os.MkdirTemp("", "sockspec-ct")
	if err != nil {
		return "", err
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

func startSession(ctx context.Context, t *Target, cfg driver.ServerConfig) (*session, error) {
	sp, err := t.take(ctx)
	if err != nil {
		return nil, err
	}
	// The session starts now, however long its container waited.
	sp.p.SetClock(time.Now())
	s, err := process.StartSession(ctx, sp.p, host{t: t, b: sp.b, p: sp.p}, cfg, sp.dir)
	if err != nil {
		return nil, err
	}
	return &session{Session: s, b: sp.b}, nil
}

// host is a session's container, as process.Session sees it: signals,
// faults and hygiene reach the adapter by its host pid (the container
// shares the host's kernel), clients dial in the target's network, and
// the end is the container's retirement: its removal may finish after
// the session's Close returns (Target.retire).
type host struct {
	t *Target
	b *box
	p *process.Peer
}

func (h host) PID() int { return h.b.PID }

func (h host) Dial(ctx context.Context, family driver.Family, address, dir string, unbound bool) (net.Conn, error) {
	return h.t.net.dial(ctx, family, address, dir, unbound)
}

func (h host) End() error { return h.t.retire(h.b, h.p) }

func removeDir(dir string) error { return os.RemoveAll(dir) }
