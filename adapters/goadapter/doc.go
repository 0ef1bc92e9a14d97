// Package goadapter makes a Go implementation of the BaseServer contract a
// sockspec target that runs as a process of its own: it speaks the driver
// protocol (spec/driver/PROTOCOL.md) on standard input and output, and it
// supplies everything of the target that is not the port itself, so that
// the author of a Go port of socketserver writes a few lines of glue.
//
// Why a process of its own, when a Go target could run inside the harness
// (as adapters/inproc does)? Because the faults that come from outside
// (strace, RLIMIT_NOFILE, a pids cgroup), the signals the harness sends
// straight to the server's threads and the /proc hygiene oracle all need
// the server to be a process the harness started: a port that runs as an
// adapter is judged by every rule, as CPython is.
//
// # Using it
//
// A port is a Port: its hello (name, version, capabilities) and New, the
// constructor of one server for a driver.ServerConfig. A program whose
// main calls Main with it is an adapter:
//
//	func main() {
//		goadapter.Main(&goadapter.Port{Name: "myport", Version: "1.0",
//			Capabilities: driver.Capabilities{driver.CapTCP, driver.CapTrace},
//			New: newServer})
//	}
//
// and "sockspec run --target 'process:PROGRAM' --validate-protocol" judges
// it. The example directory is such a program: toyserver, a small
// synchronous TCP server written for it, and main.go, its glue. Serve is
// Main for a program that owns its standard streams or its exit (a
// subcommand, a test).
//
// # What the port writes
//
// New builds, binds and activates a server at Hooks.Address (when the
// configuration defers the bind, the kit calls New later) and returns it
// as a Server: Address, HandleRequest, ServeForever, Shutdown and
// ServerClose, the BaseServer methods the harness calls. The kit calls
// them on goroutines of its own, traces them (handle_request,
// serve_forever, shutdown, server_close) and bounds them. The glue hands
// the server three things from the Hooks:
//
//   - Trace (or Around), called at the call and the return of every hook
//     beneath those methods: server_bind, server_activate, get_request,
//     verify_request, process_request, finish_request, shutdown_request,
//     close_request, handle_error, handle_timeout (and service_actions,
//     collect_children where it has them). The kit makes driver.Events of
//     them: it numbers them, names the request by the object the port
//     passes (its net.Conn), takes the client address from it and
//     classifies errors (Exception, IsFatal, Returned).
//   - ServeStream (or ServeDatagram) as the request handler that
//     finish_request runs: it reads the request script (driver.Script),
//     carries it out and traces setup, handle and finish.
//   - Fault("accept"), where get_request accepts, for the configured
//     faults (the fault.accept capability).
//
// The glue also maps what the configuration overrides in the server's
// hooks: VerifyReject (verify_request returns false), HandleTimeoutResult
// (handle_timeout returns Returned(value), which HandleRequest returns)
// and HandleErrorRaises (handle_error reports, then returns an error such
// as ValueError). The example's main.go does all of this in a dozen lines.
//
// # What the kit supplies
//
// The hello, from the Port's fields, and N/A (driver.UnsupportedError) for
// a family or dispatch it does not list; the address to bind (a loopback
// port, or a fresh socket path); calls bounded by the harness's context;
// serve_forever on a goroutine of its own, whose return is traced when the
// port's ServeForever returns; shutdown's wait for that return, so that
// the trace shows the loop ended before shutdown returned; exit_context as
// server_close (driver.ContextManager); state (serving, closed, the
// configured timeout; a Stater adds what only the port knows); Dial; and
// Close, which ends the calls' context, closes the server and waits for
// its goroutines.
//
// SIGUSR2 is caught while the kit serves, and its raising handler ends a
// running ServeForever: the loop's context is cancelled with
// ErrSignalRaised as the cause (SHD-12). ServeForever and HandleRequest
// must therefore return when their context ends.
//
// A threading port lists the threading capability and serves its
// requests on goroutines of its own. The kit serves no request in a child
// process, whose trace it could not collect: a forking port, signals and
// foreign children need a driver.Target of the port's own, which Serve
// and Main take as well.
// Its Session then answers the commands: the methods of driver.Session;
// driver.ContextManager for exit_context; driver.Signaller for signal;
// driver.ForeignChildren for foreign_start, foreign_exit and
// foreign_reap; Raiser for SIGUSR2. A command the session lacks the
// interface for is answered with an error (the spec is ERROR), so the
// hello must not claim a capability whose interface is missing.
// adapters/inproc is a complete Target of this kind, run by "sockspec
// adapter".
//
// The package imports spec/driver and the standard library only, so that
// a port needs nothing else of sockspec.
package goadapter
