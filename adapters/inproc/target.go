// Package inproc runs the reference implementation (impl) as a
// driver.Target inside the harness process, on real sockets and with real
// request children for the forking mode. It translates impl's ServerTrace
// into driver events and interprets request scripts in its handler.
//
// A program that starts forking sessions must call ChildMain first thing in
// main (and in TestMain): a request child is a new run of the program.
// ReferenceScheme and MutantScheme name these targets for a
// driver.Registry.
package inproc

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"runtime"
	"slices"
	"syscall"
	"time"

	"github.com/sockspec/sockspec/impl"
	"github.com/sockspec/sockspec/internal/inject"
	"github.com/sockspec/sockspec/spec/driver"
)

// Mutation breaks the reference on purpose, for the mutants of package
// spec/mutants: Config changes the server's configuration (its overrides,
// seams and settings), in the server and in its request children; the
// other funcs, when set, replace the call the session makes on the server,
// for behaviours that no override reaches (how Shutdown waits, what
// ServerClose stops).
type Mutation struct {
	Config        func(cfg *impl.Config)
	HandleRequest func(s *impl.Server, ctx context.Context) error
	ServeForever  func(s *impl.Server, ctx context.Context, poll time.Duration) error
	Shutdown      func(s *impl.Server, ctx context.Context) error
	ServerClose   func(s *impl.Server) error
	ExitContext   func(s *impl.Server) error
	// HandlerShutdown replaces the Shutdown a "shutdown" script step calls.
	HandlerShutdown func(s *impl.Server, ctx context.Context) error
	// State changes the state the session reports.
	State func(st *driver.State)
}

// Mutations are mutations by name: those a program's targets may name
// (spec/mutants.Set has every mutant of the reference).
type Mutations map[string]Mutation

// Names lists the mutations' names, sorted.
func (m Mutations) Names() []string {
	return slices.Sorted(maps.Keys(m))
}

// lookup finds the mutation name ("" is none: the reference itself).
func (m Mutations) lookup(name string) (Mutation, error) {
	if name == "" {
		return Mutation{}, nil
	}
	x, ok := m[name]
	if !ok {
		return Mutation{}, fmt.Errorf("inproc: no mutation named %q among the %d known: name one of spec/mutants", name, len(m))
	}
	return x, nil
}

// childMutations are the mutations a request child of this program may
// rebuild by name: the ones the program gave ChildMain.
var childMutations Mutations

// Target is the reference in process. The zero value is the reference
// itself; Mutation names one of Mutations, to apply to every server.
type Target struct {
	Mutation  string
	Mutations Mutations
	// ErrorLog, when set, also receives what the servers write to their
	// standard error (handle_error's reports), as a process adapter's
	// standard error would.
	ErrorLog io.Writer
}

// capabilities of the reference: all of them.
var capabilities = driver.Capabilities{
	driver.CapTCP, driver.CapUDP, driver.CapUnixStream, driver.CapUnixDgram,
	driver.CapThreading, driver.CapForking, driver.CapTrace, driver.CapServiceActions,
	driver.CapContextManager, driver.CapBlockOnClose, driver.CapReusePort, driver.CapSocketTimeout,
	driver.CapHandlerTimeout, driver.CapDaemonThreads, driver.CapMaxChildren,
	driver.CapAcceptFaults, driver.CapSpawnFaults, driver.CapSignals, driver.CapForeignChild,
}

// Info describes the reference.
func (t *Target) Info() driver.Info {
	name := "reference"
	if t.Mutation != "" {
		name = "mutant:" + t.Mutation
	}
	return driver.Info{Name: name, Version: runtime.Version(), Language: "go", Capabilities: capabilities}
}

// Close has nothing to release: every session owns what it started.
func (t *Target) Close() error { return nil }

// Start builds a server as cfg says.
func (t *Target) Start(ctx context.Context, cfg driver.ServerConfig) (driver.Session, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	mutate, err := t.Mutations.lookup(t.Mutation)
	if err != nil {
		return nil, err
	}
	return startSession(ctx, cfg, t.Mutation, mutate, t.ErrorLog)
}

// recipe is how a request child of an inproc session rebuilds its handler.
const recipe = "sockspec-inproc"

// childParams travel to a request child.
type childParams struct {
	HandlerTimeout    int64  `json:"handler_timeout,omitempty"` // ns; 0 is none
	HandleErrorRaises bool   `json:"handle_error_raises,omitempty"`
	Mutation          string `json:"mutation,omitempty"`
}

func init() {
	impl.RegisterChild(recipe, func(raw []byte) (impl.Config, error) {
		var p childParams
		if err := json.Unmarshal(raw, &p); err != nil {
			return impl.Config{}, fmt.Errorf("inproc: child parameters %q: %w", raw, err)
		}
		cfg := impl.Config{Handler: newScriptHandler(impl.StreamOptions{Timeout: durationOf(p.HandlerTimeout)}, true, nil)}
		if p.HandleErrorRaises {
			cfg.Overrides.HandleError = raisingHandleError
		}
		m, err := childMutations.lookup(p.Mutation)
		if err != nil {
			return impl.Config{}, err
		}
		if m.Config != nil {
			m.Config(&cfg)
		}
		return cfg, nil
	})
}

// ChildMain runs a request child when this process is one, and returns
// otherwise. Call it first thing in main and in TestMain, with the
// mutations the program's targets may name (nil for none): a request
// child of a mutant's forking server is a new run of the program, and
// rebuilds the mutation from its name.
func ChildMain(known Mutations) {
	childMutations = known
	impl.ChildMain()
}

// raisingHandleError reports the error as the default does, then fails.
func raisingHandleError(s *impl.Server, r *impl.Request, err error) error {
	_ = s.Base().HandleError(r, err)
	return &ValueError{msg: "handle_error raised, as the configuration asked"}
}

// errnoOf maps the errno names a Fault may use.
func errnoOf(name string) (syscall.Errno, error) {
	for _, e := range []struct {
		name string
		no   syscall.Errno
	}{{"EMFILE", syscall.EMFILE}, {"ENFILE", syscall.ENFILE}, {"ENOBUFS", syscall.ENOBUFS}, {"ENOMEM", syscall.ENOMEM},
		{"EAGAIN", syscall.EAGAIN}, {"ECONNABORTED", syscall.ECONNABORTED}, {"EINTR", syscall.EINTR}, {"EPERM", syscall.EPERM}} {
		if e.name == name {
			return e.no, nil
		}
	}
	return 0, fmt.Errorf("inproc: unknown errno %q: use EMFILE, ENFILE, ENOBUFS, ENOMEM, EAGAIN, ECONNABORTED, EINTR or EPERM", name)
}

// faultsInto installs cfg's faults into the reference's seams; fired is
// told of each firing, as the fault's op, errno and occurrence.
func faultsInto(c *impl.Config, faults []driver.Fault, fired func(what string)) error {
	var (
		net     *inject.FaultyNetwork
		spawner *inject.Spawner
		starter *inject.GoStarter
	)
	for _, f := range faults {
		errno, err := errnoOf(f.Errno)
		if err != nil {
			return err
		}
		count := max(f.Count, 1)
		when := inject.Range(f.Nth, f.Nth+count-1)
		switch f.Op {
		case "accept", "recvfrom":
			if net == nil {
				net = &inject.FaultyNetwork{Inner: impl.ListenConfig(*c), OnFire: func(in inject.Injection) {
					fired(fmt.Sprintf("%s %v (occurrence %d)", in.Op, in.Err, in.Call))
				}}
			}
			if f.Op == "accept" {
				net.Accept = append(net.Accept, inject.Fault{When: when, Errno: errno})
			} else {
				net.ReadFrom = append(net.ReadFrom, inject.Fault{When: when, Errno: errno})
			}
		case "fork":
			if spawner != nil {
				return fmt.Errorf("inproc: one fork fault per session")
			}
			name := f.Errno
			spawner = &inject.Spawner{Fail: when, Errno: errno, OnFire: func(n int) { fired(fmt.Sprintf("fork %s (occurrence %d)", name, n)) }}
		case "thread_start":
			if starter != nil {
				return fmt.Errorf("inproc: one thread_start fault per session")
			}
			starter = &inject.GoStarter{Fail: when, OnFire: func(n int) { fired(fmt.Sprintf("thread_start EAGAIN (occurrence %d)", n)) }}
		}
	}
	if net != nil {
		c.Network = net
	}
	if spawner != nil {
		c.Spawner = spawner
	}
	if starter != nil {
		c.Go = starter.Go
	}
	return nil
}
