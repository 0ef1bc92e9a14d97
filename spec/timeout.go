package spec

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/sockspec/sockspec/spec/driver"
)

// waited is how long handle_request waited before handle_timeout: from its
// call to handle_timeout's call, by the target's own clock.
func waited(es []driver.Event) time.Duration {
	hr, ok1 := FirstCall(es, driver.HookHandleRequest)
	ht, ok2 := FirstCall(es, driver.HookHandleTimeout)
	Expect(ok1 && ok2).To(BeTrue(), "handle_request and handle_timeout must both be traced:\n%s", FormatTrace(es))
	if hr.Stamp != 0 && ht.Stamp != 0 && hr.PID == ht.PID {
		return ht.Stamp - hr.Stamp // the adapter's clock: no transport delay in it
	}
	return ht.Time - hr.Time
}

// slack is the lateness a timed wait may show on a loaded machine; the
// rules below tell apart waits that differ by more.
const slack = 400 * time.Millisecond

var _ = Describe("TIMEOUT", func() {
	Describe("handle_request's wait", func() {
		type timeouts struct{ server, socket driver.Seconds }
		DescribeTable("TMO-01 the effective timeout is the smaller of the two",
			func(ctx SpecContext, t timeouts, want time.Duration) {
				// A table cannot carry Rule's label through an entry, so
				// the rule's decoration is applied by hand.
				requireRule("TMO-01")
				srv := StartServer(ctx, driver.ServerConfig{Family: driver.TCP, Dispatch: driver.Sync,
					Timeout: t.server, SocketTimeout: t.socket})
				Expect(srv.HandleRequest(ReplyBound)).To(HaveReturned())
				Expect(waited(srv.Events())).To(BeNumerically("~", want+slack/2, slack/2+10*time.Millisecond))
			},
			Entry("server 0.3 s, socket none", timeouts{driver.After(300 * time.Millisecond), nil}, 300*time.Millisecond, SpecTimeout(SpecBound)),
			Entry("server none, socket 0.3 s", timeouts{nil, driver.After(300 * time.Millisecond)}, 300*time.Millisecond, SpecTimeout(SpecBound)),
			Entry("server 1 s, socket 0.2 s", timeouts{driver.After(time.Second), driver.After(200 * time.Millisecond)}, 200*time.Millisecond, SpecTimeout(SpecBound)),
			Entry("server 0.2 s, socket 1 s", timeouts{driver.After(200 * time.Millisecond), driver.After(time.Second)}, 200*time.Millisecond, SpecTimeout(SpecBound)),
			RuleLabel("TMO-01"),
		)

		Rule("TMO-02", "an expired wait calls handle_timeout once and not get_request", func(ctx SpecContext) {
			srv := StartServer(ctx, driver.ServerConfig{Family: driver.TCP, Dispatch: driver.Sync, Timeout: driver.After(100 * time.Millisecond)})
			Expect(srv.HandleRequest(ReplyBound)).To(HaveReturned())
			es := srv.Events()
			Expect(es).To(HaveTracedOnce(driver.HookHandleTimeout))
			Expect(es).To(HaveNotTraced(driver.HookGetRequest))
		})

		Rule("TMO-03", "a zero timeout polls once without blocking", func(ctx SpecContext) {
			srv := StartServer(ctx, driver.ServerConfig{Family: driver.TCP, Dispatch: driver.Sync, Timeout: driver.After(0)})
			Expect(srv.HandleRequest(ReplyBound)).To(HaveReturned())
			Expect(srv.Events()).To(HaveTracedOnce(driver.HookHandleTimeout))
			Expect(waited(srv.Events())).To(BeNumerically("<", slack))
			c := srv.Dial().Send(driver.Echo("ready"))
			Expect(srv.HandleRequest(ReplyBound)).To(HaveReturned())
			Expect(c.ReadReply().Data).To(Equal("ready\n"), "a pending request is served by the poll")
			Expect(srv.Events()).To(HaveTracedOnce(driver.HookHandleTimeout))
		})
	})

	Describe("serve_forever's loop", func() {
		Rule("TMO-05", "serve_forever ignores the timeout and never calls handle_timeout", func(ctx SpecContext) {
			srv := StartServer(ctx, driver.ServerConfig{Family: driver.TCP, Dispatch: driver.Sync, Timeout: driver.After(10 * time.Millisecond)})
			srv.ServeForever(100 * time.Millisecond)
			if TargetInfo().Capabilities.Has(driver.CapServiceActions) {
				srv.WaitForCalls(driver.HookServiceActions, 4) // four iterations
			} else {
				// No iteration to count: four poll intervals go by.
				Consistently(func() int { return driver.Count(srv.Events(), driver.HookHandleTimeout, driver.Call) }).
					WithTimeout(400 * time.Millisecond).Should(BeZero())
			}
			Expect(srv.Shutdown()).To(HaveReturned())
			Expect(srv.Events()).To(HaveNotTraced(driver.HookHandleTimeout))
		})

		Rule("TMO-07", "service_actions runs once per iteration, after a poll timeout and after a request", func(ctx SpecContext) {
			srv := StartServer(ctx, driver.ServerConfig{Family: driver.TCP, Dispatch: driver.Sync})
			srv.ServeForever(100 * time.Millisecond)
			srv.WaitForCalls(driver.HookServiceActions, 3)
			c := srv.Dial().Send(driver.Echo("x"))
			Expect(c.ReadReply().Data).To(Equal("x\n"))
			srv.WaitRequestsDone(1)
			n := driver.Count(srv.Events(), driver.HookServiceActions, driver.Call)
			srv.WaitForCalls(driver.HookServiceActions, n+1)
			Expect(srv.Shutdown()).To(HaveReturned())
			es := OnlyHooks(srv.Events(), driver.HookServiceActions, driver.HookShutdownRequest)
			Expect(es).To(HaveTracedInOrder(driver.HookShutdownRequest, driver.HookServiceActions),
				"an iteration that served a request ends with service_actions")
			// Iterations that served nothing are a poll interval apart: two
			// service_actions calls closer than that, with no request
			// between them, come from one iteration.
			var prev *driver.Event
			for _, e := range OnlyHooks(srv.Events(), driver.HookServiceActions, driver.HookGetRequest) {
				if e.Phase != driver.Call {
					continue
				}
				if e.Hook == driver.HookGetRequest {
					prev = nil
					continue
				}
				if prev != nil {
					Expect(e.Time-prev.Time).To(BeNumerically(">=", 50*time.Millisecond),
						"two service_actions calls %v apart in one idle iteration:\n%s", e.Time-prev.Time, FormatTrace(srv.Events()))
				}
				e := e
				prev = &e
			}
		})
	})

	Describe("the forking server's default", func() {
		Rule("TMO-06", "a forking server's default timeout is 300 s", func(ctx SpecContext) {
			srv := StartServer(ctx, driver.ServerConfig{Family: driver.TCP, Dispatch: driver.Forking})
			Expect(srv.State().Timeout).To(Equal("300"))
		})
	})

	Describe("the stream handler's timeout", func() {
		Rule("TMO-08", "StreamRequestHandler.timeout applies to the connection: a silent client ends in handle_error", func(ctx SpecContext) {
			srv := StartServer(ctx, driver.ServerConfig{Family: driver.TCP, Dispatch: driver.Sync, HandlerTimeout: driver.After(200 * time.Millisecond)})
			c := srv.Dial().Send(driver.Hold())
			Expect(srv.HandleRequest(ReplyBound)).To(HaveReturned())
			Expect(c.ReadLine()).To(Equal("held\n"))
			es := srv.Events()
			Expect(es).To(HaveTracedInOrder(driver.HookHandle, driver.HookHandleError, driver.HookShutdownRequest))
		})
	})
})
