package hostinfo

import (
	"strings"
	"testing"
)

func TestReadNamesTheKernel(t *testing.T) {
	i := Read()
	if !strings.HasPrefix(i.Kernel, "Linux ") || i.Arch == "" {
		t.Errorf("Read() = %+v, want a Linux kernel and an architecture", i)
	}
	if s := i.String(); !strings.Contains(s, i.Kernel) {
		t.Errorf("String() = %q, want it to name the kernel %q", s, i.Kernel)
	}
}

func TestStringOfNothing(t *testing.T) {
	if s := (Info{}).String(); s != "unknown host" {
		t.Errorf("Info{}.String() = %q", s)
	}
}
