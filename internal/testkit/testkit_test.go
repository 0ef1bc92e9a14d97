package testkit

import (
	"fmt"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestMain(m *testing.M) { Main(m) }

// fakeT stands for a test that the kit fails or skips: it records the
// message and ends its goroutine, as testing.T does.
type fakeT struct {
	testing.TB
	mu      sync.Mutex
	failed  string
	skipped string
}

func (f *fakeT) Helper() {}

func (f *fakeT) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.failed = fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}

func (f *fakeT) Skipf(format string, args ...any) {
	f.mu.Lock()
	f.skipped = fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}

// run calls body with a fakeT on a goroutine of its own, which Fatalf and
// Skipf end, and returns what it recorded.
func run(body func(t *fakeT)) (failed, skipped string) {
	f := &fakeT{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		body(f)
	}()
	<-done
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failed, f.skipped
}

func TestRaceOptionsKeepWhatIsSet(t *testing.T) {
	for in, want := range map[string]string{
		"":                                    "atexit_sleep_ms=0",
		"halt_on_error=1":                     "halt_on_error=1 atexit_sleep_ms=0",
		"log_path=/tmp/r atexit_sleep_ms=500": "log_path=/tmp/r atexit_sleep_ms=500",
	} {
		if got := raceOptions(in); got != want {
			t.Errorf("raceOptions(%q) = %q, want %q", in, got, want)
		}
	}
	if got := os.Getenv("GORACE"); !strings.Contains(got, "atexit_sleep_ms=") {
		t.Errorf("Main left GORACE = %q", got)
	}
}

func TestBufferTakesConcurrentWrites(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				b.Write([]byte("x"))
				_ = b.String()
			}
		})
	}
	wg.Wait()
	if n := len(b.String()); n != 800 {
		t.Fatalf("%d bytes; want 800", n)
	}
}

// A missing interpreter skips, except under CI, where it fails.
func TestNoPythonFailsUnderCI(t *testing.T) {
	for ci, wantFail := range map[string]bool{"": false, "false": false, "0": false, "true": true, "1": true, "yes": true} {
		t.Run("CI="+ci, func(t *testing.T) {
			t.Setenv("CI", ci)
			t.Setenv("PYENV_ROOT", t.TempDir())
			t.Setenv("PATH", t.TempDir())
			failed, skipped := run(func(f *fakeT) { Python(f, "9.99") })
			if wantFail && (failed == "" || !strings.Contains(failed, "no CPython 9.99")) {
				t.Errorf("failed %q, skipped %q; want a failure naming 9.99", failed, skipped)
			}
			if !wantFail && (skipped == "" || failed != "") {
				t.Errorf("failed %q, skipped %q; want a skip", failed, skipped)
			}
		})
	}
}

// Python returns pyenv's real binary of the newest patch release.
func TestPythonFindsPyenvsBinary(t *testing.T) {
	root := t.TempDir()
	t.Setenv("PYENV_ROOT", root)
	t.Setenv("CI", "true")
	var want string
	for _, v := range []string{"3.11.2", "3.11.10"} {
		bin := filepath.Join(root, "versions", v, "bin")
		if err := os.MkdirAll(bin, 0o755); err != nil {
			t.Fatal(err)
		}
		want = filepath.Join(bin, "python3.11")
		if err := os.WriteFile(want, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if got := Python(t, "3.11"); got != want {
		t.Errorf("Python(3.11) = %q, want %q", got, want)
	}
	if got := Pythons(t, "2.7", "3.11"); len(got) != 1 || got[0] != want {
		t.Errorf("Pythons(2.7, 3.11) = %q, want [%q]", got, want)
	}
}

func TestLinesWaitsForEachLine(t *testing.T) {
	pr, pw := io.Pipe()
	lines := ReadLines(t, "the pipe", pr, 5*time.Second)
	go func() {
		fmt.Fprint(pw, "one\ntwo\n")
		pw.Close()
	}()
	if a, b := lines.Next(), lines.Next(); a != "one" || b != "two" {
		t.Fatalf("lines %q, %q", a, b)
	}
	select {
	case <-lines.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed at the pipe's end")
	}
	if failed := nextFailure(lines); failed != "the pipe ended without another line" {
		t.Fatalf("Next at the end: %q", failed)
	}
}

// nextFailure is how Next of lines fails the test.
func nextFailure(lines *Lines) string {
	failed, _ := run(func(f *fakeT) {
		lines.t = f
		lines.Next()
	})
	return failed
}

// A pipe that stays silent fails Next at the bound; the test's end closes
// it and ends the reader.
func TestLinesBound(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	lines := ReadLines(t, "the silent pipe", pr, 20*time.Millisecond)
	if failed := nextFailure(lines); failed != "the silent pipe: no line within 20ms" {
		t.Fatalf("Next of a silent pipe: %q", failed)
	}
}

func TestWaitFor(t *testing.T) {
	n := 0
	WaitFor(t, 5*time.Second, "the third look", func() bool { n++; return n == 3 })
	failed, _ := run(func(f *fakeT) {
		WaitFor(f, 30*time.Millisecond, "what never comes", func() bool { return false })
	})
	if failed != "waited 30ms for what never comes" {
		t.Errorf("WaitFor failed with %q", failed)
	}
	failed, _ = run(func(f *fakeT) {
		WaitForNoError(f, 30*time.Millisecond, "a quiet child", func() error { return fmt.Errorf("%d children", 2) })
	})
	if failed != "waited 30ms for a quiet child; last seen: 2 children" {
		t.Errorf("WaitForNoError failed with %q", failed)
	}
}

// The kit is test scaffolding: no file but a test imports it, so that
// nothing of it reaches a program.
func TestOnlyTestsImportTheKit(t *testing.T) {
	const self = "github.com/sockspec/sockspec/internal/testkit"
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == self {
				t.Errorf("%s imports the test kit", path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
