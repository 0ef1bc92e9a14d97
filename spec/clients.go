package spec

import (
	"net"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/sockspec/sockspec/spec/driver"
)

// Hostile clients: what one misbehaving client may not do to the others.
var _ = Describe("HOSTILE CLIENTS", func() {
	ForEachServer("a client that connects and never sends", Streams, []driver.Dispatch{driver.Threading, driver.Forking}, func(m Matrix) {
		Rule("NET-13", "a silent client does not stop a threading or forking server from serving others", func(ctx SpecContext) {
			srv := StartServer(ctx, m.Config())
			srv.ServeForever(poll)
			silent := srv.Dial() // sends nothing: its handler waits for a line
			srv.WaitForCalls(driver.HookProcessRequest, 1)
			b := srv.Dial().Send(driver.Echo("b"))
			Expect(b.Read(StopBound).Data).To(Equal("b\n"), "the server must serve others while a client is silent")
			silent.Close()
		})
	})

	ForEachServer("a client that resets in mid-request", Streams, nil, func(m Matrix) {
		Rule("NET-14", "a client reset in mid-request does not stop the server", func(ctx SpecContext) {
			srv := StartServer(ctx, m.Config())
			srv.ServeForever(poll)
			a := srv.Dial()
			a.Write([]byte("echo cut sh")) // no newline: the request is not over
			resetConn(a.Conn())
			srv.WaitForCalls(driver.HookProcessRequest, 1)
			b := srv.Dial().Send(driver.Echo("b"))
			Expect(b.ReadReply().Data).To(Equal("b\n"), "the next client must be served after a reset")
			Expect(ReturnsOf(srv.Events(), driver.HookServeForever)).To(BeEmpty(),
				"serve_forever ended because a client reset its connection; trace:\n%s", FormatTrace(srv.Events()))
			Expect(srv.Shutdown()).To(HaveReturned())
		})
	})
})

// resetConn closes c with an RST instead of a FIN: SO_LINGER with a zero
// timeout. A Unix stream socket has no RST; closing it is the nearest.
func resetConn(c net.Conn) {
	GinkgoHelper()
	if tc, ok := c.(*net.TCPConn); ok {
		Expect(tc.SetLinger(0)).To(Succeed())
	}
	c.Close()
}
