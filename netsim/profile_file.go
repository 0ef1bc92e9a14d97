package netsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The built-in profiles. Each fault acts each way unless it says otherwise.
var builtins = []Profile{
	{Name: "ideal", Doc: "nothing delayed, cut or lost"},
	{Name: "lan", Doc: "a local network", Faults: []Fault{
		{Kind: FaultLatency, Delay: 500 * time.Microsecond, Jitter: 100 * time.Microsecond},
	}},
	{Name: "wan", Doc: "a long-distance link", Faults: []Fault{
		{Kind: FaultLatency, Delay: 40 * time.Millisecond, Jitter: 10 * time.Millisecond},
		{Kind: FaultBandwidth, Rate: 10_000_000 / 8},
	}},
	{Name: "lossy", Doc: "slow streams; datagrams lost, duplicated and reordered", Faults: []Fault{
		{Kind: FaultLatency, Scope: StreamScope, Delay: 20 * time.Millisecond},
		{Kind: FaultLoss, Probability: 0.05},
		{Kind: FaultDuplicate, Probability: 0.01},
		{Kind: FaultReorder, Probability: 0.05, Delay: 20 * time.Millisecond},
	}},
	{Name: "flaky", Doc: "a fifth of the connections reset; datagrams lost", Faults: []Fault{
		{Kind: FaultReset, Probability: 0.2, Bytes: Range{1 << 10, 64 << 10}},
		{Kind: FaultLoss, Probability: 0.02},
	}},
	{Name: "slow", Doc: "a modem: narrow, and writes arrive in small pieces", Faults: []Fault{
		{Kind: FaultBandwidth, Rate: 64_000 / 8},
		{Kind: FaultSlicer, Scope: StreamScope, Bytes: Range{1, 16}, Delay: time.Millisecond},
	}},
}

// Builtins returns the built-in profiles: ideal, lan, wan, lossy, flaky
// and slow.
func Builtins() []Profile {
	out := make([]Profile, len(builtins))
	for i, p := range builtins {
		p.Faults = slices.Clone(p.Faults)
		out[i] = p
	}
	return out
}

// BuiltinNames lists the names of the built-in profiles, in order.
func BuiltinNames() []string {
	names := make([]string, len(builtins))
	for i, p := range builtins {
		names[i] = p.Name
	}
	return names
}

// LookupProfile returns the built-in profile called name; the error of an
// unknown name lists the valid ones.
func LookupProfile(name string) (Profile, error) {
	for _, p := range Builtins() {
		if p.Name == name {
			return p, nil
		}
	}
	return Profile{}, fmt.Errorf("unknown network profile %q (write one of %s)", name, strings.Join(BuiltinNames(), ", "))
}

// LoadProfile reads a profile file (see ParseProfile). Its errors start
// with "profile PATH:".
func LoadProfile(path string) (Profile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Profile{}, fmt.Errorf("profile %s: %w", path, err)
	}
	return ParseProfile(path, data)
}

// ParseProfile parses a profile file: a JSON object with an optional
// "name" (the file's base name without .json when absent), an optional
// "doc" and a list of "faults", each an object with a "kind" and the
// parameters of that kind (see the package doc for the format). source
// names the file in errors, which say which fault and which field is
// wrong and what to write instead:
//
//	profile wan.json: fault 2 (latency): field "jitter": "10q" is not a duration (write 10ms)
func ParseProfile(source string, data []byte) (Profile, error) {
	fail := func(format string, args ...any) (Profile, error) {
		return Profile{}, fmt.Errorf("profile %s: %s", source, fmt.Sprintf(format, args...))
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return fail("%s", jsonError(data, err))
	}
	p := Profile{Name: strings.TrimSuffix(filepath.Base(source), ".json")}
	for _, key := range sortedKeys(top) {
		raw := top[key]
		switch key {
		case "name", "doc":
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return fail("field %q: %s is not a string", key, raw)
			}
			if key == "name" {
				p.Name = s
			} else {
				p.Doc = s
			}
		case "faults":
			var list []json.RawMessage
			if err := json.Unmarshal(raw, &list); err != nil {
				return fail(`field "faults": want a list of objects, each with a "kind"`)
			}
			for i, fraw := range list {
				f, err := parseFault(fraw)
				if err != nil {
					return fail("fault %d%s", i+1, err)
				}
				p.Faults = append(p.Faults, f)
			}
		default:
			return fail("unknown field %q (write name, doc or faults)", key)
		}
	}
	if _, ok := top["faults"]; !ok {
		return fail(`field "faults" is missing (write "faults": [] for an ideal network)`)
	}
	return p, nil
}

// parseFault parses one fault. Its error starts with " (KIND): " or ": ",
// to follow "fault N".
func parseFault(raw json.RawMessage) (Fault, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return Fault{}, fmt.Errorf(`: %s is not an object (write {"kind": "latency", "delay": "20ms"})`, raw)
	}
	kraw, ok := fields["kind"]
	if !ok {
		return Fault{}, fmt.Errorf(`: field "kind" is missing (write one of %s)`, kindNames())
	}
	var kind string
	if err := json.Unmarshal(kraw, &kind); err != nil {
		return Fault{}, fmt.Errorf(`: field "kind": %s is not a string (write one of %s)`, kraw, kindNames())
	}
	info, ok := kinds[FaultKind(kind)]
	if !ok {
		return Fault{}, fmt.Errorf(`: field "kind": unknown kind %q (write one of %s)`, kind, kindNames())
	}
	f := Fault{Kind: FaultKind(kind)}
	wrap := func(err error) (Fault, error) { return Fault{}, fmt.Errorf(" (%s): %w", kind, err) }
	allowed := append(slices.Clone(commonFields), info.fields...)
	for _, key := range sortedKeys(fields) {
		if !slices.Contains(allowed, key) {
			return wrap(fmt.Errorf("field %q does not apply to %s (its fields: %s)", key, kind, strings.Join(allowed[1:], ", ")))
		}
		if err := f.set(key, fields[key]); err != nil {
			return wrap(fmt.Errorf("field %q: %w", key, err))
		}
	}
	for _, key := range info.required {
		if _, ok := fields[key]; !ok {
			return wrap(fmt.Errorf("field %q is missing (write %s)", key, example(key)))
		}
	}
	if err := f.Validate(); err != nil {
		return wrap(err)
	}
	return f, nil
}

// set parses the value of one field into f.
func (f *Fault) set(key string, raw json.RawMessage) error {
	var err error
	switch key {
	case "kind":
	case "direction":
		var s string
		_ = json.Unmarshal(raw, &s)
		switch s {
		case "both":
			f.Dir = Both
		case "up":
			f.Dir = Up
		case "down":
			f.Dir = Down
		default:
			return fmt.Errorf("%s is not a direction (write up, down or both)", raw)
		}
	case "scope":
		var s string
		_ = json.Unmarshal(raw, &s)
		switch s {
		case "any":
			f.Scope = AnyScope
		case "stream":
			f.Scope = StreamScope
		case "datagram":
			f.Scope = DatagramScope
		default:
			return fmt.Errorf("%s is not a scope (write stream, datagram or any)", raw)
		}
	case "probability":
		if err = json.Unmarshal(raw, &f.Probability); err != nil || f.Probability <= 0 || f.Probability > 1 {
			return fmt.Errorf("%s is not a probability in (0, 1] (write 0.05 for 5 %%)", raw)
		}
	case "nth":
		if err = json.Unmarshal(raw, &f.Nth); err != nil || f.Nth < 1 {
			return fmt.Errorf("%s is not a count from 1 (write 3 for the third occurrence)", raw)
		}
	case "delay":
		f.Delay, err = parseDuration(raw)
	case "jitter":
		f.Jitter, err = parseDuration(raw)
	case "from":
		f.From, err = parseDuration(raw)
	case "until":
		f.Until, err = parseDuration(raw)
	case "rate":
		f.Rate, err = parseRate(raw)
	case "bytes":
		f.Bytes, err = parseRange(raw)
	}
	return err
}

func example(key string) string {
	switch key {
	case "delay":
		return `"delay": "20ms"`
	case "rate":
		return `"rate": "10Mbit/s"`
	case "bytes":
		return `"bytes": "1KiB..64KiB"`
	}
	return key
}

func parseDuration(raw json.RawMessage) (time.Duration, error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if d, err := time.ParseDuration(s); err == nil && d >= 0 {
			return d, nil
		}
	}
	return 0, fmt.Errorf("%s is not a duration (write 10ms)", raw)
}

// byteUnits are the suffixes of byte counts and rates.
var byteUnits = map[string]float64{
	"": 1, "B": 1,
	"KB": 1e3, "MB": 1e6, "GB": 1e9,
	"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30,
}

// bitUnits are the suffixes of rates in bits per second.
var bitUnits = map[string]float64{"bit": 1.0 / 8, "kbit": 1e3 / 8, "Mbit": 1e6 / 8, "Gbit": 1e9 / 8}

// parseRate reads bytes per second: a number, or a string such as
// "10Mbit/s", "64kbit/s", "1MiB/s" or "500B/s".
func parseRate(raw json.RawMessage) (int64, error) {
	bad := fmt.Errorf("%s is not a rate (write 10Mbit/s, 64kbit/s or 1MiB/s)", raw)
	var n float64
	if json.Unmarshal(raw, &n) == nil {
		if n <= 0 || n != math.Trunc(n) {
			return 0, bad
		}
		return int64(n), nil
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return 0, bad
	}
	s, ok := strings.CutSuffix(s, "/s")
	if !ok {
		return 0, bad
	}
	num, unit := splitNumber(s)
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v <= 0 {
		return 0, bad
	}
	if m, ok := bitUnits[unit]; ok {
		v *= m
	} else if m, ok := byteUnits[unit]; ok && unit != "" {
		v *= m
	} else {
		return 0, bad
	}
	if v < 1 {
		return 0, bad
	}
	return int64(v), nil
}

// parseRange reads a byte count or range: 512, "64KiB", "1..16" or
// "1KiB..64KiB".
func parseRange(raw json.RawMessage) (Range, error) {
	bad := fmt.Errorf("%s is not a byte count or range (write 512, \"64KiB\" or \"1KiB..64KiB\")", raw)
	var n int64
	if json.Unmarshal(raw, &n) == nil {
		if n < 0 {
			return Range{}, bad
		}
		return Range{n, n}, nil
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return Range{}, bad
	}
	lo, hi, isRange := strings.Cut(s, "..")
	if !isRange {
		hi = lo
	}
	a, ok1 := parseBytes(lo)
	b, ok2 := parseBytes(hi)
	if !ok1 || !ok2 {
		return Range{}, bad
	}
	if b < a {
		return Range{}, fmt.Errorf("%s runs backwards (write the smaller count first)", raw)
	}
	return Range{a, b}, nil
}

func parseBytes(s string) (int64, bool) {
	num, unit := splitNumber(strings.TrimSpace(s))
	v, err := strconv.ParseInt(num, 10, 64)
	m, ok := byteUnits[unit]
	if err != nil || !ok || v < 0 {
		return 0, false
	}
	return v * int64(m), true
}

// splitNumber splits "10Mbit" into "10" and "Mbit".
func splitNumber(s string) (num, unit string) {
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i:]
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return strconv.FormatInt(n, 10)
}

func formatRate(bps int64) string {
	bits := bps * 8
	switch {
	case bits >= 1e6 && bits%1e6 == 0:
		return fmt.Sprintf("%dMbit/s", bits/1e6)
	case bits >= 1e3 && bits%1e3 == 0:
		return fmt.Sprintf("%dkbit/s", bits/1e3)
	}
	return fmt.Sprintf("%dB/s", bps)
}

// jsonError says where in data a JSON error is, as line and column.
func jsonError(data []byte, err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var off int64
	switch {
	case errors.As(err, &syn):
		off = syn.Offset
	case errors.As(err, &typ):
		return "want a JSON object with \"faults\": [...]"
	default:
		return err.Error()
	}
	line := 1 + bytes.Count(data[:off], []byte("\n"))
	col := int(off) - bytes.LastIndexByte(data[:off], '\n') - 1
	return fmt.Sprintf("line %d, column %d: %v", line, col, err)
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	// "kind" first, so that errors can name it; then a fixed order.
	slices.SortFunc(keys, func(a, b string) int {
		if (a == "kind") != (b == "kind") {
			if a == "kind" {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	return keys
}
