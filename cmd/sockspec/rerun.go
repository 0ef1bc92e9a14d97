package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sockspec/sockspec/adapters/process"
	"github.com/sockspec/sockspec/spec"
)

// readVerdict reads a saved run's report: path is its report directory
// or its report.json.
func readVerdict(path string) (*spec.Verdict, string, error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = filepath.Join(path, "report.json")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, path, err
	}
	var v spec.Verdict
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, path, fmt.Errorf("%s is no report of sockspec run: %v", path, err)
	}
	return &v, path, nil
}

// rerunArgs reads the run saved in dir and returns the arguments that
// judge its target as it did — its target arguments (with --strict when
// it was strict), seed and expectations — and the rules whose
// disposition was unexpected there: those to run again.
func rerunArgs(dir string) (args, failed []string, err error) {
	v, path, err := readVerdict(dir)
	if err != nil {
		return nil, nil, err
	}
	for _, r := range v.Rules {
		if r.Disposition == spec.DispositionUnexpected {
			failed = append(failed, r.Rule)
		}
	}
	if v.TargetArgs == "" {
		return nil, nil, errors.New(path + " does not say how its target was named (an older sockspec wrote it): run again with --target and --label-filter")
	}
	if args, err = process.SplitWords(v.TargetArgs); err != nil {
		return nil, nil, fmt.Errorf("%s: target_args: %v", path, err)
	}
	args = append(args, "--seed", fmt.Sprint(v.Seed), "--expectations", expectationsFlag(v.Expectations))
	return args, failed, nil
}

// expectationsFlag is the --expectations that judges as the expectations
// named source did: none for none; the file itself when it is at hand;
// otherwise auto, which finds a shipped file (whose source is its path
// in this repository) again.
func expectationsFlag(source string) string {
	switch {
	case source == "":
		return "none"
	case strings.HasPrefix(source, "adapters/cpython/expect/"):
		return "auto"
	}
	if _, err := os.Stat(source); err == nil {
		return source
	}
	return "auto"
}
