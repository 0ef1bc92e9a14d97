package spec

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/sockspec/sockspec/spec/driver"
)

// The EINTR rules deliver signals whose handler returns normally: all they
// do is interrupt the system call the server is blocked in.
var _ = Describe("EINTR", func() {
	Describe("handle_request's deadline", func() {
		Rule("TMO-04", "the deadline holds however many signals interrupt the wait", func(ctx SpecContext) {
			srv := StartServer(ctx, driver.ServerConfig{Family: driver.TCP, Dispatch: driver.Sync, Timeout: driver.After(time.Second)})
			bomber := srv.SignalEvery("SIGALRM", 100*time.Millisecond)
			r := srv.HandleRequest(ReplyBound)
			sent := bomber.Stop()
			Expect(r).To(HaveReturned())
			Expect(sent).To(BeNumerically(">=", 5), "the signals must arrive during the wait")
			Expect(waited(srv.Events())).To(BeNumerically("~", time.Second+slack/2, slack/2+10*time.Millisecond),
				"a 1 s timeout under a signal every 0.1 s")
		})

		Rule("TMO-04", "the deadline holds when strace fails the wait with EINTR, each after 0.1 s", func(ctx SpecContext) {
			srv := StartServer(ctx, driver.ServerConfig{Family: driver.TCP, Dispatch: driver.Sync, Timeout: driver.After(time.Second)})
			srv.Inject(driver.Fault{Op: "wait", Errno: "EINTR", Nth: 1, Count: 10, Delay: 100 * time.Millisecond, Via: driver.ViaStrace})
			// Timed from the harness: a runtime whose every wait is slowed
			// (Go's netpoller) reports its hook calls late, but the call
			// returns when the deadline says.
			begun := time.Now()
			r := srv.HandleRequest(ReplyBound)
			took := time.Since(begun)
			Expect(r).To(HaveReturned())
			Expect(len(srv.FaultFirings())).To(BeNumerically(">=", 5), "the injected interruptions must come during the wait")
			Expect(took).To(BeNumerically("~", time.Second+slack/2, slack/2+10*time.Millisecond),
				"a 1 s timeout whose wait fails with EINTR every 0.1 s")
		})
	})

	Describe("serve_forever under signals", func() {
		Rule("EIN-04", "signals whose handler returns are invisible to serve_forever", func(ctx SpecContext) {
			srv := StartServer(ctx, driver.ServerConfig{Family: driver.TCP, Dispatch: driver.Sync})
			// A poll fifty signals long: a loop that restarts its wait at
			// every signal never sees the end of one.
			srv.ServeForever(time.Second)
			// SIGALRM rather than SIGUSR1: with the target in the harness's
			// own process, Ginkgo answers SIGUSR1 with a progress report.
			bomber := srv.SignalEvery("SIGALRM", 20*time.Millisecond)
			for _, text := range []string{"a", "b", "c"} {
				// Some signals land while the loop waits, before each request.
				n := bomber.Sent()
				Eventually(bomber.Sent).WithTimeout(ReplyBound).Should(BeNumerically(">=", n+3))
				c := srv.Dial().Send(driver.Echo(text))
				Expect(c.ReadReply().Data).To(Equal(text + "\n"))
			}
			// The loop must be back in its wait, and signalled there, before
			// shutdown: one asked while the last request still ends is seen
			// at the loop's next check, with no wait to restart.
			srv.WaitForReturns(driver.HookProcessRequest, 3)
			n := bomber.Sent()
			Eventually(bomber.Sent).WithTimeout(ReplyBound).Should(BeNumerically(">=", n+5))
			Expect(srv.Shutdown()).To(HaveReturned())
			bomber.Stop()
			rets := ReturnsOf(srv.Events(), driver.HookServeForever)
			Expect(rets).To(HaveLen(1))
			Expect(rets[0].Exception).To(BeNil(), "serve_forever must not raise because of a signal")
			Expect(srv.Events()).To(HaveNotTraced(driver.HookHandleError))
		})

		Rule("EIN-04", "EINTR injected into the serving loop's wait (strace) changes nothing", func(ctx SpecContext) {
			const interruptions = 20
			srv := StartServer(ctx, driver.ServerConfig{Family: driver.TCP, Dispatch: driver.Sync})
			srv.ServeForever(poll)
			held := srv.Inject(driver.Fault{Op: "wait", Errno: "EINTR", Nth: 1, Count: interruptions, Via: driver.ViaStrace})
			for _, text := range []string{"a", "b", "c"} {
				expectServed(srv, text)
			}
			srv.WaitForFirings(interruptions)
			held.Lift()
			expectServed(srv, "d")
			if srv.traced {
				Expect(srv.Shutdown()).To(HaveReturned())
				rets := ReturnsOf(srv.Events(), driver.HookServeForever)
				Expect(rets).To(HaveLen(1))
				Expect(rets[0].Exception).To(BeNil(), "serve_forever must not raise because its wait was interrupted")
				Expect(srv.Events()).To(HaveNotTraced(driver.HookHandleError))
			}
		})
	})
})
