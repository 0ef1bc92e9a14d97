package driver

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// A Script is what a request asks its handler to do. The client sends it as
// the request's first line (a stream request) or as the datagram's first
// line, so that any scenario is data: the adapter's handler only
// interprets it. Steps run in order, separated by ";" on the wire:
//
//	echo TEXT       write TEXT and a newline
//	size            write the number of bytes of the request the handler
//	                received (the datagram, or the first line) and a newline
//	raise           raise an ordinary exception (ValueError in Python)
//	raise fatal     raise the fatal kind: SystemExit in Python
//	raise interrupt raise KeyboardInterrupt (fatal kind too)
//	setup-raise     make setup() raise; must be the only step
//	sleep SECONDS   sleep, then go on
//	hold            write "held", then wait for one more line from the
//	                client (streams only) and write "released"
//	shutdown        call server.shutdown() from the handler, then write
//	                "shutdown returned" or "shutdown raised TYPE"
//	pid             write the handling process's pid
//	exit CODE       end the handling child process at once with CODE
//	                (forking servers only)
//
// Every written line ends with "\n". A stream reply ends when the server
// shuts the connection down; a datagram reply is one datagram sent when
// the handler finishes.
type Script []Step

// Step is one instruction of a Script.
type Step struct {
	Verb string
	Arg  string
}

// Verbs of the script language.
const (
	VerbEcho       = "echo"
	VerbSize       = "size"
	VerbRaise      = "raise"
	VerbSetupRaise = "setup-raise"
	VerbSleep      = "sleep"
	VerbHold       = "hold"
	VerbShutdown   = "shutdown"
	VerbPID        = "pid"
	VerbExit       = "exit"
)

// Echo and the other constructors build one-step scripts.
func Echo(text string) Script         { return Script{{VerbEcho, text}} }
func Raise() Script                   { return Script{{VerbRaise, ""}} }
func RaiseFatal() Script              { return Script{{VerbRaise, "fatal"}} }
func RaiseInterrupt() Script          { return Script{{VerbRaise, "interrupt"}} }
func SetupRaise() Script              { return Script{{VerbSetupRaise, ""}} }
func Sleep(d time.Duration) Script    { return Script{{VerbSleep, formatSeconds(d)}} }
func Hold() Script                    { return Script{{VerbHold, ""}} }
func ShutdownFromHandler() Script     { return Script{{VerbShutdown, ""}} }
func PID() Script                     { return Script{{VerbPID, ""}} }
func Exit(code int) Script            { return Script{{VerbExit, strconv.Itoa(code)}} }
func Size() Script                    { return Script{{VerbSize, ""}} }
func (s Script) Then(t Script) Script { return append(append(Script(nil), s...), t...) }

// String is the script's wire form, without the newline.
func (s Script) String() string {
	parts := make([]string, len(s))
	for i, st := range s {
		parts[i] = strings.TrimSpace(st.Verb + " " + st.Arg)
	}
	return strings.Join(parts, ";")
}

// Line is the wire form with its newline.
func (s Script) Line() []byte { return []byte(s.String() + "\n") }

func formatSeconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
}

// ParseScript reads a script's wire form (one line, with or without its
// newline). An error names the step and says what was wrong with it.
func ParseScript(line string) (Script, error) {
	line = strings.TrimRight(line, "\r\n")
	if strings.TrimSpace(line) == "" {
		return nil, fmt.Errorf("driver: empty script: send at least one step, e.g. \"echo hi\"")
	}
	var s Script
	for i, part := range strings.Split(line, ";") {
		verb, arg, _ := strings.Cut(strings.TrimSpace(part), " ")
		st := Step{Verb: verb, Arg: strings.TrimSpace(arg)}
		if err := st.check(); err != nil {
			return nil, fmt.Errorf("driver: script step %d %q: %w", i+1, part, err)
		}
		s = append(s, st)
	}
	for _, st := range s {
		if st.Verb == VerbSetupRaise && len(s) > 1 {
			return nil, fmt.Errorf("driver: script %q: setup-raise must be the only step", line)
		}
	}
	return s, nil
}

func (st Step) check() error {
	switch st.Verb {
	case VerbEcho:
		return nil
	case VerbSize, VerbSetupRaise, VerbHold, VerbShutdown, VerbPID:
		if st.Arg != "" {
			return fmt.Errorf("%s takes no argument", st.Verb)
		}
	case VerbRaise:
		if st.Arg != "" && st.Arg != "fatal" && st.Arg != "interrupt" {
			return fmt.Errorf("raise takes nothing, \"fatal\" or \"interrupt\"")
		}
	case VerbSleep:
		f, err := strconv.ParseFloat(st.Arg, 64)
		if err != nil || f < 0 {
			return fmt.Errorf("sleep takes a number of seconds ≥ 0")
		}
	case VerbExit:
		if n, err := strconv.Atoi(st.Arg); err != nil || n < 0 || n > 255 {
			return fmt.Errorf("exit takes a code from 0 to 255")
		}
	default:
		return fmt.Errorf("unknown verb %q: want echo, size, raise, setup-raise, sleep, hold, shutdown, pid or exit", st.Verb)
	}
	return nil
}

// SleepDuration is the duration of a sleep step.
func (st Step) SleepDuration() time.Duration {
	f, _ := strconv.ParseFloat(st.Arg, 64)
	return time.Duration(f * float64(time.Second))
}

// ExitCode is the code of an exit step.
func (st Step) ExitCode() int {
	n, _ := strconv.Atoi(st.Arg)
	return n
}

// ReadReplyLine reads one line of a stream reply, up to and including its
// "\n", a byte at a time so that nothing after the line is consumed: what
// follows stays for the next read (a server that answers a line, then
// waits, then answers again). Its bound is r's own (a connection's
// deadline). On an error it returns what it read before it.
func ReadReplyLine(r io.Reader) (string, error) {
	var b []byte
	one := make([]byte, 1)
	for {
		n, err := r.Read(one)
		if n == 1 {
			b = append(b, one[0])
			if one[0] == '\n' {
				return string(b), nil
			}
		}
		if err != nil {
			return string(b), err
		}
	}
}
