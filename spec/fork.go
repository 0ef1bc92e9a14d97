package spec

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/sockspec/sockspec/spec/driver"
)

// forking is a forking server of family f.
func forking(f driver.Family) driver.ServerConfig {
	return driver.ServerConfig{Family: f, Dispatch: driver.Forking}
}

// holdInChild starts a request that holds in its child until released.
func holdInChild(srv *Server) *Client {
	GinkgoHelper()
	c := srv.Dial().Send(driver.Hold())
	Expect(srv.HandleRequest(ReplyBound)).To(HaveReturned())
	line, err := c.ReadLine()
	Expect(err).NotTo(HaveOccurred())
	Expect(line).To(Equal("held\n"))
	return c
}

// release lets a held request finish.
func (c *Client) release() {
	GinkgoHelper()
	c.Write([]byte("go\n"))
}

// expectSpawnFailureHandled serves a request whose child or thread cannot
// start: the failure goes to handle_error, then shutdown_request, and the
// client gets EOF and no data.
func expectSpawnFailureHandled(srv *Server) {
	GinkgoHelper()
	c, r := srv.ServeOne(driver.Echo("lost"))
	Expect(r).To(HaveReturned())
	reply := c.ReadReply()
	Expect(reply.EOF).To(BeTrue(), "the client must get EOF: %v", reply.Err)
	Expect(reply.Data).To(BeEmpty())
	Expect(srv.Events()).To(HaveTracedInOrder(driver.HookProcessRequest, driver.HookHandleError, driver.HookShutdownRequest))
}

// expectCloseWaitsFor calls server_close while the request held by c runs
// and expects it to return only once c is released.
func expectCloseWaitsFor(srv *Server, held *Client, what string) {
	GinkgoHelper()
	closed := make(chan driver.Result, 1)
	go func() {
		defer GinkgoRecover()
		closed <- srv.ServerClose()
	}()
	srv.WaitForCalls(driver.HookServerClose, 1)
	Consistently(closed).WithTimeout(300*time.Millisecond).ShouldNot(Receive(), "server_close returned while "+what)
	held.release()
	Eventually(closed).WithTimeout(ReplyBound).Should(Receive(HaveReturned()))
}

// notWithin reports whether cond stays false for d: the bounded wait of a
// rule that forbids something from happening while a condition holds.
func (s *Server) notWithin(d time.Duration, cond func([]driver.Event) bool) bool {
	ctx, cancel := context.WithTimeout(s.ctx, d)
	defer cancel()
	return s.Trace().Wait(ctx, cond) != nil
}

var _ = Describe("FORK", func() {
	ForEachServer("a child per request", []driver.Family{driver.TCP, driver.UDP, driver.UnixStream, driver.UnixDgram}, []driver.Dispatch{driver.Forking}, func(m Matrix) {
		Rule("FRK-01", "process_request forks; the child serves the request and the parent returns at once", func(ctx SpecContext) {
			srv := StartServer(ctx, m.Config())
			serverPID := srv.State().PID
			c, r := srv.ServeOne(driver.PID())
			Expect(r).To(HaveReturned())
			reply := c.ReadReply()
			Expect(reply.Lines()).To(HaveLen(1))
			Expect(reply.Lines()[0]).NotTo(Equal(itoa(serverPID)), "the request must be served in another process")
			srv.WaitRequestsDone(1)
			fin, _ := FirstCall(srv.Events(), driver.HookFinishRequest)
			Expect(fin.PID).NotTo(Equal(serverPID), "finish_request runs in the child")
			pr, _ := FirstCall(srv.Events(), driver.HookProcessRequest)
			Expect(pr.PID).To(Equal(serverPID), "process_request runs in the server")
		})

		Rule("FRK-02", "the parent only closes its copy of the request: shutdown_request runs in the child", func(ctx SpecContext) {
			srv := StartServer(ctx, m.Config())
			serverPID := srv.State().PID
			c, _ := srv.ServeOne(driver.Echo("x"))
			Expect(c.ReadReply().Data).To(Equal("x\n"))
			srv.WaitRequestsDone(1)
			for _, e := range CallsOf(srv.Events(), driver.HookShutdownRequest) {
				Expect(e.PID).NotTo(Equal(serverPID), "the parent must not shut the child's connection down:\n%s", FormatTrace(srv.Events()))
			}
			parentClose := false
			for _, e := range CallsOf(srv.Events(), driver.HookCloseRequest) {
				parentClose = parentClose || e.PID == serverPID
			}
			Expect(parentClose).To(BeTrue(), "the parent closes its copy with close_request:\n%s", FormatTrace(srv.Events()))
		})
	})

	Describe("max_children", func() {
		Rule("FRK-06", "max_children holds under a handle_request loop too", func(ctx SpecContext) {
			cfg := forking(driver.TCP)
			cfg.MaxChildren = 2
			srv := StartServer(ctx, cfg)
			a := holdInChild(srv)
			holdInChild(srv)
			c := srv.Dial().Send(driver.Echo("third"))
			third := make(chan driver.Result, 1)
			go func() {
				defer GinkgoRecover()
				third <- srv.HandleRequest(2 * ReplyBound)
			}()
			// A third child that serves: where the limit is enforced (before
			// process_request, or inside it as 2.7 does) is the server's business.
			thirdForked := func(es []driver.Event) bool { return driver.Count(es, driver.HookFinishRequest, driver.Call) >= 3 }
			Expect(srv.notWithin(time.Second, thirdForked)).To(BeTrue(),
				"a third child was forked while max_children=2 children were alive:\n%s", FormatTrace(srv.Events()))
			a.release()
			Eventually(third).WithTimeout(2 * ReplyBound).Should(Receive(HaveReturned()))
			Expect(c.ReadReply().Data).To(Equal("third\n"))
		})
	})

	Describe("reaping", func() {
		Rule("FRK-08", "serve_forever reaps exited children within about a poll interval", func(ctx SpecContext) {
			srv := StartServer(ctx, forking(driver.TCP))
			srv.ServeForever(100 * time.Millisecond)
			for range 3 {
				c := srv.Dial().Send(driver.Echo("x"))
				Expect(c.ReadReply().Data).To(Equal("x\n"))
			}
			// A loop that does not reap still answers: not reaping is a
			// failure of the rule, not a hang.
			Eventually(func() int { return driver.Count(srv.Events(), driver.HookChildExit, driver.Return) }).
				WithTimeout(ReplyBound).Should(BeNumerically(">=", 3), "children of served requests were not reaped while serve_forever ran")
			Eventually(func() int { return srv.State().ActiveChildren }).WithTimeout(ReplyBound).Should(BeZero())
		})

		Rule("FRK-08", "seen from /proc: no child of a served request stays a zombie while serve_forever runs", func(ctx SpecContext) {
			srv := StartServer(ctx, forking(driver.TCP))
			srv.Inspect() // N/A for a server in the harness's own process
			srv.ServeForever(100 * time.Millisecond)
			for _, text := range []string{"a", "b", "c", "d", "e"} {
				c := srv.Dial().Send(driver.Echo(text))
				Expect(c.ReadReply().Data).To(Equal(text + "\n"))
			}
			Eventually(srv.Zombies).WithTimeout(StopBound).WithPolling(50*time.Millisecond).Should(BeZero(),
				"children of served requests stay zombies while the server serves")
			srv.Inspect()
		})

		Rule("FRK-09", "server_close waits for children with block_on_close, and not without it", func(ctx SpecContext) {
			srv := StartServer(ctx, forking(driver.TCP))
			expectCloseWaitsFor(srv, holdInChild(srv), "a child was still serving")
			Expect(srv.Events()).To(HaveTracedOnce(driver.HookServerClose))
			Expect(driver.Count(srv.Events(), driver.HookChildExit, driver.Return)).To(Equal(1), "the child must be reaped by server_close")

			noBlock := false
			cfg := forking(driver.TCP)
			cfg.BlockOnClose = &noBlock
			srv2 := StartServer(ctx, cfg)
			b := holdInChild(srv2)
			Expect(srv2.ServerClose()).To(HaveReturned()) // a HANG when it waits
			b.release()
		})
	})

	Describe("children the server did not fork", func() {
		Rule("FRK-07", "at max_children the server waits for its own children and leaves a foreign one to its owner", func(ctx SpecContext) {
			cfg := forking(driver.TCP)
			cfg.MaxChildren = 1
			srv := StartServer(ctx, cfg)
			fcs, ok := srv.Session.(driver.ForeignChildren)
			if !ok {
				NA("the target cannot start a child of its own in the server's process")
			}
			fctx, cancel := srv.bounded(ReplyBound)
			defer cancel()
			foreign, err := fcs.StartForeignChild(fctx)
			srv.check(err, "starting a foreign child did not return within %v", ReplyBound)
			srv.ServeForever(poll)
			a := srv.Dial().Send(driver.Hold())
			Expect(a.ReadLine()).To(Equal("held\n"))
			// The server is at its limit: the next request waits for a
			// child to exit, and the first child to exit is the foreign one.
			b := srv.Dial().Send(driver.Echo("b"))
			secondServes := func(es []driver.Event) bool { return driver.Count(es, driver.HookFinishRequest, driver.Call) >= 2 }
			Expect(srv.notWithin(300*time.Millisecond, secondServes)).To(BeTrue(), "a second child served while max_children=1 was reached")
			Expect(foreign.Exit(fctx)).To(Succeed())
			// Time for a server that waits for any child to take the foreign
			// one; its exit must not free a slot either.
			Expect(srv.notWithin(300*time.Millisecond, secondServes)).To(BeTrue(), "the exit of a child the server did not fork let a second request be served")
			a.release()
			Expect(b.ReadReply().Data).To(Equal("b\n"))
			rctx, cancel2 := srv.bounded(ReplyBound)
			defer cancel2()
			status, stolen, err := foreign.Reap(rctx)
			srv.check(err, "the foreign child was not reaped within %v", ReplyBound)
			Expect(stolen).To(BeFalse(), "the server reaped a child it did not fork: its owner got ECHILD")
			Expect(status).To(Equal(driver.ForeignChildStatus))
		})
	})

	Describe("fork failure", func() {
		Rule("FRK-10", "a failed fork goes to handle_error, the client gets EOF, service goes on", func(ctx SpecContext) {
			cfg := forking(driver.TCP)
			cfg.Faults = []driver.Fault{{Op: "fork", Errno: "EAGAIN", Nth: 1}}
			srv := StartServer(ctx, cfg)
			expectSpawnFailureHandled(srv)
			c2, _ := srv.ServeOne(driver.Echo("served"))
			Expect(c2.ReadReply().Data).To(Equal("served\n"))
		})

		// The same failure from the kernel: the process table is full
		// (a pids cgroup at its limit), or the fork system call fails
		// (strace). The server runs serve_forever, as a black box does.
		for _, f := range []driver.Fault{
			{Op: "pids", Errno: "EAGAIN", Nth: 1, Via: driver.ViaCgroup},
			{Op: "fork", Errno: "EAGAIN", Nth: 1, Via: driver.ViaStrace},
		} {
			Rule("FRK-10", "fork failing with "+f.Errno+" via "+f.Via+": the client gets EOF, and service goes on once it is lifted", func(ctx SpecContext) {
				srv := StartServer(ctx, forking(driver.TCP))
				srv.ServeForever(poll)
				expectServed(srv, "before")
				held := srv.Inject(f)
				lost := srv.Dial().Send(driver.Echo("lost"))
				r := lost.ReadReply()
				Expect(r.Data).To(BeEmpty(), "a request whose fork failed was served")
				Expect(r.EOF).To(BeTrue(), "the client of a failed fork must get EOF: %v", r.Err)
				if srv.traced {
					// The events of an adapter process may trail the reply.
					inOrder := HaveTracedInOrder(driver.HookProcessRequest, driver.HookHandleError, driver.HookShutdownRequest)
					srv.WaitFor("handle_error, then shutdown_request", ReplyBound, func(es []driver.Event) bool {
						ok, _ := inOrder.Match(es)
						return ok
					})
				}
				held.Lift()
				expectServed(srv, "after")
			})
		}
	})

	Describe("datagrams", func() {
		Rule("FRK-13", "a forked UDP request replies through the inherited server socket, which stays open", func(ctx SpecContext) {
			srv := StartServer(ctx, forking(driver.UDP))
			for _, text := range []string{"one", "two"} {
				c, _ := srv.ServeOne(driver.Echo(text))
				Expect(c.ReadReply().Data).To(Equal(text + "\n"))
			}
		})
	})
})
