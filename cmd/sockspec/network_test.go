package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNetworkList(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"network", "--list"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit status %d: %s", code, stderr.String())
	}
	for _, want := range []string{
		"ideal  nothing", "latency delay=500µs jitter=100µs", "bandwidth rate=10Mbit/s", "loss probability=0.05",
		"reset bytes=1KiB..64KiB probability=0.2", "slicer scope=stream delay=1ms bytes=1..16", "bandwidth rate=64kbit/s",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("the list lacks %q:\n%s", want, stdout.String())
		}
	}
}

func TestNetworkBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"network"}, "sockspec network: nothing to do: write sockspec network --list\n"},
		{[]string{"network", "--list", "wan"}, `sockspec network: unexpected argument "wan": write sockspec network --list` + "\n"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(tc.args, &stdout, &stderr); code != 2 || stderr.String() != tc.want {
			t.Errorf("%q: exit status %d, stderr %q; want 2 and %q", tc.args, code, stderr.String(), tc.want)
		}
	}
}

// A --network value is a built-in's name or a profile file.
func TestNetworkLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mine.json")
	os.WriteFile(path, []byte(`{"faults": [{"kind": "latency", "delay": "5ms"}]}`), 0o644)
	if p, err := loadNetwork(path); err != nil || p.Name != "mine" || len(p.Faults) != 1 {
		t.Fatalf("file: %+v %v", p, err)
	}
	if p, err := loadNetwork("wan"); err != nil || p.Name != "wan" {
		t.Fatalf("built-in: %+v %v", p, err)
	}
}

// run --network puts the profile's proxy in front of every server: the
// specs still judge the server (ORD-10 sees the proxy's socket as the
// client, and says so through Client.SeenAs), the report and the
// summary name the network, and a bad profile is a usage error.
func TestRunThroughNetwork(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	code, stdout, stderr := runSockspec(t, "run", "--target", "reference-process", "--network", "lan",
		"--report-dir", dir, "--label-filter", "rule:ORD-10 || rule:ERR-01")
	if code != 0 {
		t.Fatalf("run through lan: status %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Network string `json:"network"`
	}
	if err := json.Unmarshal(b, &v); err != nil || v.Network != "lan" {
		t.Errorf("report.json names the network %q (%v); want lan", v.Network, err)
	}
	if !strings.Contains(stdout, "through the lan network") {
		t.Errorf("the summary does not name the network:\n%s", stdout)
	}
	code, _, stderr = runSockspec(t, "run", "--network", "nope", "--label-filter", "rule:ORD-10")
	if code != 2 || !strings.Contains(stderr, `unknown network profile "nope"`) || !strings.Contains(stderr, "lossy") {
		t.Errorf("run --network nope: status %d, stderr %q; want 2 and the list of profiles", code, stderr)
	}
}
