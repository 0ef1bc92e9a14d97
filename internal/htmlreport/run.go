// Package htmlreport renders runs of the suite as one HTML page: a matrix
// of rules by targets, each cell coloured and labelled by the rule's
// outcome, with filters and a detail panel per cell (the rule, each
// spec's outcome and timeline, the hook order against the reference's,
// the command that replays it).
//
// The page is one self-contained file: its CSS and script are inline,
// and its Content-Security-Policy lets it fetch nothing, so that it opens
// from file:// on a machine with no network and an attachment of a CI job
// shows what the run saw. It reads report.json, not the suite's types, so
// that saved reports of other builds render too, and the suite can call it
// without an import cycle.
package htmlreport

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Run is one run's report.json: the fields the page shows.
type Run struct {
	// Source names where the report was read from (its directory), to tell
	// columns of one target apart.
	Source string `json:"-"`

	Sockspec struct {
		Version  string `json:"version"`
		Revision string `json:"revision"`
		Modified bool   `json:"modified"`
		Go       string `json:"go"`
	} `json:"sockspec"`
	Machine struct {
		Hostname string `json:"hostname"`
		Kernel   string `json:"kernel"`
		Arch     string `json:"arch"`
	} `json:"machine"`
	Target          string         `json:"target"`
	Version         string         `json:"version"`
	Seed            int64          `json:"seed"`
	Rules           []RuleResult   `json:"rules"`
	Counts          map[string]int `json:"counts"`
	Conformant      bool           `json:"conformant"`
	Verdict         string         `json:"verdict"`
	Strict          bool           `json:"strict"`
	HarnessFailures []string       `json:"harness_failures"`
	Started         time.Time      `json:"started"`
	Duration        time.Duration  `json:"duration_ns"`
	Expectations    string         `json:"expectations"`
	Unexpected      int            `json:"unexpected"`
	HygieneFindings int            `json:"hygiene_findings"`
}

// RuleResult is one rule's outcome in a run.
type RuleResult struct {
	Rule     string `json:"rule"`
	Level    string `json:"level"`
	Title    string `json:"title"`
	Outcome  string `json:"outcome"`
	Specs    []Spec `json:"specs"`
	Expected *struct {
		Outcome string `json:"outcome"`
		Why     string `json:"why"`
	} `json:"expected"`
	Disposition string `json:"disposition"`
	Reason      string `json:"reason"`
}

// Spec is one spec's outcome in a run.
type Spec struct {
	Name        string            `json:"name"`
	Outcome     string            `json:"outcome"`
	Duration    time.Duration     `json:"duration_ns"`
	Message     string            `json:"message"`
	Location    string            `json:"location"`
	Hygiene     string            `json:"hygiene"`
	Faults      []json.RawMessage `json:"faults"`
	Timeline    []Moment          `json:"timeline"`
	Replay      string            `json:"replay"`
	Disposition string            `json:"disposition"`
	Reason      string            `json:"reason"`
	Hooks       string            `json:"hooks"`
}

// Moment is one line of a spec's timeline.
type Moment struct {
	At   time.Duration `json:"at_ns"`
	Kind string        `json:"kind"`
	What string        `json:"what"`
}

// ReportFile is the name of a run's report in its report directory.
const ReportFile = "report.json"

// ErrNoReport: a directory holds no report.json.
var ErrNoReport = errors.New("no " + ReportFile + " (not a --report-dir of sockspec run or reproduce)")

// Decode reads a report.json; source names it on the page.
func Decode(b []byte, source string) (Run, error) {
	var r Run
	if err := json.Unmarshal(b, &r); err != nil {
		return Run{}, fmt.Errorf("%s: %w", source, err)
	}
	if r.Target == "" {
		return Run{}, fmt.Errorf("%s: not a sockspec report (no target)", source)
	}
	r.Source = source
	return r, nil
}

// Load reads dir/report.json.
func Load(dir string) (Run, error) {
	path := filepath.Join(dir, ReportFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Run{}, fmt.Errorf("%s: %w", dir, ErrNoReport)
	}
	if err != nil {
		return Run{}, err
	}
	return Decode(b, dir)
}
