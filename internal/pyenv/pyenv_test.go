package pyenv

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// A fake pyenv root: the newest patch wins, odd directories are skipped,
// a version without its binary does not count.
func TestFindsTheNewestPatch(t *testing.T) {
	root := t.TempDir()
	t.Setenv("PYENV_ROOT", root)
	for _, d := range []string{"3.11.2", "3.11.10", "3.11-dev", "2.7.18", "3.9.1"} {
		bin := filepath.Join(root, "versions", d, "bin")
		if err := os.MkdirAll(bin, 0o755); err != nil {
			t.Fatal(err)
		}
		if d == "3.9.1" {
			continue // no binary
		}
		v := d[:len(d)-len(filepath.Ext(d))]
		if d == "3.11-dev" {
			v = "3.11"
		}
		if err := os.WriteFile(filepath.Join(bin, "python"+v), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := Interpreter("3.11"), filepath.Join(root, "versions", "3.11.10", "bin", "python3.11"); got != want {
		t.Errorf("Interpreter(3.11) = %q, want %q", got, want)
	}
	if got := Interpreter("3.9"); got != "" {
		t.Errorf("Interpreter(3.9) = %q for a version without its binary", got)
	}
	if got, want := Versions(), []string{"2.7", "3.11"}; !slices.Equal(got, want) {
		t.Errorf("Versions() = %v, want %v", got, want)
	}
	if got := Available("2.7", "3.11"); len(got) != 2 || filepath.Base(got[0]) != "python2.7" {
		t.Errorf("Available(2.7, 3.11) = %v", got)
	}
}
