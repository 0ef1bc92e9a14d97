package main

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Flags that would make a run meaningless are refused before anything
// starts: one plain line on stderr, status 2.
func TestRefusedFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string // parts of the one line
	}{
		{[]string{"run", "--label-filter", "rule:NOPE-01"}, []string{`"rule:NOPE-01"`, "no spec matches", "'sockspec rules'"}},
		{[]string{"run", "--label-filter", "rule:("}, []string{`"rule:("`, "does not parse"}},
		{[]string{"run", "--focus", "("}, []string{`focus "("`, "no regular expression"}},
		{[]string{"run", "--family", "udp"}, []string{"--family", "exec:", "--target reference"}},
		{[]string{"run", "--target", "reference-process", "--vouch", "signals"}, []string{"--vouch", "--target reference-process"}},
		{[]string{"reproduce", "silent-client", "--dispatch", "forking"}, []string{"--dispatch", "exec:"}},
		{[]string{"matrix", "--targets", "reference", "--label-filter", "rule:NOPE-01"}, []string{`"rule:NOPE-01"`, "'sockspec rules'"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(tc.args, &stdout, &stderr); code != 2 {
				t.Errorf("status %d, want 2 (stderr %q)", code, stderr.String())
			}
			line := stderr.String()
			if strings.Count(line, "\n") != 1 || strings.ContainsAny(line, "\x1b") || strings.Contains(line, "{{") {
				t.Errorf("stderr %q is not one plain line", line)
			}
			for _, w := range tc.want {
				if !strings.Contains(line, w) {
					t.Errorf("stderr %q does not contain %q", line, w)
				}
			}
			if stdout.Len() > 0 {
				t.Errorf("stdout %q, want nothing", stdout.String())
			}
		})
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != 0 {
			t.Errorf("%q: status %d, stderr %q", args, code, stderr.String())
		}
		if out := stdout.String(); !strings.HasPrefix(out, "sockspec ") || !strings.Contains(out, " go1.") || strings.Count(out, "\n") != 1 {
			t.Errorf("%q: %q, want one line naming sockspec's version and Go's", args, out)
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"version", "x"}, &stdout, &stderr); code != 2 {
		t.Errorf("version x: status %d, want 2", code)
	}
}

// matrix exits as run does, with the worst of its targets' statuses.
func TestMatrixStatus(t *testing.T) {
	for _, tc := range []struct {
		cols []matrixColumn
		want int
	}{
		{[]matrixColumn{{Status: 0}, {Status: 0}}, 0},
		{[]matrixColumn{{Status: 0}, {Status: 1}}, 1},
		{[]matrixColumn{{Status: 1}, {Status: 2}, {Status: 0}}, 2},
		{[]matrixColumn{{Status: 0}, {Status: -1, Error: "stopped after 10m0s"}}, 2},
		{[]matrixColumn{{Status: 0, Error: "no report"}}, 2},
	} {
		if got := matrixStatus(tc.cols); got != tc.want {
			t.Errorf("%+v: %d, want %d", tc.cols, got, tc.want)
		}
	}
}

// No message of the program shows a Go value's syntax (%+v or %#v of a
// struct) to a user: the module's non-test files format what they say.
func TestNoGoSyntaxInMessages(t *testing.T) {
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != root || d.Name() == "fakes" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(b), "\n") {
			if strings.Contains(line, "%+v") || strings.Contains(line, "%#v") {
				t.Errorf("%s:%d formats a Go value for a user: %s", path, i+1, strings.TrimSpace(line))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
