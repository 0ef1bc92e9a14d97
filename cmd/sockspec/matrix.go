package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/sockspec/sockspec/adapters/cpython"
	"github.com/sockspec/sockspec/spec"
	"github.com/sockspec/sockspec/spec/driver"
	"github.com/sockspec/sockspec/spec/rules"
)

// matrixCommand runs the suite against several targets and tabulates the
// outcomes rule by rule.
var matrixCommand = command{
	name:    "matrix",
	summary: "run the suite against several targets and write a rule × target table",
	usage:   matrixUsage,
	run:     runMatrix,
}

const matrixUsage = `Usage: sockspec matrix --targets T1,T2,... [flags]

Runs the suite against each target in turn (each in a process of its own,
as 'sockspec run' with the target's shipped expectations) and writes a
table of outcomes, a row a rule and a column a target, as matrix.md and
matrix.json. A cell is the rule's outcome; a * marks a deviation the
target's expectations document (see adapters/cpython/expect), a ! one they
do not foresee.

Flags:
  --targets LIST
        comma-separated targets, as --target of 'sockspec run' takes them:
        reference,cpython:2.7,cpython:3.11; cpython:all stands for every
        version pyenv has installed
  --out DIR
        where to write matrix.md, matrix.json and each target's reports
        (default reports/matrix)
  --label-filter EXPR
        run only the specs whose labels match
  --bound D
        the longest one target may run (default 10m)

Exit status: the worst of the targets' runs, as for 'sockspec run': 0
when every target is conformant (or as its expectations say), 1 when one
is not, 2 when a run broke (harness error, a target that cannot start,
the bound ran out) or for bad flags.
`

// matrixCell is one target's outcome for one rule.
type matrixCell struct {
	Outcome  spec.Outcome `json:"outcome"`
	Expected bool         `json:"expected,omitempty"`
	// Unforeseen: the target has expectations and they did not foresee this.
	Unforeseen bool `json:"unforeseen,omitempty"`
}

type matrixColumn struct {
	Target     string                `json:"target"`
	Version    string                `json:"version"`
	Duration   time.Duration         `json:"duration_ns"`
	Status     int                   `json:"exit_status"`
	Conformant bool                  `json:"conformant"`
	Error      string                `json:"error,omitempty"`
	Cells      map[string]matrixCell `json:"cells"`
}

func runMatrix(ctx context.Context, e env) int {
	fs := flag.NewFlagSet("matrix", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	targets := fs.String("targets", "", "")
	out := fs.String("out", filepath.Join("reports", "matrix"), "")
	filter := fs.String("label-filter", "", "")
	bound := fs.Duration("bound", 10*time.Minute, "")
	if status, done := parseFlags(e, fs, "matrix", matrixUsage, e.Args); done {
		return status
	}
	if *targets == "" || fs.NArg() > 0 {
		fmt.Fprintf(e.Stderr, "sockspec matrix: give the targets with --targets T1,T2 (and no other argument)\n")
		return 2
	}
	if err := (spec.Config{LabelFilter: *filter}).Check(); err != nil {
		return refuseFilters(e, "matrix", err)
	}
	var names []string
	for _, n := range strings.Split(*targets, ",") {
		if n == "cpython:all" {
			for _, v := range cpython.Versions() {
				names = append(names, "cpython:"+v)
			}
			continue
		}
		names = append(names, n)
	}
	for _, n := range names {
		t, err := openTarget(n, driver.OpenOptions{})
		if err != nil {
			fmt.Fprintf(e.Stderr, "sockspec matrix: --targets: %v\n", err)
			return 2
		}
		t.Close()
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(e.Stderr, "sockspec matrix: %v\n", err)
		return 2
	}
	var cols []matrixColumn
	for _, name := range names {
		dir := filepath.Join(*out, safeName(name))
		args := []string{"run", "--target", name, "--report-dir", dir}
		if *filter != "" {
			args = append(args, "--label-filter", *filter)
		}
		fmt.Fprintf(e.Stdout, "sockspec matrix: %s …\n", name)
		col := runColumn(ctx, exe, args, dir, *bound)
		col.Target = name
		fmt.Fprintf(e.Stdout, "sockspec matrix: %s: %d rules in %v%s\n", name, len(col.Cells), col.Duration.Round(time.Second), suffix(col.Error))
		cols = append(cols, col)
	}
	if err := writeMatrix(*out, cols); err != nil {
		fmt.Fprintf(e.Stderr, "sockspec matrix: %v\n", err)
		return 2
	}
	fmt.Fprintf(e.Stdout, "sockspec matrix: wrote %s and %s\n", filepath.Join(*out, "matrix.md"), filepath.Join(*out, "matrix.json"))
	return matrixStatus(cols)
}

// matrixStatus is the worst of the columns' exit statuses, those of run:
// 0 conformant or as expected, 1 not, 2 a run that broke or left no
// verdict.
func matrixStatus(cols []matrixColumn) int {
	status := 0
	for _, c := range cols {
		s := c.Status
		if c.Error != "" || s < 0 || s > 2 {
			s = 2
		}
		status = max(status, s)
	}
	return status
}

func suffix(s string) string {
	if s == "" {
		return ""
	}
	return ": " + s
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func safeName(target string) string { return unsafeChars.ReplaceAllString(target, "_") }

// runColumn runs the suite against one target in a process of its own.
func runColumn(ctx context.Context, exe string, args []string, dir string, bound time.Duration) matrixColumn {
	run := runChild(ctx, exe, args, dir, bound)
	col := matrixColumn{Duration: run.Duration, Status: run.Status, Error: run.Error, Cells: map[string]matrixCell{}}
	v := run.Verdict
	if v == nil {
		return col
	}
	col.Version, col.Conformant = v.Version, v.Conformant
	for _, r := range v.Rules {
		col.Cells[r.Rule] = matrixCell{Outcome: r.Outcome, Expected: r.Expected != nil && r.AsExpected,
			Unforeseen: v.Expectations != "" && !r.AsExpected}
	}
	return col
}

func writeMatrix(dir string, cols []matrixColumn) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(cols, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "matrix.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "matrix.md"), []byte(matrixMarkdown(cols)), 0o644)
}

// matrixMarkdown renders the table: a row a rule, a column a target.
func matrixMarkdown(cols []matrixColumn) string {
	var b strings.Builder
	b.WriteString("| rule | level |")
	for _, c := range cols {
		fmt.Fprintf(&b, " %s |", c.Target)
	}
	b.WriteString("\n|---|---|")
	for range cols {
		b.WriteString("---|")
	}
	b.WriteString("\n| | version |")
	for _, c := range cols {
		fmt.Fprintf(&b, " %s |", c.Version)
	}
	b.WriteString("\n")
	for _, r := range rules.All() {
		fmt.Fprintf(&b, "| %s %s | %s |", r.ID, r.Title, r.Level)
		for _, c := range cols {
			cell, ok := c.Cells[r.ID]
			switch {
			case !ok:
				b.WriteString(" – |")
			case cell.Expected:
				fmt.Fprintf(&b, " %s* |", cell.Outcome)
			case cell.Unforeseen:
				fmt.Fprintf(&b, " %s! |", cell.Outcome)
			default:
				fmt.Fprintf(&b, " %s |", cell.Outcome)
			}
		}
		b.WriteString("\n")
	}
	b.WriteString("\n* a deviation the target's expectations document; ! one they do not foresee; – not run.\n")
	return b.String()
}
