package spec

import (
	"errors"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/sockspec/sockspec/spec/driver"
)

// The request pipeline (ORD): the order of the steps of one request, and
// what each failure path calls.
var _ = Describe("ORDER", func() {
	ForEachServer("the pipeline", nil, nil, func(m Matrix) {
		Rule("ORD-01", "handle_request runs get_request … close_request in order", func(ctx SpecContext) {
			srv := StartServer(ctx, m.Config())
			c, r := srv.ServeOne(driver.Echo("hi"))
			Expect(r).To(HaveReturned())
			Expect(c.ReadReply().Data).To(Equal("hi\n"))
			srv.WaitRequestsDone(1)
			Expect(srv.Events()).To(HaveTracedInOrder(driver.HookHandleRequest, driver.HookGetRequest, driver.HookVerifyRequest,
				driver.HookProcessRequest, driver.HookFinishRequest, driver.HookSetup, driver.HookHandle, driver.HookFinish,
				driver.HookShutdownRequest, driver.HookCloseRequest))
		})

		Rule("ORD-03", "verify_request false: shutdown_request only", func(ctx SpecContext) {
			cfg := m.Config()
			cfg.VerifyReject = true
			srv := StartServer(ctx, cfg)
			c, r := srv.ServeOne(driver.Echo("hi"))
			Expect(r).To(HaveReturned())
			srv.WaitRequestsDone(1)
			es := srv.Events()
			Expect(es).To(HaveTracedInOrder(driver.HookGetRequest, driver.HookVerifyRequest, driver.HookShutdownRequest))
			Expect(es).To(HaveNotTraced(driver.HookProcessRequest))
			Expect(es).To(HaveNotTraced(driver.HookHandleError))
			Expect(es).To(HaveTracedOnce(driver.HookShutdownRequest))
			if !m.Family.IsDatagram() {
				// The request was never read, so closing it may reset the
				// connection (AF_UNIX does): either way it ends, empty.
				reply := c.ReadReply()
				Expect(reply.EOF || errors.Is(reply.Err, syscall.ECONNRESET)).To(BeTrue(), "the connection must end: %v", reply.Err)
				Expect(reply.Data).To(BeEmpty())
			}
		})

		Rule("ORD-05", "a handler exception: handle_error, then shutdown_request", func(ctx SpecContext) {
			srv := StartServer(ctx, m.Config())
			_, r := srv.ServeOne(driver.Raise())
			Expect(r).To(HaveReturned(), "handle_request must return normally after handle_error")
			srv.WaitRequestsDone(1)
			es := srv.Events()
			Expect(es).To(HaveTracedInOrder(driver.HookHandle, driver.HookFinish, driver.HookHandleError, driver.HookShutdownRequest))
			Expect(es).To(HaveTracedOnce(driver.HookHandleError))
			call, _ := FirstCall(es, driver.HookHandleError)
			Expect(call.Request).NotTo(BeEmpty(), "handle_error must be called with the failed request")
		})

		Rule("ORD-06", "a fatal exception: shutdown_request, no handle_error", func(ctx SpecContext) {
			srv := StartServer(ctx, m.Config())
			_, r := srv.ServeOne(driver.RaiseFatal())
			if m.Dispatch == driver.Sync {
				Expect(r).To(HaveRaised(driver.Fatal), "SystemExit must leave handle_request")
			}
			srv.WaitRequestsDone(1)
			es := srv.Events()
			Expect(es).To(HaveNotTraced(driver.HookHandleError))
			Expect(es).To(HaveTracedInOrder(driver.HookHandle, driver.HookShutdownRequest))
		})

		Rule("ORD-07", "shutdown_request exactly once per request on every path", func(ctx SpecContext) {
			srv := StartServer(ctx, m.Config())
			scripts := []driver.Script{driver.Echo("a"), driver.Raise(), driver.SetupRaise(), driver.Echo("b")}
			for _, s := range scripts {
				srv.ServeOne(s)
			}
			srv.WaitRequestsDone(len(scripts))
			es := srv.Events()
			ids := RequestIDs(OnlyHooks(es, driver.HookShutdownRequest))
			Expect(ids).To(HaveLen(len(scripts)), "one shutdown_request per request")
			for _, id := range ids {
				Expect(RequestEvents(es, id)).To(HaveTracedOnce(driver.HookShutdownRequest), "request %s", id)
			}
		})

		Rule("ORD-08", "setup raising skips handle and finish; handle raising still runs finish", func(ctx SpecContext) {
			srv := StartServer(ctx, m.Config())
			srv.ServeOne(driver.SetupRaise())
			srv.WaitRequestsDone(1)
			es := srv.Events()
			Expect(es).To(HaveTracedInOrder(driver.HookSetup, driver.HookHandleError))
			Expect(es).To(HaveNotTraced(driver.HookHandle))
			Expect(es).To(HaveNotTraced(driver.HookFinish))

			srv.ServeOne(driver.Raise())
			srv.WaitRequestsDone(2)
			second := RequestIDs(OnlyHooks(srv.Events(), driver.HookShutdownRequest))
			Expect(second).To(HaveLen(2))
			Expect(RequestEvents(srv.Events(), second[1])).To(HaveTracedInOrder(driver.HookSetup, driver.HookHandle, driver.HookFinish, driver.HookHandleError))
		})
	})

	ForEachServer("stream servers", Streams, nil, func(m Matrix) {
		Rule("ORD-02", "shutdown_request shuts the connection down, then close_request closes it", func(ctx SpecContext) {
			srv := StartServer(ctx, m.Config())
			c, _ := srv.ServeOne(driver.Echo("hi"))
			reply := c.ReadReply()
			Expect(reply.EOF).To(BeTrue(), "the client must see EOF while its own side is open: %v", reply.Err)
			Expect(reply.Data).To(Equal("hi\n"))
			srv.WaitRequestsDone(1)
			Expect(srv.Events()).To(HaveTracedInOrder(driver.HookShutdownRequest, driver.HookCloseRequest))
		})
	})

	ForEachServer("get_request failures", nil, []driver.Dispatch{driver.Sync}, func(m Matrix) {
		Rule("ORD-04", "an OSError from get_request: handle_request returns silently", func(ctx SpecContext) {
			cfg := m.Config()
			op := "accept"
			if m.Family.IsDatagram() {
				op = "recvfrom"
			}
			cfg.Faults = []driver.Fault{{Op: op, Errno: "ECONNABORTED", Nth: 1}}
			srv := StartServer(ctx, cfg)
			c, r := srv.ServeOne(driver.Echo("later"))
			Expect(r).To(HaveReturned())
			es := srv.Events()
			Expect(es).To(HaveTracedOnce(driver.HookGetRequest))
			for _, h := range []string{driver.HookVerifyRequest, driver.HookHandleError, driver.HookShutdownRequest, driver.HookHandleTimeout} {
				Expect(es).To(HaveNotTraced(h))
			}
			// The request was not taken: the next handle_request serves it.
			Expect(srv.HandleRequest(ReplyBound)).To(HaveReturned())
			Expect(c.ReadReply().Data).To(Equal("later\n"))
		})
	})

	Describe("handle_timeout's result", func() {
		Rule("ORD-09", "handle_request returns what handle_timeout returns", func(ctx SpecContext) {
			srv := StartServer(ctx, driver.ServerConfig{Family: driver.TCP, Dispatch: driver.Sync,
				Timeout: driver.After(0), HandleTimeoutResult: "42"})
			r := srv.HandleRequest(ReplyBound)
			Expect(r).To(HaveReturned())
			Expect(r.Value).To(Equal("42"))
		})
	})

	ForEachServer("client addresses", []driver.Family{driver.TCP, driver.UDP, driver.UnixDgram}, []driver.Dispatch{driver.Sync}, func(m Matrix) {
		Rule("ORD-10", "client_address is the peer's address", func(ctx SpecContext) {
			srv := StartServer(ctx, m.Config())
			c, _ := srv.ServeOne(driver.Echo("hi"))
			Expect(c.ReadReply().Data).To(Equal("hi\n"))
			srv.WaitRequestsDone(1)
			call, ok := FirstCall(srv.Events(), driver.HookVerifyRequest)
			Expect(ok).To(BeTrue())
			Expect(call.Client).To(Equal(c.SeenAs()))
		})
	})
})

// quick is the bound of a wait that must end at once.
const quick = time.Second
