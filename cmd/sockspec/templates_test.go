package main

import (
	"flag"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
)

// ciTemplates are the CI pipelines ci/ offers users.
var ciTemplates = []string{
	"../../ci/github/sockspec.yml",
	"../../ci/github/action.yml",
	"../../ci/gitlab/sockspec.gitlab-ci.yml",
}

// sockspecLine is one sockspec command line of a template.
type sockspecLine struct {
	command string   // "run", "report merge"
	args    []string // its arguments, quotes removed, shell expansions that split into words dropped
	text    string
}

// TestCITemplates keeps the CI templates from rotting: each is valid YAML,
// installs sockspec from this module, and every sockspec command line in
// it names a command that exists and flags that command parses.
func TestCITemplates(t *testing.T) {
	module := "github.com/sockspec/sockspec/cmd/sockspec@"
	for _, path := range ciTemplates {
		t.Run(path, func(t *testing.T) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var doc any
			if err := yaml.Unmarshal(b, &doc); err != nil {
				t.Fatalf("not valid YAML: %v", err)
			}
			var lines []sockspecLine
			installs := false
			for _, s := range stringsIn(doc) {
				installs = installs || strings.Contains(s, "go install \""+module) || strings.Contains(s, "go install "+module)
				lines = append(lines, sockspecLines(s)...)
			}
			if !installs {
				t.Errorf("it does not go install %s…", module)
			}
			used := map[string]bool{}
			for _, l := range lines {
				used[l.command] = true
				if strings.Contains(l.command, "run") && !hasFlag(l.args, "shard") && !strings.Contains(path, "action.yml") {
					t.Errorf("%q judges every rule in one job: give each job its --shard", l.text)
				}
				fs := commandFlags(t, l.command)
				if fs == nil {
					t.Errorf("%q: no sockspec command %q (or this test does not know its flags: see commandFlags)", l.text, l.command)
					continue
				}
				if err := fs.Parse(l.args); err != nil {
					t.Errorf("%q: sockspec %s refuses its flags: %v", l.text, l.command, err)
				} else if l.command == "run" && fs.NArg() > 0 {
					t.Errorf("%q: sockspec run takes no argument but flags, and is given %q", l.text, fs.Args())
				}
			}
			want := []string{"run"}
			if !strings.Contains(path, "action.yml") {
				want = append(want, "report merge")
			}
			for _, c := range want {
				if !used[c] {
					t.Errorf("no 'sockspec %s' in it", c)
				}
			}
		})
	}
}

// commandFlags is the flag set of a sockspec command, nil for one that
// does not exist. Each command the templates use is listed here.
func commandFlags(t *testing.T, command string) *flag.FlagSet {
	switch command {
	case "run":
		f, _, done := parseRunFlags(env{Stdout: io.Discard, Stderr: io.Discard}, nil)
		if done {
			t.Fatal("run's flags do not parse an empty command line")
		}
		return f.fs
	case "report merge":
		fs, _ := reportMergeFlags()
		return fs
	}
	return nil
}

func hasFlag(args []string, name string) bool {
	for _, a := range args {
		n, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && n == name {
			return true
		}
	}
	return false
}

// stringsIn lists every string of a YAML document.
func stringsIn(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case map[string]any:
		var out []string
		for k, x := range v {
			out = append(append(out, k), stringsIn(x)...)
		}
		return out
	case []any:
		var out []string
		for _, x := range v {
			out = append(out, stringsIn(x)...)
		}
		return out
	}
	return nil
}

var (
	// expression is a GitHub expression, ${{ … }}: one word of the shell.
	expression = regexp.MustCompile(`\$\{\{[^}]*\}\}`)
	// splitting is an unquoted expansion, $ARGS, that the shell splits
	// into words the test cannot know.
	splitting = regexp.MustCompile(`^\$\{?[A-Za-z_][A-Za-z0-9_]*\}?$`)
)

// sockspecLines finds the sockspec command lines of a shell script s: a
// word "sockspec" where a command begins, the command (and a subcommand of report), and the
// words up to the end of the shell command.
func sockspecLines(s string) []sockspecLine {
	s = strings.ReplaceAll(s, "\\\n", " ")
	var out []sockspecLine
	for _, line := range strings.Split(s, "\n") {
		words := strings.Fields(expression.ReplaceAllString(line, "X"))
		for i := 0; i < len(words); i++ {
			if words[i] != "sockspec" || i+1 == len(words) || i > 0 && !startsCommand(words[i-1]) {
				continue
			}
			l := sockspecLine{command: words[i+1], text: strings.TrimSpace(line)}
			i += 2
			if l.command == "report" && i < len(words) {
				l.command += " " + words[i]
				i++
			}
			for ; i < len(words) && !isShellOperator(words[i]); i++ {
				if splitting.MatchString(words[i]) {
					continue
				}
				l.args = append(l.args, strings.Trim(words[i], `"'`))
			}
			out = append(out, l)
		}
	}
	return out
}

// startsCommand: the word after w is a command's name.
func startsCommand(w string) bool {
	switch w {
	case "then", "do", "else", "!", "time", "{", "if", "-":
		return true
	}
	return isShellOperator(w)
}

func isShellOperator(w string) bool {
	switch w {
	case "||", "&&", "|", ";", "&":
		return true
	}
	return strings.HasPrefix(w, ">") || strings.HasPrefix(w, "2>") || strings.HasPrefix(w, "<")
}
