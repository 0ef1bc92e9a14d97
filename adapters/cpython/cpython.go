// Package cpython runs a Python interpreter's own socketserver module as a
// target: driver.py, embedded here, is the adapter, and it imports the
// module of the interpreter it runs on (SocketServer on 2.7), never a copy.
package cpython

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/sockspec/sockspec/adapters/process"
	"github.com/sockspec/sockspec/internal/pyenv"
)

//go:embed driver.py
var driverPy []byte

// DriverSource is the adapter's source, for those who run it themselves.
func DriverSource() []byte { return driverPy }

var versionPattern = regexp.MustCompile(`^\d+\.\d+$`)

// NewTarget resolves which: a version ("3.11", "2.7") found among the
// pyenv installs or as pythonX.Y on PATH, or the path of an interpreter
// (a wrapper script included).
func NewTarget(which string) (*process.Target, error) {
	interp, err := Find(which)
	if err != nil {
		return nil, err
	}
	script, err := driverFile()
	if err != nil {
		return nil, err
	}
	label := "cpython:" + which
	return &process.Target{Argv: []string{interp, script}, Label: label}, nil
}

// Find returns the interpreter executable for which.
func Find(which string) (string, error) {
	if which == "" {
		return "", errors.New("cpython: say which interpreter: cpython:3.11, or cpython:/path/to/python")
	}
	if !versionPattern.MatchString(which) {
		st, err := os.Stat(which)
		if err != nil {
			return "", fmt.Errorf("cpython: %q is neither a version like 3.11 nor an interpreter's path: %w", which, err)
		}
		if st.IsDir() || st.Mode()&0o111 == 0 {
			return "", fmt.Errorf("cpython: %s is not an executable file", which)
		}
		return filepath.Abs(which)
	}
	if p := pyenv.Interpreter(which); p != "" {
		return p, nil
	}
	p, err := exec.LookPath("python" + which)
	if err != nil {
		return "", fmt.Errorf("cpython: no Python %s: not among the pyenv versions (%s) and no python%s on PATH; give the interpreter's path instead (cpython:/path/to/python)", which, pyenv.Root(), which)
	}
	if strings.Contains(p, "/shims/") {
		return "", fmt.Errorf("cpython: python%s on PATH is a pyenv shim (%s), and pyenv has no such version installed", which, p)
	}
	return p, nil
}

// driverFile writes driver.py where an interpreter can run it: a file
// named by its content, so that concurrent runs share it safely.
func driverFile() (string, error) {
	sum := sha256.Sum256(driverPy)
	dir := filepath.Join(os.TempDir(), "sockspec-cpython")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "driver-"+hex.EncodeToString(sum[:8])+".py")
	if b, err := os.ReadFile(path); err == nil && string(b) == string(driverPy) {
		return path, nil
	}
	tmp, err := os.CreateTemp(dir, "driver-*.py")
	if err != nil {
		return "", err
	}
	if _, err := tmp.Write(driverPy); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return "", err
	}
	tmp.Close()
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	return path, nil
}

//go:embed expect/*.json
var expectFiles embed.FS

// Expectations returns the embedded expectations file for an
// implementation and version as its hello gives them ("cpython",
// "3.11.7"), and the file's name; ok is false when there is none.
func Expectations(name, version string) (data []byte, file string, ok bool) {
	parts := strings.SplitN(version, ".", 3)
	if len(parts) < 2 {
		return nil, "", false
	}
	file = "expect/" + name + "-" + parts[0] + "." + parts[1] + ".json"
	data, err := expectFiles.ReadFile(file)
	if err != nil {
		return nil, "", false
	}
	return data, "adapters/cpython/" + file, true
}

// Versions lists the X.Y versions pyenv has installed, oldest first.
func Versions() []string { return pyenv.Versions() }
