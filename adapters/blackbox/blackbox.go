// Package blackbox judges a server program that has no adapter: sockspec
// starts it (`--target exec:'COMMAND'`), tells it where to serve through
// its environment, and acts only as its clients do. It drives none of the
// server's methods and sees none of its hooks, so the rules that need them
// are N/A; what it can judge it judges from the wire and from /proc (the
// hygiene oracle: zombies, descriptors, threads of the server's process).
//
// The program is run by /bin/sh -c in a process group of its own
// (internal/procgroup), with
//
//	SOCKSPEC_FAMILY   tcp, udp, unix_stream or unix_dgram
//	SOCKSPEC_ADDRESS  host:port, or a socket path for the Unix families
//	SOCKSPEC_HOST     the host of a TCP or UDP address (unset for Unix)
//	SOCKSPEC_PORT     its port (unset for Unix)
//
// It is ready once it prints the address it serves as its first line of
// standard output (host:port, [v6]:port, or an absolute path: a program
// that bound port 0 prints the port it got), or once /proc/net shows a
// socket of its process group listening on (bound to, for datagrams)
// SOCKSPEC_ADDRESS. Readiness is never probed by connecting: a probe would
// be a request the rules do not expect.
package blackbox

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/sockspec/sockspec/internal/osfault"
	"github.com/sockspec/sockspec/spec/driver"
)

// Bounds of the waits no spec bounds.
const (
	// ReadyTimeout is how long a program may take to be ready by default.
	ReadyTimeout = 10 * time.Second
	// TermGrace is how long a program has to end after SIGTERM before its
	// group is killed.
	TermGrace = 2 * time.Second
	// outputBound is how long the program's output may stay open once its
	// group is gone (a process that left the group holds it).
	outputBound = 2 * time.Second
)

// Options describe the program and what its user declares of it.
type Options struct {
	// Command is run by /bin/sh -c.
	Command string
	// Family is what the program serves; "" is tcp.
	Family driver.Family
	// Dispatch is what the program does per request, as its user
	// declares: sync (serves inline), threading or forking; "" is sync.
	Dispatch driver.Dispatch
	// Capabilities are further ones the user vouches for. Only "signals"
	// is one a black box can honour: the server's process is sent
	// SIGUSR1, SIGALRM and SIGUSR2, which it must survive.
	Capabilities []string
	// Env is added to the harness's environment.
	Env []string
	// Dir is the program's working directory; "" is the harness's.
	Dir string
	// ReadyTimeout bounds the wait for readiness; 0 is ReadyTimeout.
	ReadyTimeout time.Duration
}

// vouchable are the capabilities a user may vouch for, and why the others
// are refused: a black box has no hooks and no knobs.
var vouchable = []string{driver.CapSignals}

// refusal says why a known capability cannot be vouched for.
func refusal(c string) string {
	switch c {
	case driver.CapTrace, driver.CapServiceActions:
		return "a black-box program reports no hook calls"
	case driver.CapTCP, driver.CapUDP, driver.CapUnixStream, driver.CapUnixDgram:
		return "a program serves one family: declare it with Options.Family (--family)"
	case driver.CapThreading, driver.CapForking:
		return "declare what the program does per request with Options.Dispatch (--dispatch)"
	case driver.CapContextManager, driver.CapForeignChild:
		return "sockspec cannot call into a black-box program"
	}
	return "it is a setting of the server, and a black-box program takes none"
}

// Target is a server program run as a black box.
type Target struct {
	o    Options
	info driver.Info
}

// New checks o and returns its target.
func New(o Options) (*Target, error) {
	if strings.TrimSpace(o.Command) == "" {
		return nil, fmt.Errorf("blackbox: the command is empty: give the server's command line (it is run by /bin/sh -c)")
	}
	if o.Family == "" {
		o.Family = driver.TCP
	}
	if !slices.Contains(driver.Families, o.Family) {
		return nil, fmt.Errorf("blackbox: family %q: want one of %v", o.Family, driver.Families)
	}
	if o.Dispatch == "" {
		o.Dispatch = driver.Sync
	}
	if !slices.Contains(driver.Dispatches, o.Dispatch) {
		return nil, fmt.Errorf("blackbox: dispatch %q: want one of %v (what the program does per request)", o.Dispatch, driver.Dispatches)
	}
	if o.ReadyTimeout < 0 {
		return nil, fmt.Errorf("blackbox: ReadyTimeout is negative (%v): give 0 for the default, %v", o.ReadyTimeout, ReadyTimeout)
	}
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = ReadyTimeout
	}
	caps := driver.Capabilities{string(o.Family)}
	if o.Dispatch != driver.Sync {
		caps = append(caps, string(o.Dispatch))
	}
	for _, c := range o.Capabilities {
		switch {
		case !driver.KnownCapability(c):
			return nil, fmt.Errorf("blackbox: capability %q is not one sockspec knows; a black-box program may be vouched for %v", c, vouchable)
		case !slices.Contains(vouchable, c):
			return nil, fmt.Errorf("blackbox: capability %q cannot be vouched for: %s", c, refusal(c))
		case !caps.Has(c):
			caps = append(caps, c)
		}
	}
	caps = append(caps, osfault.Capabilities("unknown")...) // the harness's own means
	return &Target{o: o, info: driver.Info{Name: "exec", Version: o.Command, Language: "unknown", Capabilities: caps}}, nil
}

// Info names the target "exec", with the command as its version. It never
// has "trace": a black box reports no hook calls.
func (t *Target) Info() driver.Info { return t.info }

// Close has nothing to release: every session owns its program.
func (t *Target) Close() error { return nil }

// Start runs the program for cfg and waits until it is ready. A cfg the
// program was not declared for, or that sets anything but the family and
// the dispatch, is a *driver.UnsupportedError: the spec is N/A.
func (t *Target) Start(ctx context.Context, cfg driver.ServerConfig) (driver.Session, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if what := t.Unsupported(cfg); what != "" {
		return nil, &driver.UnsupportedError{What: what}
	}
	return start(ctx, t.o)
}

// settingNames name the ServerConfig fields whose JSON name is not one.
var settingNames = map[string]string{
	"Timeout":        "timeout",
	"SocketTimeout":  "socket timeout",
	"HandlerTimeout": "handler timeout",
	"Faults":         "injected faults",
}

// Unsupported names what cfg asks that the program cannot give, or "".
// Every field but Family and Dispatch must be unset: a field added to
// ServerConfig later is refused until this target learns of it.
func (t *Target) Unsupported(cfg driver.ServerConfig) string {
	if cfg.Family != t.o.Family {
		return fmt.Sprintf("family %s (the program was declared to serve %s)", cfg.Family, t.o.Family)
	}
	if cfg.Dispatch != t.o.Dispatch {
		return fmt.Sprintf("dispatch %s (the program was declared %s)", cfg.Dispatch, t.o.Dispatch)
	}
	if b := cfg.BindAndActivate; b != nil && !*b {
		return "bind_and_activate=False: a black-box program binds and listens from its start"
	}
	if cfg.Address != "" {
		return "a chosen address: a black-box program serves the one sockspec gives it in SOCKSPEC_ADDRESS"
	}
	v := reflect.ValueOf(cfg)
	for _, f := range reflect.VisibleFields(v.Type()) {
		switch f.Name {
		case "Family", "Dispatch", "BindAndActivate", "Address":
			continue
		}
		if v.FieldByIndex(f.Index).IsZero() {
			continue
		}
		name := settingNames[f.Name]
		if name == "" {
			name, _, _ = strings.Cut(f.Tag.Get("json"), ",")
		}
		return fmt.Sprintf("a configured %s: a black-box program takes no %s", name, name)
	}
	return ""
}
