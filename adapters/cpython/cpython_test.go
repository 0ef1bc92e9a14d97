package cpython_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sockspec/sockspec/adapters/cpython"
	"github.com/sockspec/sockspec/internal/testkit"
	"github.com/sockspec/sockspec/spec"
	"github.com/sockspec/sockspec/spec/driver"
)

func TestFindRefusesWhatIsNoInterpreter(t *testing.T) {
	for which, want := range map[string]string{
		"":              "say which interpreter",
		"9.99":          "no Python 9.99",
		"/no/such/exe":  "neither a version",
		os.TempDir():    "not an executable file",
		"three-eleven?": "neither a version",
	} {
		if _, err := cpython.Find(which); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Find(%q) = %v; want an error saying %q", which, err, want)
		}
	}
}

// The scheme's error is a nil target: no nil *process.Target hides in
// the interface.
func TestSchemeRefusesWithANilTarget(t *testing.T) {
	target, err := cpython.Scheme().Open("", driver.OpenOptions{})
	if target != nil || err == nil || !strings.Contains(err.Error(), "say which interpreter") {
		t.Fatalf("Open(\"\") = %#v, %v; want nil and an error", target, err)
	}
}

// Every installed interpreter compiles driver.py: one file for 2.7 to 3.13.
func TestDriverCompilesOnEveryInstalledVersion(t *testing.T) {
	versions := cpython.Versions()
	if len(versions) == 0 {
		testkit.NoPython(t, "no pyenv interpreters on this machine")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "driver.py")
	if err := os.WriteFile(src, cpython.DriverSource(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, v := range versions {
		exe, err := cpython.Find(v)
		if err != nil {
			t.Errorf("%s: %v", v, err)
			continue
		}
		code := "import sys; compile(open(sys.argv[1]).read(), sys.argv[1], 'exec')"
		if out, err := exec.Command(exe, "-c", code, src).CombinedOutput(); err != nil {
			t.Errorf("python %s cannot compile driver.py: %v\n%s", v, err, out)
		}
	}
}

// Every shipped expectations file names rules of the registry, with an
// outcome and a reason each.
func TestShippedExpectationsAreValid(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("expect", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no expectations files: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := spec.ParseExpectations(b, f); err != nil {
			t.Error(err)
		}
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		impl, version, _ := strings.Cut(name, "-")
		if _, got, ok := cpython.Expectations(impl, version+".0"); !ok || !strings.HasSuffix(got, filepath.Base(f)) {
			t.Errorf("%s is not found for %s %s", f, impl, version)
		}
	}
}
