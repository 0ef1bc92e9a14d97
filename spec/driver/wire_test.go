package driver

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

func TestConfigOnTheWire(t *testing.T) {
	no := false
	in := ServerConfig{Family: UDP, Dispatch: Forking, Address: "127.0.0.1:0", BindAndActivate: &no,
		Timeout: After(1500 * time.Millisecond), SocketTimeout: After(0), MaxChildren: 2,
		Faults: []Fault{{Op: "fork", Errno: "EAGAIN", Nth: 1}}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"timeout":1.5`, `"socket_timeout":0`, `"bind_and_activate":false`, `"max_children":2`} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("%s lacks %s", b, want)
		}
	}
	if bytes.Contains(b, []byte("handler_timeout")) {
		t.Errorf("%s: an absent timeout is written", b)
	}
	var out ServerConfig
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Errorf("round trip: %+v became %+v", in, out)
	}
}

func TestEventLinesAreFlat(t *testing.T) {
	var buf bytes.Buffer
	e := &Event{Hook: HookHandle, Phase: Return, PID: 7, Request: "1", Exception: &Exception{Type: "ValueError", Kind: Ordinary}}
	if err := EncodeMessage(&buf, Message{Type: TypeEvent, Event: e}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), `{"type":"event","hook":"handle"`) || strings.Count(buf.String(), "\n") != 1 {
		t.Fatalf("event line %q", buf.String())
	}
	m, err := NewDecoder(&buf).Decode()
	if err != nil {
		t.Fatal(err)
	}
	if m.Type != TypeEvent || !reflect.DeepEqual(m.Event, e) {
		t.Errorf("decoded %+v", m.Event)
	}
}

func TestDecodeNamesLineAndField(t *testing.T) {
	for _, tc := range []struct {
		name   string
		input  string
		strict bool
		want   string // in the error
	}{
		{"not json", "{\"type\":\"hello\",\"protocol\":1,\"name\":\"x\"}\ngarbage\n", false, "line 2: not a JSON object"},
		{"unknown type", `{"type":"hi"}` + "\n", false, `line 1: field "type": "hi"`},
		{"no type", `{"id":1}` + "\n", false, `field "type": missing`},
		{"reply without id", `{"type":"reply","result":{"value":"None"}}` + "\n", false, `field "id"`},
		{"bad phase", `{"type":"event","hook":"handle","phase":"enter","pid":1}` + "\n", false, `field "phase"`},
		{"wrong field type", `{"type":"event","hook":"handle","phase":"call","pid":"one"}` + "\n", false, `field "pid"`},
		{"unknown field, strict", `{"type":"event","hook":"handle","phase":"call","pid":1,"colour":"red"}` + "\n", true, `field "colour"`},
		{"unknown hook, strict", `{"type":"event","hook":"handel","phase":"call","pid":1}` + "\n", true, `field "hook": unknown hook`},
		{"bad kind, strict", `{"type":"reply","id":1,"result":{"exception":{"type":"E","kind":"weird"}}}` + "\n", true, `field "result.exception.kind"`},
		{"unknown capability, strict", `{"type":"hello","protocol":1,"name":"x","capabilities":["telepathy"]}` + "\n", true, `"telepathy"`},
		{"no newline at the end", `{"type":"reply","id":1,"result":{}}`, false, "line 1: the output ended inside a line"},
		{"too long", `{"type":"event","hook":"` + strings.Repeat("x", MaxLine) + "\"}\n", false, "line 1: longer than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDecoder(strings.NewReader(tc.input))
			d.Strict = tc.strict
			var err error
			for err == nil {
				_, err = d.Decode()
			}
			var pe *ProtocolError
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v; want a protocol error containing %q", err, tc.want)
			}
		})
	}
	// A long line is skipped whole: the next line decodes.
	d := NewDecoder(strings.NewReader(strings.Repeat("x", MaxLine+10) + "\n" + `{"type":"reply","id":2,"result":{"value":"None"}}` + "\n"))
	if _, err := d.Decode(); err == nil {
		t.Fatal("a long line decoded")
	}
	if m, err := d.Decode(); err != nil || m.ID != 2 || d.Line() != 2 {
		t.Fatalf("after a long line: %+v, %v, line %d", m, err, d.Line())
	}
	if _, err := d.Decode(); err != io.EOF {
		t.Fatalf("at the end: %v", err)
	}
}

func TestDecodeCommand(t *testing.T) {
	c, err := DecodeCommand([]byte(`{"id":3,"cmd":"serve_forever","poll_interval":0.25}`))
	if err != nil || c.Cmd != CmdServeForever || *c.PollInterval != 0.25 {
		t.Fatalf("%+v, %v", c, err)
	}
	for _, bad := range []string{`{"id":0,"cmd":"state"}`, `{"id":1,"cmd":"dance"}`, `{"id":1,"cmd":"start"}`, `{"id":1,"cmd":"state","x":1}`} {
		if _, err := DecodeCommand([]byte(bad)); err == nil {
			t.Errorf("%s decoded", bad)
		}
	}
}

// The schema and the Go types list the same names.
func TestSchemaAgreesWithTypes(t *testing.T) {
	raw, err := os.ReadFile("protocol.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Defs map[string]struct {
			Properties map[string]struct {
				Enum  []string `json:"enum"`
				Items struct {
					Enum []string `json:"enum"`
				} `json:"items"`
			} `json:"properties"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatal(err)
	}
	same := func(what string, got, want []string) {
		t.Helper()
		got, want = slices.Clone(got), slices.Clone(want)
		sort.Strings(got)
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: schema %v, Go %v", what, got, want)
		}
	}
	kinds := make([]string, len(ExceptionKinds))
	for i, k := range ExceptionKinds {
		kinds[i] = string(k)
	}
	same("hooks", schema.Defs["event"].Properties["hook"].Enum, Hooks)
	same("commands", schema.Defs["command"].Properties["cmd"].Enum, Commands)
	same("capabilities", schema.Defs["hello"].Properties["capabilities"].Items.Enum, knownCapabilities)
	same("kinds", schema.Defs["exception"].Properties["kind"].Enum, kinds)
	same("signals", schema.Defs["command"].Properties["signal"].Enum, Signals)
	var fields []string
	for name := range schema.Defs["config"].Properties {
		fields = append(fields, name)
	}
	b, _ := json.Marshal(ServerConfig{Family: TCP, Dispatch: Sync, Address: "a", BindAndActivate: new(bool),
		Timeout: After(1), SocketTimeout: After(1), HandlerTimeout: After(1), AllowReuseAddress: true, AllowReusePort: true,
		RequestQueueSize: 1, MaxPacketSize: 1, MaxChildren: 1, BlockOnClose: new(bool), DaemonThreads: true,
		VerifyReject: true, HandleTimeoutResult: "x", HandleErrorRaises: true, Faults: []Fault{{}}})
	var all map[string]any
	json.Unmarshal(b, &all)
	var goFields []string
	for name := range all {
		goFields = append(goFields, name)
	}
	same("config fields", fields, goFields)
}
