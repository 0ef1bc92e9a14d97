// Package pyenv finds the CPython interpreters pyenv has installed: their
// real binaries, not pyenv's shims, which a tracer or a /proc reader would
// see instead of the interpreter.
package pyenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Root is pyenv's root: $PYENV_ROOT, or ~/.pyenv.
func Root() string {
	if r := os.Getenv("PYENV_ROOT"); r != "" {
		return r
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".pyenv")
}

// Interpreter is the real binary (not a shim) of the newest installed
// X.Y.Z of version X.Y, or "" when pyenv has none.
func Interpreter(version string) string {
	dirs, _ := filepath.Glob(filepath.Join(Root(), "versions", version+".*"))
	var found []string
	for _, d := range dirs {
		rest := strings.TrimPrefix(filepath.Base(d), version+".")
		if _, err := strconv.Atoi(rest); err != nil {
			continue // 3.11-dev, 3.11.7t…
		}
		exe := filepath.Join(d, "bin", "python"+version)
		if _, err := os.Stat(exe); err == nil {
			found = append(found, exe)
		}
	}
	sort.Slice(found, func(i, j int) bool { return patchOf(found[i]) < patchOf(found[j]) })
	if len(found) == 0 {
		return ""
	}
	return found[len(found)-1]
}

func patchOf(exe string) int {
	base := filepath.Base(filepath.Dir(filepath.Dir(exe)))
	n, _ := strconv.Atoi(base[strings.LastIndex(base, ".")+1:])
	return n
}

// Versions lists the X.Y versions pyenv has installed.
func Versions() []string {
	dirs, _ := filepath.Glob(filepath.Join(Root(), "versions", "*.*.*"))
	seen := map[string]bool{}
	var out []string
	for _, d := range dirs {
		parts := strings.Split(filepath.Base(d), ".")
		if len(parts) != 3 {
			continue
		}
		v := parts[0] + "." + parts[1]
		if !seen[v] && Interpreter(v) != "" {
			seen[v] = true
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return versionLess(out[i], out[j]) })
	return out
}

func versionLess(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := range pa {
		x, _ := strconv.Atoi(pa[i])
		y, _ := strconv.Atoi(pb[i])
		if x != y {
			return x < y
		}
	}
	return false
}

// Find is the interpreter of version X.Y: pyenv's, else pythonX.Y on PATH
// when that is not a shim; "" when there is none.
func Find(version string) string {
	if p := Interpreter(version); p != "" {
		return p
	}
	p, err := exec.LookPath("python" + version)
	if err != nil || strings.Contains(p, "/shims/") {
		return ""
	}
	return p
}

// Available lists the interpreters of versions that are installed, in the
// order asked, with /usr/bin/python3 when none of them is: what a test
// that runs Python snippets on several versions can use.
func Available(versions ...string) []string {
	var out []string
	for _, v := range versions {
		if p := Find(v); p != "" {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		if _, err := os.Stat("/usr/bin/python3"); err == nil {
			out = append(out, "/usr/bin/python3")
		}
	}
	return out
}
