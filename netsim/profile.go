package netsim

import (
	"fmt"
	"strings"
	"time"
)

// Profile is a link model as data: the faults a network applies to what
// its connections and datagrams carry. An Engine decides, fault by fault,
// what happens to each connection, segment and datagram; Network.SetProfile
// applies it in virtual time, and the real-time proxy (netsim/proxy)
// applies the same decisions between real sockets.
//
// A profile with no faults is the ideal network: nothing is delayed, cut
// or lost, and a Network behaves exactly as it does without a profile.
type Profile struct {
	Name string
	// Doc says in one line what the profile stands for.
	Doc    string
	Faults []Fault
}

// FaultKind names a fault of the link model. Each kind reads only some of
// a Fault's parameters; Fault.Validate rejects the others.
type FaultKind string

// The faults of the link model. Stream faults act on tcp and unix
// connections, datagram faults on udp and unixgram datagrams, and the
// faults named for both act on both.
const (
	// FaultLatency delays every segment or datagram by Delay, plus a
	// uniform jitter in [-Jitter, +Jitter]. A stream's bytes still arrive
	// in order: a segment never overtakes the one before it.
	FaultLatency FaultKind = "latency"
	// FaultBandwidth lets through Rate bytes per second: a segment or
	// datagram leaves once the link has sent what was queued before it.
	FaultBandwidth FaultKind = "bandwidth"
	// FaultSlicer chops each write into segments of Bytes.Min to Bytes.Max
	// bytes (drawn at random), Delay apart. Streams only.
	FaultSlicer FaultKind = "slicer"
	// FaultLimitData closes the connection, both ways and in order, once
	// Bytes (drawn in the range) went through in the fault's direction.
	FaultLimitData FaultKind = "limit_data"
	// FaultReset resets the connection (RST both ways) once Bytes (drawn
	// in the range) went through in the fault's direction.
	FaultReset FaultKind = "reset"
	// FaultHalfClose ends one direction (the receiver reads EOF) once
	// Bytes went through; the sender's later bytes are lost, the other
	// direction goes on.
	FaultHalfClose FaultKind = "half_close"
	// FaultBlackhole loses everything sent while it is active; with a
	// Delay, it then resets the connection that long after the first lost
	// byte, as a middlebox that times out does. Streams and datagrams.
	FaultBlackhole FaultKind = "blackhole"
	// FaultSlowClose delivers a FIN or RST Delay after it was sent.
	FaultSlowClose FaultKind = "slow_close"
	// FaultRefuse refuses connects with ECONNREFUSED. Up only.
	FaultRefuse FaultKind = "refuse"
	// FaultBacklogFull holds a connect for Delay (one second when zero:
	// the first SYN retransmission of Linux) as a full accept queue does.
	// Up only.
	FaultBacklogFull FaultKind = "backlog_full"
	// FaultPartition cuts the link between From and Until (forever when
	// Until is zero): datagrams are lost, stream bytes and connects wait
	// for the heal, as TCP's retransmissions make them do.
	FaultPartition FaultKind = "partition"
	// FaultLoss loses a datagram.
	FaultLoss FaultKind = "loss"
	// FaultDuplicate delivers a datagram twice.
	FaultDuplicate FaultKind = "duplicate"
	// FaultReorder delays a datagram by Delay more, so that later ones
	// overtake it.
	FaultReorder FaultKind = "reorder"
	// FaultTruncate cuts datagrams longer than Bytes.Max to that length,
	// as a receiver's short buffer does.
	FaultTruncate FaultKind = "truncate"
)

// Direction is the way a fault acts in: Up is from the client (the end
// that dialed; for datagrams, the socket bound later) to the server, Down
// the other way.
type Direction int

const (
	Both Direction = iota // the zero value: each way
	Up
	Down
)

func (d Direction) String() string {
	switch d {
	case Up:
		return "up"
	case Down:
		return "down"
	}
	return "both"
}

func (d Direction) covers(way Direction) bool { return d == Both || d == way }

// Scope restricts a fault to streams or to datagrams.
type Scope int

const (
	AnyScope Scope = iota // the zero value: whatever the kind acts on
	StreamScope
	DatagramScope
)

func (s Scope) String() string {
	switch s {
	case StreamScope:
		return "stream"
	case DatagramScope:
		return "datagram"
	}
	return "any"
}

// Range is a number of bytes, or a range to draw it from uniformly (both
// ends included); Min == Max is an exact count.
type Range struct{ Min, Max int64 }

func (r Range) String() string {
	if r.Min == r.Max {
		return formatBytes(r.Min)
	}
	return formatBytes(r.Min) + ".." + formatBytes(r.Max)
}

// Fault is one fault of a profile with its parameters and its trigger.
//
// A fault applies to every occurrence in its direction and scope, unless
// narrowed: Nth picks one occurrence, Probability a share of them, and
// From/Until a window of time counted from the engine's start. An
// occurrence is a connection for stream faults (decided once when it
// opens, so "a fifth of the connections") and a datagram for datagram
// faults. The window is checked when a connection opens for the faults
// that decide a connection's fate (refuse, backlog_full, reset,
// limit_data, half_close, slow_close), and at each segment or datagram for
// the others, so that a partition can start and heal in the middle of a
// connection.
type Fault struct {
	Kind  FaultKind
	Dir   Direction
	Scope Scope

	Delay  time.Duration // latency, slicer (gap), reorder, slow_close, backlog_full, blackhole (reset after)
	Jitter time.Duration // latency
	Rate   int64         // bandwidth, bytes per second
	Bytes  Range         // slicer (segment size), limit_data, reset, half_close (after), truncate (size)

	// Probability is the chance, in (0, 1], that an occurrence is hit;
	// zero means always.
	Probability float64
	// Nth, from 1, hits only the Nth occurrence; zero means every one.
	Nth int
	// From and Until bound the time, since the engine's start, during
	// which the fault acts; a zero Until means for ever after From.
	From, Until time.Duration
}

// kindInfo is what the profile parser and the validator know of a kind.
type kindInfo struct {
	stream, datagram bool
	upOnly           bool
	fields           []string // the parameters it reads, besides the common ones
	required         []string
}

var kinds = map[FaultKind]kindInfo{
	FaultLatency:     {stream: true, datagram: true, fields: []string{"delay", "jitter"}, required: []string{"delay"}},
	FaultBandwidth:   {stream: true, datagram: true, fields: []string{"rate"}, required: []string{"rate"}},
	FaultSlicer:      {stream: true, fields: []string{"bytes", "delay"}, required: []string{"bytes"}},
	FaultLimitData:   {stream: true, fields: []string{"bytes"}, required: []string{"bytes"}},
	FaultReset:       {stream: true, fields: []string{"bytes"}},
	FaultHalfClose:   {stream: true, fields: []string{"bytes"}},
	FaultBlackhole:   {stream: true, datagram: true, fields: []string{"delay"}},
	FaultSlowClose:   {stream: true, fields: []string{"delay"}, required: []string{"delay"}},
	FaultRefuse:      {stream: true, upOnly: true},
	FaultBacklogFull: {stream: true, upOnly: true, fields: []string{"delay"}},
	FaultPartition:   {stream: true, datagram: true},
	FaultLoss:        {datagram: true},
	FaultDuplicate:   {datagram: true},
	FaultReorder:     {datagram: true, fields: []string{"delay"}, required: []string{"delay"}},
	FaultTruncate:    {datagram: true, fields: []string{"bytes"}, required: []string{"bytes"}},
}

// kindOrder lists the kinds in the order help texts show them.
var kindOrder = []FaultKind{
	FaultLatency, FaultBandwidth, FaultSlicer, FaultLimitData, FaultReset, FaultHalfClose,
	FaultBlackhole, FaultSlowClose, FaultRefuse, FaultBacklogFull, FaultPartition,
	FaultLoss, FaultDuplicate, FaultReorder, FaultTruncate,
}

// commonFields are read for every kind.
var commonFields = []string{"kind", "direction", "scope", "probability", "nth", "from", "until"}

func kindNames() string {
	names := make([]string, len(kindOrder))
	for i, k := range kindOrder {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

// onStreams and onDatagrams tell whether f acts on that kind of socket.
func (f Fault) onStreams() bool   { return kinds[f.Kind].stream && f.Scope != DatagramScope }
func (f Fault) onDatagrams() bool { return kinds[f.Kind].datagram && f.Scope != StreamScope }

// Validate reports the first parameter of f that is out of range, as
// "field NAME: what is wrong".
func (f Fault) Validate() error {
	info, ok := kinds[f.Kind]
	if !ok {
		return fmt.Errorf("unknown kind %q (write one of %s)", f.Kind, kindNames())
	}
	switch {
	case f.Scope == StreamScope && !info.stream:
		return fmt.Errorf(`field "scope": %s acts on datagrams only`, f.Kind)
	case f.Scope == DatagramScope && !info.datagram:
		return fmt.Errorf(`field "scope": %s acts on streams only`, f.Kind)
	case info.upOnly && f.Dir == Down:
		return fmt.Errorf(`field "direction": %s acts on connects, which go up (write "up" or leave it out)`, f.Kind)
	case f.Delay < 0:
		return fmt.Errorf(`field "delay": %v is negative`, f.Delay)
	case f.Jitter < 0:
		return fmt.Errorf(`field "jitter": %v is negative`, f.Jitter)
	case f.Rate < 0:
		return fmt.Errorf(`field "rate": %d is negative`, f.Rate)
	case f.Bytes.Min < 0 || f.Bytes.Max < f.Bytes.Min:
		return fmt.Errorf(`field "bytes": %d..%d is not a range of byte counts (write 1KiB..64KiB)`, f.Bytes.Min, f.Bytes.Max)
	case f.Probability < 0 || f.Probability > 1:
		return fmt.Errorf(`field "probability": %v is not in (0, 1] (write 0.05 for 5 %%)`, f.Probability)
	case f.Nth < 0:
		return fmt.Errorf(`field "nth": %d is negative (write 1 for the first occurrence)`, f.Nth)
	case f.From < 0 || f.Until < 0 || (f.Until != 0 && f.Until <= f.From):
		return fmt.Errorf(`field "until": %v does not come after "from" %v`, f.Until, f.From)
	}
	switch f.Kind {
	case FaultBandwidth:
		if f.Rate == 0 {
			return fmt.Errorf(`field "rate": zero lets nothing through (write 10Mbit/s)`)
		}
	case FaultSlicer:
		if f.Bytes.Min < 1 {
			return fmt.Errorf(`field "bytes": segments need at least 1 byte (write 1..16)`)
		}
	case FaultLatency, FaultReorder, FaultSlowClose:
		if f.Delay == 0 && f.Jitter == 0 {
			return fmt.Errorf(`field "delay": zero does nothing (write 20ms)`)
		}
	case FaultTruncate:
		if f.Bytes.Max < 1 {
			return fmt.Errorf(`field "bytes": datagrams cut to nothing (write 512)`)
		}
	}
	if f.Kind == FaultLatency && f.Jitter > f.Delay {
		return fmt.Errorf(`field "jitter": %v is more than the delay %v`, f.Jitter, f.Delay)
	}
	return nil
}

// Validate checks every fault of p.
func (p Profile) Validate() error {
	for i, f := range p.Faults {
		if err := f.Validate(); err != nil {
			return fmt.Errorf("profile %s: fault %d (%s): %w", p.Name, i+1, f.Kind, err)
		}
	}
	return nil
}

// String is the fault as a profile file would spell it, on one line.
func (f Fault) String() string {
	var b strings.Builder
	b.WriteString(string(f.Kind))
	add := func(k, v string) { fmt.Fprintf(&b, " %s=%s", k, v) }
	if f.Dir != Both {
		add("direction", f.Dir.String())
	}
	if f.Scope != AnyScope {
		add("scope", f.Scope.String())
	}
	if f.Delay != 0 {
		add("delay", f.Delay.String())
	}
	if f.Jitter != 0 {
		add("jitter", f.Jitter.String())
	}
	if f.Rate != 0 {
		add("rate", formatRate(f.Rate))
	}
	if f.Bytes != (Range{}) {
		add("bytes", f.Bytes.String())
	}
	if f.Probability != 0 {
		add("probability", fmt.Sprint(f.Probability))
	}
	if f.Nth != 0 {
		add("nth", fmt.Sprint(f.Nth))
	}
	if f.From != 0 {
		add("from", f.From.String())
	}
	if f.Until != 0 {
		add("until", f.Until.String())
	}
	return b.String()
}
