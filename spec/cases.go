package spec

import "fmt"

// Case is an edge case that sockspec reproduces on demand: the specs of
// the rules that pin it, run with their timelines kept.
type Case struct {
	Name string
	// Says what the case reproduces and what a server should do.
	Says string
	// Rules are the rules whose specs reproduce it.
	Rules []string
}

// LabelFilter selects the case's specs.
func (c Case) LabelFilter() string {
	f := ""
	for i, r := range c.Rules {
		if i > 0 {
			f += " || "
		}
		f += "rule:" + r
	}
	return f
}

// cases is the catalogue: the failures that break servers in production
// and that nobody reproduces by hand.
var cases = []Case{
	{"eintr-handle-request", "signals (a bomber) and EINTR injected by strace interrupt handle_request's timed wait: the deadline holds", []string{"TMO-04"}},
	{"eintr-serve-forever", "signals and injected EINTR interrupt serve_forever's wait: nothing changes, no exception", []string{"EIN-04"}},
	{"raising-signal", "a signal whose handler raises while serve_forever waits: the loop ends with the exception, and shutdown returns at once", []string{"SHD-12"}},
	{"emfile-accept", "accept fails with EMFILE or ENFILE (the target's own fault, strace, or RLIMIT_NOFILE at the open count): no handle_error, no busy spin, the pending client is served once descriptors are free", []string{"RES-01", "ORD-04", "ERR-04"}},
	{"fork-eagain", "fork fails with EAGAIN (the target's own fault, a pids cgroup at its limit, strace): handle_error, the client gets EOF, service goes on", []string{"FRK-10"}},
	{"thread-eagain", "a request thread cannot start (the target's own fault, a pids cgroup at its limit): handle_error, EOF, server_close still works", []string{"THR-05"}},
	{"zombies-serve-forever", "request children exit while serve_forever runs: they are reaped within a poll interval, as /proc shows", []string{"FRK-08"}},
	{"zombies-handle-request", "a handle_request loop of a forking server: max_children is kept and zombies do not pile up", []string{"FRK-06"}},
	{"backlog-overflow", "more clients than request_queue_size connect at once: the backlog is what was asked, accepted clients are served, the server serves on", []string{"NET-05", "NET-17"}},
	{"silent-client", "a client connects and never sends: others are served", []string{"NET-13"}},
	{"slowloris", "a client trickles its request a byte at a time: others are served, and so is it, whole", []string{"NET-15"}},
	{"reset-client", "a client resets its connection in mid-request: the server serves on", []string{"NET-14"}},
	{"half-close", "a client shuts down its sending side after its request: it gets the whole reply, then EOF", []string{"NET-16"}},
	{"connection-storm", "50 clients connect at once against a backlog of 5: every accepted client is served, then the next", []string{"NET-17"}},
	{"oversize-datagram", "a datagram larger than max_packet_size: the handler sees the first max_packet_size bytes", []string{"NET-07"}},
}

// Cases lists the edge cases sockspec reproduces.
func Cases() []Case { return append([]Case(nil), cases...) }

// LookupCase finds a case by name.
func LookupCase(name string) (Case, error) {
	for _, c := range cases {
		if c.Name == name {
			return c, nil
		}
	}
	return Case{}, fmt.Errorf("no edge case %q: 'sockspec reproduce --list' names them", name)
}
