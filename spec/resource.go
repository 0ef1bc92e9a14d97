package spec

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/sockspec/sockspec/spec/driver"
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
	})
})
