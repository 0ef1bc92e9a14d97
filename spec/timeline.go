package spec

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/sockspec/sockspec/spec/driver"
)

// Moment is one line of a spec's timeline: what happened when, counted from
// the spec's start. Kinds: "fault" (set, fired, lifted), "hook" (the
// target's trace), "client" (what a client sent and got), "proc" (what
// /proc showed of the server process), "signal", "net" (what the run's
// simulated network decided: a segment delayed, a datagram dropped, a
// connection reset).
type Moment struct {
	At   time.Duration `json:"at_ns"`
	Kind string        `json:"kind"`
	What string        `json:"what"`
}

func (m Moment) String() string {
	return fmt.Sprintf("%9.3fs  %-6s %s", m.At.Seconds(), m.Kind, m.What)
}

// Report entries a spec leaves for the verdict.
const (
	timelineEntry = "timeline"
	faultsEntry   = "faults"
)

// specLog is the timeline and fault script of the spec that runs now
// (specs of one process run one at a time).
var specLog struct {
	sync.Mutex
	start   time.Time
	moments []Moment
	faults  []driver.Fault
	netSeen int              // the network's decisions so far, kept or not
	traces  [][]driver.Event // each server's, for the hook sequence
}

// maxNetMoments bounds the network's decisions a timeline keeps: a spec
// that moves a megabyte through a chopping link makes tens of thousands,
// and the first ones tell what the link did; the rest are counted.
const maxNetMoments = 200

// note adds a moment to the running spec's timeline.
func note(kind, what string) {
	specLog.Lock()
	defer specLog.Unlock()
	if specLog.start.IsZero() {
		return
	}
	if kind == "net" {
		if specLog.netSeen++; specLog.netSeen > maxNetMoments {
			return
		}
	}
	specLog.moments = append(specLog.moments, Moment{At: time.Since(specLog.start), Kind: kind, What: what})
}

// recordFault adds f to the running spec's fault script.
func recordFault(f driver.Fault) {
	specLog.Lock()
	defer specLog.Unlock()
	specLog.faults = append(specLog.faults, f)
}

// sinceSpecStart is how long the running spec has run.
func sinceSpecStart() time.Duration {
	specLog.Lock()
	defer specLog.Unlock()
	return time.Since(specLog.start)
}

// noteTrace adds a session's trace to the timeline; its times count from
// the session's start, offset after the spec's.
func noteTrace(es []driver.Event, offset time.Duration) {
	specLog.Lock()
	defer specLog.Unlock()
	specLog.traces = append(specLog.traces, es)
	for _, e := range es {
		kind, what := "hook", e.String()
		if e.Hook == driver.HookFault {
			kind, what = "fault", "fired: "+e.Result
		}
		if e.PID != 0 {
			what += fmt.Sprintf(" (pid %d)", e.PID)
		}
		specLog.moments = append(specLog.moments, Moment{At: offset + e.Time, Kind: kind, What: what})
	}
}

var _ = BeforeEach(func() {
	specLog.Lock()
	specLog.start, specLog.moments, specLog.faults, specLog.netSeen, specLog.traces = time.Now(), nil, nil, 0, nil
	specLog.Unlock()
	DeferCleanup(func() {
		specLog.Lock()
		moments, faults, traces := specLog.moments, specLog.faults, specLog.traces
		if dropped := specLog.netSeen - maxNetMoments; dropped > 0 {
			moments = append(moments, Moment{At: time.Since(specLog.start), Kind: "net",
				What: fmt.Sprintf("… and %d more decisions of the network, not kept", dropped)})
		}
		specLog.start, specLog.moments, specLog.faults, specLog.traces = time.Time{}, nil, nil, nil
		specLog.Unlock()
		cfg := currentRun().cfg
		keep := cfg.KeepTimelines || CurrentSpecReport().Failed()
		// The hook order of a passing spec is a line per spec; only the
		// reference's report, the baseline other targets' are compared
		// with, keeps it.
		if seq := HookSequence(traces...); seq != "" && (keep || isBaseline(cfg.Target)) {
			AddReportEntry(hooksEntry, seq, ReportEntryVisibilityNever)
		}
		if len(faults) > 0 {
			b, _ := json.Marshal(faults)
			AddReportEntry(faultsEntry, string(b), ReportEntryVisibilityNever)
		}
		if len(moments) > 0 && keep {
			sort.SliceStable(moments, func(i, j int) bool { return moments[i].At < moments[j].At })
			b, _ := json.Marshal(moments)
			AddReportEntry(timelineEntry, string(b), ReportEntryVisibilityNever)
		}
	})
})

// FormatTimeline prints a timeline one moment a line.
func FormatTimeline(ms []Moment) string {
	var b strings.Builder
	for _, m := range ms {
		b.WriteString(m.String())
		b.WriteByte('\n')
	}
	return b.String()
}
