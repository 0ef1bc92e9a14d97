package containers

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/sockspec/sockspec/spec/driver"
)

// Options configure a container target.
type Options struct {
	Limits Limits
	// Network is where the servers' sockets live: NetworkIsolated (the
	// default) or NetworkHost. See the package documentation.
	Network string
	// Validate checks every protocol message against the schema (adapter
	// targets).
	Validate bool
	// Blackbox describes an image= target's program: what it serves and
	// does per request, and what its user vouches for ("signals").
	Family       driver.Family
	Dispatch     driver.Dispatch
	Capabilities []string
	// ReadyTimeout bounds a black-box program's readiness; 0 is 10 s.
	ReadyTimeout time.Duration
	// User runs the container as this uid:gid; "" is 65534:65534.
	User string
	// Log receives what the tier says outside any verdict: the containers
	// of dead runs it removed. nil is silence.
	Log io.Writer
}

// Network modes.
const (
	// NetworkIsolated: every container of a target shares one network
	// namespace that has nothing but loopback (no route out, nothing
	// published), held by a container of its own; the harness dials into
	// it.
	NetworkIsolated = "isolated"
	// NetworkHost: the containers use the host's network namespace, as a
	// process target does: no network isolation, full parity.
	NetworkHost = "host"
)

// Limits confine a container's resources. Zero fields take the defaults
// of DefaultLimits; a negative field lifts the limit.
type Limits struct {
	Pids   int64   // tasks (processes and threads) of the container
	NoFile int64   // RLIMIT_NOFILE, soft and hard
	Memory int64   // bytes
	CPUs   float64 // CPUs, fractions allowed
}

// DefaultLimits leave room for every spec (a forking server of the suite
// runs a few dozen tasks) while a runaway server stays bounded.
var DefaultLimits = Limits{Pids: 512, NoFile: 4096, Memory: 512 << 20, CPUs: 1}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.Pids != 0 {
		d.Pids = l.Pids
	}
	if l.NoFile != 0 {
		d.NoFile = l.NoFile
	}
	if l.Memory != 0 {
		d.Memory = l.Memory
	}
	if l.CPUs != 0 {
		d.CPUs = l.CPUs
	}
	return d
}

func (l Limits) apply(hc *container.HostConfig) {
	if l.Pids > 0 {
		hc.PidsLimit = ptr(l.Pids)
	}
	if l.NoFile > 0 {
		hc.Ulimits = []*container.Ulimit{{Name: "nofile", Soft: l.NoFile, Hard: l.NoFile}}
	}
	if l.Memory > 0 {
		hc.Memory = l.Memory
		hc.MemorySwap = l.Memory // no swap beyond the limit
	}
	if l.CPUs > 0 {
		hc.NanoCPUs = int64(l.CPUs * 1e9)
	}
}

// hint names the limits, for an error the daemon gave while they applied.
func (l Limits) hint() string {
	return fmt.Sprintf("the limits asked were pids %d, nofile %d, memory %d bytes, cpus %g: lower or lift the one the daemon named (docker info shows what it supports)", l.Pids, l.NoFile, l.Memory, l.CPUs)
}

// Validate refuses limits no daemon accepts.
func (l Limits) Validate() error {
	if l.Memory > 0 && l.Memory < 6<<20 {
		return fmt.Errorf("containers: memory limit %d bytes is below Docker's minimum of 6 MiB: give at least 6m", l.Memory)
	}
	if l.CPUs < 0 && l.CPUs != -1 {
		return fmt.Errorf("containers: cpus %g: give a positive number, or -1 for no limit", l.CPUs)
	}
	return nil
}

func (o Options) network() (string, error) {
	switch strings.ToLower(o.Network) {
	case "", NetworkIsolated:
		return NetworkIsolated, nil
	case NetworkHost:
		return NetworkHost, nil
	}
	return "", fmt.Errorf("containers: network %q: want %s or %s", o.Network, NetworkIsolated, NetworkHost)
}
