package spec

import (
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/sockspec/sockspec/spec/driver"
)

var _ = Describe("HANDLER", func() {
	ForEachServer("the stream handler's files", Streams, []driver.Dispatch{driver.Sync, driver.Threading}, func(m Matrix) {
		Rule("HND-01", "wfile writes everything it is given, at once", func(ctx SpecContext) {
			srv := StartServer(ctx, m.Config())
			big := strings.Repeat("x", 1<<20)
			srv.ServeForever(poll) // the reply is read while the handler writes it
			c := srv.Dial()
			go func() {
				defer GinkgoRecover()
				c.Send(driver.Echo(big))
			}()
			reply := c.ReadReply()
			Expect(reply.EOF).To(BeTrue(), "%v", reply.Err)
			Expect(len(reply.Data)).To(Equal(len(big)+1), "a 1 MiB write must arrive whole")
		})

	})

	ForEachServer("finish", []driver.Family{driver.TCP}, []driver.Dispatch{driver.Sync, driver.Threading}, func(m Matrix) {
		Rule("HND-02", "finish ignores a flush to a client that went away", func(ctx SpecContext) {
			srv := StartServer(ctx, m.Config())
			c := srv.Dial().Send(driver.Echo("gone"))
			c.Close() // the request stays readable; the reply has nobody to go to
			Expect(srv.HandleRequest(ReplyBound)).To(HaveReturned())
			srv.WaitRequestsDone(1)
			Expect(srv.Events()).To(HaveTracedInOrder(driver.HookFinish, driver.HookShutdownRequest))
			Expect(srv.Events()).To(HaveNotTraced(driver.HookHandleError))
		})
	})
})
