package main

import (
	"context"
	"fmt"
)

// reportCommand works on saved reports (the report.json of runs' report
// directories); each kind of work is a subcommand of its own.
var reportCommand = command{
	name:    "report",
	summary: "work on saved reports: 'report merge DIR…' joins the shards of a run into its verdict",
	usage:   reportUsage,
	run:     runReport,
}

const reportUsage = `Usage: sockspec report <subcommand> [flags] DIR...

Works on saved reports: the report.json that sockspec run and sockspec
reproduce write into their --report-dir.

Subcommands:
  merge   the shards of one run (run --shard K/N), merged into its verdict

Run 'sockspec report <subcommand> -h' for its flags.
`

// reportSubcommands lists the subcommands of report by name.
var reportSubcommands = map[string]func(context.Context, env) int{
	"merge": runReportMerge,
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
