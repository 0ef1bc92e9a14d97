// Package process runs an adapter program as a driver.Target: one child
// process per session, spoken to in the JSON lines of
// spec/driver/PROTOCOL.md. The adapter may be written in any language;
// adapters/cpython/driver.py is one, "sockspec adapter" another.
//
// Every wait is bounded, and a session's whole process group (the adapter
// and the request children it forked) is killed and reaped when the
// session closes, when the adapter breaks the protocol, and when the
// harness is interrupted (KillAll).
//
// Peer (the protocol over any stdin, stdout and stderr) and Session (the
// driver.Session of an adapter's server, over a Peer and a Host) are
// exported for the tiers that run an adapter elsewhere: containers/ runs
// one in a container and reaches it through its attach stream.
package process

import (
	"context"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/sockspec/sockspec/internal/osfault"
	"github.com/sockspec/sockspec/spec/driver"
)

// Bounds of the waits that no spec bounds.
const (
	// HelloBound is how long an adapter may take to say hello.
	HelloBound = 10 * time.Second
	// ByeBound is how long an adapter may take to exit after bye before
	// its process group is killed.
	ByeBound = 2 * time.Second
	// reapBound is how long the group may take to die after SIGKILL.
	reapBound = 5 * time.Second
	// MaxEvents bounds a session's trace by default: an adapter that
	// floods events breaks the protocol instead of the harness's memory.
	// A CPython loop spinning on a closed socket (SHD-09) writes some
	// 100 000 events a second, so the bound leaves room for seconds of it.
	MaxEvents = 2_000_000
)

// Target is an adapter program.
type Target struct {
	// Argv is the adapter's command line; Argv[0] is looked up in PATH.
	Argv []string
	// Env is added to the harness's environment.
	Env []string
	// Label names the target in reports (default: the hello's name).
	Label string
	// Validate checks every message against the protocol's JSON Schema
	// (internal/protoschema) and the Go types, unknown fields refused,
	// and ends the session at the first that does not conform.
	Validate bool
	// HelloTimeout bounds the wait for the hello; 0 is HelloBound.
	HelloTimeout time.Duration
	// MaxEvents bounds a session's events; 0 is MaxEvents.
	MaxEvents int

	infoOnce sync.Once
	info     driver.Info
	hello    driver.Message
	infoErr  error
}

// Info describes the implementation, from the hello of a probe session.
// A target whose adapter cannot start has no capabilities, and its Info
// says why in Version; Start returns the error.
func (t *Target) Info() driver.Info {
	t.probe()
	return t.info
}

// Implementation is the name and version the adapter's hello gives
// ("cpython", "3.11.7"), whatever Label the reports show.
func (t *Target) Implementation() (name, version string) {
	t.probe()
	return t.hello.Name, t.hello.Version
}

// Err is the error of the probe: an adapter that does not start.
// SetValidate turns the schema check of every message on or off; it is
// always possible (true) for an adapter program.
func (t *Target) SetValidate(on bool) bool {
	t.Validate = on
	return true
}

func (t *Target) Err() error {
	t.probe()
	return t.infoErr
}

func (t *Target) probe() {
	t.infoOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), t.helloBound())
		defer cancel()
		p, err := startAdapter(ctx, t)
		if err != nil {
			t.infoErr = err
			t.info = driver.Info{Name: t.label(""), Version: "unavailable: " + err.Error()}
			return
		}
		h := p.peer.Hello()
		t.hello = h
		p.close()
		// What the harness can do to the process from outside joins what
		// the adapter says it has.
		caps := append(driver.Capabilities(h.Capabilities), osfault.Capabilities(h.Language)...)
		t.info = driver.Info{Name: t.label(h.Name), Version: h.Version, Language: h.Language, Capabilities: caps}
	})
}

func (t *Target) helloBound() time.Duration {
	if t.HelloTimeout > 0 {
		return t.HelloTimeout
	}
	return HelloBound
}

func (t *Target) label(name string) string {
	if t.Label != "" {
		return t.Label
	}
	if name != "" {
		return name
	}
	return strings.Join(t.Argv, " ")
}

// Close has nothing to release: every session owns its process.
func (t *Target) Close() error { return nil }

// Start runs a new adapter and builds its server.
func (t *Target) Start(ctx context.Context, cfg driver.ServerConfig) (driver.Session, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := t.Err(); err != nil {
		return nil, err
	}
	if err := Supports(t.Info(), cfg); err != nil {
		return nil, err
	}
	s, err := startSession(ctx, t, cfg)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Supports refuses cfg, as a *driver.UnsupportedError, when its family or
// its dispatch is not among the capabilities of info (an adapter's).
func Supports(info driver.Info, cfg driver.ServerConfig) error {
	for _, need := range []string{string(cfg.Family), string(cfg.Dispatch)} {
		if need != string(driver.Sync) && !info.Capabilities.Has(need) {
			return &driver.UnsupportedError{What: need}
		}
	}
	return nil
}

// live is every adapter process group not yet reaped, for KillAll.
var (
	liveMu sync.Mutex
	live   = map[*adapter]struct{}{}
)

// KillAll kills every adapter process group this process started and has
// not reaped yet: call it when the harness is interrupted.
func KillAll() {
	liveMu.Lock()
	procs := make([]*adapter, 0, len(live))
	for p := range live {
		procs = append(procs, p)
	}
	liveMu.Unlock()
	for _, p := range procs {
		p.kill()
	}
}

// Live is the number of adapter process groups not yet reaped (a test's
// check that nothing is left running).
func Live() int {
	liveMu.Lock()
	defer liveMu.Unlock()
	return len(live)
}

// environ is the adapter's environment: the harness's, plus what the
// target adds, plus what makes Python adapters deterministic.
func environ(t *Target) []string {
	env := append(os.Environ(), "PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1")
	return append(env, t.Env...)
}
