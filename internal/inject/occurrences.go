package inject

import (
	"fmt"
	"strings"
	"sync"
)

// Occurrences chooses which occurrences of a call a fault fires on,
// counting from 1: Nth(2) is the second call, From(3) the third and every
// later one. Faults are chosen by count rather than by chance so that a
// failing run replays exactly. The zero value fires on none.
type Occurrences struct {
	spans []span
}

// span is the occurrences lo through hi; hi == 0 means without end.
type span struct{ lo, hi int }

// Nth fires on each of the listed occurrences. It panics on a number below
// 1, because a call count never is.
func Nth(ns ...int) Occurrences {
	var o Occurrences
	for _, n := range ns {
		checkOccurrence("Nth", n)
		o.spans = append(o.spans, span{n, n})
	}
	return o
}

// From fires on occurrence n and every one after it.
func From(n int) Occurrences {
	checkOccurrence("From", n)
	return Occurrences{spans: []span{{n, 0}}}
}

// Range fires on occurrences lo through hi, both included.
func Range(lo, hi int) Occurrences {
	checkOccurrence("Range", lo)
	if hi < lo {
		panic(fmt.Sprintf("inject: Range(%d, %d): the end comes before the start", lo, hi))
	}
	return Occurrences{spans: []span{{lo, hi}}}
}

// Always fires on every occurrence.
func Always() Occurrences { return From(1) }

// Or fires on the occurrences of o and those of p.
func (o Occurrences) Or(p Occurrences) Occurrences {
	spans := make([]span, 0, len(o.spans)+len(p.spans))
	spans = append(spans, o.spans...)
	return Occurrences{spans: append(spans, p.spans...)}
}

// Has reports whether occurrence n fires.
func (o Occurrences) Has(n int) bool {
	for _, s := range o.spans {
		if n >= s.lo && (s.hi == 0 || n <= s.hi) {
			return true
		}
	}
	return false
}

// IsZero reports whether o fires on nothing.
func (o Occurrences) IsZero() bool { return len(o.spans) == 0 }

// String lists the occurrences, as "never", "2", "2-5", "3+" or a comma
// separated mix, for failure messages and reports.
func (o Occurrences) String() string {
	if len(o.spans) == 0 {
		return "never"
	}
	parts := make([]string, len(o.spans))
	for i, s := range o.spans {
		switch {
		case s.hi == 0:
			parts[i] = fmt.Sprintf("%d+", s.lo)
		case s.lo == s.hi:
			parts[i] = fmt.Sprint(s.lo)
		default:
			parts[i] = fmt.Sprintf("%d-%d", s.lo, s.hi)
		}
	}
	return strings.Join(parts, ",")
}

func checkOccurrence(fn string, n int) {
	if n < 1 {
		panic(fmt.Sprintf("inject: %s(%d): occurrences are counted from 1", fn, n))
	}
}

// counter numbers the calls of one operation and the faults among them; it
// is shared by the fault doubles so that they all count the same way.
type counter struct {
	mu    sync.Mutex
	calls int
	fired int
}

// next counts a call and reports its number and whether o fires on it.
func (c *counter) next(o Occurrences) (n int, fire bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	fire = o.Has(c.calls)
	if fire {
		c.fired++
	}
	return c.calls, fire
}

func (c *counter) counts() (calls, fired int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls, c.fired
}
