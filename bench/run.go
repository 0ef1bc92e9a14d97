package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Options configures a whole benchmark invocation.
type Options struct {
	Kinds        []Kind        // servers to measure, in table order
	Runs         int           // interleaved rounds; the median is reported
	Concurrency  int           // client goroutines
	Requests     int           // timed requests per run
	ForkRequests int           // timed requests per run for the forking servers
	Warmup       int           // untimed requests before every timed run
	PayloadSize  int           // request line length without the newline
	SourceAddrs  int           // see LoadConfig.SourceAddrs
	Pause        time.Duration // idle time after every run
	Python       Python        // zero when no CPython 3.11 was found
	PythonErr    error         // why Python is zero: ErrNoPython, or ErrPythonDisabled
	Progress     io.Writer     // one line per run as it finishes; nil for none
}

// ErrPythonDisabled is Options.PythonErr when the CPython servers were
// turned off on purpose.
var ErrPythonDisabled = errors.New("disabled with -python none")

// pythonSkip is the reason shown for the CPython rows when there is no
// interpreter.
func (o Options) pythonSkip() string {
	if errors.Is(o.PythonErr, ErrPythonDisabled) {
		return ErrPythonDisabled.Error()
	}
	return ErrNoPython.Error()
}

// Sample is one server's results.
type Sample struct {
	Kind     Kind
	Requests int          // timed requests per run
	Runs     []LoadResult // in round order
	Skipped  string       // why the server was not measured
	Err      error        // a failure to start or stop, or failed requests
}

// Median is the median throughput of the runs (the mean of the two middle
// runs when their number is even).
func (s Sample) Median() float64 {
	var t []float64
	for _, r := range s.Runs {
		t = append(t, r.Throughput())
	}
	return Median(t)
}

// Median of xs; 0 for none.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Report is the outcome of Run.
type Report struct {
	Opts    Options
	Samples []*Sample
	Wall    time.Duration
	Kernel  string // the kernel's TCP counters over the run; empty when unreadable
}

// stopTimeout bounds the clean shutdown of one server after one run.
const stopTimeout = 30 * time.Second

// Run measures every server of opts.Kinds in interleaved rounds: round 1 of
// every server, then round 2, and so on. Every run gets a fresh server,
// warmed up, measured, and shut down before the next server starts, so that
// only one server ever holds CPU.
func Run(ctx context.Context, opts Options) *Report {
	rep := &Report{Opts: opts}
	start := time.Now()
	counters := readTCPExt()
	for _, k := range opts.Kinds {
		s := &Sample{Kind: k, Requests: opts.Requests}
		if k.IsForking() {
			s.Requests = opts.ForkRequests
		}
		if k.IsPython() && opts.Python.Path == "" {
			s.Skipped = opts.pythonSkip()
		}
		rep.Samples = append(rep.Samples, s)
	}
	for round := 1; round <= opts.Runs && ctx.Err() == nil; round++ {
		for _, s := range rep.Samples {
			if s.Skipped != "" || s.Err != nil || ctx.Err() != nil {
				continue
			}
			res, err := runOnce(ctx, opts, s.Kind, s.Requests)
			if err != nil {
				s.Err = fmt.Errorf("run %d: %w", round, err)
			} else {
				s.Runs = append(s.Runs, res)
			}
			if opts.Progress != nil {
				if err != nil {
					fmt.Fprintf(opts.Progress, "run %d/%d %-13s error: %v\n", round, opts.Runs, s.Kind, err)
				} else {
					fmt.Fprintf(opts.Progress, "run %d/%d %-13s %8.0f req/s  (%d requests in %v, p99 %v)\n",
						round, opts.Runs, s.Kind, res.Throughput(), res.Requests, res.Elapsed.Round(time.Millisecond), res.P99.Round(time.Microsecond))
				}
			}
			if opts.Pause > 0 {
				sleepCtx(ctx, opts.Pause)
			}
		}
	}
	rep.Wall = time.Since(start)
	rep.Kernel = kernelNote(counters, readTCPExt())
	return rep
}

// runOnce starts a server, warms it up, measures it and stops it. A run
// with any failed request is an error: a throughput that counts only the
// requests that worked would flatter a broken server.
func runOnce(ctx context.Context, opts Options, k Kind, n int) (res LoadResult, err error) {
	srv, err := Start(k, opts.Python.Path)
	if err != nil {
		return res, fmt.Errorf("starting: %w", err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		defer cancel()
		if serr := srv.Stop(sctx); serr != nil {
			err = errors.Join(err, fmt.Errorf("stopping: %w", serr))
		}
	}()
	cfg := LoadConfig{Addr: srv.Addr(), Concurrency: opts.Concurrency, PayloadSize: opts.PayloadSize, SourceAddrs: opts.SourceAddrs}
	if opts.Warmup > 0 {
		cfg.Requests = min(opts.Warmup, n)
		if w := Load(ctx, cfg); w.Errors > 0 || w.FirstErr != nil {
			return res, fmt.Errorf("warm-up: %d of %d requests failed, first: %v", w.Errors, cfg.Requests, w.FirstErr)
		}
	}
	cfg.Requests = n
	res = Load(ctx, cfg)
	if res.Errors > 0 || res.FirstErr != nil {
		return res, fmt.Errorf("%d requests failed (%d succeeded), first: %v", res.Errors, res.Requests, res.FirstErr)
	}
	return res, nil
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func (r *Report) sample(k Kind) *Sample {
	for _, s := range r.Samples {
		if s.Kind == k {
			return s
		}
	}
	return nil
}

// measured returns the median of k's runs, or false with the reason when
// there is none to compare.
func (r *Report) measured(k Kind) (float64, string) {
	s := r.sample(k)
	switch {
	case s == nil:
		return 0, string(k) + " not run"
	case s.Skipped != "":
		return 0, string(k) + " skipped: " + s.Skipped
	case len(s.Runs) == 0:
		return 0, string(k) + " failed"
	}
	return s.Median(), ""
}

// Failed reports whether any server failed to start, stop or serve.
func (r *Report) Failed() bool {
	for _, s := range r.Samples {
		if s.Err != nil {
			return true
		}
	}
	return false
}

// Goal is one throughput budget the benchmark checks.
type Goal struct {
	Name   string
	Num    Kind
	Den    Kind
	Target float64
}

// Goals are the throughput budgets the benchmark checks.
var Goals = []Goal{
	{"threading >= 0.8x bare Go", RefThreading, BareGo, 0.8},
	{"threading >= 3x CPython threading", RefThreading, PyThreading, 3},
	{"forking >= 1x CPython forking", RefForking, PyForking, 1},
}

// Print writes the header, the table and the goals.
func (r *Report) Print(w io.Writer) {
	o := r.Opts
	fmt.Fprintf(w, "sockspec echo benchmark: connection per request, %d-byte line + \"\\n\", reply read to EOF\n", o.PayloadSize)
	fmt.Fprintf(w, "machine: %d CPUs, GOMAXPROCS=%d, %s %s/%s; clients and servers share these CPUs\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(w, "load: c=%d, N=%d per run (forking servers: N=%d), %d interleaved runs, %d warm-up requests per run (untimed)\n",
		o.Concurrency, o.Requests, o.ForkRequests, o.Runs, o.Warmup)
	src := "127.0.0.1 only (server closes first, so TIME_WAIT stays on the server side and client ports are reused at once)"
	if o.SourceAddrs > 1 {
		src = fmt.Sprintf("spread over 127.0.0.1-127.0.0.%d", o.SourceAddrs)
	}
	fmt.Fprintf(w, "client source address: %s", src)
	if o.Pause > 0 {
		fmt.Fprintf(w, "; %v pause after every run", o.Pause)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Go servers run in this process (ServeForever on a goroutine); listen backlog %d for ref-* (RequestQueueSize)\n", QueueSize)
	fmt.Fprintf(w, "ref-forking re-executes this binary per request; it is %s\n", linkMode())
	if o.Python.Path != "" {
		fmt.Fprintf(w, "CPython %s (%s) in a child process, request_queue_size raised from 5 to %d for parity\n", o.Python.Version, o.Python.Path, QueueSize)
	} else {
		fmt.Fprintf(w, "CPython: skipped: %s\n", o.pythonSkip())
	}
	fmt.Fprintln(w)

	base, _ := r.measured(BareGo)
	head := []string{"server", "N"}
	for i := range o.Runs {
		head = append(head, fmt.Sprintf("run %d", i+1))
	}
	head = append(head, "median req/s", "vs bare-go", "p50", "p99")
	rows := [][]string{head}
	for _, s := range r.Samples {
		row := []string{string(s.Kind), fmt.Sprint(s.Requests)}
		if s.Skipped != "" {
			rows = append(rows, append(row, "skipped: "+s.Skipped))
			continue
		}
		for i := range o.Runs {
			if i < len(s.Runs) {
				row = append(row, fmt.Sprintf("%.0f", s.Runs[i].Throughput()))
			} else {
				row = append(row, "-")
			}
		}
		if len(s.Runs) == 0 {
			row = append(row, "-", "-", "-", "-")
		} else {
			ratio := "-"
			if base > 0 {
				ratio = fmt.Sprintf("%.2fx", s.Median()/base)
			}
			mid := medianRun(s.Runs)
			row = append(row, fmt.Sprintf("%.0f", s.Median()), ratio, fmtDur(mid.P50), fmtDur(mid.P99))
		}
		rows = append(rows, row)
	}
	writeTable(w, rows)
	fmt.Fprintln(w, "(p50/p99: request latency in the median run)")
	if r.Kernel != "" {
		fmt.Fprintln(w, r.Kernel)
	}
	for _, s := range r.Samples {
		if s.Err != nil {
			fmt.Fprintf(w, "ERROR %s: %v\n", s.Kind, s.Err)
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "goals:")
	for _, g := range Goals {
		num, why := r.measured(g.Num)
		den, why2 := r.measured(g.Den)
		if why == "" {
			why = why2
		}
		if why != "" {
			fmt.Fprintf(w, "  SKIP  %-36s (%s)\n", g.Name, why)
			continue
		}
		verdict := "MISS"
		if num/den >= g.Target {
			verdict = "PASS"
		}
		fmt.Fprintf(w, "  %s  %-36s %s/%s = %.0f/%.0f = %.2fx\n", verdict, g.Name, g.Num, g.Den, num, den, num/den)
	}
	fmt.Fprintf(w, "\nwall time: %v\n", r.Wall.Round(100*time.Millisecond))
}

// writeTable prints rows in aligned columns: the first left-aligned, the
// others right-aligned, as numbers read best. A row shorter than the header
// (a skipped server) prints its last cell unpadded.
func writeTable(w io.Writer, rows [][]string) {
	width := make([]int, len(rows[0]))
	for _, row := range rows {
		if len(row) < len(width) {
			continue
		}
		for i, c := range row {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	for _, row := range rows {
		var b strings.Builder
		for i, c := range row {
			pad := max(width[i]-utf8.RuneCountInString(c), 0)
			switch {
			case i == 0:
				b.WriteString(c + strings.Repeat(" ", pad))
			case i == len(row)-1 && len(row) < len(width):
				b.WriteString("  " + c)
			default:
				b.WriteString("  " + strings.Repeat(" ", pad) + c)
			}
		}
		fmt.Fprintln(w, b.String())
	}
}

// medianRun is the run whose throughput is the median (the lower middle
// one for an even count), for reporting its latencies.
func medianRun(runs []LoadResult) LoadResult {
	s := slices.Clone(runs)
	slices.SortFunc(s, func(a, b LoadResult) int {
		switch ta, tb := a.Throughput(), b.Throughput(); {
		case ta < tb:
			return -1
		case ta > tb:
			return 1
		}
		return 0
	})
	return s[(len(s)-1)/2]
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%dus", d.Microseconds())
}
