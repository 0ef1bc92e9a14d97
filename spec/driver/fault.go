package driver

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"time"
)

// Fault is a failure made to happen to a server, whatever the workload: a
// kind of call or resource (Op), how it fails (Errno), when it fires (the
// Nth occurrence and the Count after it, or a seeded schedule, see
// Scheduled) and how long it holds (For). The same Fault may be injected
// by different mechanisms (Via): each is a capability, so a spec that
// needs one a tier lacks is N/A there.
//
// A Fault is plain data: it is stored with the spec's result in the JSON
// report, and the report's replay command injects it again.
type Fault struct {
	// Op is what fails:
	//   - "accept": get_request of a stream server (accept, accept4);
	//   - "recvfrom": get_request of a datagram server;
	//   - "fork": the fork of a forking server's process_request;
	//   - "thread_start": the thread start of a threading server;
	//   - "wait": the readiness wait of handle_request and serve_forever
	//     (select, poll, epoll): with EINTR, an interruption;
	//   - "nofile": the descriptor table (EMFILE on whatever opens one next);
	//   - "pids": the process table (EAGAIN on every fork and thread start).
	Op    string `json:"op"`
	Errno string `json:"errno"` // EMFILE, ENFILE, EAGAIN, EINTR…
	// Nth is the first occurrence that fails, counted from the moment the
	// fault is set (for a configured fault, from the server's start).
	// strace counts per thread: for a fault via strace, the Nth call of
	// each thread.
	Nth int `json:"nth"`
	// Count is how many occurrences fail from the Nth on, in the whole
	// process; 0 is one. A resource fault (nofile, pids) holds whatever
	// the count.
	Count int `json:"count,omitempty"`
	// Via is the mechanism; empty is ViaTarget.
	Via string `json:"via,omitempty"`
	// Delay makes each failing call take this long before it fails
	// (strace only): a slow failure rather than an instant one.
	Delay time.Duration `json:"delay_ns,omitempty"`
	// For lifts an injected fault this long after it was set; 0 holds it
	// until the spec lifts it.
	For time.Duration `json:"for_ns,omitempty"`
}

// Mechanisms that inject a Fault. Each is also the name of the capability
// of a target that can use it (with the prefix "inject.", except
// ViaTarget, whose capabilities are fault.accept and fault.spawn).
const (
	// ViaTarget: the target fails its own call, set up with the server's
	// configuration (ServerConfig.Faults): the adapter's seams.
	ViaTarget = ""
	// ViaStrace: strace attaches to the running server and makes the
	// system call fail (--inject), on the real binary.
	ViaStrace = "strace"
	// ViaRlimit: RLIMIT_NOFILE of the running server is lowered to the
	// descriptors it holds (prlimit), so the next one fails with EMFILE.
	ViaRlimit = "rlimit"
	// ViaCgroup: the server is moved into a pids cgroup whose limit is the
	// tasks it has, so its next fork or thread start fails with EAGAIN.
	ViaCgroup = "cgroup"
)

// Ops lists the fault kinds a Fault may name.
var Ops = []string{"accept", "recvfrom", "fork", "thread_start", "wait", "nofile", "pids"}

// viaOps says which kinds each mechanism can inject.
var viaOps = map[string][]string{
	ViaTarget: {"accept", "recvfrom", "fork", "thread_start"},
	ViaStrace: {"accept", "recvfrom", "fork", "thread_start", "wait"},
	ViaRlimit: {"nofile"},
	ViaCgroup: {"pids"},
}

// InjectCapability is the capability a target needs to inject f; "" for
// a fault the target injects into itself (fault.accept, fault.spawn).
func InjectCapability(via string) string {
	if via == ViaTarget {
		return ""
	}
	return "inject." + via
}

// Validate checks the fault's fields and says what to change.
func (f Fault) Validate() error {
	ops, ok := viaOps[f.Via]
	if !ok {
		return fmt.Errorf("fault via %q: want empty (the target itself), %s, %s or %s", f.Via, ViaStrace, ViaRlimit, ViaCgroup)
	}
	if !slices.Contains(ops, f.Op) {
		return fmt.Errorf("fault op %q cannot be injected via %q: that mechanism injects %v", f.Op, viaName(f.Via), ops)
	}
	if f.Errno == "" || f.Nth < 1 || f.Count < 0 {
		return fmt.Errorf("fault %s: want an errno name, nth ≥ 1 and count ≥ 0", f)
	}
	if f.Delay < 0 || f.For < 0 {
		return fmt.Errorf("fault %s: delay and for must not be negative", f)
	}
	if f.Delay > 0 && f.Via != ViaStrace {
		return fmt.Errorf("fault %s: only strace can delay a call", f)
	}
	return nil
}

func viaName(via string) string {
	if via == ViaTarget {
		return "target"
	}
	return via
}

// Last is the last occurrence that fails.
func (f Fault) Last() int {
	return f.Nth + max(f.Count, 1) - 1
}

func (f Fault) String() string {
	s := fmt.Sprintf("%s %s via %s, occurrences %d..%d", f.Op, f.Errno, viaName(f.Via), f.Nth, f.Last())
	if f.Delay > 0 {
		s += fmt.Sprintf(", each after %v", f.Delay)
	}
	if f.For > 0 {
		s += fmt.Sprintf(", for %v", f.For)
	}
	return s
}

// Scheduled spreads n single failures of base over the occurrences
// base.Nth .. base.Nth+span-1, in an order the seed decides: the same
// seed gives the same schedule, so a run is replayed by its seed.
func Scheduled(base Fault, seed int64, n, span int) []Fault {
	if n > span {
		n = span
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%s/%s", base.Op, base.Errno, base.Via)
	r := rand.New(rand.NewPCG(uint64(seed), h.Sum64()))
	picked := r.Perm(span)[:n]
	slices.Sort(picked)
	out := make([]Fault, n)
	for i, p := range picked {
		out[i] = base
		out[i].Nth, out[i].Count = base.Nth+p, 1
	}
	return out
}

// Injector is a Session whose server can be made to fail from outside
// while it runs: the mechanisms of process tiers (strace, prlimit, a pids
// cgroup). Each firing the injector sees is traced as a HookFault call
// event, whose Result names the fault.
type Injector interface {
	// Inject sets f and returns once it holds. Lift ends it (the recovery
	// phase); it is idempotent, and the session's Close lifts whatever
	// is still set. An Injector that lacks f.Via returns an
	// *UnsupportedError.
	Inject(ctx context.Context, f Fault) (Lift func() error, err error)
}
