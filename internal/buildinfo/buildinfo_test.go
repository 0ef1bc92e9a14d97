package buildinfo

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	bi := &debug.BuildInfo{
		GoVersion: "go1.26.0",
		Main:      debug.Module{Path: "github.com/sockspec/sockspec", Version: "v1.2.0"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123"},
			{Key: "vcs.modified", Value: "true"},
			{Key: "vcs.time", Value: "2025-01-02T03:04:05Z"},
		},
	}
	got := FromBuildInfo(bi)
	want := Info{Version: "v1.2.0", Revision: "0123456789abcdef0123", Modified: true, Time: "2025-01-02T03:04:05Z", Go: "go1.26.0"}
	if got != want {
		t.Errorf("FromBuildInfo: %+v, want %+v", got, want)
	}
	if s := got.String(); s != "sockspec v1.2.0 (0123456789ab, modified) go1.26.0" {
		t.Errorf("String: %q", s)
	}
	// A build without VCS stamps says so by omission.
	plain := FromBuildInfo(&debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"}})
	if s := plain.String(); s != "sockspec (devel) go1.26.0" {
		t.Errorf("String without VCS: %q", s)
	}
}

func TestReadNamesTheToolchain(t *testing.T) {
	if i := Read(); !strings.HasPrefix(i.Go, "go") || i.Version == "" {
		t.Errorf("Read: %+v", i)
	}
}
