// Command echobench measures connection-per-request echo throughput of the
// reference server in its three dispatch modes against a bare Go server and
// CPython 3.11's ThreadingTCPServer and ForkingTCPServer, and checks the
// throughput budgets of bench.Goals. It is what `make bench` runs.
//
// Usage:
//
//	echobench [-c 8] [-n 20000] [-forkn 2000] [-runs 5] [-servers a,b,…]
//	          [-size 64] [-warmup 500] [-srcaddrs 1] [-pause 0]
//	          [-python PATH|none] [-cpuprofile FILE]
//
// Build it with CGO_ENABLED=0, as `make bench` does: ref-forking executes
// this binary again for every request, and a dynamically linked binary
// spends a quarter of that server's throughput in the dynamic loader. The
// header of the report says how the running binary is linked.
//
// The exit status is 1 when a server failed to start, stop or answer
// correctly; a missed budget is reported, not an error.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/sockspec/sockspec/bench"
	"github.com/sockspec/sockspec/impl"
)

func main() {
	// Every request of ref-forking is this program run again; the child
	// must serve its request before anything else, flags included, happens.
	impl.ChildMain()
	os.Exit(run())
}

func run() int {
	var (
		c          = flag.Int("c", 8, "concurrent client connections")
		n          = flag.Int("n", 20000, "timed requests per run")
		forkN      = flag.Int("forkn", 2000, "timed requests per run for ref-forking and py-forking (a process per request; throughput is per second either way)")
		runs       = flag.Int("runs", 5, "interleaved runs per server; the median is reported (single runs vary by ±15% on a shared 2-CPU machine)")
		servers    = flag.String("servers", "", "comma-separated servers to run (default all): "+kindList())
		size       = flag.Int("size", 64, "request line length in bytes, without the newline")
		warmup     = flag.Int("warmup", 500, "untimed requests before every timed run")
		srcAddrs   = flag.Int("srcaddrs", 1, "spread client connections over 127.0.0.1..127.0.0.N (only needed if the kernel runs out of ephemeral ports)")
		pause      = flag.Duration("pause", 0, "idle time after every run")
		python     = flag.String("python", "", "CPython 3.11 interpreter (default: ~/.pyenv/versions/3.11*/bin/python3.11, then python3.11 on PATH); \"none\" skips the CPython servers")
		cpuprofile = flag.String("cpuprofile", "", "write a CPU profile of the whole invocation to this file (use with -servers to profile one server; client goroutines are included)")
	)
	flag.Parse()
	if *c < 1 || *n < 1 || *forkN < 1 || *runs < 1 || *size < 0 || *srcAddrs < 1 || *srcAddrs > 254 {
		fmt.Fprintln(os.Stderr, "echobench: -c, -n, -forkn and -runs must be positive, -size not negative, -srcaddrs in 1..254")
		return 2
	}
	kinds := bench.AllKinds
	if *servers != "" {
		kinds = nil
		for _, s := range strings.Split(*servers, ",") {
			k, err := bench.ParseKind(strings.TrimSpace(s))
			if err != nil {
				fmt.Fprintln(os.Stderr, "echobench:", err)
				return 2
			}
			kinds = append(kinds, k)
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	opts := bench.Options{
		Kinds: kinds, Runs: *runs, Concurrency: *c, Requests: *n, ForkRequests: *forkN,
		Warmup: *warmup, PayloadSize: *size, SourceAddrs: *srcAddrs, Pause: *pause,
		Progress: os.Stderr,
	}
	switch *python {
	case "none":
		opts.PythonErr = bench.ErrPythonDisabled
	case "":
		opts.Python, opts.PythonErr = bench.FindPython(ctx)
	default:
		opts.Python, opts.PythonErr = bench.ProbePython(ctx, *python)
		if opts.PythonErr != nil {
			fmt.Fprintln(os.Stderr, "echobench: -python:", opts.PythonErr)
			return 2
		}
	}

	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "echobench:", err)
			return 2
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "echobench:", err)
			return 2
		}
		defer pprof.StopCPUProfile()
	}

	start := time.Now()
	rep := bench.Run(ctx, opts)
	rep.Wall = time.Since(start)
	rep.Print(os.Stdout)
	if ctx.Err() != nil {
		fmt.Fprintln(os.Stderr, "echobench: interrupted")
		return 1
	}
	if rep.Failed() {
		return 1
	}
	return 0
}

func kindList() string {
	var s []string
	for _, k := range bench.AllKinds {
		s = append(s, string(k))
	}
	return strings.Join(s, ",")
}
