package spec

import (
	"fmt"
	"sync"

	. "github.com/onsi/ginkgo/v2"

	"github.com/sockspec/sockspec/spec/driver"
)

// Held is a fault injected into a running server: it holds until Lift (the
// spec's recovery phase) or the end of the spec.
type Held struct {
	Fault driver.Fault
	once  sync.Once
	lift  func() error
}

// Lift ends the fault; the server must recover from here on.
func (h *Held) Lift() {
	GinkgoHelper()
	var err error
	h.once.Do(func() {
		err = h.lift()
		note("fault", "lifted: "+h.Fault.String())
	})
	if err != nil {
		HarnessError("lifting %s: %v", h.Fault, err)
	}
}

// Inject sets f on the running server from outside and returns once it
// holds. The spec is N/A on a target that cannot use f's mechanism.
func (s *Server) Inject(f driver.Fault) *Held {
	GinkgoHelper()
	if err := f.Validate(); err != nil {
		HarnessError("spec bug: %v", err)
	}
	info := TargetInfo()
	if cap := driver.InjectCapability(f.Via); cap != "" && !info.Capabilities.Has(cap) {
		NA(fmt.Sprintf("%s cannot inject faults via %s (no %s)", info.Name, f.Via, cap))
	}
	in, ok := s.Session.(driver.Injector)
	if !ok {
		NA(fmt.Sprintf("%s injects no fault into a running server", info.Name))
	}
	ctx, cancel := s.bounded(ReplyBound)
	defer cancel()
	lift, err := in.Inject(ctx, f) // a mechanism the target lacks is N/A
	s.check(err, "injecting %s got no answer within %v", f, ReplyBound)
	recordFault(f)
	note("fault", "set: "+f.String())
	h := &Held{Fault: f, lift: lift}
	DeferCleanup(func() { h.once.Do(func() { _ = h.lift() }) })
	return h
}

// faultCaps are the capabilities a target needs for the faults of a
// configuration it injects into itself.
func faultCaps(cfg driver.ServerConfig) []string {
	var caps []string
	for _, f := range cfg.Faults {
		switch f.Op {
		case "accept", "recvfrom":
			caps = append(caps, driver.CapAcceptFaults)
		case "fork", "thread_start":
			caps = append(caps, driver.CapSpawnFaults)
		}
	}
	return caps
}

// FaultFirings are the faults the trace shows fired, whether the target
// or an injector traced them: they need no hook trace.
func (s *Server) FaultFirings() []driver.Event {
	var out []driver.Event
	for _, e := range s.Trace().Events() {
		if e.Hook == driver.HookFault {
			out = append(out, e)
		}
	}
	return out
}

// WaitForFirings waits until n faults fired.
func (s *Server) WaitForFirings(n int) {
	GinkgoHelper()
	ctx, cancel := s.bounded(ReplyBound)
	defer cancel()
	err := s.Trace().Wait(ctx, func(es []driver.Event) bool { return driver.Count(es, driver.HookFault, driver.Call) >= n })
	if err != nil {
		Hang(fmt.Sprintf("%d faults did not fire within %v (fired: %d)", n, ReplyBound, len(s.FaultFirings())))
	}
}

// Inspect reads the server process from outside; N/A for a target that
// runs in the harness's process.
func (s *Server) Inspect() driver.Hygiene {
	GinkgoHelper()
	h := s.inspectQuietly()
	note("proc", procFacts(h))
	return h
}

// procFacts is what /proc showed of a server process, in one line.
func procFacts(h driver.Hygiene) string {
	return fmt.Sprintf("pid %d: %d fds, %d children, %d zombies, %d threads, cpu %v", h.PID, h.FDs, h.Children, h.Zombies, h.Threads, h.CPU)
}

// Zombies counts the server's unreaped children (for Eventually).
func (s *Server) Zombies() int {
	GinkgoHelper()
	return s.inspectQuietly().Zombies
}

func (s *Server) inspectQuietly() driver.Hygiene {
	GinkgoHelper()
	in, ok := s.Session.(driver.Inspector)
	if !ok {
		NA(fmt.Sprintf("%s does not run in a process of its own: /proc cannot be read", TargetInfo().Name))
	}
	ctx, cancel := s.bounded(ReplyBound)
	defer cancel()
	h, err := in.Inspect(ctx)
	if err != nil {
		HarnessError("reading /proc of the server: %v", err)
	}
	return h
}
