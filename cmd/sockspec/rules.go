package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/sockspec/sockspec/spec/rules"
)

// rulesCommand prints the rule registry.
var rulesCommand = command{
	name:    "rules",
	summary: "print the rules of the contract (ID, level, title, needs)",
	usage:   rulesUsage,
	run:     runRules,
}

const rulesUsage = `Usage: sockspec rules [--format table|json]

Prints the registry of rules: the stable ID, MUST or SHOULD, a title, the
capabilities a target needs for the rule to apply. json adds the full
sentence, the families and the sources of every rule.
`

func runRules(_ context.Context, e env) int {
	fs := flag.NewFlagSet("rules", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	format := fs.String("format", "table", "")
	if status, done := parseFlags(e, fs, "rules", rulesUsage, e.Args); done {
		return status
	}
	switch *format {
	case "json":
		b, err := json.MarshalIndent(rules.All(), "", "  ")
		if err != nil {
			fmt.Fprintf(e.Stderr, "sockspec rules: %v\n", err)
			return 1
		}
		fmt.Fprintln(e.Stdout, string(b))
	case "table":
		tw := tabwriter.NewWriter(e.Stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tLEVEL\tTITLE\tNEEDS")
		for _, r := range rules.All() {
			needs := append(append([]string(nil), r.Needs...), strings.Join(r.Families, "|"))
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.ID, r.Level, r.Title, strings.Trim(strings.Join(needs, " "), " "))
		}
		tw.Flush()
	default:
		fmt.Fprintf(e.Stderr, "sockspec rules: --format %q: want table or json\n", *format)
		return 2
	}
	return 0
}
