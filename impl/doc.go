// Package impl is the reference implementation of the BaseServer contract of
// Python's socketserver module, written as an ordinary Go library.
//
// A Server runs the same pipeline, in the same order, as CPython's BaseServer:
//
//	get_request → verify_request → process_request → finish_request
//	  (handler: setup → handle → finish) → shutdown_request → close_request
//
// with handle_timeout, handle_error, serve_forever and service_actions, for TCP,
// UDP, Unix stream and Unix datagram sockets, and with three ways to dispatch a
// request: synchronously, on a goroutine per request (ThreadingMixIn), or in a
// real child process per request (ForkingMixIn).
//
// Where CPython's behaviour is a known defect, the reference does better, and
// the difference is a SHOULD rule of the specification:
//
//   - Shutdown never deadlocks: called from the serving goroutine it requests
//     the stop and returns ErrShutdownFromServingGoroutine; called when no
//     ServeForever runs it returns at once and leaves no stale flag behind.
//   - Shutdown wakes the serving loop at once instead of waiting up to the
//     poll interval.
//   - Accept failures such as EMFILE back off instead of spinning.
//   - ServerClose while ServeForever runs stops the loop.
//   - MaxChildren holds on every path and only the server's own children are
//     ever waited for.
//
// Every step can be replaced through Overrides (the analogue of overriding a
// method in a subclass) and observed through ServerTrace. Comments name the
// rule of the catalogue that a piece of behaviour implements (ORD-03, TMO-04…).
//
// Programs that use the forking dispatch must call ChildMain early in main (and
// in TestMain), because a request child is a fresh run of the same executable.
package impl
