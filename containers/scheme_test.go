package containers

import (
	"strings"
	"testing"
)

// Options ride on the target's name; cmd= keeps everything after it.
func TestParseOptions(t *testing.T) {
	var o Options
	what, err := parseOptions("cpython:3.11,pids=64,nofile=256,memory=256m,cpus=0.5,user=0:0,net=host", &o)
	if err != nil || what != "cpython:3.11" {
		t.Fatalf("parseOptions = %q, %v", what, err)
	}
	if o.Limits.Pids != 64 || o.Limits.NoFile != 256 || o.Limits.Memory != 256<<20 || o.Limits.CPUs != 0.5 || o.User != "0:0" || o.Network != "host" {
		t.Fatalf("options %+v", o)
	}
	o = Options{}
	what, err = parseOptions("image=srv,memory=1g,cmd=/srv --flag a,b", &o)
	if err != nil || what != "image=srv,cmd=/srv --flag a,b" || o.Limits.Memory != 1<<30 {
		t.Fatalf("with cmd= last: %q, %+v, %v", what, o, err)
	}
	for arg, want := range map[string]string{
		"reference,pids":        `option "pids" of "reference,pids": write key=value`,
		"reference,pids=many":   `option pids="many" of "reference,pids=many" is not a number`,
		"reference,colour=blue": `unknown option "colour"`,
	} {
		if _, err := parseOptions(arg, &Options{}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parseOptions(%q) = %v; want %q", arg, err, want)
		}
	}
}
