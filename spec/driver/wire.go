package driver

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// The wire form of the protocol (PROTOCOL.md): JSON lines, commands from
// the harness, messages (hello, reply, event) from the adapter. The types
// here are the driver types of the harness, so that a field of one is a
// field of the other.

// ProtocolVersion is the version of PROTOCOL.md this package speaks.
const ProtocolVersion = 1

// MaxLine bounds one line of the protocol; a longer one is a protocol
// error, not a reason to buffer without end.
const MaxLine = 1 << 20

// Commands of the protocol.
const (
	CmdStart         = "start"
	CmdHandleRequest = "handle_request"
	CmdServeForever  = "serve_forever"
	CmdShutdown      = "shutdown"
	CmdServerClose   = "server_close"
	CmdExitContext   = "exit_context"
	CmdState         = "state"
	CmdSignal        = "signal"
	CmdForeignStart  = "foreign_start"
	CmdForeignExit   = "foreign_exit"
	CmdForeignReap   = "foreign_reap"
	CmdBye           = "bye"
)

// Commands lists every command.
var Commands = []string{CmdStart, CmdHandleRequest, CmdServeForever, CmdShutdown, CmdServerClose, CmdExitContext,
	CmdState, CmdSignal, CmdForeignStart, CmdForeignExit, CmdForeignReap, CmdBye}

// Hooks lists every hook name an event may carry.
var Hooks = []string{HookServerBind, HookServerActivate, HookServeForever, HookHandleRequest, HookGetRequest,
	HookVerifyRequest, HookProcessRequest, HookFinishRequest, HookSetup, HookHandle, HookFinish, HookShutdownRequest,
	HookCloseRequest, HookHandleError, HookHandleTimeout, HookServiceActions, HookCollectChildren, HookShutdown,
	HookServerClose, HookChildExit, HookFault, HookAcceptBackoff}

// ExceptionKinds lists every exception kind.
var ExceptionKinds = []ExceptionKind{Ordinary, Fatal, Closed, Misuse}

// Signals lists the signals a signal command may name.
var Signals = []string{"SIGUSR1", "SIGALRM", "SIGUSR2"}

// Command is one line from the harness to the adapter.
type Command struct {
	ID     int64         `json:"id"`
	Cmd    string        `json:"cmd"`
	Config *ServerConfig `json:"config,omitempty"`
	// PollInterval is serve_forever's, in seconds.
	PollInterval *float64 `json:"poll_interval,omitempty"`
	Signal       string   `json:"signal,omitempty"`
	Child        int      `json:"child,omitempty"`
}

// Message is one line from the adapter: a hello, a reply or an event, by
// Type. Only the fields of its type are set.
type Message struct {
	Type string `json:"type"`

	// hello
	Protocol     int      `json:"protocol,omitempty"`
	Name         string   `json:"name,omitempty"`
	Version      string   `json:"version,omitempty"`
	Language     string   `json:"language,omitempty"`
	Capabilities []string `json:"capabilities,omitempty"`

	// reply
	ID      int64   `json:"id,omitempty"`
	Result  *Result `json:"result,omitempty"`
	Error   string  `json:"error,omitempty"`
	Address string  `json:"address,omitempty"`
	State   *State  `json:"state,omitempty"`
	Child   int     `json:"child,omitempty"`
	Status  *int    `json:"status,omitempty"`
	Stolen  bool    `json:"stolen,omitempty"`

	// output: what the server wrote to a stream the protocol cannot leave
	// to it (its standard output is the protocol's channel).
	Stream string `json:"stream,omitempty"`
	Text   string `json:"text,omitempty"`

	// event
	Event *Event `json:"-"`
}

// Message types.
const (
	TypeHello  = "hello"
	TypeReply  = "reply"
	TypeEvent  = "event"
	TypeOutput = "output"
)

// wireEvent is an event line: the Event's fields beside "type".
type wireEvent struct {
	Type string `json:"type"`
	Event
}

// MarshalJSON writes an event message flat, as PROTOCOL.md shows it.
func (m Message) MarshalJSON() ([]byte, error) {
	if m.Type == TypeEvent && m.Event != nil {
		return json.Marshal(wireEvent{Type: TypeEvent, Event: *m.Event})
	}
	type plain Message
	return json.Marshal(plain(m))
}

// ProtocolError is a line that breaks the protocol.
type ProtocolError struct {
	Line  int    // 1-based line number of the adapter's output
	Field string // the offending field, when one is to blame
	Msg   string
}

func (e *ProtocolError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("protocol: line %d: field %q: %s", e.Line, e.Field, e.Msg)
	}
	return fmt.Sprintf("protocol: line %d: %s", e.Line, e.Msg)
}

// Decoder reads the adapter's messages.
type Decoder struct {
	r *bufio.Reader
	// Strict checks every message against the protocol's schema
	// (protocol.schema.json): unknown fields, missing ones, enumerations.
	Strict bool
	line   int
}

// NewDecoder reads messages from r.
func NewDecoder(r io.Reader) *Decoder { return &Decoder{r: bufio.NewReaderSize(r, 64<<10)} }

// Line is the number of lines read so far.
func (d *Decoder) Line() int { return d.line }

// Decode reads the next message. At the end of the input it returns
// io.EOF; a malformed line is a *ProtocolError.
func (d *Decoder) Decode() (Message, error) {
	raw, err := d.readLine()
	if err != nil {
		return Message{}, err
	}
	return decodeMessage(raw, d.line, d.Strict)
}

func (d *Decoder) readLine() ([]byte, error) {
	var buf []byte
	for {
		chunk, err := d.r.ReadSlice('\n')
		if len(buf)+len(chunk) > MaxLine {
			d.line++
			// Skip the rest of the line so that the error names it alone.
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = d.r.ReadSlice('\n')
			}
			return nil, &ProtocolError{Line: d.line, Msg: fmt.Sprintf("longer than %d bytes", MaxLine)}
		}
		buf = append(buf, chunk...)
		switch {
		case err == nil:
			d.line++
			return bytes.TrimRight(buf, "\r\n"), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(buf) > 0:
			d.line++
			return nil, &ProtocolError{Line: d.line, Msg: "the output ended inside a line (no newline)"}
		default:
			return nil, err
		}
	}
}

func decodeMessage(raw []byte, line int, strict bool) (Message, error) {
	perr := func(field, format string, args ...any) error {
		return &ProtocolError{Line: line, Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return Message{}, perr("", "not a JSON object: %v: %q", err, clip(raw))
	}
	var m Message
	switch head.Type {
	case TypeEvent:
		var we wireEvent
		if err := unmarshal(raw, &we, strict); err != nil {
			return Message{}, perr(fieldOf(err), "%v", err)
		}
		m = Message{Type: TypeEvent, Event: &we.Event}
	case TypeHello, TypeReply, TypeOutput:
		type plain Message
		var p plain
		if err := unmarshal(raw, &p, strict); err != nil {
			return Message{}, perr(fieldOf(err), "%v", err)
		}
		m = Message(p)
	case "":
		return Message{}, perr("type", "missing: want hello, reply, event or output")
	default:
		return Message{}, perr("type", "%q: want hello, reply, event or output", head.Type)
	}
	if err := m.check(strict); err != nil {
		var pe *ProtocolError
		if errors.As(err, &pe) {
			pe.Line = line
		}
		return Message{}, err
	}
	return m, nil
}

func unmarshal(raw []byte, v any, strict bool) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("more than one JSON value on the line")
	}
	return nil
}

// fieldOf finds the field a json error names.
func fieldOf(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return strings.TrimPrefix(te.Field, "Event.")
	}
	if s := err.Error(); strings.HasPrefix(s, "json: unknown field ") {
		return strings.Trim(strings.TrimPrefix(s, "json: unknown field "), `"`)
	}
	return ""
}

// check enforces what JSON decoding does not: required fields and, when
// strict, enumerations.
func (m Message) check(strict bool) error {
	bad := func(field, format string, args ...any) error {
		return &ProtocolError{Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	switch m.Type {
	case TypeHello:
		if m.Protocol == 0 {
			return bad("protocol", "missing")
		}
		if m.Name == "" {
			return bad("name", "missing: name the implementation")
		}
		if strict {
			for _, c := range m.Capabilities {
				if !KnownCapability(c) {
					return bad("capabilities", "unknown capability %q", c)
				}
			}
		}
	case TypeReply:
		if m.ID <= 0 {
			return bad("id", "missing or not positive")
		}
		if strict && m.Result == nil && m.Error == "" && m.State == nil && m.Address == "" && m.Child == 0 && m.Status == nil && !m.Stolen {
			return bad("result", "a reply carries a result, an error, a state or a foreign child's fields")
		}
		if m.Result != nil && m.Result.Exception != nil {
			if err := checkException("result.exception", m.Result.Exception, strict); err != nil {
				return err
			}
		}
	case TypeOutput:
		if m.Stream != "stdout" {
			return bad("stream", "%q: want stdout", m.Stream)
		}
	case TypeEvent:
		e := m.Event
		if e.Hook == "" {
			return bad("hook", "missing")
		}
		if e.Phase != Call && e.Phase != Return {
			return bad("phase", "%q: want call or return", e.Phase)
		}
		if strict {
			if !slices.Contains(Hooks, e.Hook) {
				return bad("hook", "unknown hook %q", e.Hook)
			}
			if e.PID <= 0 {
				return bad("pid", "missing")
			}
		}
		if e.Exception != nil {
			if err := checkException("exception", e.Exception, strict); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkException(field string, e *Exception, strict bool) error {
	if e.Type == "" {
		return &ProtocolError{Field: field + ".type", Msg: "missing"}
	}
	if strict && !slices.Contains(ExceptionKinds, e.Kind) {
		return &ProtocolError{Field: field + ".kind", Msg: fmt.Sprintf("%q: want ordinary, fatal, closed or misuse", e.Kind)}
	}
	if e.Kind == "" {
		e.Kind = Ordinary
	}
	return nil
}

func clip(b []byte) string {
	if len(b) > 120 {
		return string(b[:120]) + "…"
	}
	return string(b)
}

// EncodeCommand writes one command line.
func EncodeCommand(w io.Writer, c Command) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// EncodeMessage writes one message line in a single Write, as the
// protocol asks of every writer that shares the adapter's output.
func EncodeMessage(w io.Writer, m Message) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// DecodeCommand reads one command line of the harness (for adapters
// written in Go).
func DecodeCommand(raw []byte) (Command, error) {
	var c Command
	if err := unmarshal(raw, &c, true); err != nil {
		return Command{}, fmt.Errorf("protocol: command %q: %w", clip(raw), err)
	}
	if c.ID <= 0 || !slices.Contains(Commands, c.Cmd) {
		return Command{}, fmt.Errorf("protocol: command %q: want a positive id and one of %s", clip(raw), strings.Join(Commands, ", "))
	}
	if c.Cmd == CmdStart && c.Config == nil {
		return Command{}, fmt.Errorf("protocol: start without a config")
	}
	return c, nil
}

// wireConfig is ServerConfig on the wire: durations as seconds.
type wireConfig struct {
	serverConfigFields
	Timeout        *float64 `json:"timeout,omitempty"`
	SocketTimeout  *float64 `json:"socket_timeout,omitempty"`
	HandlerTimeout *float64 `json:"handler_timeout,omitempty"`
}

type serverConfigFields ServerConfig

// MarshalJSON writes the configuration as PROTOCOL.md's config.
func (c ServerConfig) MarshalJSON() ([]byte, error) {
	return json.Marshal(wireConfig{
		serverConfigFields: serverConfigFields(c),
		Timeout:            secondsOf(c.Timeout),
		SocketTimeout:      secondsOf(c.SocketTimeout),
		HandlerTimeout:     secondsOf(c.HandlerTimeout),
	})
}

// UnmarshalJSON reads PROTOCOL.md's config.
func (c *ServerConfig) UnmarshalJSON(b []byte) error {
	var w wireConfig
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*c = ServerConfig(w.serverConfigFields)
	c.Timeout = durationOfSeconds(w.Timeout)
	c.SocketTimeout = durationOfSeconds(w.SocketTimeout)
	c.HandlerTimeout = durationOfSeconds(w.HandlerTimeout)
	return nil
}

func secondsOf(s Seconds) *float64 {
	if s == nil {
		return nil
	}
	f := s.Seconds()
	return &f
}

func durationOfSeconds(f *float64) Seconds {
	if f == nil {
		return nil
	}
	return After(time.Duration(math.Round(*f * float64(time.Second))))
}

// PollSeconds is serve_forever's poll interval on the wire.
func PollSeconds(d time.Duration) *float64 {
	f := d.Seconds()
	return &f
}
