package containers

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"sync"

	"github.com/sockspec/sockspec/internal/procfs"
)

// Labels every container and network of the tier carries: they name the
// run that made it and the harness process of that run, so that a later
// run can tell what a dead one left behind (see Sweep).
const (
	LabelRun = "org.sockspec.run"
	// LabelPID is the harness's pid, LabelStart its start time (clock
	// ticks after boot): a pid reused by another process does not keep a
	// dead run's containers alive.
	LabelPID   = "org.sockspec.pid"
	LabelStart = "org.sockspec.pid-start"
	// LabelRole is "session", "netns" (a target's network holder).
	LabelRole = "org.sockspec.role"
)

// runID names this process's run; the same for every target it opens.
var runID = sync.OnceValue(func() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%d-%s", os.Getpid(), hex.EncodeToString(b))
})

// RunID is the value of LabelRun on what this process starts.
func RunID() string { return runID() }

// runLabels are the labels of what this process starts, with role.
func runLabels(role string) map[string]string {
	start := ""
	if st, err := procfs.ReadStat(os.Getpid()); err == nil {
		start = strconv.FormatInt(st.StartTicks, 10)
	}
	return map[string]string{
		LabelRun:   RunID(),
		LabelPID:   strconv.Itoa(os.Getpid()),
		LabelStart: start,
		LabelRole:  role,
	}
}

// harnessAlive reports whether the harness that labelled something still
// runs: its pid exists and started when the label says.
func harnessAlive(labels map[string]string) bool {
	pid, err := strconv.Atoi(labels[LabelPID])
	if err != nil || pid <= 0 {
		return false
	}
	st, err := procfs.ReadStat(pid)
	if err != nil || st.Zombie() {
		return false
	}
	if want := labels[LabelStart]; want != "" && want != strconv.FormatInt(st.StartTicks, 10) {
		return false
	}
	return true
}

// randomSuffix tells apart names made in one run.
func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
