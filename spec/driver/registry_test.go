package driver_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/sockspec/sockspec/spec/driver"
)

// scheme opens nothing; it records what it was asked.
type scheme struct {
	name, usage string
	got         *string
}

func (s scheme) Name() string  { return s.name }
func (s scheme) Usage() string { return s.usage }
func (s scheme) Open(arg string, _ driver.OpenOptions) (driver.Target, error) {
	*s.got = s.name + "|" + arg
	return nil, errors.New("opened")
}

func TestRegistryResolvesBySchemeName(t *testing.T) {
	var got string
	reg := driver.NewRegistry(scheme{"first", "first", &got}, scheme{"py", "py:VERSION", &got}, scheme{"exec", "exec:COMMAND", &got})
	for name, want := range map[string]string{
		"":                 "first|",
		"first":            "first|",
		"py:3.11":          "py|3.11",
		"py:/usr/bin/py:x": "py|/usr/bin/py:x",
		"exec:sh -c 'a:b'": "exec|sh -c 'a:b'",
	} {
		got = ""
		if _, err := reg.Open(name, driver.OpenOptions{}); err == nil || err.Error() != "opened" || got != want {
			t.Errorf("Open(%q) asked %q (%v); want %q", name, got, err, want)
		}
	}
	_, err := reg.Open("container:x", driver.OpenOptions{})
	if want := `unknown target "container:x": want first, py:VERSION or exec:COMMAND`; err == nil || err.Error() != want {
		t.Errorf("an unknown scheme: %v; want %s", err, want)
	}
}

func TestRegistryRefusesTwoSchemesOfOneName(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), `"a"`) {
			t.Fatalf("recovered %v; want a panic naming the scheme", r)
		}
	}()
	var got string
	driver.NewRegistry(scheme{"a", "a", &got}, scheme{"a", "a", &got})
}
