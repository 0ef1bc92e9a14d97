package main

import (
	"context"
	"fmt"
)

// reportCommand works on the reports of finished runs; each of its
// subcommands is a case of runReport.
var reportCommand = command{
	name:    "report",
	summary: "work on saved reports: merge the shards of a run",
	usage:   reportUsage,
	run:     runReport,
}

const reportUsage = `Usage: sockspec report <subcommand> [flags] [args]

Works on the reports (report.json) that 'sockspec run --report-dir' saved.

Subcommands:
  merge   merge the reports of the shards of a run (run --shard K/N) into
          one verdict: 'sockspec report merge -h'
`

func runReport(ctx context.Context, e env) int {
	if len(e.Args) == 0 {
		fmt.Fprint(e.Stderr, reportUsage)
		return 2
	}
	sub := e
	sub.Args = e.Args[1:]
	switch e.Args[0] {
	case "merge":
		return runReportMerge(ctx, sub)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(e.Stdout, reportUsage)
		return 0
	}
	fmt.Fprintf(e.Stderr, "sockspec report: unknown subcommand %q: run 'sockspec help report'\n", e.Args[0])
	return 2
}
