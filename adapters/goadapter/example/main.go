// Command example is a Go port of socketserver made a sockspec target with
// the goadapter kit: the port is package toyserver, a small synchronous
// TCP server written for the example, and this file is all the glue.
//
//	go build -o /tmp/example ./adapters/goadapter/example
//	sockspec run --target process:/tmp/example --validate-protocol
package main

import (
	"net"

	"github.com/sockspec/sockspec/adapters/goadapter"
	"github.com/sockspec/sockspec/adapters/goadapter/example/toyserver"
	"github.com/sockspec/sockspec/spec/driver"
)

func main() {
	goadapter.Main(&goadapter.Port{Name: "toyserver", Version: "0.1",
		Capabilities: driver.Capabilities{driver.CapTCP, driver.CapTrace, driver.CapServiceActions, driver.CapSocketTimeout,
			driver.CapHandlerTimeout, driver.CapAcceptFaults, driver.CapContextManager},
		New: newServer})
}

// newServer builds a toyserver as the harness configures it, its hooks
// traced and its handler the kit's.
func newServer(cfg driver.ServerConfig, h *goadapter.Hooks) (goadapter.Server, error) {
	s := &toyserver.Server{Handler: h.ServeStream, Timeout: cfg.Timeout, SocketTimeout: cfg.SocketTimeout,
		IsFatal: goadapter.IsFatal, BeforeAccept: func() error { return h.Fault("accept") },
		Trace: func(hook, phase string, c net.Conn, err error) { h.Trace(hook, driver.Phase(phase), c, err) }}
	if cfg.VerifyReject {
		s.VerifyRequest = func(net.Conn) bool { return false }
	}
	if cfg.HandleTimeoutResult != "" {
		s.HandleTimeout = func() error { return goadapter.Returned(cfg.HandleTimeoutResult) }
	}
	if cfg.HandleErrorRaises {
		s.HandleError = func(c net.Conn, err error) error {
			toyserver.ReportError(c, err)
			return goadapter.ValueError("handle_error raised, as the configuration asked")
		}
	}
	return s, s.Listen(h.Address())
}
