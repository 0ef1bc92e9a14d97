// Package goadapter makes a Go implementation of the BaseServer contract a
// sockspec target that runs as a process of its own: it speaks the driver
// protocol (spec/driver/PROTOCOL.md) on standard input and output for any
// driver.Target, so that the author of a Go port writes the Target and
// Session of the port and nothing of the wire.
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
// A program whose main calls Main with the port's target is an adapter:
//
//	func main() {
//		goadapter.Main(&myport.Target{})
//	}
//
// and "sockspec run --target 'process:PROGRAM' --validate-protocol" judges
// it. The example directory holds such a program for the reference
// (adapters/inproc); "sockspec adapter" is the same, with the reference's
// mutants. Serve is Main for a program that owns its standard streams or
// its exit (a subcommand, a test).
//
// # What the port provides
//
// The kit reads commands, runs each on a goroutine of its own, writes the
// replies and forwards the session's trace as events, in order: a reply
// never overtakes the events of the call it answers. What it asks of the
// port is a driver.Target whose Info gives the hello (name, version,
// language, capabilities) and whose Start builds one server a process; the
// Session it returns answers the commands:
//
//   - handle_request, serve_forever, shutdown, server_close, state: the
//     methods of driver.Session. Session.Trace must record every hook the
//     server goes through (driver.Event), since the kit forwards only what
//     it finds there.
//   - exit_context: driver.ContextManager, for the context_manager
//     capability.
//   - signal: driver.Signaller, for the signals capability.
//   - foreign_start, foreign_exit, foreign_reap: driver.ForeignChildren,
//     for the foreign_child capability.
//   - SIGUSR2: Raiser. The kit catches the signal while it serves and
//     calls RaiseInLoop, which must end a running serve_forever with an
//     error (SHD-12); a session without it ignores the signal.
//
// A command the session lacks the interface for is answered with an error
// (the spec is ERROR), so the hello must not claim a capability whose
// interface is missing. The request handler of the port interprets the
// request scripts of driver.Script; adapters/inproc (session.go,
// handler.go) is a complete Target of this kind to copy from.
//
// A forking port whose request children are new runs of the program must
// let them serve before calling Main (inproc.ChildMain does this for the
// reference).
//
// The package imports spec/driver and the standard library only, so that
// a port needs nothing else of sockspec.
package goadapter
