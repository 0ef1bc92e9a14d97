package netsim_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sockspec/sockspec/netsim"
)

// exampleProfile is the complete example of the package doc and of the
// README: it must parse to exampleFaults.
const exampleProfile = `{
  "name": "office-vpn",
  "doc": "a VPN to the office that drops out now and then",
  "faults": [
    {"kind": "latency", "delay": "30ms", "jitter": "5ms"},
    {"kind": "bandwidth", "rate": "20Mbit/s", "direction": "down"},
    {"kind": "bandwidth", "rate": "5Mbit/s", "direction": "up"},
    {"kind": "slicer", "bytes": "1..1400", "delay": "100us", "scope": "stream"},
    {"kind": "reset", "bytes": "1KiB..64KiB", "probability": 0.05},
    {"kind": "limit_data", "bytes": "10MiB", "nth": 3},
    {"kind": "refuse", "nth": 7},
    {"kind": "partition", "from": "30s", "until": "35s"},
    {"kind": "loss", "probability": 0.01},
    {"kind": "duplicate", "probability": 0.001},
    {"kind": "reorder", "probability": 0.02, "delay": "15ms"},
    {"kind": "truncate", "bytes": 1200}
  ]
}`

var exampleFaults = []netsim.Fault{
	{Kind: netsim.FaultLatency, Delay: 30 * time.Millisecond, Jitter: 5 * time.Millisecond},
	{Kind: netsim.FaultBandwidth, Rate: 2_500_000, Dir: netsim.Down},
	{Kind: netsim.FaultBandwidth, Rate: 625_000, Dir: netsim.Up},
	{Kind: netsim.FaultSlicer, Bytes: netsim.Range{Min: 1, Max: 1400}, Delay: 100 * time.Microsecond, Scope: netsim.StreamScope},
	{Kind: netsim.FaultReset, Bytes: netsim.Range{Min: 1 << 10, Max: 64 << 10}, Probability: 0.05},
	{Kind: netsim.FaultLimitData, Bytes: netsim.Range{Min: 10 << 20, Max: 10 << 20}, Nth: 3},
	{Kind: netsim.FaultRefuse, Nth: 7},
	{Kind: netsim.FaultPartition, From: 30 * time.Second, Until: 35 * time.Second},
	{Kind: netsim.FaultLoss, Probability: 0.01},
	{Kind: netsim.FaultDuplicate, Probability: 0.001},
	{Kind: netsim.FaultReorder, Probability: 0.02, Delay: 15 * time.Millisecond},
	{Kind: netsim.FaultTruncate, Bytes: netsim.Range{Min: 1200, Max: 1200}},
}

func TestProfileExampleParses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vpn.json")
	if err := os.WriteFile(path, []byte(exampleProfile), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := netsim.LoadProfile(path)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "office-vpn" || !strings.HasPrefix(p.Doc, "a VPN") || !reflect.DeepEqual(p.Faults, exampleFaults) {
		t.Fatalf("parsed %+v", p)
	}
	for _, file := range []string{"doc.go", "../README.md"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), `"kind": "reset", "bytes": "1KiB..64KiB", "probability": 0.05`) {
			t.Errorf("%s does not show the example profile", file)
		}
	}
}

func TestProfileErrors(t *testing.T) {
	for _, tc := range []struct{ file, want string }{
		{`{"faults": [{"kind": "loss", "probability": 0.1}, {"kind": "latency", "delay": "10ms", "jitter": "10q"}]}`,
			`profile wan.json: fault 2 (latency): field "jitter": "10q" is not a duration (write 10ms)`},
		{`{"faults": [{"delay": "10ms"}]}`,
			`profile wan.json: fault 1: field "kind" is missing (write one of latency, bandwidth,`},
		{`{"faults": [{"kind": "latncy"}]}`,
			`profile wan.json: fault 1: field "kind": unknown kind "latncy" (write one of latency,`},
		{`{"faults": [{"kind": "latency", "delay": "1ms", "rate": "1Mbit/s"}]}`,
			`profile wan.json: fault 1 (latency): field "rate" does not apply to latency (its fields: direction,`},
		{`{"faults": [{"kind": "bandwidth"}]}`,
			`profile wan.json: fault 1 (bandwidth): field "rate" is missing (write "rate": "10Mbit/s")`},
		{`{"faults": [{"kind": "bandwidth", "rate": "10Mbps"}]}`,
			`profile wan.json: fault 1 (bandwidth): field "rate": "10Mbps" is not a rate (write 10Mbit/s, 64kbit/s or 1MiB/s)`},
		{`{"faults": [{"kind": "loss", "probability": 5}]}`,
			`profile wan.json: fault 1 (loss): field "probability": 5 is not a probability in (0, 1]`},
		{`{"faults": [{"kind": "reset", "bytes": "64KiB..1KiB"}]}`,
			`profile wan.json: fault 1 (reset): field "bytes": "64KiB..1KiB" runs backwards`},
		{`{"faults": [{"kind": "refuse", "direction": "down"}]}`,
			`profile wan.json: fault 1 (refuse): field "direction": refuse acts on connects, which go up`},
		{`{"faults": [{"kind": "loss", "scope": "stream"}]}`,
			`profile wan.json: fault 1 (loss): field "scope": loss acts on datagrams only`},
		{`{"faults": [{"kind": "partition", "from": "5s", "until": "2s"}]}`,
			`profile wan.json: fault 1 (partition): field "until": 2s does not come after "from" 5s`},
		{`{"faults": [{"kind": "latency", "delay": "1ms", "direction": "sideways"}]}`,
			`profile wan.json: fault 1 (latency): field "direction": "sideways" is not a direction (write up, down or both)`},
		{`{"faults": 3}`, `profile wan.json: field "faults": want a list of objects`},
		{`{"fautls": []}`, `profile wan.json: unknown field "fautls" (write name, doc or faults)`},
		{`{"name": "x"}`, `profile wan.json: field "faults" is missing`},
		{"{\n  \"faults\": [,]\n}", `profile wan.json: line 2, column 14: invalid character ','`},
	} {
		_, err := netsim.ParseProfile("wan.json", []byte(tc.file))
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s:\n got %v\nwant %s…", tc.file, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("error of more than one line: %q", err)
		}
	}
}

func TestProfileBuiltins(t *testing.T) {
	names := netsim.BuiltinNames()
	if strings.Join(names, " ") != "ideal lan wan lossy flaky slow" {
		t.Fatalf("built-ins %v", names)
	}
	for _, p := range netsim.Builtins() {
		if err := p.Validate(); err != nil {
			t.Errorf("built-in %s: %v", p.Name, err)
		}
		for _, f := range p.Faults {
			// sockspec network --list prints each fault with String.
			if !strings.HasPrefix(f.String(), string(f.Kind)) {
				t.Errorf("%s: a fault prints as nothing", p.Name)
			}
		}
	}
	wan, err := netsim.LookupProfile("wan")
	if err != nil || wan.Faults[1].Rate != 1_250_000 || wan.Faults[1].String() != "bandwidth rate=10Mbit/s" {
		t.Fatalf("wan: %+v %v", wan, err)
	}
	_, err = netsim.LookupProfile("lann")
	if err == nil || err.Error() != `unknown network profile "lann" (write one of ideal, lan, wan, lossy, flaky, slow)` {
		t.Fatalf("unknown profile: %v", err)
	}
}
