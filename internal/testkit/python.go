package testkit

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/sockspec/sockspec/internal/pyenv"
)

// Python is the real binary (never a pyenv shim) of CPython version: X.Y
// is pyenv's newest X.Y.Z, else pythonX.Y on PATH (pyenv.Find); X alone is
// pythonX on PATH, else /usr/bin/pythonX, the system's. Without it the test
// is skipped, or fails under CI (NoPython).
func Python(t testing.TB, version string) string {
	t.Helper()
	p := pyenv.Find(version)
	if p == "" && !strings.Contains(version, ".") {
		if sys := "/usr/bin/python" + version; isFile(sys) {
			p = sys
		}
	}
	if p == "" {
		NoPython(t, "no CPython %s here: neither pyenv's nor on PATH", version)
	}
	return p
}

// Pythons lists the real binaries of those of versions that are installed,
// in the order asked, or /usr/bin/python3 when none is (pyenv.Available):
// for tests that run snippets on every version they can. Without any the
// test is skipped, or fails under CI (NoPython).
func Pythons(t testing.TB, versions ...string) []string {
	t.Helper()
	out := pyenv.Available(versions...)
	if len(out) == 0 {
		NoPython(t, "no CPython interpreter here: none of %v, nor /usr/bin/python3", versions)
	}
	return out
}

// NoPython ends a test that found no interpreter: skipped, or failed where
// the environment says CI (see the package doc).
func NoPython(t testing.TB, format string, args ...any) {
	t.Helper()
	if InCI() {
		t.Fatalf("CI is set, and a missing interpreter fails: "+format, args...)
	}
	t.Skipf(format, args...)
}

// InCI reports whether the environment variable CI says the tests run in
// continuous integration: set, and not a false value ("0", "false").
func InCI() bool {
	v := os.Getenv("CI")
	if v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	return err != nil || b
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}
