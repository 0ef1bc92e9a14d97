package containers

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/sockspec/sockspec/adapters/process"
	"github.com/sockspec/sockspec/containers/images"
	"github.com/sockspec/sockspec/spec/driver"
)

// oneSpec is what a spec costs a target at the least: a session started,
// one request served, the session closed.
func oneSpec(b *testing.B, t driver.Target) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := t.Start(ctx, driver.ServerConfig{Family: driver.TCP, Dispatch: driver.Sync})
	if err != nil {
		b.Fatal(err)
	}
	c, err := s.Dial(ctx, false)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.Write(driver.Echo("x").Line()); err != nil {
		b.Fatal(err)
	}
	if r, err := s.HandleRequest(ctx); err != nil || r.Raised() {
		b.Fatalf("handle_request: %v %v", r, err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadAll(c); err != nil {
		b.Fatal(err)
	}
	c.Close()
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkSpecOverhead measures one spec's fixed cost on the process
// tier (the reference adapter as a child process) and on the container
// tier (the same adapter in the reference image), in turn within one run,
// and reports both and their ratio.
//
//	go test -run '^$' -bench SpecOverhead -benchtime 20x ./containers/
func BenchmarkSpecOverhead(b *testing.B) {
	e := needEngine(b)
	needImage(b, e, images.ReferenceImage)
	bin := filepath.Join(b.TempDir(), "sockspec")
	build := exec.Command("go", "build", "-o", bin, "../cmd/sockspec")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("building sockspec: %v\n%s", err, out)
	}
	proc := &process.Target{Argv: []string{bin, "adapter"}}
	ct, err := Open("reference", Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer ct.Close()
	// The first session of each pays for the probe and the network holder.
	oneSpec(b, proc)
	oneSpec(b, ct)
	var inProc, inCt time.Duration
	b.ResetTimer()
	for range b.N {
		begun := time.Now()
		oneSpec(b, proc)
		inProc += time.Since(begun)
		begun = time.Now()
		oneSpec(b, ct)
		inCt += time.Since(begun)
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(float64(inProc.Milliseconds())/n, "process-ms/spec")
	b.ReportMetric(float64(inCt.Milliseconds())/n, "container-ms/spec")
	b.ReportMetric(float64(inCt)/float64(inProc), "ratio")
}
