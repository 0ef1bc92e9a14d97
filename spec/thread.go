package spec

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/sockspec/sockspec/spec/driver"
)

func threading(f driver.Family) driver.ServerConfig {
	return driver.ServerConfig{Family: f, Dispatch: driver.Threading}
}

var _ = Describe("THREAD", func() {
	Describe("a thread per request", func() {
		Rule("THR-01", "process_request starts a thread and returns at once", func(ctx SpecContext) {
			srv := StartServer(ctx, threading(driver.TCP))
			a := holdInChild(srv) // handle_request returned while the handler holds
			c, r := srv.ServeOne(driver.Echo("beside"))
			Expect(r).To(HaveReturned())
			Expect(c.ReadReply().Data).To(Equal("beside\n"), "a second request is served while the first holds")
			a.release()
			Expect(a.ReadReply().Data).To(Equal("released\n"))
		})

		Rule("THR-02", "a request thread calls shutdown_request exactly once, whatever the handler raised", func(ctx SpecContext) {
			cfg := threading(driver.TCP)
			cfg.HandleErrorRaises = true
			srv := StartServer(ctx, cfg)
			for _, s := range []driver.Script{driver.Echo("ok"), driver.Raise(), driver.RaiseFatal()} {
				srv.ServeOne(s)
			}
			allShutDown := !srv.notWithin(StopBound, func(es []driver.Event) bool {
				return driver.Count(es, driver.HookShutdownRequest, driver.Return) >= 3
			})
			Expect(allShutDown).To(BeTrue(), "a request thread ended without shutdown_request; trace:\n%s", FormatTrace(srv.Events()))
			es := srv.Events()
			for _, id := range RequestIDs(OnlyHooks(es, driver.HookGetRequest, driver.HookShutdownRequest)) {
				Expect(RequestEvents(es, id)).To(HaveTracedOnce(driver.HookShutdownRequest), "request %s", id)
			}
			Expect(es).To(HaveTracedOnce(driver.HookHandleError), "only the ordinary exception reaches handle_error")
		})
	})

	Describe("server_close and request threads", func() {
		Rule("THR-03", "server_close joins non-daemon threads with block_on_close, and nothing else", func(ctx SpecContext) {
			srv := StartServer(ctx, threading(driver.TCP))
			expectCloseWaitsFor(srv, holdInChild(srv), "a request thread ran")

			for _, cfg := range []driver.ServerConfig{
				func() driver.ServerConfig { c := threading(driver.TCP); c.DaemonThreads = true; return c }(),
				func() driver.ServerConfig { no := false; c := threading(driver.TCP); c.BlockOnClose = &no; return c }(),
			} {
				srv := StartServer(ctx, cfg)
				b := holdInChild(srv)
				Expect(srv.ServerClose()).To(HaveReturned()) // a HANG when it joins
				b.release()
			}
		})

		Rule("THR-04", "the record of request threads does not grow with the requests served", func(ctx SpecContext) {
			srv := StartServer(ctx, threading(driver.TCP))
			for range 20 {
				c, _ := srv.ServeOne(driver.Echo("x"))
				Expect(c.ReadReply().Data).To(Equal("x\n"))
			}
			srv.WaitRequestsDone(20)
			Expect(srv.State().Threads).To(BeNumerically("<", 10), "threads kept after 20 finished requests")
		})
	})

	Describe("thread start failure", func() {
		Rule("THR-05", "a thread that cannot start goes to handle_error and shutdown_request; server_close still works", func(ctx SpecContext) {
			cfg := threading(driver.TCP)
			cfg.Faults = []driver.Fault{{Op: "thread_start", Errno: "EAGAIN", Nth: 1}}
			srv := StartServer(ctx, cfg)
			expectSpawnFailureHandled(srv)
			Expect(srv.ServerClose()).To(HaveReturned(), "server_close must not trip on the thread that never started")
		})

		Rule("THR-05", "a thread start failing with EAGAIN from a full process table (pids cgroup): handle_error, then server_close works", func(ctx SpecContext) {
			srv := StartServer(ctx, threading(driver.TCP))
			held := srv.Inject(driver.Fault{Op: "pids", Errno: "EAGAIN", Nth: 1, Via: driver.ViaCgroup})
			expectSpawnFailureHandled(srv)
			held.Lift()
			// Straight after the failure: a later request may make a server
			// forget the thread that never started (CPython's _Threads
			// reaps dead threads when it records the next one).
			Expect(srv.ServerClose()).To(HaveReturned(), "server_close must not trip on the thread that never started")
		})
	})

	Describe("handle_error's thread", func() {
		Rule("THR-07", "handle_error runs in the request thread", func(ctx SpecContext) {
			srv := StartServer(ctx, threading(driver.TCP))
			srv.ServeOne(driver.Raise())
			srv.WaitRequestsDone(1)
			es := srv.Events()
			he, _ := FirstCall(es, driver.HookHandleError)
			hd, _ := FirstCall(es, driver.HookHandle)
			gr, _ := FirstCall(es, driver.HookGetRequest)
			if he.Thread == "" {
				NA("the target does not report threads")
			}
			Expect(he.Thread).To(Equal(hd.Thread), "handle_error runs where the handler ran")
			Expect(he.Thread).NotTo(Equal(gr.Thread), "and that is not the serving thread")
		})
	})
})
