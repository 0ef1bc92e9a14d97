package netsim

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// Action is what a link did to a segment, a datagram or a connection.
type Action string

// The decisions an Engine reports.
const (
	ActDelay     Action = "delay"      // Bytes arrive Delay after they were sent
	ActSlice     Action = "slice"      // a write of Bytes was chopped into segments spread over Delay
	ActDrop      Action = "drop"       // Bytes were lost
	ActDuplicate Action = "duplicate"  // a datagram of Bytes arrives twice
	ActReorder   Action = "reorder"    // a datagram of Bytes was held back by Delay
	ActTruncate  Action = "truncate"   // a datagram was cut to Bytes
	ActReset     Action = "reset"      // the connection is reset after Bytes of this direction
	ActClose     Action = "close"      // the connection is closed both ways after Bytes
	ActHalfClose Action = "half-close" // this direction ends after Bytes
	ActSlowClose Action = "slow-close" // a FIN or RST arrives Delay late
	ActRefuse    Action = "refuse"     // a connect was refused
	ActHold      Action = "hold"       // a connect waits Delay (or for ever when Delay < 0)
)

// LinkEvent is one decision of an Engine, for a timeline of what the
// simulated link did.
type LinkEvent struct {
	Time   time.Time // when the decision was made (virtual inside a synctest bubble)
	Net    string    // the family: tcp, udp, unix, unixgram…
	Conn   int       // the connection's number, or the datagram flow's, from 1
	Dir    Direction
	Fault  FaultKind // the fault that decided it
	Action Action
	Bytes  int
	Delay  time.Duration
}

func (e LinkEvent) String() string {
	s := fmt.Sprintf("%s %s #%d %s %s", e.Net, e.Dir, e.Conn, e.Action, e.Fault)
	if e.Bytes != 0 {
		s += fmt.Sprintf(" %d bytes", e.Bytes)
	}
	if e.Delay != 0 {
		s += fmt.Sprintf(" %v", e.Delay)
	}
	return s
}

// Engine decides what a Profile does to each connection, segment and
// datagram. Decisions come from math/rand/v2 generators seeded with the
// seed and the connection's (or flow's) number, so the same seed gives the
// same decisions for the same traffic, whatever other connections do at
// the same time. The engine only decides: a carrier (Network's sockets,
// the proxy) delivers at the times it is given, in virtual or real time.
// It is safe for concurrent use; each Stream and Flow it hands out belongs
// to one sender at a time.
type Engine struct {
	profile Profile
	seed    uint64
	observe func(LinkEvent)

	mu    sync.Mutex
	start time.Time // the origin of the faults' windows; set by Start or the first decision
	conns int
	flows int
	seen  []int // per fault, the occurrences it has seen, for Nth
}

// NewEngine returns an engine for p, which must be valid (Profile.Validate).
// observe, when not nil, is told of every decision, on the sender's
// goroutine; it must not block.
func NewEngine(p Profile, seed uint64, observe func(LinkEvent)) *Engine {
	return &Engine{profile: p, seed: seed, observe: observe, seen: make([]int, len(p.Faults))}
}

// Profile is the profile the engine applies.
func (e *Engine) Profile() Profile { return e.profile }

// Start sets the origin of the faults' From and Until to t, unless a
// decision has set it already.
func (e *Engine) Start(t time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.startLocked(t)
}

func (e *Engine) startLocked(t time.Time) {
	if e.start.IsZero() {
		e.start = t
	}
}

// Affects tells whether some fault acts on streams (stream true) or on
// datagrams: without one, a carrier can skip the engine.
func (e *Engine) Affects(stream bool) bool {
	for _, f := range e.profile.Faults {
		if (stream && f.onStreams()) || (!stream && f.onDatagrams()) {
			return true
		}
	}
	return false
}

func (e *Engine) emit(ev LinkEvent) {
	if e.observe != nil {
		e.observe(ev)
	}
}

// active tells whether f's window covers the moment elapsed after the
// start.
func active(f *Fault, elapsed time.Duration) bool {
	return elapsed >= f.From && (f.Until == 0 || elapsed < f.Until)
}

// decidedAtConnect tells whether a stream fault of this kind is decided,
// window included, once when the connection opens.
func decidedAtConnect(k FaultKind) bool {
	switch k {
	case FaultRefuse, FaultBacklogFull, FaultReset, FaultLimitData, FaultHalfClose, FaultSlowClose:
		return true
	}
	return false
}

// Connection is the fate of a new stream connection.
type Connection struct {
	ID      int  // from 1, in the order of Connect calls
	Refused bool // the connect fails with ECONNREFUSED
	// Hold is how long the connect waits before it goes through: a full
	// backlog or a partition; negative means until the dialer gives up.
	Hold time.Duration
	// Up and Down shape each direction; nil where the link does nothing.
	Up, Down *Stream
}

// Connect decides the fate of a connection opened at now.
func (e *Engine) Connect(now time.Time, network string) Connection {
	e.mu.Lock()
	e.startLocked(now)
	e.conns++
	c := Connection{ID: e.conns}
	start := e.start
	rng := rand.New(rand.NewPCG(e.seed, uint64(c.ID)<<2))
	var matched []Fault
	for i := range e.profile.Faults {
		f := &e.profile.Faults[i]
		if !f.onStreams() || (decidedAtConnect(f.Kind) && !active(f, now.Sub(start))) {
			continue
		}
		e.seen[i]++
		if f.Nth != 0 && e.seen[i] != f.Nth {
			continue
		}
		if f.Probability != 0 && rng.Float64() >= f.Probability {
			continue
		}
		matched = append(matched, *f)
	}
	e.mu.Unlock()

	event := func(f FaultKind, a Action, d time.Duration) {
		e.emit(LinkEvent{Time: now, Net: network, Conn: c.ID, Dir: Up, Fault: f, Action: a, Delay: d})
	}
	for _, f := range matched {
		switch f.Kind {
		case FaultRefuse:
			c.Refused = true
			event(f.Kind, ActRefuse, 0)
			return c
		case FaultBacklogFull:
			d := f.Delay
			if d == 0 {
				d = time.Second
			}
			c.Hold = max(c.Hold, d)
			event(f.Kind, ActHold, d)
		case FaultPartition:
			if !f.Dir.covers(Up) || !active(&f, now.Sub(start)) {
				continue
			}
			d := time.Duration(-1)
			if f.Until != 0 {
				d = start.Add(f.Until).Sub(now)
			}
			if c.Hold >= 0 && (d < 0 || d > c.Hold) {
				c.Hold = d
			}
			event(f.Kind, ActHold, d)
		}
	}
	c.Up = e.newStream(c.ID, Up, network, start, matched)
	c.Down = e.newStream(c.ID, Down, network, start, matched)
	return c
}

// Stream shapes one direction of one connection: it tells the sender when
// each byte arrives, and where the direction ends.
type Stream struct {
	e      *Engine
	id     int
	dir    Direction
	net    string
	start  time.Time
	rng    *rand.Rand
	faults []Fault

	cutAt     int64 // bytes after which the direction ends; -1 for never
	cut       Action
	cutFault  FaultKind
	slowClose time.Duration

	sent      int64
	ended     bool
	linkFree  time.Time // when the bandwidth fault lets the next byte leave
	nextSlice time.Time // when the slicer lets the next segment leave
	lastAt    time.Time // arrival of the latest segment: nothing overtakes it
}

func (e *Engine) newStream(id int, dir Direction, network string, start time.Time, matched []Fault) *Stream {
	s := &Stream{
		e: e, id: id, dir: dir, net: network, start: start, cutAt: -1,
		rng: rand.New(rand.NewPCG(e.seed, uint64(id)<<2|uint64(dir))),
	}
	for _, f := range matched {
		if !f.Dir.covers(dir) || f.Kind == FaultRefuse || f.Kind == FaultBacklogFull {
			continue
		}
		switch f.Kind {
		case FaultReset, FaultLimitData, FaultHalfClose:
			at := f.Bytes.Min
			if f.Bytes.Max > f.Bytes.Min {
				at += s.rng.Int64N(f.Bytes.Max - f.Bytes.Min + 1)
			}
			if s.cutAt < 0 || at < s.cutAt {
				s.cutAt, s.cutFault = at, f.Kind
				s.cut = map[FaultKind]Action{FaultReset: ActReset, FaultLimitData: ActClose, FaultHalfClose: ActHalfClose}[f.Kind]
			}
			continue
		case FaultSlowClose:
			s.slowClose = max(s.slowClose, f.Delay)
			continue
		}
		s.faults = append(s.faults, f)
	}
	if len(s.faults) == 0 && s.cutAt < 0 && s.slowClose == 0 {
		return nil
	}
	return s
}

// Segment is a piece of a write and the time it reaches the peer.
type Segment struct {
	Off, Len int // the piece: bytes [Off, Off+Len) of the write
	At       time.Time
	// Then is what happens to the connection right after the piece
	// arrives: ActReset, ActClose or ActHalfClose, or "" for nothing.
	Then Action
}

// shape is what the segment faults active at one moment do.
type shape struct {
	latency, jitter time.Duration
	rate            int64
	slicer          *Fault
	blackhole       *Fault
}

func (s *Stream) shapeAt(now time.Time) shape {
	var sh shape
	el := now.Sub(s.start)
	for i := range s.faults {
		f := &s.faults[i]
		if !active(f, el) {
			continue
		}
		switch f.Kind {
		case FaultLatency:
			sh.latency += f.Delay
			sh.jitter += f.Jitter
		case FaultBandwidth:
			if sh.rate == 0 || f.Rate < sh.rate {
				sh.rate = f.Rate
			}
		case FaultSlicer:
			sh.slicer = f
		case FaultBlackhole:
			sh.blackhole = f
		}
	}
	return sh
}

// held moves an arrival time out of any partition of this direction: to
// its heal, or ok false for one that never heals.
func (s *Stream) held(at time.Time) (time.Time, bool) {
	for i := range s.faults {
		f := &s.faults[i]
		if f.Kind != FaultPartition || !active(f, at.Sub(s.start)) {
			continue
		}
		if f.Until == 0 {
			return at, false
		}
		at = s.start.Add(f.Until)
	}
	return at, true
}

func (s *Stream) emit(now time.Time, f FaultKind, a Action, n int, d time.Duration) {
	s.e.emit(LinkEvent{Time: now, Net: s.net, Conn: s.id, Dir: s.dir, Fault: f, Action: a, Bytes: n, Delay: d})
}

// Ended tells whether the direction has ended (cut, reset or timed out):
// whatever is sent from now on is lost.
func (s *Stream) Ended() bool { return s.ended }

// Send decides the fate of n bytes written at now: the segments that
// arrive, in order, with their arrival times, never earlier than those of
// an earlier write. Bytes in no segment are lost.
func (s *Stream) Send(now time.Time, n int) []Segment {
	if s.ended {
		s.emit(now, s.cutFault, ActDrop, n, 0)
		return nil
	}
	sh := s.shapeAt(now)
	if b := sh.blackhole; b != nil {
		s.emit(now, FaultBlackhole, ActDrop, n, 0)
		if b.Delay > 0 {
			s.ended, s.cutFault = true, FaultBlackhole
			at := maxTime(now.Add(b.Delay), s.lastAt)
			s.emit(now, FaultBlackhole, ActReset, 0, at.Sub(now))
			return []Segment{{At: at, Then: ActReset}}
		}
		return nil
	}
	var segs []Segment
	off := 0
	for off < n || (n == 0 && s.cutAt == s.sent && len(segs) == 0) {
		k := n - off
		if sl := sh.slicer; sl != nil {
			k = min(k, int(sl.Bytes.Min+s.rng.Int64N(sl.Bytes.Max-sl.Bytes.Min+1)))
		}
		dep := now
		if sl := sh.slicer; sl != nil {
			dep = maxTime(dep, s.nextSlice)
			s.nextSlice = dep.Add(sl.Delay)
		}
		if sh.rate > 0 {
			dep = maxTime(dep, s.linkFree).Add(time.Duration(int64(k) * int64(time.Second) / sh.rate))
			s.linkFree = dep
		}
		at := dep.Add(sh.latency)
		if sh.jitter > 0 {
			at = at.Add(time.Duration(s.rng.Int64N(2*int64(sh.jitter)+1)) - sh.jitter)
		}
		at = maxTime(at, dep)
		at, ok := s.held(at)
		if !ok {
			s.emit(now, FaultPartition, ActDrop, n-off, 0)
			return segs
		}
		at = maxTime(at, s.lastAt)
		s.lastAt = at
		if s.cutAt >= 0 && s.sent+int64(k) >= s.cutAt {
			keep := int(s.cutAt - s.sent)
			segs = append(segs, Segment{Off: off, Len: keep, At: at, Then: s.cut})
			s.sent += int64(keep)
			s.ended = true
			s.emit(now, s.cutFault, s.cut, int(s.sent), at.Sub(now))
			if rest := n - off - keep; rest > 0 {
				s.emit(now, s.cutFault, ActDrop, rest, 0)
			}
			return segs
		}
		segs = append(segs, Segment{Off: off, Len: k, At: at})
		s.sent += int64(k)
		off += k
		if at.After(now) && sh.slicer == nil {
			s.emit(now, FaultLatency, ActDelay, k, at.Sub(now))
		}
	}
	if sh.slicer != nil && len(segs) > 0 {
		s.emit(now, FaultSlicer, ActSlice, n, segs[len(segs)-1].At.Sub(now))
	}
	return segs
}

// Close decides when a FIN or RST sent at now arrives: after every byte
// sent before it, late by a slow close. ok is false when it never does
// (a partition that does not heal).
func (s *Stream) Close(now time.Time) (at time.Time, ok bool) {
	at = now.Add(s.shapeAt(now).latency)
	if at, ok = s.held(at); !ok {
		return at, false
	}
	at = maxTime(at, s.lastAt)
	if s.slowClose > 0 {
		at = at.Add(s.slowClose)
		s.emit(now, FaultSlowClose, ActSlowClose, 0, at.Sub(now))
	}
	s.lastAt = at
	return at, true
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// Flow shapes the datagrams one sender sends one receiver.
type Flow struct {
	mu       sync.Mutex // a flow may be shared by the sender's goroutines
	e        *Engine
	id       int
	dir      Direction
	net      string
	start    time.Time
	rng      *rand.Rand
	faults   []int // indexes into the profile, of the faults acting on this flow
	linkFree time.Time
}

// Flows returns the shapers of a new exchange of datagrams between two
// sockets, first used at now: up and down share its number in events.
// Either is nil when no fault acts that way.
func (e *Engine) Flows(now time.Time, network string) (up, down *Flow) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.startLocked(now)
	e.flows++
	return e.flowLocked(network, Up), e.flowLocked(network, Down)
}

func (e *Engine) flowLocked(network string, dir Direction) *Flow {
	var idx []int
	for i, f := range e.profile.Faults {
		if f.onDatagrams() && f.Dir.covers(dir) {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return nil
	}
	return &Flow{
		e: e, id: e.flows, dir: dir, net: network, start: e.start, faults: idx,
		rng: rand.New(rand.NewPCG(e.seed^0x9e3779b97f4a7c15, uint64(e.flows)<<2|uint64(dir))),
	}
}

// Delivery is one copy of a datagram and when it arrives.
type Delivery struct {
	At   time.Time
	Size int // the datagram's length, or less when truncated
}

// Send decides the fate of a datagram of size bytes sent at now: no
// delivery when it is lost, two when it is duplicated.
func (f *Flow) Send(now time.Time, size int) []Delivery {
	f.mu.Lock()
	defer f.mu.Unlock()
	el := now.Sub(f.start)
	// Every fault is asked in the profile's order, so that the random
	// draws, and with them the decisions, depend on the seed alone.
	var (
		drop            FaultKind
		latency, jitter time.Duration
		rate            int64
		reorder         time.Duration
		dup             bool
		cut             = size
	)
	for _, i := range f.faults {
		p := &f.e.profile.Faults[i]
		if !active(p, el) {
			continue
		}
		f.e.mu.Lock()
		f.e.seen[i]++
		nth := f.e.seen[i]
		f.e.mu.Unlock()
		if p.Nth != 0 && nth != p.Nth {
			continue
		}
		if p.Probability != 0 && f.rng.Float64() >= p.Probability {
			continue
		}
		switch p.Kind {
		case FaultBlackhole, FaultPartition, FaultLoss:
			if drop == "" {
				drop = p.Kind
			}
		case FaultLatency:
			latency += p.Delay
			jitter += p.Jitter
		case FaultBandwidth:
			if rate == 0 || p.Rate < rate {
				rate = p.Rate
			}
		case FaultReorder:
			reorder += p.Delay
		case FaultDuplicate:
			dup = true
		case FaultTruncate:
			cut = min(cut, int(p.Bytes.Max))
		}
	}
	ev := func(k FaultKind, a Action, n int, d time.Duration) {
		f.e.emit(LinkEvent{Time: now, Net: f.net, Conn: f.id, Dir: f.dir, Fault: k, Action: a, Bytes: n, Delay: d})
	}
	if drop != "" {
		ev(drop, ActDrop, size, 0)
		return nil
	}
	dep := now
	if rate > 0 {
		dep = maxTime(dep, f.linkFree).Add(time.Duration(int64(size) * int64(time.Second) / rate))
		f.linkFree = dep
	}
	at := dep.Add(latency)
	if jitter > 0 {
		at = at.Add(time.Duration(f.rng.Int64N(2*int64(jitter)+1)) - jitter)
	}
	at = maxTime(at, dep)
	if at.After(now) {
		ev(FaultLatency, ActDelay, size, at.Sub(now))
	}
	if reorder > 0 {
		at = at.Add(reorder)
		ev(FaultReorder, ActReorder, size, reorder)
	}
	if cut < size {
		ev(FaultTruncate, ActTruncate, cut, 0)
	}
	out := []Delivery{{At: at, Size: cut}}
	if dup {
		ev(FaultDuplicate, ActDuplicate, cut, 0)
		out = append(out, out[0])
	}
	return out
}
