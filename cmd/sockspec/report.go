package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/sockspec/sockspec/internal/htmlreport"
)

// reportCommand works on saved reports (the report.json of runs' report
// directories); each kind of work is a subcommand of its own.
var reportCommand = command{
	name:    "report",
	summary: "work on saved reports: 'report merge DIR…' joins the shards of a run into its verdict, 'report html DIR…' makes one HTML page of several runs, 'report compare A B' sets two runs' outcomes side by side",
	usage:   reportUsage,
	run:     runReport,
}

const reportUsage = `Usage: sockspec report <subcommand> [flags] DIR...

Works on saved reports: the report.json that sockspec run and sockspec
reproduce write into their --report-dir.

Subcommands:
  merge   the shards of one run (run --shard K/N), merged into its verdict
  html    one HTML page of the runs in DIR...: a rules x targets matrix
  compare the rule outcomes of two runs, DIR_A and DIR_B, side by side

Run 'sockspec report <subcommand> -h' for its flags.
`

// reportSubcommands lists the subcommands of report by name.
var reportSubcommands = map[string]func(context.Context, env) int{
	"merge":   runReportMerge,
	"html":    runReportHTML,
	"compare": runReportCompare,
}

func runReport(ctx context.Context, e env) int {
	if len(e.Args) == 0 {
		fmt.Fprint(e.Stderr, reportUsage)
		return 2
	}
	name, rest := e.Args[0], e.Args[1:]
	switch name {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(e.Stdout, reportUsage)
		return 0
	}
	sub, ok := reportSubcommands[name]
	if !ok {
		fmt.Fprintf(e.Stderr, "sockspec report: unknown subcommand %q: run 'sockspec help report' for the list\n", name)
		return 2
	}
	e.Args = rest
	return sub(ctx, e)
}

const reportHTMLUsage = `Usage: sockspec report html [--out FILE] DIR...

Renders the report.json of each DIR (a --report-dir of sockspec run or
reproduce) as one HTML page, a column a run: the rules x targets matrix,
each cell coloured and labelled by the rule's outcome and marked when the
verdict expected it or not; filters by area, level and "only unexpected";
a detail per cell with the rule, each spec's outcome, message, timeline,
hook order against the reference's (when a run of the reference is among
the DIRs) and the command that replays it. The page is one file that
fetches nothing: it opens from file:// anywhere.

Every run with --report-dir writes its own report.html beside report.json.

Flags:
  --out FILE   where to write the page (default: report.html in the
               current directory)

Exit status: 0 when the page is written, 2 when a DIR has no report.json
or the page cannot be written.
`

func runReportHTML(_ context.Context, e env) int {
	fs := flag.NewFlagSet("report html", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	out := fs.String("out", "report.html", "")
	// Flags may come after the directories too.
	var dirs []string
	args := e.Args
	for {
		if status, done := parseFlags(e, fs, "report html", reportHTMLUsage, args); done {
			return status
		}
		if fs.NArg() == 0 {
			break
		}
		dirs = append(dirs, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(dirs) == 0 {
		fmt.Fprintf(e.Stderr, "sockspec report html: name at least one report directory (one with a report.json)\n")
		return 2
	}
	var runs []htmlreport.Run
	for _, dir := range dirs {
		r, err := htmlreport.Load(dir)
		if err != nil {
			fmt.Fprintf(e.Stderr, "sockspec report html: %v\n", oneLine(err.Error()))
			return 2
		}
		runs = append(runs, r)
	}
	if err := htmlreport.WriteFile(*out, runs...); err != nil {
		fmt.Fprintf(e.Stderr, "sockspec report html: %v\n", oneLine(err.Error()))
		return 2
	}
	var names []string
	for _, r := range runs {
		names = append(names, r.Target)
	}
	fmt.Fprintf(e.Stdout, "sockspec report html: wrote %s (%s)\n", *out, strings.Join(names, ", "))
	return 0
}
