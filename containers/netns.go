package containers

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/sockspec/sockspec/containers/images"
	"github.com/sockspec/sockspec/internal/procfs"
	"github.com/sockspec/sockspec/spec/driver"
)

// netHolder is the network namespace the sessions of an isolated target
// share: that of a small container (the reference image's adapter, idle
// on its open stdin) with no network at all (network mode none: a
// loopback interface and nothing else, so no route out, not even to the
// host, which a Docker "internal" network still reaches). Sessions join
// it (network mode container:ID), so that two servers of one target see
// each other's ports as processes on one host do (NET-01, NET-04), and
// the harness's clients reach 127.0.0.1 inside it by opening their
// sockets from a thread that entered the namespace.
type netHolder struct {
	box *box
	ns  *os.File // /proc/PID/ns/net of the holder
}

func newNetHolder(ctx context.Context, e *Engine) (_ *netHolder, err error) {
	h := &netHolder{}
	defer func() {
		if err != nil {
			h.close()
		}
	}()
	h.box, err = run(ctx, e, boxSpec{
		image:   images.ReferenceImage,
		role:    "netns",
		limits:  Limits{Pids: 16, NoFile: 64, Memory: 32 << 20, CPUs: 0.1},
		network: "none",
		stdin:   true, // never written: the adapter waits on it for ever
		// Its output goes to the daemon's log: nothing of the harness
		// reads it, so no goroutine outlives a session for it.
		detached: true,
	})
	if err != nil {
		return nil, fmt.Errorf("containers: the network holder: %w", err)
	}
	if harnessNS() == nil {
		return nil, fmt.Errorf("containers: cannot open the harness's own network namespace (/proc/self/ns/net)")
	}
	if h.ns, err = procfs.NetNamespace(h.box.PID); err != nil {
		return nil, fmt.Errorf("containers: the holder's network namespace: %w (the container tier needs root or CAP_SYS_ADMIN to enter it)", err)
	}
	return h, nil
}

// mode is the network mode of a container that joins the holder.
func (h *netHolder) mode() string { return "container:" + h.box.id }

// do runs f on a thread in the holder's namespace: the sockets f opens
// live there. The thread returns to the harness's namespace after, and
// only then is it unlocked.
//
// The thread must outlive f: a goroutine that exits while locked ends its
// thread, and a child the runtime forked from that thread (the strace of
// an injected fault, started with Pdeathsig) is then killed with it, so a
// fault set just before a dial would silently go (RES-01 saw it). A thread
// that cannot return stays locked and ends with its goroutine: a rare
// loss, and never a thread left in a foreign namespace.
func (h *netHolder) do(f func() error) error {
	if h == nil {
		return f()
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Setns(int(h.ns.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread() // still in the harness's namespace
			errc <- fmt.Errorf("containers: entering the target's network namespace: %w", err)
			return
		}
		err := f()
		if unix.Setns(int(harnessNS().Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		errc <- err
	}()
	return <-errc
}

// harnessNS is the harness's own network namespace, opened once before
// any thread leaves it.
var harnessNS = sync.OnceValue(func() *os.File {
	f, err := procfs.NetNamespace(0)
	if err != nil {
		return nil
	}
	return f
})

// dial opens a client of family in the namespace (Unix families are
// reached through the shared directory and need no namespace).
func (h *netHolder) dial(ctx context.Context, family driver.Family, address, dir string, unbound bool) (net.Conn, error) {
	var conn net.Conn
	dial := func() (err error) {
		conn, err = driver.Dial(ctx, family, address, dir, unbound)
		return err
	}
	var err error
	if family.IsUnix() || h == nil {
		err = dial()
	} else {
		err = h.do(dial)
	}
	if err != nil {
		return nil, err
	}
	// The server runs as another user: a bound Unix datagram client must
	// be writable by it, or the server's reply is refused.
	if family == driver.UnixDgram && !unbound {
		if a, ok := conn.LocalAddr().(*net.UnixAddr); ok && a.Name != "" {
			_ = os.Chmod(a.Name, 0o666)
		}
	}
	return conn, nil
}

// freePort is a port of family free in the namespace a moment ago.
func (h *netHolder) freePort(family driver.Family) (port int, err error) {
	err = h.do(func() error {
		if family == driver.UDP {
			c, err := net.ListenPacket("udp4", "127.0.0.1:0")
			if err != nil {
				return err
			}
			defer c.Close()
			port = c.LocalAddr().(*net.UDPAddr).Port
			return nil
		}
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			return err
		}
		defer l.Close()
		port = l.Addr().(*net.TCPAddr).Port
		return nil
	})
	return port, err
}

func (h *netHolder) close() error {
	if h == nil {
		return nil
	}
	if h.ns != nil {
		h.ns.Close()
	}
	if h.box != nil {
		return h.box.remove()
	}
	return nil
}
