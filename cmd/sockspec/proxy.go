package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"

	"github.com/sockspec/sockspec/netsim"
	"github.com/sockspec/sockspec/netsim/proxy"
)

// proxyCommand forwards a socket through a simulated link in real time.
var proxyCommand = command{
	name:    "proxy",
	summary: "forward to an upstream through a simulated network (latency, loss, resets…)",
	usage:   proxyUsage,
	run:     runProxy,
}

const proxyUsage = `Usage: sockspec proxy --listen ADDR --upstream ADDR --network PROFILE|FILE
                      [--family tcp|udp|unix|unixgram] [--seed N] [--events]

Listens on --listen, forwards every connection (tcp, unix) or every client's
datagrams (udp, unixgram) to --upstream, and applies the network profile on
the way, each way, in real time. Prints the address it listens on as the first
line of its output, then runs until SIGINT or SIGTERM, and exits 0 once
everything is closed.

  --listen ADDR      host:port (port 0 for a free one), or a socket path for
                     unix and unixgram
  --upstream ADDR    where the server listens
  --network PROFILE  a built-in profile (sockspec network --list) or the path
                     of a JSON profile file
  --family FAMILY    tcp (the default), udp, unix or unixgram
  --seed N           the seed of the link's decisions (default 1): the same
                     seed makes the same decisions
  --events           print each decision of the link on standard error
`

func runProxy(ctx context.Context, e env) int {
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	listen := fs.String("listen", "", "")
	upstream := fs.String("upstream", "", "")
	network := fs.String("network", "", "")
	family := fs.String("family", "tcp", "")
	seed := fs.String("seed", "1", "")
	events := fs.Bool("events", false, "")
	if status, done := parseFlags(e, fs, "proxy", proxyUsage, e.Args); done {
		return status
	}
	bad := func(format string, args ...any) int {
		fmt.Fprintf(e.Stderr, "sockspec proxy: "+format+"\n", args...)
		return 2
	}
	switch {
	case fs.NArg() > 0:
		return bad("unexpected argument %q: every value goes with a flag (sockspec help proxy)", fs.Arg(0))
	case *family != "tcp" && *family != "udp" && *family != "unix" && *family != "unixgram":
		return bad("--family %q: write tcp, udp, unix or unixgram", *family)
	case *listen == "":
		return bad("--listen is missing: write --listen %s", exampleAddr(*family, "front"))
	case *upstream == "":
		return bad("--upstream is missing: write --upstream %s", exampleAddr(*family, "server"))
	case *network == "":
		return bad("--network is missing: write --network lan, another built-in (sockspec network --list) or a profile file")
	}
	for _, a := range []struct{ flag, value string }{{"listen", *listen}, {"upstream", *upstream}} {
		if *family == "tcp" || *family == "udp" {
			if _, port, err := net.SplitHostPort(a.value); err != nil || !isPort(port) {
				return bad("--%s %q is not host:port: write --%s %s", a.flag, a.value, a.flag, exampleAddr(*family, ""))
			}
		}
	}
	n, err := strconv.ParseUint(*seed, 10, 64)
	if err != nil {
		return bad("--seed %q is not a number: write --seed 42", *seed)
	}
	profile, err := loadNetwork(*network)
	if err != nil {
		return bad("--network: %v", err)
	}
	cfg := proxy.Config{Family: *family, Listen: *listen, Upstream: *upstream, Profile: profile, Seed: n}
	if *events {
		var mu sync.Mutex
		cfg.Observe = func(ev netsim.LinkEvent) {
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintf(e.Stderr, "%s %s\n", ev.Time.Format("15:04:05.000000"), ev)
		}
	}
	p, err := proxy.Start(cfg)
	if err != nil {
		fmt.Fprintf(e.Stderr, "sockspec proxy: %v\n", err)
		return 1
	}
	fmt.Fprintln(e.Stdout, p.Addr())
	<-ctx.Done()
	p.Close()
	return 0
}

func isPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 0 && n <= 65535
}

// exampleAddr is what an error suggests for an address of family.
func exampleAddr(family, name string) string {
	if family == "unix" || family == "unixgram" {
		if name == "" {
			name = "server"
		}
		return "/tmp/" + name + ".sock"
	}
	if name == "server" {
		return "127.0.0.1:8000"
	}
	return "127.0.0.1:0"
}
