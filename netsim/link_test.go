package netsim_test

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sockspec/sockspec/impl"
	"github.com/sockspec/sockspec/netsim"
)

// shaped returns a network under a profile of faults, and the decisions
// it reports.
func shaped(t testing.TB, seed uint64, faults ...netsim.Fault) (*netsim.Network, *decisions) {
	t.Helper()
	n := &netsim.Network{PacketQueue: 4096}
	d := &decisions{}
	if err := n.SetProfile(netsim.Profile{Name: "test", Faults: faults}, seed, d.add); err != nil {
		t.Fatal(err)
	}
	return n, d
}

// decisions collects LinkEvents.
type decisions struct {
	mu sync.Mutex
	ev []netsim.LinkEvent
}

func (d *decisions) add(e netsim.LinkEvent) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ev = append(d.ev, e)
}

func (d *decisions) count(a netsim.Action) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, e := range d.ev {
		if e.Action == a {
			n++
		}
	}
	return n
}

// readFull reads exactly len(p) bytes or fails.
func readFull(t testing.TB, c net.Conn, n int) []byte {
	t.Helper()
	p := make([]byte, n)
	if _, err := io.ReadFull(c, p); err != nil {
		t.Fatalf("read %d bytes: %v", n, err)
	}
	return p
}

// Latency delays bytes and the FIN after them by exactly the delay, each
// way, in virtual time.
func TestLinkLatency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n, d := shaped(t, 1, netsim.Fault{Kind: netsim.FaultLatency, Delay: 40 * time.Millisecond})
		c, s := pair(t, n)
		start := time.Now()
		c.Write([]byte("ping"))
		c.CloseWrite()
		if got := readFull(t, s, 4); string(got) != "ping" || time.Since(start) != 40*time.Millisecond {
			t.Fatalf("read %q after %v", got, time.Since(start))
		}
		if k, err := s.Read(make([]byte, 1)); k != 0 || err != io.EOF {
			t.Fatalf("after the data: %d %v, want EOF", k, err)
		}
		s.Write([]byte("pong"))
		if got := readFull(t, c, 4); string(got) != "pong" || time.Since(start) != 80*time.Millisecond {
			t.Fatalf("reply %q after %v", got, time.Since(start))
		}
		if d.count(netsim.ActDelay) != 2 {
			t.Fatalf("decisions %v", d.ev)
		}
	})
}

// Jitter varies the delay of each segment but never reorders a stream.
func TestLinkJitterKeepsOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n, _ := shaped(t, 7, netsim.Fault{Kind: netsim.FaultLatency, Delay: 10 * time.Millisecond, Jitter: 10 * time.Millisecond})
		c, s := pair(t, n)
		var sent bytes.Buffer
		go func() {
			for i := range 200 {
				msg := []byte{byte(i), byte(i >> 8)}
				sent.Write(msg)
				c.Write(msg)
				time.Sleep(time.Millisecond)
			}
			c.CloseWrite()
		}()
		got, err := readAll(t, s)
		if err != nil || got != sent.String() {
			t.Fatalf("read %d bytes (%v), sent %d, or out of order", len(got), err, sent.Len())
		}
	})
}

// Bandwidth spreads a write over the time the rate needs, and the writer
// is slowed once the bytes in flight fill the peer's buffer.
func TestLinkBandwidth(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n, _ := shaped(t, 1, netsim.Fault{Kind: netsim.FaultBandwidth, Rate: 1000})
		n.StreamBuffer = 2000
		c, s := pair(t, n)
		start := time.Now()
		writing := async(func() (int, error) { return c.Write(make([]byte, 5000)) })
		readFull(t, s, 5000)
		if el := time.Since(start); el != 5*time.Second {
			t.Fatalf("5000 bytes at 1000 B/s took %v", el)
		}
		if r := recv(t, writing, "Write"); r.n != 5000 || r.err != nil {
			t.Fatalf("write %d %v", r.n, r.err)
		}
	})
}

// The slicer chops writes into small segments, in order.
func TestLinkSlicer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n, d := shaped(t, 1, netsim.Fault{Kind: netsim.FaultSlicer, Bytes: netsim.Range{Min: 1, Max: 16}, Delay: time.Millisecond})
		c, s := pair(t, n)
		msg := make([]byte, 1000)
		for i := range msg {
			msg[i] = byte(i)
		}
		c.Write(msg)
		c.CloseWrite()
		var got []byte
		buf := make([]byte, 4096)
		for {
			k, err := s.Read(buf)
			if k > 16 {
				t.Fatalf("a read of %d bytes: segments are at most 16", k)
			}
			got = append(got, buf[:k]...)
			if err != nil {
				break
			}
		}
		if !bytes.Equal(got, msg) || d.count(netsim.ActSlice) != 1 {
			t.Fatalf("got %d bytes intact=%v, decisions %d", len(got), bytes.Equal(got, msg), len(d.ev))
		}
	})
}

// A reset after N bytes delivers N bytes, then ECONNRESET on both ends.
func TestLinkResetAfterBytes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n, d := shaped(t, 1, netsim.Fault{Kind: netsim.FaultReset, Dir: netsim.Up, Bytes: netsim.Range{Min: 100, Max: 100}})
		c, s := pair(t, n)
		if k, err := c.Write(make([]byte, 300)); k != 300 || err != nil {
			t.Fatalf("write %d %v", k, err)
		}
		readFull(t, s, 100)
		_, err := s.Read(make([]byte, 10))
		wantSyscall(t, err, "read", "read", syscall.ECONNRESET)
		synctest.Wait()
		_, err = c.Read(make([]byte, 10))
		wantSyscall(t, err, "read", "read", syscall.ECONNRESET)
		if _, err := c.Write([]byte("x")); err == nil {
			t.Fatal("a write after the reset succeeded")
		}
		if d.count(netsim.ActReset) != 1 || d.count(netsim.ActDrop) != 1 {
			t.Fatalf("decisions %v", d.ev)
		}
	})
}

// limit_data closes both ways after N bytes; half_close ends one way only.
func TestLinkLimitDataAndHalfClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n, _ := shaped(t, 1,
			netsim.Fault{Kind: netsim.FaultLimitData, Dir: netsim.Up, Bytes: netsim.Range{Min: 10, Max: 10}, Nth: 1},
			netsim.Fault{Kind: netsim.FaultHalfClose, Dir: netsim.Up, Bytes: netsim.Range{Min: 10, Max: 10}, Nth: 2})
		c, s := pair(t, n)
		c.Write([]byte("0123456789abcdef"))
		if got, err := readAll(t, s); got != "0123456789" || err != nil {
			t.Fatalf("limited: %q %v", got, err)
		}
		if got, err := readAll(t, c); got != "" || err != nil {
			t.Fatalf("the other way after limit_data: %q %v, want EOF", got, err)
		}

		c2, s2 := pair(t, n)
		c2.Write([]byte("0123456789abcdef"))
		if got, err := readAll(t, s2); got != "0123456789" || err != nil {
			t.Fatalf("half closed: %q %v", got, err)
		}
		s2.Write([]byte("still open"))
		if got := readFull(t, c2, 10); string(got) != "still open" {
			t.Fatalf("the other way: %q", got)
		}
	})
}

// A blackhole loses everything; with a delay it then resets.
func TestLinkBlackhole(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n, _ := shaped(t, 1, netsim.Fault{Kind: netsim.FaultBlackhole, Dir: netsim.Up, Delay: 5 * time.Second})
		c, s := pair(t, n)
		start := time.Now()
		c.Write([]byte("into the void"))
		_, err := s.Read(make([]byte, 10))
		wantSyscall(t, err, "read", "read", syscall.ECONNRESET)
		if time.Since(start) != 5*time.Second {
			t.Fatalf("reset after %v", time.Since(start))
		}
	})
}

// A slow close delivers the FIN late.
func TestLinkSlowClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n, _ := shaped(t, 1, netsim.Fault{Kind: netsim.FaultSlowClose, Delay: 2 * time.Second})
		c, s := pair(t, n)
		start := time.Now()
		c.Write([]byte("bye"))
		c.Close()
		if got, err := readAll(t, s); got != "bye" || err != nil || time.Since(start) != 2*time.Second {
			t.Fatalf("read %q %v, EOF after %v", got, err, time.Since(start))
		}
	})
}

// refuse on the Nth connect, and backlog_full holding a connect.
func TestLinkConnectFaults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n, _ := shaped(t, 1,
			netsim.Fault{Kind: netsim.FaultRefuse, Nth: 2},
			netsim.Fault{Kind: netsim.FaultBacklogFull, Nth: 3, Delay: 3 * time.Second})
		ln := listen(t, n, "tcp", "127.0.0.1:0")
		dial(t, n, "tcp", ln.Addr().String())
		_, err := n.Dial(ctxT(t), "tcp", ln.Addr().String())
		wantSyscall(t, err, "dial", "connect", syscall.ECONNREFUSED)
		start := time.Now()
		dial(t, n, "tcp", ln.Addr().String())
		if time.Since(start) != 3*time.Second {
			t.Fatalf("held %v", time.Since(start))
		}
	})
}

// A partition holds stream bytes until it heals and loses datagrams sent
// during it.
func TestLinkPartitionAndHeal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n, _ := shaped(t, 1, netsim.Fault{Kind: netsim.FaultPartition, From: time.Second, Until: 3 * time.Second})
		c, s := pair(t, n) // starts the engine's clock
		start := time.Now()
		srv := listenPacket(t, n, "udp", "127.0.0.1:0")
		cl := dial(t, n, "udp", srv.LocalAddr().String())

		time.Sleep(1500 * time.Millisecond)
		c.Write([]byte("held"))
		cl.Write([]byte("lost"))
		readFull(t, s, 4)
		if el := time.Since(start); el != 3*time.Second {
			t.Fatalf("stream bytes arrived at %v, the heal is at 3s", el)
		}
		cl.Write([]byte("after"))
		srv.SetReadDeadline(time.Now().Add(time.Second))
		buf := make([]byte, 16)
		k, _, err := srv.ReadFrom(buf)
		if err != nil || string(buf[:k]) != "after" {
			t.Fatalf("after the heal: %q %v", buf[:k], err)
		}
	})
}

// udpRun sends count datagrams of one byte each through a lossy link and
// returns what arrived, in order, and the decisions.
func udpRun(t *testing.T, seed uint64, count int, faults ...netsim.Fault) ([]byte, []netsim.LinkEvent) {
	var got []byte
	var ev []netsim.LinkEvent
	synctest.Test(t, func(t *testing.T) {
		n, d := shaped(t, seed, faults...)
		srv := listenPacket(t, n, "udp", "127.0.0.1:0")
		cl := dial(t, n, "udp", srv.LocalAddr().String())
		for i := range count {
			cl.Write([]byte{byte(i)})
			time.Sleep(time.Millisecond)
		}
		time.Sleep(time.Second)
		buf := make([]byte, 64)
		for srv.(*netsim.PacketConn).Pending() > 0 {
			k, _, _ := srv.ReadFrom(buf)
			got = append(got, buf[:k]...)
		}
		ev = d.ev
	})
	return got, ev
}

// Loss, duplication and reordering hit about their share of datagrams,
// and the same seed makes the same decisions.
func TestLinkDatagramFaultsSeeded(t *testing.T) {
	lossy, err := netsim.LookupProfile("lossy")
	if err != nil {
		t.Fatal(err)
	}
	const count = 2000
	got, ev := udpRun(t, 42, count, lossy.Faults...)
	lost, dup, reordered := 0, 0, 0
	for _, e := range ev {
		switch e.Action {
		case netsim.ActDrop:
			lost++
		case netsim.ActDuplicate:
			dup++
		case netsim.ActReorder:
			reordered++
		}
	}
	if lost < count*3/100 || lost > count*7/100 || dup == 0 || dup > count*3/100 || reordered < count*3/100 || reordered > count*7/100 {
		t.Fatalf("lost %d, duplicated %d, reordered %d of %d", lost, dup, reordered, count)
	}
	if len(got) != count-lost+dup || slices.IsSorted(got[:256]) && reordered > 0 && lost == 0 {
		t.Fatalf("received %d datagrams, want %d", len(got), count-lost+dup)
	}
	again, ev2 := udpRun(t, 42, count, lossy.Faults...)
	if !bytes.Equal(got, again) || len(ev) != len(ev2) {
		t.Fatal("the same seed made different decisions")
	}
	other, _ := udpRun(t, 43, count, lossy.Faults...)
	if bytes.Equal(got, other) {
		t.Fatal("another seed made the same decisions")
	}
}

// Truncation cuts long datagrams; the Nth one alone can be hit.
func TestLinkTruncateNth(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n, _ := shaped(t, 1, netsim.Fault{Kind: netsim.FaultTruncate, Bytes: netsim.Range{Min: 4, Max: 4}, Nth: 2})
		srv := listenPacket(t, n, "unixgram", "srv")
		cl := dial(t, n, "unixgram", "srv")
		for _, m := range []string{"first", "second", "third"} {
			cl.Write([]byte(m))
		}
		buf := make([]byte, 64)
		var got []string
		for range 3 {
			k, _, err := srv.ReadFrom(buf)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, string(buf[:k]))
		}
		if !slices.Equal(got, []string{"first", "seco", "third"}) {
			t.Fatalf("got %q", got)
		}
	})
}

// The flaky profile resets about a fifth of the connections, each after
// 1 to 64 KiB, the same ones for the same seed.
func TestEngineFlakyConnections(t *testing.T) {
	flaky, _ := netsim.LookupProfile("flaky")
	fates := func(seed uint64) []bool {
		e := netsim.NewEngine(flaky, seed, nil)
		var out []bool
		for range 1000 {
			c := e.Connect(time.Unix(0, 0), "tcp")
			reset := false
			for _, s := range []*netsim.Stream{c.Up, c.Down} {
				if s == nil {
					continue
				}
				total := 0
				for !s.Ended() {
					segs := s.Send(time.Unix(0, 0), 1024)
					for _, g := range segs {
						total += g.Len
						if g.Then == netsim.ActReset {
							reset = true
						}
					}
				}
				if total < 1<<10 || total > 64<<10 {
					t.Fatalf("reset after %d bytes", total)
				}
			}
			out = append(out, reset)
		}
		return out
	}
	a := fates(9)
	hit := 0
	for _, r := range a {
		if r {
			hit++
		}
	}
	if hit < 150 || hit > 250 {
		t.Fatalf("%d of 1000 connections reset, want about 200", hit)
	}
	if !slices.Equal(a, fates(9)) || slices.Equal(a, fates(10)) {
		t.Fatal("decisions do not follow the seed")
	}
}

// A profile without faults leaves the network as it is: no delay, and
// events as without a profile.
func TestLinkIdealChangesNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ideal, _ := netsim.LookupProfile("ideal")
		n := &netsim.Network{}
		if err := n.SetProfile(ideal, 1, nil); err != nil {
			t.Fatal(err)
		}
		c, s := pair(t, n)
		start := time.Now()
		c.Write([]byte("now"))
		if s.Unread() != 3 || time.Since(start) != 0 {
			t.Fatal("an ideal link delayed bytes")
		}
	})
}

// The virtual clock makes a slow link cheap: a workload of 20 s of wan
// round trips runs in a fraction of that. The speed-up is logged.
func TestLinkVirtualTimeSpeedup(t *testing.T) {
	wall := time.Now()
	var simulated time.Duration
	synctest.Test(t, func(t *testing.T) {
		wan, _ := netsim.LookupProfile("wan")
		n := &netsim.Network{}
		n.SetProfile(wan, 1, nil)
		c, s := pair(t, n)
		go func() {
			buf := make([]byte, 1024)
			for {
				k, err := s.Read(buf)
				if err != nil {
					s.Close()
					return
				}
				s.Write(buf[:k])
			}
		}()
		start := time.Now()
		msg := make([]byte, 1024)
		rand.NewChaCha8([32]byte{1}).Read(msg)
		for range 250 {
			c.Write(msg)
			if got := readFull(t, c, len(msg)); !bytes.Equal(got, msg) {
				t.Fatal("echo differs")
			}
		}
		simulated = time.Since(start)
		c.Close()
	})
	el := time.Since(wall)
	if simulated < 15*time.Second {
		t.Fatalf("250 wan round trips took %v of virtual time", simulated)
	}
	t.Logf("simulated %v in %v of wall time: %.0f simulated seconds per wall second", simulated, el, simulated.Seconds()/el.Seconds())
}

// The reference server runs unchanged on a shaped network, and a request
// over wan takes a round trip of virtual time and no wall time.
func TestLinkServerOverWAN(t *testing.T) {
	for _, fam := range []impl.Family{impl.TCP, impl.UDP} {
		t.Run(fam.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				wan, _ := netsim.LookupProfile("wan")
				n := &netsim.Network{}
				n.SetProfile(wan, 5, nil)
				s := newServer(t, impl.Config{Family: fam, Network: n})
				network := "tcp"
				if fam == impl.UDP {
					network = "udp"
				}
				c := dial(t, n, network, s.Address())
				start := time.Now()
				c.Write([]byte("over the ocean\n"))
				if err := s.HandleRequest(context.Background()); err != nil {
					t.Fatal(err)
				}
				got := readFull(t, c, len("over the ocean\n"))
				if rtt := time.Since(start); string(got) != "over the ocean\n" || rtt < 60*time.Millisecond || rtt > 101*time.Millisecond {
					t.Fatalf("reply %q after %v, want a round trip of 2×(40±10 ms) plus sending time", got, rtt)
				}
			})
		})
	}
}
