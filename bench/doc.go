// Package bench measures connection-per-request echo throughput of the
// reference server (impl) against a bare goroutine-per-connection Go server
// and against CPython 3.11's own socketserver, for the throughput budgets in
// Goals.
//
// One request is one TCP connection: dial, write one line, read the reply
// until EOF (every server half-closes after replying), close. Because the
// server closes first, TIME_WAIT is held by the server's side of each
// connection and the client's ephemeral ports are released at once; this is
// what lets hundreds of thousands of connections run back to back on
// loopback without exhausting the port range.
//
// Servers are measured in interleaved rounds (round 1 of every server, then
// round 2, …) so that slow drifts of the machine (thermal state, background
// load, the TIME_WAIT population) spread over all servers instead of
// penalising the last one, and the median of the rounds is reported.
//
// The Go servers run in the benchmarking process, on the same GOMAXPROCS as
// the client goroutines; the CPython servers run in a child process. On a
// small machine clients and servers compete for the same cores, so the
// numbers are ratios within one invocation, not absolute capacities.
//
// Programs that use this package must call impl.ChildMain first thing in
// main (and in TestMain): the ref-forking server re-executes the running
// binary for every request, and the child finds its recipe, registered by
// this package's init, there.
package bench
