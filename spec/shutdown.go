package spec

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/sockspec/sockspec/spec/driver"
)

// poll is the serve_forever poll interval of the shutdown specs: long
// enough that a loop which only notices a stop at its next poll is told
// apart from one that is woken.
const poll = 500 * time.Millisecond // CPython's default

// slowPoll is a poll interval long enough that a shutdown which waits for
// the next poll cannot pass for one that wakes the loop, however loaded
// the machine.
const slowPoll = 3 * time.Second

// shutdownAsync runs shutdown() on its own goroutine.
func shutdownAsync(srv *Server) <-chan driver.Result {
	done := make(chan driver.Result, 1)
	go func() {
		defer GinkgoRecover()
		done <- srv.ShutdownWithin(ReplyBound) // the loop may first finish a request
	}()
	return done
}

var _ = Describe("SHUTDOWN", func() {
	ForEachServer("serve_forever and shutdown", nil, nil, func(m Matrix) {
		Rule("SHD-01", "shutdown returns only after serve_forever has returned", func(ctx SpecContext) {
			srv := StartServer(ctx, m.Config())
			srv.ServeForever(poll)
			c := srv.Dial().Send(driver.Echo("before"))
			Expect(c.ReadReply().Data).To(Equal("before\n"))
			Expect(srv.Shutdown()).To(HaveReturned())
			Expect(srv.Events()).To(HaveTracedInOrder(driver.HookServeForever),
				"serve_forever must be running when shutdown is called")
			Expect(ReturnsOf(srv.Events(), driver.HookServeForever)).To(HaveLen(1),
				"serve_forever must have returned when shutdown returns")
		})

		Rule("SHD-05", "serve_forever can run again after it returned", func(ctx SpecContext) {
			srv := StartServer(ctx, m.Config())
			for i, text := range []string{"first", "second"} {
				srv.ServeForever(poll)
				c := srv.Dial().Send(driver.Echo(text))
				Expect(c.ReadReply().Data).To(Equal(text+"\n"), "loop %d", i+1)
				Expect(srv.Shutdown()).To(HaveReturned())
			}
			Expect(ReturnsOf(srv.Events(), driver.HookServeForever)).To(HaveLen(2))
		})

		Rule("SHD-10", "handle_request and serve_forever after server_close raise", func(ctx SpecContext) {
			srv := StartServer(ctx, m.Config())
			Expect(srv.ServerClose()).To(HaveReturned())
			Expect(srv.HandleRequest(ReplyBound)).NotTo(HaveReturned(), "handle_request on a closed server")
			srv.ServeForever(poll)
			srv.WaitForReturns(driver.HookServeForever, 1)
			ret := ReturnsOf(srv.Events(), driver.HookServeForever)[0]
			Expect(ret.Exception).NotTo(BeNil(), "serve_forever on a closed server must raise, not serve")
		})
	})

	ForEachServer("a stop requested before or after serving", nil, []driver.Dispatch{driver.Sync}, func(m Matrix) {
		Rule("SHD-03", "shutdown before any serve_forever does not block", func(ctx SpecContext) {
			srv := StartServer(ctx, m.Config())
			Expect(srv.Shutdown()).To(HaveReturned()) // a HANG when it blocks
		})

		Rule("SHD-04", "no stale shutdown flag: a late shutdown does not end the next serve_forever", func(ctx SpecContext) {
			srv := StartServer(ctx, m.Config())
			srv.ServeForever(poll)
			Expect(srv.Shutdown()).To(HaveReturned())
			Expect(srv.Shutdown()).To(HaveReturned()) // after the loop ended
			srv.ServeForever(poll)
			c := srv.Dial().Send(driver.Echo("served"))
			Expect(c.Read(StopBound).Data).To(Equal("served\n"), "the next serve_forever must serve")
			Expect(ReturnsOf(srv.Events(), driver.HookServeForever)).To(HaveLen(1),
				"the next serve_forever must not return by itself")
		})

		Rule("SHD-07", "no request is taken once shutdown was requested", func(ctx SpecContext) {
			if m.Family.IsDatagram() {
				NA("hold needs a stream request")
			}
			srv := StartServer(ctx, m.Config())
			srv.ServeForever(poll)
			a := srv.Dial().Send(driver.Hold())
			Expect(a.ReadLine()).To(Equal("held\n"))
			b := srv.Dial().Send(driver.Echo("late"))
			done := shutdownAsync(srv)
			srv.WaitForCalls(driver.HookShutdown, 1)
			// Release the held request only once the stop is recorded, or
			// the loop may take b before shutdown() has set its flag,
			// which would blame the target for the harness's haste.
			srv.WaitShutdownRequested()
			a.Write([]byte("go\n"))
			Eventually(done).WithTimeout(ReplyBound).Should(Receive(HaveReturned()))
			Expect(srv.Events()).To(HaveTracedOnce(driver.HookGetRequest), "only the held request may be taken")
			Expect(b.Read(quick).Data).To(BeEmpty())
		})

		Rule("SHD-02", "shutdown from the serving thread does not deadlock", func(ctx SpecContext) {
			srv := StartServer(ctx, m.Config())
			srv.ServeForever(poll)
			c := srv.Dial().Send(driver.ShutdownFromHandler())
			reply := c.Read(StopBound)
			if reply.Err != nil && reply.Data == "" {
				Hang("a handler of the serving thread called shutdown() and never got an answer")
			}
			Expect(reply.Data).To(HavePrefix("shutdown "))
			srv.WaitForReturns(driver.HookServeForever, 1)
		})
	})

	Describe("a raising signal handler", func() {
		Rule("SHD-12", "a signal whose handler raises ends serve_forever with the exception, and a later shutdown returns at once", func(ctx SpecContext) {
			srv := StartServer(ctx, driver.ServerConfig{Family: driver.TCP, Dispatch: driver.Sync})
			// A long poll: the loop must end because the signal
			// interrupted its wait, not because a poll ran out.
			srv.ServeForever(slowPoll)
			sg := srv.signaller()
			ended := func() int {
				// A session that sees the server's threads sends only
				// while the loop waits (ErrNotBlocked otherwise).
				_ = sg.Signal(ctx, "SIGUSR2")
				return len(ReturnsOf(srv.Events(), driver.HookServeForever))
			}
			Eventually(ended).WithTimeout(StopBound).WithPolling(100*time.Millisecond).Should(Equal(1),
				"serve_forever went on after its signal handler raised")
			ret := ReturnsOf(srv.Events(), driver.HookServeForever)[0]
			Expect(ret.Exception).NotTo(BeNil(), "serve_forever must end with the handler's exception")
			// (Whether a loop started after it runs is SHD-04's business:
			// CPython's shutdown leaves its flag set when no loop runs.)
			Expect(srv.ShutdownWithin(quick)).To(HaveReturned(), "shutdown after the interrupted loop")
		})
	})

	// A stream and a datagram server: each waits a slow poll where the
	// rule is broken.
	ForEachServer("the wake-up", []driver.Family{driver.TCP, driver.UDP}, []driver.Dispatch{driver.Sync}, func(m Matrix) {
		Rule("SHD-13", "shutdown ends an idle loop at once, not at its next poll", func(ctx SpecContext) {
			srv := StartServer(ctx, m.Config())
			srv.ServeForever(slowPoll)
			srv.WaitForCalls(driver.HookServeForever, 1)
			start := time.Now()
			Expect(srv.ShutdownWithin(slowPoll + StopBound)).To(HaveReturned())
			Expect(time.Since(start)).To(BeNumerically("<", slowPoll/2),
				"shutdown waited for the loop's next poll instead of waking it (poll_interval %v)", slowPoll)
		})
	})

	ForEachServer("the listening socket", Streams, []driver.Dispatch{driver.Sync}, func(m Matrix) {
		Rule("SHD-08", "shutdown leaves the listening socket open; server_close closes it", func(ctx SpecContext) {
			srv := StartServer(ctx, m.Config())
			srv.ServeForever(poll)
			Expect(srv.Shutdown()).To(HaveReturned())
			dctx, cancel0 := srv.bounded(quick)
			defer cancel0()
			conn, err := srv.Session.Dial(dctx, false)
			Expect(err).NotTo(HaveOccurred(), "after shutdown the socket must still listen")
			DeferCleanup(func() { conn.Close() })
			c := &Client{conn: conn, server: srv}
			c.Send(driver.Echo("queued"))
			Expect(srv.ServerClose()).To(HaveReturned())
			reply := c.ReadReply()
			Expect(reply.Data).To(BeEmpty(), "nobody may serve a connection queued after shutdown")
			ctx2, cancel := srv.bounded(quick)
			defer cancel()
			_, err = srv.Session.Dial(ctx2, false)
			Expect(err).To(HaveOccurred(), "connecting after server_close must fail")
		})
	})

	Describe("the context manager", func() {
		Rule("SHD-11", "leaving the with block calls server_close and not shutdown", func(ctx SpecContext) {
			srv := StartServer(ctx, driver.ServerConfig{Family: driver.TCP, Dispatch: driver.Sync})
			cm, ok := srv.Session.(driver.ContextManager)
			if !ok {
				NA("the target cannot be used as a context manager")
			}
			ectx, cancel := srv.bounded(ReplyBound)
			defer cancel()
			r, err := cm.ExitContext(ectx)
			srv.check(err, "leaving the with block did not return within %v", ReplyBound)
			Expect(r).To(HaveReturned())
			Expect(srv.Events()).To(HaveTracedOnce(driver.HookServerClose))
			Expect(srv.Events()).To(HaveNotTraced(driver.HookShutdown))
		})
	})

	ForEachServer("server_close while serving", nil, []driver.Dispatch{driver.Sync}, func(m Matrix) {
		Rule("SHD-09", "server_close while serve_forever runs ends the loop without spinning", func(ctx SpecContext) {
			srv := StartServer(ctx, m.Config())
			srv.ServeForever(poll)
			Expect(srv.ServerClose()).To(HaveReturned())
			tctx, cancel := srv.bounded(StopBound)
			defer cancel()
			err := srv.Trace().Wait(tctx, func(es []driver.Event) bool {
				return driver.Count(es, driver.HookServeForever, driver.Return) == 1
			})
			Expect(err).NotTo(HaveOccurred(), "serve_forever must return after server_close, not keep polling a closed socket; trace:\n%s", FormatTrace(srv.Events()))
		})
	})
})
