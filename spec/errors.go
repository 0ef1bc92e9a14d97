package spec

import (
	"time"

	"net"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/sockspec/sockspec/spec/driver"
)

// port is the port of a TCP or UDP client, as a report would print it.
func port(c *Client) string {
	_, p, err := net.SplitHostPort(c.SeenAs())
	if err != nil {
		return c.SeenAs()
	}
	return p
}

var _ = Describe("ERROR", func() {
	ForEachServer("handle_error's report", []driver.Family{driver.TCP}, nil, func(m Matrix) {
		Rule("ERR-01", "the default handle_error reports the client address and the error on stderr", func(ctx SpecContext) {
			srv := StartServer(ctx, m.Config())
			stderr, ok := srv.Session.(driver.StderrReader)
			if !ok {
				NA("the target does not capture the server's stderr")
			}
			c, _ := srv.ServeOne(driver.Raise())
			c.ReadReply()
			srv.WaitRequestsDone(1)
			srv.WaitForReturns(driver.HookHandleError, 1)
			stdout := func() string { return "" }
			if out, ok := srv.Session.(interface{ Stdout() string }); ok {
				stdout = out.Stdout // what a process server printed (Python 2.7 prints its report)
			}
			Eventually(func() string { return stderr.Stderr() + stdout() }).WithTimeout(ReplyBound).Should(ContainSubstring(port(c)),
				"the report names the client address")
			Expect(stderr.Stderr()).To(ContainSubstring(port(c)), "the report went to standard output, not standard error:\n%s", stdout())
			Expect(strings.Count(stderr.Stderr(), strings.Repeat("-", 40))).To(BeNumerically(">=", 2),
				"the report is framed by lines of 40 dashes")
		})
	})

	ForEachServer("what handle_error sees", nil, nil, func(m Matrix) {
		Rule("ERR-02", "handle_error is called with the exception being handled", func(ctx SpecContext) {
			srv := StartServer(ctx, m.Config())
			srv.ServeOne(driver.Raise())
			srv.WaitRequestsDone(1)
			call, ok := FirstCall(srv.Events(), driver.HookHandleError)
			Expect(ok).To(BeTrue(), "handle_error must be called:\n%s", FormatTrace(srv.Events()))
			Expect(call.Exception).NotTo(BeNil(), "handle_error's call must carry the exception it handles")
			Expect(call.Exception.Kind).To(Equal(driver.Ordinary))
		})

		Rule("ERR-03", "only ordinary exceptions reach handle_error", func(ctx SpecContext) {
			srv := StartServer(ctx, m.Config())
			for _, s := range []driver.Script{driver.RaiseFatal(), driver.RaiseInterrupt()} {
				srv.ServeOne(s)
			}
			srv.WaitRequestsDone(2)
			Expect(srv.Events()).To(HaveNotTraced(driver.HookHandleError))
			srv.ServeOne(driver.Raise())
			srv.WaitRequestsDone(3)
			Expect(srv.Events()).To(HaveTracedOnce(driver.HookHandleError))
		})
	})

	ForEachServer("get_request failures", nil, []driver.Dispatch{driver.Sync}, func(m Matrix) {
		Rule("ERR-04", "handle_error is never called for a get_request failure, EMFILE included", func(ctx SpecContext) {
			cfg := m.Config()
			op := "accept"
			if m.Family.IsDatagram() {
				op = "recvfrom"
			}
			cfg.Faults = []driver.Fault{{Op: op, Errno: "EMFILE", Nth: 1, Count: 2}}
			srv := StartServer(ctx, cfg)
			c := srv.Dial().Send(driver.Echo("after"))
			for range 3 {
				Expect(srv.HandleRequest(ReplyBound)).To(HaveReturned())
			}
			Expect(c.ReadReply().Data).To(Equal("after\n"))
			Expect(srv.Events()).To(HaveNotTraced(driver.HookHandleError))
		})

		Rule("ERR-04", "get_request failures on a seeded schedule reach no handle_error, and every client is served", func(ctx SpecContext) {
			const clients, failures = 8, 4
			cfg := m.Config()
			op := "accept"
			if m.Family.IsDatagram() {
				op = "recvfrom"
			}
			// The run's seed picks which of the first get_request calls
			// fail: the same seed, the same schedule.
			cfg.Faults = driver.Scheduled(driver.Fault{Op: op, Errno: "ECONNABORTED", Nth: 1}, GinkgoRandomSeed(), failures, clients)
			srv := StartServer(ctx, cfg)
			srv.ServeForever(poll)
			for i := range clients {
				expectServed(srv, "client "+itoa(i))
			}
			failed := func() int {
				n := 0
				for _, e := range ReturnsOf(srv.Events(), driver.HookGetRequest) {
					if e.Exception != nil {
						n++
					}
				}
				return n
			}
			// The events of an adapter process may trail the replies.
			Eventually(failed).WithTimeout(ReplyBound).Should(Equal(failures), "the scheduled get_request failures")
			Expect(srv.Events()).To(HaveNotTraced(driver.HookHandleError))
		})
	})

	ForEachServer("a failing handle_error", nil, nil, func(m Matrix) {
		Rule("ERR-05", "the request is shut down even when handle_error raises", func(ctx SpecContext) {
			cfg := m.Config()
			cfg.HandleErrorRaises = true
			srv := StartServer(ctx, cfg)
			c, _ := srv.ServeOne(driver.Raise())
			srv.WaitForReturns(driver.HookHandleError, 1)
			shutDown := !srv.notWithin(StopBound, func(es []driver.Event) bool {
				return driver.Count(es, driver.HookShutdownRequest, driver.Return) >= 1
			})
			Expect(shutDown).To(BeTrue(), "shutdown_request never ran after handle_error raised: the connection is left to the garbage collector; trace:\n%s", FormatTrace(srv.Events()))
			Expect(srv.Events()).To(HaveTracedInOrder(driver.HookHandleError, driver.HookShutdownRequest))
			if !m.Family.IsDatagram() {
				Expect(c.ReadReply().EOF).To(BeTrue(), "the client must see EOF")
			}
		})
	})

	Describe("request children's exit status", func() {
		Rule("ERR-06", "a request child exits 0 after success and 1 after an exception", func(ctx SpecContext) {
			// A zero timeout: a handle_request with nothing pending is a
			// handle_timeout, which collects children in every version.
			srv := StartServer(ctx, driver.ServerConfig{Family: driver.TCP, Dispatch: driver.Forking, Timeout: driver.After(0)})
			for _, s := range []driver.Script{driver.Echo("ok"), driver.Raise(), driver.RaiseFatal()} {
				c, _ := srv.ServeOne(s)
				c.ReadReply()
			}
			Eventually(func() int {
				srv.HandleRequest(ReplyBound)
				return driver.Count(srv.Events(), driver.HookChildExit, driver.Return)
			}).WithTimeout(ReplyBound).WithPolling(20*time.Millisecond).Should(Equal(3), "every child is reaped by handle_timeout's collect_children")
			var statuses []string
			for _, e := range ReturnsOf(srv.Events(), driver.HookChildExit) {
				statuses = append(statuses, e.Result)
			}
			Expect(statuses).To(ConsistOf("0", "1", "1"))
		})
	})
})
