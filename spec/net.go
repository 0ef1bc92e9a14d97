package spec

import (
	"context"
	"errors"
	"net"
	"os"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/sockspec/sockspec/internal/procfs"
	"github.com/sockspec/sockspec/spec/driver"
)

func syncServer(f driver.Family) driver.ServerConfig {
	return driver.ServerConfig{Family: f, Dispatch: driver.Sync}
}

var _ = Describe("NET", func() {
	Describe("binding", func() {
		Rule("NET-01", "a failed bind is reported and leaves the address free", func(ctx SpecContext) {
			a := StartServer(ctx, syncServer(driver.TCP))
			cfg := syncServer(driver.TCP)
			cfg.Address = a.Address()
			Expect(StartServerErr(ctx, cfg)).To(HaveOccurred(), "binding an address in use must fail")
			Expect(a.ServerClose()).To(HaveReturned())
			cfg.AllowReuseAddress = true
			again := StartServer(ctx, cfg)
			Expect(again.Address()).To(Equal(a.Address()))
		})

		ForEachServer("the bound address", []driver.Family{driver.TCP, driver.UDP}, []driver.Dispatch{driver.Sync}, func(m Matrix) {
			Rule("NET-02", "server_address is the bound address, port 0 resolved", func(ctx SpecContext) {
				srv := StartServer(ctx, m.Config())
				host, port, err := net.SplitHostPort(srv.Address())
				Expect(err).NotTo(HaveOccurred())
				Expect(host).To(Equal("127.0.0.1"))
				Expect(port).NotTo(Equal("0"))
			})
		})

		Rule("NET-03", "without allow_reuse_address a port in TIME_WAIT cannot be bound again; with it, it can", func(ctx SpecContext) {
			for _, allow := range []bool{false, true} {
				cfg := syncServer(driver.TCP)
				cfg.AllowReuseAddress = allow
				srv := StartServer(ctx, cfg)
				addr := srv.Address()
				c, _ := srv.ServeOne(driver.Echo("x"))
				Expect(c.ReadReply().EOF).To(BeTrue())
				c.Close() // the server closed first: its side waits in TIME_WAIT
				srv.WaitRequestsDone(1)
				pid := srv.netnsPID()
				Expect(srv.ServerClose()).To(HaveReturned())
				if !inTimeWait(pid, addr) {
					NA("the kernel kept no TIME_WAIT socket for " + addr)
				}
				cfg.Address = addr
				err := StartServerErr(ctx, cfg)
				if allow {
					Expect(err).NotTo(HaveOccurred(), "with allow_reuse_address the port in TIME_WAIT must be bound again")
				} else {
					Expect(err).To(HaveOccurred(), "without allow_reuse_address a port in TIME_WAIT must not be bound again")
				}
			}
		})

		Rule("NET-04", "with allow_reuse_port two servers bind the same port", func(ctx SpecContext) {
			cfg := syncServer(driver.TCP)
			cfg.AllowReusePort = true
			a := StartServer(ctx, cfg)
			cfg.Address = a.Address()
			Expect(StartServerErr(ctx, cfg)).NotTo(HaveOccurred())
		})

		Rule("NET-12", "with bind_and_activate false nothing is bound until server_bind", func(ctx SpecContext) {
			no := false
			cfg := syncServer(driver.TCP)
			cfg.BindAndActivate = &no
			cfg.Timeout = driver.After(0)
			srv := StartServer(ctx, cfg)
			Expect(srv.Events()).To(HaveNotTraced(driver.HookServerBind))
			// The session binds and activates before its first command.
			Expect(srv.HandleRequest(ReplyBound)).To(HaveReturned())
			Expect(srv.Events()).To(HaveTracedInOrder(driver.HookServerBind, driver.HookServerActivate, driver.HookHandleRequest))
		})
	})

	Describe("the listen backlog", func() {
		Rule("NET-05", "server_activate listens with request_queue_size", func(ctx SpecContext) {
			srv := StartServer(ctx, syncServer(driver.TCP))
			// Nobody accepts: the kernel completes handshakes only while the
			// accept queue (request_queue_size + 1 on Linux) has room.
			connected := 0
			for range 12 {
				// The session's own dial: it reaches a server in another
				// network namespace (a container) too, and goes around the
				// run's simulated network, whose proxy would accept for it.
				dctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
				conn, err := srv.Session.Dial(dctx, false)
				cancel()
				if err != nil {
					continue
				}
				DeferCleanup(conn.Close)
				connected++
			}
			Expect(connected).To(BeNumerically(">=", 5))
			Expect(connected).To(BeNumerically("<=", 7), "a backlog of 5 admits about 6 connections, not %d", connected)
		})
	})

	ForEachServer("datagram servers", Datagrams, []driver.Dispatch{driver.Sync}, func(m Matrix) {
		Rule("NET-07", "a datagram longer than max_packet_size is truncated to it", func(ctx SpecContext) {
			srv := StartServer(ctx, m.Config())
			c := srv.Dial()
			c.Write(append(driver.Size().Line(), make([]byte, 10000)...))
			Expect(srv.HandleRequest(ReplyBound)).To(HaveReturned())
			Expect(c.ReadReply().Data).To(Equal("8192\n"))
		})

		Rule("NET-08", "the datagram reply is sent even when the handler raises", func(ctx SpecContext) {
			srv := StartServer(ctx, m.Config())
			c, _ := srv.ServeOne(driver.Echo("partial").Then(driver.Raise()))
			reply := c.ReadReply()
			Expect(reply.EOF).To(BeTrue(), "a datagram must come back: %v", reply.Err)
			Expect(reply.Data).To(Equal("partial\n"))
		})
	})

	ForEachServer("Unix socket files", []driver.Family{driver.UnixStream, driver.UnixDgram}, []driver.Dispatch{driver.Sync}, func(m Matrix) {
		Rule("NET-10", "server_close removes the socket file the server created", func(ctx SpecContext) {
			srv := StartServer(ctx, m.Config())
			path := srv.Address()
			Expect(path).To(BeAnExistingFile())
			Expect(srv.ServerClose()).To(HaveReturned())
			_, err := os.Stat(path)
			Expect(errors.Is(err, os.ErrNotExist)).To(BeTrue(), "the socket file %s is left behind", path)
		})
	})

	Describe("unbound Unix datagram clients", func() {
		Rule("NET-11", "a reply to a client without an address fails into handle_error", func(ctx SpecContext) {
			srv := StartServer(ctx, syncServer(driver.UnixDgram))
			if srv.front != nil {
				NA("through a simulated network the server's peer is the proxy's socket, which has an address")
			}
			srv.DialUnbound().Send(driver.Echo("x"))
			Expect(srv.HandleRequest(ReplyBound)).To(HaveReturned())
			srv.WaitRequestsDone(1)
			Expect(srv.Events()).To(HaveTracedInOrder(driver.HookFinish, driver.HookHandleError))
		})
	})
})

// netnsPID is a process in the server's network namespace, whose
// /proc/PID/net shows the server's sockets: the server process where the
// session can be inspected from outside (a process, a container), else
// the harness itself (a target in this process).
func (s *Server) netnsPID() int {
	if in, ok := s.Session.(driver.Inspector); ok {
		if h, err := in.Inspect(s.ctx); err == nil && h.PID > 0 {
			return h.PID
		}
	}
	return 0
}

// inTimeWait tells whether a TCP socket bound to addr's port waits in
// TIME_WAIT in the network namespace of process pid (0: the harness's),
// whatever process owned it.
func inTimeWait(pid int, addr string) bool {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	socks, err := procfs.InetSocketsOf(pid, "tcp")
	if err != nil {
		return false
	}
	var p int
	for _, ch := range port {
		p = p*10 + int(ch-'0')
	}
	for _, s := range socks {
		if int(s.LocalPort) == p&0xFFFF && s.State == procfs.TCPTimeWait {
			return true
		}
	}
	return false
}
