package proxy_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sockspec/sockspec/internal/testkit"
	"github.com/sockspec/sockspec/netsim"
	"github.com/sockspec/sockspec/netsim/proxy"
)

func TestMain(m *testing.M) { testkit.Main(m) }

// bound is the longest any wait of these tests may take.
const bound = 20 * time.Second

// sockDir is a fresh short directory for Unix sockets.
func sockDir(t testing.TB) string {
	t.Helper()
	d, err := os.MkdirTemp("", "px")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// listenAddr is a free address of family for a server or a proxy.
func listenAddr(t testing.TB, family, name string) string {
	if family == "unix" || family == "unixgram" {
		return filepath.Join(sockDir(t), name)
	}
	return "127.0.0.1:0"
}

// echoServer serves family at a fresh address: streams are echoed until
// the client's FIN, then closed; datagrams are sent back. It stops at the
// test's end and waits for its goroutines.
func echoServer(t testing.TB, family string) string {
	t.Helper()
	var wg sync.WaitGroup
	if family == "udp" || family == "unixgram" {
		pc, err := net.ListenPacket(family, listenAddr(t, family, "echo"))
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 64<<10)
			for {
				n, from, err := pc.ReadFrom(buf)
				if err != nil {
					return
				}
				pc.WriteTo(buf[:n], from)
			}
		}()
		t.Cleanup(func() { pc.Close(); wg.Wait() })
		return pc.LocalAddr().String()
	}
	ln, err := net.Listen(family, listenAddr(t, family, "echo"))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				io.Copy(c, c)
				c.(interface{ CloseWrite() error }).CloseWrite()
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// start runs a proxy in front of upstream, closed at the test's end.
func start(t testing.TB, family, upstream string, faults []netsim.Fault, observe func(netsim.LinkEvent)) *proxy.Proxy {
	t.Helper()
	p, err := proxy.Start(proxy.Config{
		Family: family, Listen: listenAddr(t, family, "front"), Upstream: upstream,
		Profile: netsim.Profile{Name: "test", Faults: faults}, Seed: 1, Observe: observe,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func dialT(t testing.TB, family, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout(family, addr, bound)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(bound))
	return c
}

// roundTrip sends size random bytes through c to an echo server, and
// returns the SHA-256 of what was sent and of what came back.
func roundTrip(t testing.TB, c net.Conn, size int) (sent, got [32]byte) {
	t.Helper()
	data := make([]byte, size)
	rand.NewChaCha8([32]byte{7}).Read(data)
	errs := make(chan error, 1)
	go func() {
		_, err := c.Write(data)
		if err == nil {
			err = c.(interface{ CloseWrite() error }).CloseWrite()
		}
		errs <- err
	}()
	h := sha256.New()
	n, err := io.Copy(h, c)
	if werr := <-errs; werr != nil || err != nil || n != int64(size) {
		t.Fatalf("echoed %d of %d bytes: write %v, read %v", n, size, werr, err)
	}
	copy(got[:], h.Sum(nil))
	return sha256.Sum256(data), got
}

// No byte is lost, moved or changed, through an ideal link and through
// links that only delay or chop.
func TestProxyChecksum(t *testing.T) {
	lan, _ := netsim.LookupProfile("lan")
	big := 16 << 20
	for _, tc := range []struct {
		name, family string
		faults       []netsim.Fault
		size         int
	}{
		{"ideal tcp", "tcp", nil, big},
		{"ideal unix", "unix", nil, big},
		{"lan tcp", "tcp", lan.Faults, big},
		{"lan unix", "unix", lan.Faults, big / 4},
		{"chopped", "tcp", []netsim.Fault{
			{Kind: netsim.FaultSlicer, Bytes: netsim.Range{Min: 1, Max: 16}},
			{Kind: netsim.FaultLatency, Delay: time.Millisecond, Jitter: time.Millisecond},
		}, 256 << 10},
		{"narrow", "tcp", []netsim.Fault{{Kind: netsim.FaultBandwidth, Rate: 8 << 20}}, 4 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := start(t, tc.family, echoServer(t, tc.family), tc.faults, nil)
			c := dialT(t, tc.family, p.Addr().String())
			sent, got := roundTrip(t, c, tc.size)
			if sent != got {
				t.Fatalf("SHA-256 differs: sent %x, echoed %x", sent[:8], got[:8])
			}
		})
	}
}

// Latency is added each way, in real time.
func TestProxyLatency(t *testing.T) {
	p := start(t, "tcp", echoServer(t, "tcp"), []netsim.Fault{{Kind: netsim.FaultLatency, Delay: 30 * time.Millisecond}}, nil)
	c := dialT(t, "tcp", p.Addr().String())
	t0 := time.Now()
	c.Write([]byte("ping"))
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatal(err)
	}
	if rtt := time.Since(t0); rtt < 60*time.Millisecond {
		t.Fatalf("round trip %v through 30 ms each way", rtt)
	}
}

// A reset decided by the link reaches both ends as ECONNRESET after the
// bytes before it.
func TestProxyResetAfterBytes(t *testing.T) {
	var mu sync.Mutex
	var actions []netsim.Action
	observe := func(e netsim.LinkEvent) {
		mu.Lock()
		actions = append(actions, e.Action)
		mu.Unlock()
	}
	p := start(t, "tcp", echoServer(t, "tcp"),
		[]netsim.Fault{{Kind: netsim.FaultReset, Dir: netsim.Up, Bytes: netsim.Range{Min: 1000, Max: 1000}}}, observe)
	c := dialT(t, "tcp", p.Addr().String())
	c.Write(make([]byte, 5000))
	got, err := io.ReadAll(c)
	if !errors.Is(err, syscall.ECONNRESET) || len(got) > 1000 {
		t.Fatalf("read %d bytes then %v, want at most 1000 then ECONNRESET", len(got), err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(actions) == 0 || actions[0] != netsim.ActReset {
		t.Fatalf("decisions %v", actions)
	}
}

// A refused connect is reset before any byte.
func TestProxyRefuse(t *testing.T) {
	p := start(t, "tcp", echoServer(t, "tcp"), []netsim.Fault{{Kind: netsim.FaultRefuse, Nth: 1}}, nil)
	// The reset may come before connect(2) has returned, or after.
	c, err := net.DialTimeout("tcp", p.Addr().String(), bound)
	if err == nil {
		defer c.Close()
		c.SetDeadline(time.Now().Add(bound))
		_, err = c.Read(make([]byte, 1))
	}
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("first connection: %v, want ECONNRESET", err)
	}
	c2 := dialT(t, "tcp", p.Addr().String())
	if _, c2sum := roundTrip(t, c2, 1000); c2sum == ([32]byte{}) {
		t.Fatal("the second connection did not go through")
	}
}

// Each datagram client has its own session: replies go back to their
// sender, over udp and unixgram.
func TestProxyDatagramSessions(t *testing.T) {
	for _, family := range []string{"udp", "unixgram"} {
		t.Run(family, func(t *testing.T) {
			p := start(t, family, echoServer(t, family), nil, nil)
			for i, name := range []string{"alice", "bob"} {
				local := listenAddr(t, family, name)
				pc, err := net.ListenPacket(family, local)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { pc.Close() })
				pc.SetDeadline(time.Now().Add(bound))
				msg := []byte{'0' + byte(i), 'x'}
				if _, err := pc.WriteTo(msg, p.Addr()); err != nil {
					t.Fatal(err)
				}
				buf := make([]byte, 16)
				n, from, err := pc.ReadFrom(buf)
				if err != nil || !bytes.Equal(buf[:n], msg) || from.String() != p.Addr().String() {
					t.Fatalf("%s got %q from %v (%v)", name, buf[:n], from, err)
				}
			}
		})
	}
}

// A datagram the link loses is not forwarded; the next one is.
func TestProxyDatagramLoss(t *testing.T) {
	drops := make(chan netsim.LinkEvent, 4)
	p := start(t, "udp", echoServer(t, "udp"), []netsim.Fault{{Kind: netsim.FaultLoss, Nth: 2, Dir: netsim.Up}},
		func(e netsim.LinkEvent) {
			if e.Action == netsim.ActDrop {
				drops <- e
			}
		})
	c := dialT(t, "udp", p.Addr().String())
	buf := make([]byte, 16)
	for i, msg := range []string{"one", "two", "three"} {
		c.Write([]byte(msg))
		if i == 1 {
			select {
			case e := <-drops:
				if e.Fault != netsim.FaultLoss || e.Bytes != 3 {
					t.Fatalf("drop %v", e)
				}
			case <-time.After(bound):
				t.Fatal("the second datagram was not dropped")
			}
			continue
		}
		n, err := c.Read(buf)
		if err != nil || string(buf[:n]) != msg {
			t.Fatalf("reply %q %v, want %q", buf[:n], err, msg)
		}
	}
}

// Close ends open connections and sessions, and every goroutine with
// them (TestMain's goleak check sees any that outlives the test).
func TestProxyCloseEndsEverything(t *testing.T) {
	wan, _ := netsim.LookupProfile("wan")
	tp := start(t, "tcp", echoServer(t, "tcp"), wan.Faults, nil)
	up := start(t, "udp", echoServer(t, "udp"), wan.Faults, nil)
	c := dialT(t, "tcp", tp.Addr().String())
	c.Write(make([]byte, 100<<10)) // in flight when Close comes
	u := dialT(t, "udp", up.Addr().String())
	u.Write([]byte("late"))
	done := make(chan struct{})
	go func() {
		tp.Close()
		up.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(bound):
		t.Fatal("Close did not return")
	}
	if _, err := io.ReadAll(c); err == nil {
		// EOF or a reset: either way the connection ended.
	}
	if _, err := net.DialTimeout("tcp", tp.Addr().String(), time.Second); err == nil {
		t.Fatal("the proxy still accepts after Close")
	}
}

// Front picks a free address, a path in a fresh directory for Unix
// families, and removes it at Close.
func TestProxyFront(t *testing.T) {
	lan, _ := netsim.LookupProfile("lan")
	p, err := proxy.Front("unix", echoServer(t, "unix"), lan, 3)
	if err != nil {
		t.Fatal(err)
	}
	c := dialT(t, "unix", p.Addr().String())
	if s, g := roundTrip(t, c, 4096); s != g {
		t.Fatal("checksum differs")
	}
	p.Close()
	if _, err := os.Stat(filepath.Dir(p.Addr().String())); !os.IsNotExist(err) {
		t.Fatalf("the front directory is still there: %v", err)
	}
	if _, err := proxy.Front("sctp", "x", lan, 1); err == nil || err.Error() != `proxy: unknown family "sctp" (write tcp, udp, unix or unixgram)` {
		t.Fatalf("bad family: %v", err)
	}
}

// The same seed resets the same connections; the decisions are the
// engine's, whatever the real clock does.
func TestProxySeededDecisions(t *testing.T) {
	resets := func(seed uint64) []int {
		var mu sync.Mutex
		var ids []int
		upstream := echoServer(t, "tcp")
		p, err := proxy.Start(proxy.Config{
			Family: "tcp", Listen: "127.0.0.1:0", Upstream: upstream, Seed: seed,
			Profile: netsim.Profile{Faults: []netsim.Fault{{Kind: netsim.FaultReset, Dir: netsim.Up, Probability: 0.5, Bytes: netsim.Range{Min: 10, Max: 10}}}},
			Observe: func(e netsim.LinkEvent) {
				if e.Action == netsim.ActReset {
					mu.Lock()
					ids = append(ids, e.Conn)
					mu.Unlock()
				}
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		for range 16 {
			c := dialT(t, "tcp", p.Addr().String())
			c.Write(make([]byte, 100))
			c.(*net.TCPConn).CloseWrite()
			io.ReadAll(c) // to the echo's end or the reset
			c.Close()
		}
		mu.Lock()
		defer mu.Unlock()
		return ids
	}
	a, b := resets(11), resets(11)
	if len(a) == 0 || len(a) == 16 || !slices.Equal(a, b) {
		t.Fatalf("reset connections %v, then %v", a, b)
	}
}
