package driver_test

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/sockspec/sockspec/spec/driver"
)

func TestScriptRoundTrip(t *testing.T) {
	for _, s := range []driver.Script{
		driver.Echo("hello world"),
		driver.Raise(), driver.RaiseFatal(), driver.RaiseInterrupt(), driver.SetupRaise(),
		driver.Sleep(250 * time.Millisecond).Then(driver.Echo("x")),
		driver.Hold(), driver.ShutdownFromHandler(), driver.PID(), driver.Exit(3), driver.Size(),
	} {
		got, err := driver.ParseScript(string(s.Line()))
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if got.String() != s.String() {
			t.Fatalf("round trip of %q gave %q", s, got)
		}
	}
	if d := driver.Sleep(250 * time.Millisecond)[0].SleepDuration(); d != 250*time.Millisecond {
		t.Fatalf("sleep duration %v", d)
	}
}

// A bad script is refused with the step and what to do.
func TestScriptErrors(t *testing.T) {
	for line, want := range map[string]string{
		"":                  "empty script",
		"dance":             `unknown verb "dance"`,
		"echo a;sleep soon": "step 2",
		"raise loudly":      `"fatal" or "interrupt"`,
		"exit 300":          "0 to 255",
		"setup-raise;echo":  "only step",
		"pid 3":             "no argument",
	} {
		_, err := driver.ParseScript(line)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want an error with %q", line, err, want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	ok := driver.ServerConfig{Family: driver.TCP, Dispatch: driver.Sync}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	neg := -time.Second
	for _, c := range []driver.ServerConfig{
		{Family: "sctp", Dispatch: driver.Sync},
		{Family: driver.TCP, Dispatch: "pool"},
		{Family: driver.TCP, Dispatch: driver.Sync, Timeout: &neg},
		{Family: driver.TCP, Dispatch: driver.Sync, MaxChildren: -1},
		{Family: driver.TCP, Dispatch: driver.Sync, Faults: []driver.Fault{{Op: "read", Errno: "EIO", Nth: 1}}},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v: accepted", c)
		}
	}
}

func TestTraceWait(t *testing.T) {
	var tr driver.Trace
	go tr.Append(driver.Event{Hook: driver.HookGetRequest, Phase: driver.Call})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tr.Wait(ctx, func(es []driver.Event) bool { return driver.Count(es, driver.HookGetRequest, driver.Call) == 1 }); err != nil {
		t.Fatal(err)
	}
	short, cancel2 := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel2()
	if err := tr.Wait(short, func([]driver.Event) bool { return false }); err != driver.ErrNoReply {
		t.Fatalf("got %v, want ErrNoReply", err)
	}
}

// ReadReplyLine leaves what follows the line unread, and returns what it
// read before an error.
func TestReadReplyLineReadsNoFurther(t *testing.T) {
	r := strings.NewReader("one\ntwo")
	if line, err := driver.ReadReplyLine(r); line != "one\n" || err != nil {
		t.Fatalf("ReadReplyLine = %q, %v", line, err)
	}
	if line, err := driver.ReadReplyLine(r); line != "two" || err != io.EOF {
		t.Fatalf("ReadReplyLine of an unended line = %q, %v; want it and EOF", line, err)
	}
}
