package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sockspec/sockspec/impl"
	"github.com/sockspec/sockspec/internal/testkit"
)

func TestMain(m *testing.M) {
	// In-process forking servers re-execute this test binary for each
	// request child.
	impl.ChildMain()
	testkit.Main(m, goleak.Cleanup(func(int) { removeBinary() }))
}

// buildTimeout bounds the one build of the binary for end-to-end tests.
const buildTimeout = 2 * time.Minute

var (
	buildOnce sync.Once
	buildDir  string
	buildPath string
	buildErr  error
)

// binary builds sockspec once per test run and returns its path: the
// end-to-end tests run the real program, signals and request children
// included.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			buildErr = fmt.Errorf("the go command is needed to build sockspec for end-to-end tests: %w", err)
			return
		}
		if buildDir, err = os.MkdirTemp("", "sockspec-bin"); err != nil {
			buildErr = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
		defer cancel()
		path := filepath.Join(buildDir, "sockspec")
		cmd := exec.CommandContext(ctx, goTool, "build", "-o", path, ".")
		cmd.WaitDelay = time.Second
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		buildPath = path
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

func removeBinary() {
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
}

func TestDispatch(t *testing.T) {
	for _, tc := range []struct {
		args       []string
		code       int
		stdout     string // a part of the expected standard output
		stderr     string // a part of the expected standard error
		stderrLine bool   // the error is one line
	}{
		{args: nil, code: 2, stderr: "Commands:\n  run "},
		{args: []string{"help"}, code: 0, stdout: "Commands:\n  run "},
		{args: []string{"-h"}, code: 0, stdout: "Commands:\n  run "},
		{args: []string{"--help"}, code: 0, stdout: "sockspec <command>"},
		{args: []string{"help", "serve"}, code: 0, stdout: "Usage: sockspec serve"},
		{args: []string{"serve", "-h"}, code: 0, stdout: "Usage: sockspec serve"},
		{args: []string{"serve", "--help"}, code: 0, stdout: "--poll-interval"},
		{args: []string{"help", "nope"}, code: 2, stderr: `unknown command "nope"`, stderrLine: true},
		{args: []string{"help", "serve", "x"}, code: 2, stderr: "too many arguments", stderrLine: true},
		{args: []string{"nope"}, code: 2, stderr: `sockspec: unknown command "nope": run 'sockspec help'`, stderrLine: true},
		{args: []string{"serve", "--mode", "x"}, code: 2, stderr: "--mode", stderrLine: true},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(tc.args, &stdout, &stderr); code != tc.code {
				t.Errorf("exit status %d, want %d (stderr %q)", code, tc.code, stderr.String())
			}
			if !strings.Contains(stdout.String(), tc.stdout) {
				t.Errorf("stdout %q does not contain %q", stdout.String(), tc.stdout)
			}
			if !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("stderr %q does not contain %q", stderr.String(), tc.stderr)
			}
			if tc.stderrLine && strings.Count(stderr.String(), "\n") != 1 {
				t.Errorf("stderr %q is not exactly one line", stderr.String())
			}
		})
	}
}

// TestUsageListsEveryCommand keeps the general help in step with the table.
func TestUsageListsEveryCommand(t *testing.T) {
	u := usage()
	for _, c := range commands {
		if !strings.Contains(u, "  "+c.name+" ") || !strings.Contains(u, c.summary) {
			t.Errorf("usage does not list %q with its summary:\n%s", c.name, u)
		}
		if c.run == nil || c.usage == "" {
			t.Errorf("command %q lacks run or usage", c.name)
		}
	}
}
