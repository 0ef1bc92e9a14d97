package spec

import (
	"encoding/xml"
	"fmt"
	"os"
	"strings"

	"github.com/onsi/ginkgo/v2/reporters"
)

// WriteJUnit writes the verdict v as a JUnit file at path. It is written
// from the verdict, not from Ginkgo's report, so that it agrees with it:
// a CI dashboard goes red exactly when the run's exit status is not 0. A
// spec the verdict does not accept is a failure (an <error> when the
// harness or the adapter broke); an expected deviation passes, with its
// reason in the test case's properties and system-out; an N/A is skipped.
// The suite's properties name the target, the seed, the verdict and the
// sockspec that judged it.
func WriteJUnit(path string, v *Verdict) error {
	b, err := xml.MarshalIndent(junitOf(v), "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append([]byte(xml.Header), append(b, '\n')...), 0o644)
}

// junitOf is the JUnit form of v: one suite, a test case per spec (its
// class the rule), and one per harness failure.
func junitOf(v *Verdict) reporters.JUnitTestSuites {
	suite := reporters.JUnitTestSuite{
		Name:    suiteName,
		Package: "github.com/sockspec/sockspec/spec",
		Time:    v.Duration.Seconds(),
		Properties: reporters.JUnitProperties{Properties: []reporters.JUnitProperty{
			{Name: "target", Value: v.Target},
			{Name: "target_version", Value: v.Version},
			{Name: "seed", Value: fmt.Sprint(v.Seed)},
			{Name: "verdict", Value: v.Summary},
			{Name: "conformant", Value: fmt.Sprint(v.Conformant)},
			{Name: "expectations", Value: v.Expectations},
			{Name: "strict", Value: fmt.Sprint(v.Strict)},
			{Name: "sockspec_version", Value: v.Sockspec.Version},
			{Name: "sockspec_revision", Value: v.Sockspec.Revision},
			{Name: "sockspec_modified", Value: fmt.Sprint(v.Sockspec.Modified)},
			{Name: "go_version", Value: v.Sockspec.Go},
		}},
	}
	if !v.Started.IsZero() {
		suite.Timestamp = v.Started.UTC().Format("2006-01-02T15:04:05")
	}
	for _, r := range v.Rules {
		for _, s := range r.Specs {
			suite.TestCases = append(suite.TestCases, junitCase(r, s))
		}
	}
	for _, f := range v.HarnessFailures {
		suite.TestCases = append(suite.TestCases, reporters.JUnitTestCase{
			Name: "harness: " + firstLine(f), Classname: "harness", Status: string(OutcomeError),
			Error: &reporters.JUnitError{Message: firstLine(f), Type: "harness failure", Description: f},
		})
	}
	for _, c := range suite.TestCases {
		suite.Tests++
		switch {
		case c.Error != nil:
			suite.Errors++
		case c.Failure != nil:
			suite.Failures++
		case c.Skipped != nil:
			suite.Skipped++
		}
	}
	return reporters.JUnitTestSuites{
		Tests: suite.Tests, Errors: suite.Errors, Failures: suite.Failures, Time: suite.Time,
		TestSuites: []reporters.JUnitTestSuite{suite},
	}
}

// junitCase is one spec of rule r.
func junitCase(r RuleResult, s SpecResult) reporters.JUnitTestCase {
	c := reporters.JUnitTestCase{
		Name: s.Name, Classname: r.Rule, Status: string(s.Outcome), Time: s.Duration.Seconds(),
		Properties: &reporters.JUnitProperties{Properties: []reporters.JUnitProperty{
			{Name: "rule", Value: r.Rule},
			{Name: "level", Value: string(r.Level)},
			{Name: "outcome", Value: string(s.Outcome)},
			{Name: "disposition", Value: string(s.Disposition)},
		}},
	}
	if s.Reason != "" {
		c.Properties.Properties = append(c.Properties.Properties, reporters.JUnitProperty{Name: "reason", Value: s.Reason})
	}
	var out []string
	for _, part := range []struct{ label, text string }{
		{"why", s.Reason}, {"message", s.Message}, {"at", s.Location}, {"hygiene", s.Hygiene}, {"replay", s.Replay},
	} {
		if part.text != "" {
			out = append(out, part.label+": "+part.text)
		}
	}
	detail := strings.Join(out, "\n")
	switch {
	case s.Disposition == DispositionUnexpected && s.Outcome == OutcomeError:
		c.Error = &reporters.JUnitError{Message: firstLine(s.Message), Type: string(s.Outcome), Description: detail}
	case s.Disposition == DispositionUnexpected:
		msg := firstLine(s.Message)
		if msg == "" {
			msg = firstLine(s.Reason)
		}
		c.Failure = &reporters.JUnitFailure{Message: msg, Type: string(s.Outcome), Description: detail}
	case s.Outcome == OutcomeNA:
		why := s.Message
		if s.Reason != "" {
			why = s.Reason + ": " + why
		}
		c.Skipped = &reporters.JUnitSkipped{Message: firstLine(why)}
		c.SystemOut = detail
	default:
		c.SystemOut = detail
	}
	return c
}
