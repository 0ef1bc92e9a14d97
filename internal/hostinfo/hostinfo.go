// Package hostinfo says which machine a run was judged on: its host name,
// kernel and architecture. Reports carry it because timing-bound outcomes
// (HANG, a busy spin) depend on the machine as much as on the build.
package hostinfo

import (
	"os"
	"syscall"
)

// Info describes a machine. Fields the system did not tell are empty.
type Info struct {
	Hostname string `json:"hostname,omitempty"`
	// Kernel is the operating system and its release: "Linux 6.1.0-18-amd64".
	Kernel string `json:"kernel,omitempty"`
	// Arch is the hardware name uname reports: x86_64, aarch64.
	Arch string `json:"arch,omitempty"`
}

// Read describes the machine the program runs on.
func Read() Info {
	var i Info
	i.Hostname, _ = os.Hostname()
	var u syscall.Utsname
	if syscall.Uname(&u) == nil {
		i.Kernel = utsString(u.Sysname[:]) + " " + utsString(u.Release[:])
		i.Arch = utsString(u.Machine[:])
	}
	return i
}

// String is the machine in one line: "host (Linux 6.1.0-18-amd64 x86_64)".
func (i Info) String() string {
	s := i.Hostname
	if s == "" {
		s = "unknown host"
	}
	if i.Kernel != "" {
		s += " (" + i.Kernel
		if i.Arch != "" {
			s += " " + i.Arch
		}
		s += ")"
	}
	return s
}

// utsString reads a NUL-terminated uname field (int8 or uint8 by platform).
func utsString[T int8 | uint8](f []T) string {
	b := make([]byte, 0, len(f))
	for _, c := range f {
		if c == 0 {
			break
		}
		b = append(b, byte(c))
	}
	return string(b)
}
