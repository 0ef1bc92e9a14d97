package bench

import (
	"debug/elf"
	"os"
)

// linkMode describes how the running executable is linked. It matters for
// ref-forking only, and a great deal there: every request child is a fresh
// exec of this binary, and a dynamically linked one (the default when cgo
// is enabled, because package net then links the C resolver) runs the
// dynamic loader and libc's start-up in every child. On the 2-CPU machine
// this was written on, that is about 1.3 ms more CPU per exec (3.9 against
// 2.6 ms for a child that exits at once), and about a quarter of
// ref-forking's throughput.
func linkMode() string {
	exe, err := os.Executable()
	if err != nil {
		return "of unknown linking (" + err.Error() + ")"
	}
	f, err := elf.Open(exe)
	if err != nil {
		return "of unknown linking (" + err.Error() + ")"
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return "dynamically linked (build with CGO_ENABLED=0 for a static binary: each child then skips the dynamic loader)"
		}
	}
	return "statically linked"
}
