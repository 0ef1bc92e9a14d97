package main

import (
	"bytes"
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// doctorItems are the items doctor reports, in its order.
var doctorItems = []string{"python", "strace", "ptrace", "pids cgroup", "rlimit raise", "docker", "browser"}

// A machine with nothing: every item is MISSING with its fix, strace's
// the apt command.
func TestDoctorSaysWhatIsMissing(t *testing.T) {
	bare := machine{
		lookPath:      func(name string) (string, error) { return "", &exec.Error{Name: name, Err: exec.ErrNotFound} },
		pythons:       func() []string { return nil },
		ptraceScope:   func() (string, error) { return "1", nil },
		effectiveCaps: func() (uint64, error) { return 0, nil },
		pidsCgroup:    func() error { return errors.New("no pids controller") },
		docker:        func() error { return errors.New("no Docker engine at /var/run/docker.sock") },
	}
	var out bytes.Buffer
	writeFindings(&out, diagnose(bare))
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != len(doctorItems) {
		t.Fatalf("%d lines, want one per item (%d):\n%s", len(lines), len(doctorItems), out.String())
	}
	for i, item := range doctorItems {
		if !strings.HasPrefix(lines[i], "MISSING") || !strings.Contains(lines[i], item) || !strings.Contains(lines[i], "fix: ") {
			t.Errorf("line %d %q: want MISSING %s with its fix", i+1, lines[i], item)
		}
	}
	if !strings.Contains(lines[1], "apt-get install strace") {
		t.Errorf("the missing strace's fix: %q", lines[1])
	}
}

// A machine with everything: every item is OK.
func TestDoctorSaysWhatIsThere(t *testing.T) {
	full := machine{
		lookPath:      func(name string) (string, error) { return "/usr/bin/" + name, nil },
		pythons:       func() []string { return []string{"3.11 /usr/bin/python3.11"} },
		ptraceScope:   func() (string, error) { return "1", nil },
		effectiveCaps: func() (uint64, error) { return 1<<capSysPtrace | 1<<capSysResource, nil },
		pidsCgroup:    func() error { return nil },
		docker:        func() error { return nil },
	}
	for _, f := range diagnose(full) {
		if !f.OK {
			t.Errorf("%s: MISSING (%s), want OK", f.Item, f.Detail)
		}
	}
}

// The real command names every item and exits 0 whatever is missing.
func TestDoctorCommand(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"doctor"}, &stdout, &stderr); code != 0 {
		t.Fatalf("sockspec doctor: status %d, stderr %q", code, stderr.String())
	}
	for _, item := range doctorItems {
		if !strings.Contains(stdout.String(), item) {
			t.Errorf("sockspec doctor does not name %s:\n%s", item, stdout.String())
		}
	}
	if code := run([]string{"doctor", "extra"}, &stdout, &stderr); code != 2 {
		t.Errorf("sockspec doctor extra: status %d, want 2", code)
	}
}
