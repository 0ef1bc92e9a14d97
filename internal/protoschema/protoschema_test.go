package protoschema

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/sockspec/sockspec/spec/driver"
)

// Lines that conform pass; each line that breaks the schema is refused
// with where and how, in one line.
func TestCheck(t *testing.T) {
	v, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		`{"type":"hello","protocol":1,"name":"toy","version":"1","language":"go","capabilities":["tcp","trace"]}`,
		`{"type":"reply","id":3,"result":{"value":"None"}}`,
		`{"type":"event","hook":"handle_request","phase":"call","pid":42}`,
		`{"type":"output","stream":"stdout","text":"hi\n"}`,
	} {
		if err := v.Check([]byte(line)); err != nil {
			t.Errorf("%s: %v", line, err)
		}
	}
	for line, want := range map[string]string{
		`{"type":"hello","protocol":1,"name":""}`:                               `at '/name'`,
		`{"type":"hello","protocol":1,"name":"x","capabilities":["fly"]}`:       `at '/capabilities/0'`,
		`{"type":"reply","id":0}`:                                               `at '/id'`,
		`{"type":"event","hook":"handle_request","phase":"call","pid":1,"x":1}`: `'x'`,
		`{"type":"teapot"}`:                                                     "breaks protocol.schema.json",
	} {
		err := v.Check([]byte(line))
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v; want one line with %q", line, err, want)
		}
	}
}

// The schema refuses lines that the Go decoder, even strict, lets
// through: as the decoder's Check it makes --validate-protocol check more
// than the Go types do.
func TestCheckAddsToTheStrictDecoder(t *testing.T) {
	v, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	line := `{"type":"hello","protocol":1,"name":"x","version":null}` + "\n"
	strict := driver.NewDecoder(strings.NewReader(line))
	strict.Strict = true
	if _, err := strict.Decode(); err != nil {
		t.Fatalf("the strict decoder refuses it already (%v): the test needs a line only the schema refuses", err)
	}
	checked := driver.NewDecoder(strings.NewReader(line))
	checked.Strict, checked.Check = true, v.Check
	_, err = checked.Decode()
	var pe *driver.ProtocolError
	if !errors.As(err, &pe) || pe.Line != 1 || !strings.Contains(pe.Error(), "/version") {
		t.Errorf("with the schema: %v; want a protocol error at line 1 naming /version", err)
	}
	if _, err := checked.Decode(); !errors.Is(err, io.EOF) {
		t.Errorf("after the line: %v, want EOF", err)
	}
}
