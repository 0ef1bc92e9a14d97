package spec

import (
	"fmt"
	"net"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/sockspec/sockspec/spec/driver"
)

// Hostile clients: what one misbehaving client may not do to the others.
var _ = Describe("HOSTILE CLIENTS", func() {
	ForEachServer("a client that connects and never sends", Streams, []driver.Dispatch{driver.Threading, driver.Forking}, func(m Matrix) {
		Rule("NET-13", "a silent client does not stop a threading or forking server from serving others", func(ctx SpecContext) {
			srv := StartServer(ctx, m.Config())
			srv.ServeForever(poll)
			silent := srv.Dial() // sends nothing: its handler waits for a line
			srv.AwaitDispatched(1)
			b := srv.Dial().Send(driver.Echo("b"))
			Expect(b.Read(StopBound).Data).To(Equal("b\n"), "the server must serve others while a client is silent")
			silent.Close()
		})
	})

	ForEachServer("a client that resets in mid-request", Streams, nil, func(m Matrix) {
		Rule("NET-14", "a client reset in mid-request does not stop the server", func(ctx SpecContext) {
			srv := StartServer(ctx, m.Config())
			srv.ServeForever(poll)
			a := srv.Dial()
			a.Write([]byte("echo cut sh")) // no newline: the request is not over
			resetConn(a.Conn())
			srv.AwaitDispatched(1)
			b := srv.Dial().Send(driver.Echo("b"))
			Expect(b.ReadReply().Data).To(Equal("b\n"), "the next client must be served after a reset")
			if srv.traced {
				Expect(ReturnsOf(srv.Events(), driver.HookServeForever)).To(BeEmpty(),
					"serve_forever ended because a client reset its connection; trace:\n%s", FormatTrace(srv.Events()))
				Expect(srv.Shutdown()).To(HaveReturned())
			}
		})
	})

	ForEachServer("a client that trickles its request", Streams, []driver.Dispatch{driver.Threading, driver.Forking}, func(m Matrix) {
		Rule("NET-15", "a slow client does not stop others from being served, and its request is served whole", func(ctx SpecContext) {
			srv := StartServer(ctx, m.Config())
			srv.ServeForever(poll)
			slow := srv.Dial()
			line := driver.Echo("slow but whole").Line()
			slow.Write(line[:1])
			srv.AwaitDispatched(1)
			trickled := trickle(slow.Conn(), line[1:], trickleGap)
			b := srv.Dial().Send(driver.Echo("b"))
			Expect(b.Read(StopBound).Data).To(Equal("b\n"), "the server must serve others while a client trickles its request")
			var sent error
			Eventually(trickled).WithTimeout(ClientBound).Should(Receive(&sent))
			Expect(sent).NotTo(HaveOccurred(), "the slow client could not send its whole request")
			Expect(slow.ReadReply().Data).To(Equal("slow but whole\n"), "the slow request must be served whole")
		})
	})

	ForEachServer("a client that half-closes after its request", Streams, nil, func(m Matrix) {
		Rule("NET-16", "a client that shuts down its sending side gets the whole reply, then EOF", func(ctx SpecContext) {
			srv := StartServer(ctx, m.Config())
			srv.ServeForever(poll)
			// The handler waits before it replies, so the client's FIN is
			// in before the reply goes out, whatever the scheduling.
			c := srv.Dial().Send(driver.Sleep(100 * time.Millisecond).Then(driver.Echo("half")))
			closeWrite(c.Conn())
			r := c.ReadReply()
			Expect(r.Data).To(Equal("half\n"), "a half-closed client must get its reply")
			Expect(r.EOF).To(BeTrue(), "and then EOF: %v", r.Err)
			next := srv.Dial().Send(driver.Echo("next"))
			Expect(next.ReadReply().Data).To(Equal("next\n"))
		})
	})

	ForEachServer("a storm of connections", []driver.Family{driver.TCP}, []driver.Dispatch{driver.Sync, driver.Threading}, func(m Matrix) {
		Rule("NET-17", "after 50 clients connect at once against a backlog of 5, every accepted client has its reply and the server serves on", func(ctx SpecContext) {
			cfg := m.Config()
			cfg.RequestQueueSize = 5
			srv := StartServer(ctx, cfg)
			srv.ServeForever(poll)
			outcomes := storm(srv, stormSize, driver.Sleep(10*time.Millisecond).Then(driver.Echo("s")))
			served, dropped, waiting := 0, 0, 0
			for _, r := range outcomes {
				switch {
				case r.Data == "s\n" && r.EOF:
					served++
				case r.Data == "" && r.Err != nil:
					waiting++ // never accepted in time: the kernel's backlog or its SYN retries
				default:
					dropped++
				}
			}
			note("client", fmt.Sprintf("storm of %d: %d served, %d still waiting, %d cut short", stormSize, served, waiting, dropped))
			Expect(dropped).To(BeZero(), "accepted clients of the storm lost their reply (%d served, %d waiting)", served, waiting)
			Expect(served).To(BeNumerically(">=", cfg.RequestQueueSize), "the server served fewer than its backlog")
			after := srv.Dial().Send(driver.Echo("after"))
			Expect(after.ReadReply().Data).To(Equal("after\n"), "a client after the storm must be served")
		})
	})
})

// trickleGap is the pause of a slow client between two bytes.
const trickleGap = 10 * time.Millisecond

// stormSize is how many clients connect at once in a connection storm;
// stormBound is how long each waits for its reply. A connection the
// kernel's full backlog dropped is retried after 1 s and 3 s (SYN
// retransmissions): clients still waiting at the bound are not judged.
const (
	stormSize  = 50
	stormBound = 2500 * time.Millisecond
)

// trickle writes b one byte per gap in the background, and reports the
// end (nil, or the write's error).
func trickle(c net.Conn, b []byte, gap time.Duration) <-chan error {
	done := make(chan error, 1)
	go func() {
		t := time.NewTicker(gap)
		defer t.Stop()
		for i := range b {
			<-t.C
			c.SetWriteDeadline(time.Now().Add(ClientBound))
			if _, err := c.Write(b[i : i+1]); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	return done
}

// storm connects n clients at once, each sending script, and returns what
// each read within stormBound. A client whose connect did not complete
// counts as waiting (an error, no data).
func storm(srv *Server, n int, script driver.Script) []Reply {
	GinkgoHelper()
	out := make([]Reply, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := srv.bounded(stormBound)
			defer cancel()
			conn, err := srv.Session.Dial(ctx, false)
			if err != nil {
				out[i] = Reply{Err: err}
				return
			}
			defer conn.Close()
			deadline, _ := ctx.Deadline()
			conn.SetDeadline(deadline)
			if _, err := conn.Write(script.Line()); err != nil {
				out[i] = Reply{Err: err}
				return
			}
			out[i] = (&Client{conn: conn}).read(time.Until(deadline))
		}()
	}
	wg.Wait()
	return out
}

// closeWrite shuts down the sending side of a stream connection (a FIN).
func closeWrite(c net.Conn) {
	GinkgoHelper()
	cw, ok := c.(interface{ CloseWrite() error })
	if !ok {
		HarnessError("a %T cannot half-close", c)
	}
	Expect(cw.CloseWrite()).To(Succeed())
	note("client", c.LocalAddr().String()+" shut down its sending side")
}

// AwaitDispatched waits until the server has handed n requests on
// (process_request called). A black box reports no hooks: there the wait
// is skipped, and the rule relies on the order of the clients' connects.
func (s *Server) AwaitDispatched(n int) {
	GinkgoHelper()
	if s.traced {
		s.WaitForCalls(driver.HookProcessRequest, n)
	}
}

// resetConn closes c with an RST instead of a FIN: SO_LINGER with a zero
// timeout. A Unix stream socket has no RST; closing it is the nearest.
func resetConn(c net.Conn) {
	GinkgoHelper()
	if tc, ok := c.(*net.TCPConn); ok {
		Expect(tc.SetLinger(0)).To(Succeed())
	}
	c.Close()
}
