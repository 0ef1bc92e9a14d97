package spec

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/sockspec/sockspec/spec/driver"
)

// exhaustWindow is how long a resource fault holds before the spec
// measures and lifts it; spinShare is the share of a core above which a
// server waiting on a full descriptor table counts as spinning (a loop that
// polls again at once takes nearly a whole core).
const (
	exhaustWindow = time.Second
	spinShare     = 0.5
)

var _ = Describe("RESOURCE", func() {
	ForEachServer("descriptor exhaustion on accept", Streams, []driver.Dispatch{driver.Sync}, func(m Matrix) {
		Rule("RES-01", "EMFILE on accept backs off instead of spinning, and the pending request is served after", func(ctx SpecContext) {
			const failures = 8
			cfg := m.Config()
			cfg.Faults = []driver.Fault{{Op: "accept", Errno: "EMFILE", Nth: 1, Count: failures}}
			srv := StartServer(ctx, cfg)
			srv.ServeForever(poll)
			c := srv.Dial().Send(driver.Echo("after"))
			Expect(c.Read(3*ReplyBound).Data).To(Equal("after\n"), "the pending request must be served once accept works again")
			// Each failure is a get_request that returned an error; the
			// events of an adapter process may trail the reply.
			srv.WaitForReturns(driver.HookGetRequest, failures+1)
			es := srv.Events()
			Expect(es).To(HaveNotTraced(driver.HookHandleError))
			gets := ReturnsOf(es, driver.HookGetRequest)
			// A loop that retries at once burns through the failures in
			// microseconds; one that backs off spreads them out.
			spread := gets[failures].Time - gets[0].Time
			Expect(spread).To(BeNumerically(">=", 100*time.Millisecond),
				"%d failed accepts within %v: the loop spins on EMFILE", failures, spread)
		})

		Rule("RES-01", "ENFILE injected into accept (strace) backs off, and the pending request is served after", func(ctx SpecContext) {
			const failures = 8
			srv := StartServer(ctx, m.Config())
			srv.ServeForever(poll)
			expectServed(srv, "before")
			held := srv.Inject(driver.Fault{Op: "accept", Errno: "ENFILE", Nth: 1, Count: failures, Via: driver.ViaStrace})
			c := srv.Dial().Send(driver.Echo("after"))
			srv.WaitForFirings(failures)
			Expect(c.Read(3*ReplyBound).Data).To(Equal("after\n"), "the pending request must be served once accept works again")
			held.Lift()
			fired := srv.FaultFirings()
			spread := fired[failures-1].Time - fired[0].Time
			if srv.traced {
				Expect(srv.Events()).To(HaveNotTraced(driver.HookHandleError))
			}
			Expect(spread).To(BeNumerically(">=", 100*time.Millisecond),
				"%d failed accepts within %v: the loop spins on ENFILE", failures, spread)
		})

		Rule("RES-01", "with its descriptor table full (RLIMIT_NOFILE), the server idles instead of spinning, and serves the pending request once descriptors are free", func(ctx SpecContext) {
			srv := StartServer(ctx, m.Config())
			srv.ServeForever(poll)
			idle := srv.Inspect()
			expectServed(srv, "before")
			// The limit is set at the descriptors held: the connection
			// served before must be closed first, or its number frees up
			// under the limit and the next accept gets it.
			Eventually(func() int { return srv.inspectQuietly().FDs }).WithTimeout(ReplyBound).WithPolling(10*time.Millisecond).
				Should(BeNumerically("<=", idle.FDs), "the server kept the descriptor of a request it served")
			held := srv.Inject(driver.Fault{Op: "nofile", Errno: "EMFILE", Nth: 1, Via: driver.ViaRlimit})
			c := srv.Dial().Send(driver.Echo("after"))
			before := srv.Inspect()
			// The exhaustion window: nothing can be served in it, and the
			// CPU the server burns in it is the measure of a spin.
			early := c.Read(exhaustWindow)
			after := srv.Inspect()
			held.Lift()
			Expect(early.Data).To(BeEmpty(), "a request was served while the server could open no descriptor: the fault did not hold")
			Expect(c.Read(3*ReplyBound).Data).To(Equal("after\n"), "the pending request must be served once descriptors are free")
			share := cpuWanted(before, after)
			note("proc", fmt.Sprintf("CPU wanted while exhausted: %.0f%% of a core over %v", 100*share, (after.Age-before.Age).Round(time.Millisecond)))
			Expect(share).To(BeNumerically("<", spinShare),
				"the server wanted %.0f%% of a core (on a CPU or queued for one) while its descriptor table was full: it spins on EMFILE", 100*share)
		})
	})
})
