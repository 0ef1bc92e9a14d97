package spec

import (
	"context"
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	"go.uber.org/goleak"

	"github.com/sockspec/sockspec/spec/driver"
)

// Every spec must leave no goroutine of the target behind: the session's
// Close owns everything the server started. The snapshot is taken before
// the spec, and the check runs after every cleanup of the spec.
var _ = BeforeEach(func() {
	before := goleak.IgnoreCurrent()
	DeferCleanup(func() {
		opts := []goleak.Option{before}
		if w, ok := currentTarget().(backgroundWorker); ok {
			for _, f := range w.BackgroundFuncs() {
				opts = append(opts, goleak.IgnoreAnyFunction(f))
			}
		}
		if err := goleak.Find(opts...); err != nil {
			Fail("the target left goroutines running after the session was closed: " + err.Error())
		}
	})
})

// backgroundWorker is a target with goroutines of its own that run across
// specs by design, owned by the target and not by a session: the
// container tier makes the next spec's container, and removes the last
// one's, while a spec runs. It names the functions those goroutines run,
// which the check above leaves out.
type backgroundWorker interface{ BackgroundFuncs() []string }

// hygieneEntry names the report entry of the hygiene oracle's findings.
const hygieneEntry = "hygiene"

// busyShare is the share of a core above which a server counts as
// spinning: the specs keep their servers nearly idle, and a loop spinning
// on a closed socket gets about half a core of the two the harness and
// the adapter share. busyWindow is the least time over which the share is
// judged.
const (
	busyShare  = 0.25
	busyWindow = 300 * time.Millisecond
)

// cpuWanted is the share of a core the process wanted between two looks:
// the time its threads were runnable (on a CPU or queued for one) per
// second of its life, where the kernel keeps scheduler statistics; the
// CPU time it got otherwise. What it got alone would let a spinning server
// pass on a loaded machine, where it gets a fraction of a core however
// hard it spins.
func cpuWanted(before, after driver.Hygiene) float64 {
	wall := after.Age - before.Age
	if wall <= 0 {
		return 0
	}
	if before.Runnable > 0 && after.Runnable > 0 {
		return float64(after.Runnable-before.Runnable) / float64(wall)
	}
	return float64(after.CPU-before.CPU) / float64(wall)
}

// settleBound is how long the oracle gives a server, after its spec, to
// reap its children and close what it holds before it reports.
const settleBound = 100 * time.Millisecond

// inspectHygiene compares a server process at the end of a spec with the
// same process just after it started, and says what it still holds:
// zombies and children, descriptors and threads beyond the baseline, a
// CPU kept busy. The findings go beside the verdict: a leak is worth
// knowing whatever the rule said. Threads count only for runtimes whose
// threads are the server's own (not Go's, which starts OS threads as it
// pleases; goroutines are checked in process, by goleak).
func inspectHygiene(in driver.Inspector, before driver.Hygiene, countThreads bool) string {
	first, err := in.Inspect(context.Background())
	if err != nil {
		return ""
	}
	note("proc", "at the end: "+procFacts(first))
	busy := ""
	if wall := first.Age - before.Age; wall >= busyWindow {
		if share := cpuWanted(before, first); share > busyShare {
			busy = fmt.Sprintf("busy: %.0f%% of a core over %v", 100*share, wall.Round(10*time.Millisecond))
		}
	}
	// A server may be reaping a child that just exited: give it a moment.
	last := first
	deadline := time.Now().Add(settleBound)
	for leftovers(before, last, countThreads) != "" && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond) // polling /proc: it has no events
		if h, err := in.Inspect(context.Background()); err == nil {
			last = h
		}
	}
	var f []string
	if l := leftovers(before, last, countThreads); l != "" {
		f = append(f, l)
	}
	if busy != "" {
		f = append(f, busy)
	}
	return strings.Join(f, "; ")
}

// leftovers says what after holds beyond before.
func leftovers(before, after driver.Hygiene, countThreads bool) string {
	var f []string
	if after.Zombies > 0 {
		f = append(f, fmt.Sprintf("%d zombie children", after.Zombies))
	}
	if after.Children > 0 {
		f = append(f, fmt.Sprintf("%d children still running", after.Children))
	}
	if d := after.FDs - before.FDs; d > 0 {
		f = append(f, fmt.Sprintf("%d more open descriptors than after start (%d): %s", d, after.FDs, newNames(before.FDNames, after.FDNames)))
	}
	if d := after.Threads - before.Threads; countThreads && d > 0 {
		f = append(f, fmt.Sprintf("%d more threads than after start (%d)", d, after.Threads))
	}
	return strings.Join(f, "; ")
}

// newNames lists what after has that before had not, kind by kind
// ("socket:[1234]" is a socket), three at most.
func newNames(before, after []string) string {
	had := map[string]int{}
	for _, n := range before {
		had[n]++
	}
	var out []string
	for _, n := range after {
		if had[n] > 0 {
			had[n]--
			continue
		}
		out = append(out, n)
	}
	if len(out) > 3 {
		out = append(out[:3], "…")
	}
	return strings.Join(out, ", ")
}
