package spec

import (
	"context"
	"fmt"
	"hash/fnv"
	"net"
	"os"
	"sync/atomic"

	. "github.com/onsi/ginkgo/v2"

	"github.com/sockspec/sockspec/netsim"
	"github.com/sockspec/sockspec/netsim/proxy"
	"github.com/sockspec/sockspec/spec/driver"
)

// front is the simulated link of the run (Config.Network) in front of one
// server: the suite's clients dial the proxy, and the proxy reaches the
// server through the session's own Dial, which knows how (a socket path,
// a port in another network namespace).
type front struct {
	proxy     *proxy.Proxy
	family    driver.Family
	clientDir string       // where Unix datagram clients bind, so replies find them
	dialed    atomic.Int64 // stream clients dialed through the proxy
}

// startFront puts the run's network in front of sess, or returns nil when
// the run has none. The proxy is closed when the spec ends, before the
// session is (cleanups run last first).
func startFront(sess driver.Session, family driver.Family) *front {
	GinkgoHelper()
	profile := currentRun().cfg.Network
	if profile == nil {
		return nil
	}
	dir, err := os.MkdirTemp("", "sockspec-clients")
	if err != nil {
		HarnessError("a directory for the clients' sockets: %v", err)
	}
	p, err := proxy.Front(proxy.Config{
		Family:   proxyFamily(family),
		Upstream: sess.Address(),
		DialUpstream: func(ctx context.Context) (net.Conn, error) {
			return sess.Dial(ctx, false)
		},
		Profile: *profile,
		Seed:    linkSeed(GinkgoRandomSeed(), CurrentSpecReport().FullText()),
		Observe: func(e netsim.LinkEvent) { note("net", e.String()) },
	})
	if err != nil {
		os.RemoveAll(dir)
		HarnessError("starting the %s network in front of the server: %v", profile.Name, err)
	}
	note("net", "the "+profile.Name+" network fronts the server at "+p.Addr().String())
	DeferCleanup(func() {
		p.Close()
		os.RemoveAll(dir)
	})
	return &front{proxy: p, family: family, clientDir: dir}
}

// dial connects a client to the server through the link.
func (f *front) dial(ctx context.Context, unbound bool) (net.Conn, error) {
	return driver.Dial(ctx, f.family, f.proxy.Addr().String(), f.clientDir, unbound)
}

// awaitPeer waits until the proxy has reached the server for the client
// conn, or given up on it. A direct connect is queued at the server when
// it returns, and a datagram is in the server's buffer when its send
// does; through the proxy both happen a moment later, and a spec that
// calls handle_request right after, with a short timeout, would otherwise
// find nothing pending. What the link does after that (latency, a reset)
// is the network's doing, and stays. A link that holds the connect for
// good (a blackhole) is waited for up to ReplyBound, and then the spec
// goes on: what it sees next is what such a network does.
func (f *front) awaitPeer(conn net.Conn, stream bool) {
	ctx, cancel := context.WithTimeout(context.Background(), ReplyBound)
	defer cancel()
	var err error
	if stream {
		// Unix stream clients have no address to tell them apart: count.
		err = f.proxy.AwaitSettled(ctx, int(f.dialed.Add(1)))
	} else {
		_, err = f.proxy.AwaitPeer(ctx, conn.LocalAddr())
	}
	if err != nil {
		note("net", fmt.Sprintf("the network has not reached the server for %s after %v", conn.LocalAddr(), ReplyBound))
	}
}

// proxyFamily is the proxy's name of a family.
func proxyFamily(f driver.Family) string {
	switch f {
	case driver.UDP:
		return "udp"
	case driver.UnixStream:
		return "unix"
	case driver.UnixDgram:
		return "unixgram"
	}
	return "tcp"
}

// linkSeed seeds one spec's link from the run's seed and the spec's text,
// so that a spec's network decides the same way whatever ran before it,
// and a replay with the run's seed sees the same losses and resets.
func linkSeed(runSeed int64, specText string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(specText))
	return uint64(runSeed) ^ h.Sum64()
}
