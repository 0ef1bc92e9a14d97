package images

import (
	"io/fs"
	"testing"
	"testing/fstest"
)

// TestSkipped: an interpreter tree loses its tests, bytecode, headers,
// static library and third-party packages, and keeps the rest.
func TestSkipped(t *testing.T) {
	tree := fstest.MapFS{
		"bin/python3.11":                          {},
		"lib/libpython3.11.so.1.0":                {},
		"lib/libpython3.11.a":                     {},
		"lib/python3.11/os.py":                    {},
		"lib/python3.11/socketserver.py":          {},
		"lib/python3.11/__pycache__/os.pyc":       {},
		"lib/python3.11/test/test_os.py":          {},
		"lib/python3.11/site-packages/x/y.py":     {},
		"lib/python3.11/config-3.11/Makefile":     {},
		"lib/python3.11/lib-dynload/_socket.so":   {},
		"include/python3.11/Python.h":             {},
		"lib/python2.7/lib-tk/Tkinter.py":         {},
		"lib/python3.11/encodings/utf_8.py":       {},
		"lib/python3.11/site-packages/README.txt": {},
	}
	var kept []string
	err := fs.WalkDir(tree, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == "." {
			return err
		}
		if skipped(path, d) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if !d.IsDir() {
			kept = append(kept, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"bin/python3.11", "lib/libpython3.11.so.1.0", "lib/python3.11/encodings/utf_8.py", "lib/python3.11/lib-dynload/_socket.so", "lib/python3.11/os.py", "lib/python3.11/socketserver.py"}
	if len(kept) != len(want) {
		t.Fatalf("kept %v; want %v", kept, want)
	}
	for i := range want {
		if kept[i] != want[i] {
			t.Fatalf("kept %v; want %v", kept, want)
		}
	}
}

func TestHashOfSeparatesParts(t *testing.T) {
	if hashOf("ab", "c") == hashOf("a", "bc") {
		t.Error("hashOf(\"ab\", \"c\") == hashOf(\"a\", \"bc\")")
	}
}
