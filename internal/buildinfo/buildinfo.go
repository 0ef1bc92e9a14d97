// Package buildinfo says which sockspec is running: the module version,
// the VCS revision it was built from and whether the tree had changes,
// and the Go version. Reports carry it so that a verdict can be traced to
// the build that gave it; `sockspec version` prints it.
package buildinfo

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// Info describes a build. Fields the build did not record are empty.
type Info struct {
	// Version is the main module's version: a tag such as v1.2.0 for
	// `go install …@v1.2.0`, "(devel)" for a build in a working tree.
	Version string `json:"version"`
	// Revision is the VCS commit the build came from, when recorded
	// (builds with -buildvcs=false or outside a repository have none).
	Revision string `json:"revision,omitempty"`
	// Modified: the working tree had uncommitted changes at build time.
	Modified bool `json:"modified,omitempty"`
	// Time is the commit's time, when recorded.
	Time string `json:"vcs_time,omitempty"`
	// Go is the toolchain that built the program.
	Go string `json:"go"`
}

// Read describes the running program.
func Read() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return Info{Version: "unknown", Go: runtime.Version()}
	}
	return FromBuildInfo(bi)
}

// FromBuildInfo describes the build bi records.
func FromBuildInfo(bi *debug.BuildInfo) Info {
	i := Info{Version: bi.Main.Version, Go: bi.GoVersion}
	if i.Version == "" {
		i.Version = "unknown"
	}
	if i.Go == "" {
		i.Go = runtime.Version()
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			i.Revision = s.Value
		case "vcs.modified":
			i.Modified = s.Value == "true"
		case "vcs.time":
			i.Time = s.Value
		}
	}
	return i
}

// String is the build in one line: "sockspec v1.2.0 (abc1234def56, modified) go1.26.0".
func (i Info) String() string {
	var b strings.Builder
	b.WriteString("sockspec ")
	b.WriteString(i.Version)
	if i.Revision != "" {
		rev := i.Revision
		if len(rev) > 12 {
			rev = rev[:12]
		}
		b.WriteString(" (" + rev)
		if i.Modified {
			b.WriteString(", modified")
		}
		b.WriteString(")")
	}
	b.WriteString(" " + i.Go)
	return b.String()
}
