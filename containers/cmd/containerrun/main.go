// Command containerrun runs the specification suite against a container
// target and, given the report of another tier's run, compares the rule
// outcomes one by one. It is what the container tier's parity check runs
// (make containers-parity), one suite per process as Ginkgo requires.
//
//	go run ./containers/cmd/containerrun --target reference \
//	    --report-dir reports/container-reference \
//	    --compare reports/reference-process/report.json
//
// Exit status: 0 when every rule's outcome matches (or nothing was
// compared), 1 when some differ, 2 for a harness error.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"syscall"
	"time"

	"github.com/sockspec/sockspec/adapters/cpython"
	"github.com/sockspec/sockspec/containers"
	"github.com/sockspec/sockspec/spec"
	"github.com/sockspec/sockspec/spec/driver"
)

func main() {
	target := flag.String("target", "reference", "the container target, after \"container:\": "+containers.Usage)
	reportDir := flag.String("report-dir", "", "write junit.xml and report.json here")
	compare := flag.String("compare", "", "a report.json of another run to compare rule outcomes with")
	labels := flag.String("label-filter", "", "run only the specs these labels select")
	network := flag.String("network", containers.NetworkIsolated, "isolated or host")
	user := flag.String("user", "", "run the containers as uid:gid (default 65534:65534)")
	expect := flag.Bool("expectations", false, "judge a CPython target by its shipped expectations (adapters/cpython/expect)")
	flag.Parse()
	os.Exit(run(*target, *reportDir, *compare, *labels, *expect, containers.Options{Network: *network, User: *user, Log: os.Stderr}))
}

// expectations are the shipped expectations of the implementation the
// target's adapter names, or nil when there are none.
func expectations(t driver.Target) (*spec.Expectations, error) {
	impl, ok := t.(interface{ Implementation() (string, string) })
	if !ok {
		return nil, nil
	}
	name, version := impl.Implementation()
	data, file, ok := cpython.Expectations(name, version)
	if !ok {
		return nil, nil
	}
	return spec.ParseExpectations(data, file)
}

func run(name, reportDir, compare, labels string, expect bool, o containers.Options) int {
	t, err := containers.Open(name, o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "containerrun: %v\n", err)
		return 2
	}
	// An interrupted run removes its containers before it exits.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = containers.RemoveRun(ctx)
		os.Exit(2)
	}()
	begun := time.Now()
	cfg := spec.Config{Target: t, ReportDir: reportDir, LabelFilter: labels, TargetArgs: "--target " + spec.ShellQuote("container:"+name)}
	if expect {
		if cfg.Expectations, err = expectations(t); err != nil {
			fmt.Fprintf(os.Stderr, "containerrun: %v\n", err)
			return 2
		}
	}
	v, err := spec.Run(cfg)
	if cerr := t.Close(); cerr != nil {
		fmt.Fprintf(os.Stderr, "containerrun: closing the target: %v\n", cerr)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "containerrun: %v\n", err)
		return 2
	}
	fmt.Printf("containerrun: container:%s: %d rules in %.1fs\n", name, len(v.Rules), time.Since(begun).Seconds())
	if compare == "" {
		return 0
	}
	return compareWith(v, compare)
}

func compareWith(v *spec.Verdict, file string) int {
	data, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintf(os.Stderr, "containerrun: %v\n", err)
		return 2
	}
	var base spec.Verdict
	if err := json.Unmarshal(data, &base); err != nil {
		fmt.Fprintf(os.Stderr, "containerrun: %s: %v\n", file, err)
		return 2
	}
	want := map[string]spec.RuleResult{}
	for _, r := range base.Rules {
		want[r.Rule] = r
	}
	var diffs []string
	for _, r := range v.Rules {
		w, ok := want[r.Rule]
		if !ok {
			continue
		}
		if w.Outcome != r.Outcome {
			diffs = append(diffs, fmt.Sprintf("%-7s %s: %s in containers, %s in %s\n        %s", r.Rule, r.Title, r.Outcome, w.Outcome, base.Target, firstFailure(r)))
		}
	}
	sort.Strings(diffs)
	fmt.Printf("containerrun: %d rules compared with %s (%s): %d differ\n", len(v.Rules), base.Target, file, len(diffs))
	for _, d := range diffs {
		fmt.Println("  " + d)
	}
	if len(diffs) > 0 {
		return 1
	}
	return 0
}

func firstFailure(r spec.RuleResult) string {
	for _, s := range r.Specs {
		if s.Message != "" {
			msg := s.Message
			if len(msg) > 300 {
				msg = msg[:300] + "…"
			}
			return s.Name + ": " + msg
		}
	}
	return "(no message)"
}
