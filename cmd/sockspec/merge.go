package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/sockspec/sockspec/spec"
)

const reportMergeUsage = `Usage: sockspec report merge [--out DIR] DIR...

Merges the reports of the shards of one run ('sockspec run --shard K/N
--report-dir DIR', one DIR a shard) into the verdict a single run of all
their rules gives, prints its summary and, with --out, writes its
report.json and junit.xml. Each DIR is a report directory or the path of
a report.json.

The shards must make one run: the same target, version, expectations,
--strict and sockspec build, every K of 1..N once, no rule in two. What
does not fit is refused in one line.

Flags:
  --out DIR   write the merged report.json and junit.xml into DIR

Exit status: as 'sockspec run' would have exited: 0 conformant (or as
expected), 1 not, 2 a harness error in a shard, shards that do not make
one run, or bad flags.
`

func runReportMerge(_ context.Context, e env) int {
	fs, out := reportMergeFlags()
	if status, done := parseFlags(e, fs, "report merge", reportMergeUsage, e.Args); done {
		return status
	}
	if fs.NArg() == 0 {
		fmt.Fprintf(e.Stderr, "sockspec report merge: name the report directories of the shards to merge\n")
		return 2
	}
	v, err := mergeShards(fs.Args())
	if err != nil {
		fmt.Fprintf(e.Stderr, "sockspec report merge: %v\n", err)
		return 2
	}
	if *out != "" {
		if err := spec.WriteReports(*out, v); err != nil {
			fmt.Fprintf(e.Stderr, "sockspec report merge: %v\n", err)
			return 2
		}
	}
	spec.WriteSummary(e.Stdout, v)
	return exitStatus(v)
}

// reportMergeFlags are the flags of report merge.
func reportMergeFlags() (fs *flag.FlagSet, out *string) {
	fs = flag.NewFlagSet("report merge", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs, fs.String("out", "", "")
}

// mergeShards reads the shards' reports at paths and merges them, once
// they are shown to be every shard of one run, each once.
func mergeShards(paths []string) (*spec.Verdict, error) {
	var verdicts []*spec.Verdict
	seen := map[int]string{} // shard index → its report
	count := 0
	for _, p := range paths {
		v, file, err := readVerdict(p)
		if err != nil {
			return nil, err
		}
		s := v.Shard
		switch {
		case s == nil:
			return nil, fmt.Errorf("%s is not a shard's report (its run had no --shard K/N)", file)
		case count == 0:
			count = s.Count
		case s.Count != count:
			return nil, fmt.Errorf("%s is shard %d/%d, and %s one of %d: the shards are of different splits", file, s.Index, s.Count, seen[firstKey(seen)], count)
		}
		if other, ok := seen[s.Index]; ok {
			return nil, fmt.Errorf("shard %d/%d is given twice: %s and %s", s.Index, s.Count, other, file)
		}
		seen[s.Index] = file
		verdicts = append(verdicts, v)
	}
	var missing []string
	for k := 1; k <= count; k++ {
		if _, ok := seen[k]; !ok {
			missing = append(missing, fmt.Sprintf("%d/%d", k, count))
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("shard %s missing: give the report of every shard", strings.Join(missing, ", "))
	}
	v, err := spec.Merge(verdicts...)
	if err != nil {
		return nil, err
	}
	if len(v.Rules) == 0 {
		return nil, fmt.Errorf("the %d shards judged no rule: their filters chose no spec", count)
	}
	return v, nil
}

// firstKey is the lowest key of m.
func firstKey(m map[int]string) int {
	least := 0
	for k := range m {
		if least == 0 || k < least {
			least = k
		}
	}
	return least
}
