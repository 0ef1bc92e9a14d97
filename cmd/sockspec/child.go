package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/sockspec/sockspec/spec"
)

// childOutput is the file, in a child run's report directory, that keeps
// everything the child printed.
const childOutput = "output.txt"

// childRun is the outcome of one suite run in a process of its own.
type childRun struct {
	Verdict  *spec.Verdict // nil when the run left no report
	Status   int
	Duration time.Duration
	// Error says why there is no verdict: the bound ran out, the child
	// was stopped or left no report.
	Error string
}

// runChild runs this program again with args (a run or reproduce whose
// --report-dir is dir) and reads the report it writes: Ginkgo runs a
// suite once per process, so each run of several gets its own. What the
// child prints goes to dir/output.txt. The child is stopped as an
// interrupted run is (SIGTERM: it kills its adapters and reports what it
// has) when ctx ends or bound runs out, and killed if that takes long.
func runChild(ctx context.Context, exe string, args []string, dir string, bound time.Duration) childRun {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return childRun{Status: -1, Error: err.Error()}
	}
	out, err := os.Create(filepath.Join(dir, childOutput))
	if err != nil {
		return childRun{Status: -1, Error: err.Error()}
	}
	defer out.Close()
	ctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	start := time.Now()
	cmd := exec.CommandContext(ctx, exe, args...)
	var stderr strings.Builder
	cmd.Stdout = out
	cmd.Stderr = io.MultiWriter(out, &stderr)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 15 * time.Second
	err = cmd.Run()
	run := childRun{Duration: time.Since(start), Status: -1}
	if cmd.ProcessState != nil {
		run.Status = cmd.ProcessState.ExitCode()
	}
	if ctx.Err() != nil {
		if errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
			run.Error = fmt.Sprintf("stopped after %v", bound)
		} else {
			run.Error = "interrupted"
		}
		return run
	}
	b, rerr := os.ReadFile(filepath.Join(dir, "report.json"))
	if rerr != nil {
		run.Error = fmt.Sprintf("no report (%v): %s", err, firstLineOf(stderr.String()))
		return run
	}
	var v spec.Verdict
	if err := json.Unmarshal(b, &v); err != nil {
		run.Error = fmt.Sprintf("%s: %v", filepath.Join(dir, "report.json"), err)
		return run
	}
	run.Verdict = &v
	return run
}

func firstLineOf(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
