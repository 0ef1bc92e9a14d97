package main

import (
	"context"
	"errors"
	"fmt"
)

// serveCommand runs the reference implementation as a plain server, for
// demos, benchmarks and out-of-process experiments.
var serveCommand = command{
	name:    "serve",
	summary: "run the reference server as a plain echo or upper-casing server",
	usage:   serveUsage,
	run:     runServe,
}

const serveUsage = `Usage: sockspec serve [flags]

Runs the reference implementation (package impl) as a plain server.
A stream request (tcp, unix) is one line: the server reads it, writes the
transformed line back and half-closes the connection. A datagram request
(udp, unixgram) is answered with one transformed datagram; a unixgram
client must bind its own socket path to get a reply.

The first line on standard output is the bound address (host:port, or the
socket path), written as soon as the socket is bound; nothing comes before
it. SIGINT or SIGTERM stops the server: the serving loop is shut down, the
socket closed (a unix socket file is removed), requests in progress are
finished and request children reaped, then the exit status is 0. A second
SIGINT or SIGTERM stops at once, killing request children (exit status 1).

Flags:
  --mode sync|threading|forking
        how a request is dispatched: on the serving loop, on a goroutine
        of its own, or in a child process of its own (default sync)
  --family tcp|udp|unix|unixgram
        the socket family (default tcp)
  --addr ADDR
        host:port for tcp and udp (default 127.0.0.1:0, a free port);
        a socket path for unix and unixgram, required, at most 107 bytes
  --handler echo|upper
        echo sends the request back unchanged, upper in upper case
        (default echo)
  --poll-interval D
        the longest wait of one serve_forever iteration, a duration above
        zero such as 500ms (default 0.5s)
  --timeout D
        per-operation timeout of the stream handler: a client that sends
        nothing (or reads nothing) for D is dropped and the failure is
        reported on standard error by handle_error. 0, the default, waits
        without limit; in sync mode a silent client then holds up every
        other one. No effect on udp and unixgram.

Exit status: 0 after a signal, 1 when the server cannot bind or stops by
itself, 2 for bad flags.
`

// runServe is the serve subcommand: parse, then serve until a signal.
func runServe(ctx context.Context, e env) int {
	cfg, err := parseServeFlags(e.Args)
	switch {
	case errors.Is(err, errHelp):
		fmt.Fprint(e.Stdout, serveUsage)
		return 0
	case err != nil:
		fmt.Fprintf(e.Stderr, "sockspec serve: %v\n", err)
		return 2
	}
	if err := serve(ctx, cfg, e.Stdout, e.Stderr, e.Again); err != nil {
		fmt.Fprintf(e.Stderr, "sockspec serve: %v\n", err)
		return 1
	}
	return 0
}
