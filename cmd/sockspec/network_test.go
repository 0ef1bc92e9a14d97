package main

import (
	"bytes"
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
