package bench

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sockspec/sockspec/impl"
	"github.com/sockspec/sockspec/internal/testkit"
)

// findPython is looked up once per test binary: probing runs the
// interpreter.
var findPython = sync.OnceValues(func() (Python, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return FindPython(ctx)
})

// TestServersEcho checks that every server under test answers correctly, so
// that the benchmark never reports the speed of a broken server.
func TestServersEcho(t *testing.T) {
	for _, k := range AllKinds {
		t.Run(string(k), func(t *testing.T) {
			var python string
			if k.IsPython() {
				py, err := findPython()
				if err != nil {
					testkit.NoPython(t, "%v", err)
				}
				python = py.Path
			}
			srv, err := Start(k, python)
			if err != nil {
				t.Fatalf("starting %s: %v", k, err)
			}
			stopped := false
			defer func() {
				if !stopped {
					stopServer(t, srv)
				}
			}()
			for _, size := range []int{0, 64, 3000} {
				res := Load(context.Background(), LoadConfig{
					Addr: srv.Addr(), Requests: 12, Concurrency: 3, PayloadSize: size, Timeout: 20 * time.Second,
				})
				if res.Errors != 0 || res.Requests != 12 {
					t.Fatalf("%d-byte lines: %d ok, %d failed, first: %v", size, res.Requests, res.Errors, res.FirstErr)
				}
			}
			stopped = true
			stopServer(t, srv)
			// Stopped means closed: nobody answers on the address any more.
			if c, err := net.DialTimeout("tcp", srv.Addr(), time.Second); err == nil {
				c.Close()
				t.Errorf("%s still accepts connections after Stop", k)
			}
		})
	}
}

func stopServer(t *testing.T, srv Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	if err := srv.Stop(ctx); err != nil {
		t.Errorf("Stop: %v", err)
	}
}

// TestLoadDetectsWrongReplies makes sure a server that answers wrongly is
// counted as failing rather than measured.
func TestLoadDetectsWrongReplies(t *testing.T) {
	for name, reply := range map[string]func(line []byte) []byte{
		"truncated": func(line []byte) []byte { return line[:len(line)/2] },
		"altered":   func(line []byte) []byte { return []byte(strings.ToUpper(string(line))) },
		"longer":    func(line []byte) []byte { return append(line, line...) },
	} {
		t.Run(name, func(t *testing.T) {
			s, err := impl.New(impl.Config{
				Family: impl.TCP, Address: "127.0.0.1:0", Dispatch: impl.Threading,
				Handler: impl.LineTransform(reply),
			})
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- s.ServeForever(context.Background(), 0) }()
			res := Load(context.Background(), LoadConfig{Addr: s.Address(), Requests: 5, Concurrency: 2, PayloadSize: 16})
			if res.Errors != 5 || res.Requests != 0 || !errors.Is(res.FirstErr, errMismatch) {
				t.Errorf("got %d ok, %d failed, first %v; want 0 ok, 5 mismatches", res.Requests, res.Errors, res.FirstErr)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := s.Shutdown(ctx); err != nil {
				t.Error(err)
			}
			if err := s.ServerClose(); err != nil {
				t.Error(err)
			}
			if err := <-done; err != nil && !errors.Is(err, impl.ErrServerClosed) {
				t.Error(err)
			}
		})
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{5}, 5},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		if got := Median(c.in); got != c.want {
			t.Errorf("Median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

// TestRunReportsSkipsAndGoals runs the whole pipeline at toy size, with
// CPython turned off, and checks what the table says.
func TestRunReportsSkipsAndGoals(t *testing.T) {
	rep := Run(context.Background(), Options{
		Kinds: []Kind{RefThreading, BareGo, PyThreading}, Runs: 3, Concurrency: 2,
		Requests: 20, ForkRequests: 5, Warmup: 2, PayloadSize: 8, PythonErr: ErrPythonDisabled,
	})
	if rep.Failed() {
		for _, s := range rep.Samples {
			t.Errorf("%s: %v", s.Kind, s.Err)
		}
	}
	var out strings.Builder
	rep.Print(&out)
	text := out.String()
	for _, want := range []string{
		"py-threading", "skipped: disabled with -python none",
		"threading >= 0.8x bare Go", "SKIP  threading >= 3x CPython threading",
		"median req/s", "1.00x", // bare-go against itself
	} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q:\n%s", want, text)
		}
	}
	if s := rep.sample(RefThreading); len(s.Runs) != 3 {
		t.Errorf("ref-threading has %d runs, want 3", len(s.Runs))
	}
}

// BenchmarkEcho measures the in-process servers with the testing package's
// machinery: b.N connection-per-request echoes of a 64-byte line from 8
// client goroutines. The CPython servers are left to cmd/echobench, which
// also interleaves runs and reports medians and the throughput goals (Goals).
func BenchmarkEcho(b *testing.B) {
	for _, k := range []Kind{RefSync, RefThreading, RefForking, BareGo} {
		b.Run(string(k), func(b *testing.B) {
			srv, err := Start(k, "")
			if err != nil {
				b.Fatal(err)
			}
			defer func() {
				ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
				defer cancel()
				if err := srv.Stop(ctx); err != nil {
					b.Error(err)
				}
			}()
			cfg := LoadConfig{Addr: srv.Addr(), Concurrency: 8, PayloadSize: 64}
			cfg.Requests = 50
			if w := Load(context.Background(), cfg); w.Errors > 0 {
				b.Fatalf("warm-up: %v", w.FirstErr)
			}
			cfg.Requests = b.N
			b.ResetTimer()
			res := Load(context.Background(), cfg)
			b.StopTimer()
			if res.Errors > 0 {
				b.Fatalf("%d requests failed, first: %v", res.Errors, res.FirstErr)
			}
			b.ReportMetric(res.Throughput(), "req/s")
			b.ReportMetric(float64(res.P99.Microseconds()), "p99-us")
		})
	}
}
