package process

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sockspec/sockspec/internal/testkit"
	"github.com/sockspec/sockspec/spec/driver"
)

func hostile(name string) *Target {
	path, _ := filepath.Abs(filepath.Join("testdata", "hostile", name+".sh"))
	return &Target{Argv: []string{path}, HelloTimeout: 2 * time.Second, MaxEvents: 10_000}
}

var tcp = driver.ServerConfig{Family: driver.TCP, Dispatch: driver.Sync}

// groupGone reports whether no process of group pgid is left.
func groupGone(pgid int) bool {
	return errors.Is(syscall.Kill(-pgid, 0), syscall.ESRCH)
}

// Each hostile adapter ends in an error that says what went wrong, within
// its bound, and leaves nothing running.
func TestHostileAdapters(t *testing.T) {
	for _, tc := range []struct {
		name string
		// atStart: Start fails with this; otherwise the first command does.
		atStart string
		cmdErr  string
		hang    bool // the command ends as ErrNoReply: a HANG
	}{
		{name: "crash-at-start", atStart: "ended before its hello"},
		{name: "no-hello", atStart: "said no hello within 2s"},
		{name: "wrong-protocol", atStart: "speaks protocol 99"},
		{name: "garbage", atStart: "line 2: not a JSON object"},
		{name: "huge-line", atStart: "line 2: longer than"},
		{name: "crash-mid-spec", cmdErr: "the adapter exited"},
		{name: "stray-reply", cmdErr: `field "id": a reply to 77`},
		{name: "event-flood", cmdErr: "event flood"},
		{name: "never-answers", hang: true},
		{name: "leaves-children", hang: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := Live()
			tgt := hostile(tc.name)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			s, err := tgt.Start(ctx, tcp)
			if tc.atStart != "" {
				if err == nil || !strings.Contains(err.Error(), tc.atStart) {
					t.Fatalf("Start: %v; want an error saying %q", err, tc.atStart)
				}
				if Live() != before {
					t.Fatalf("%d adapter groups left running", Live()-before)
				}
				return
			}
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			pgid := s.(*session).p.pgid
			cctx, ccancel := context.WithTimeout(ctx, 500*time.Millisecond)
			defer ccancel()
			var r driver.Result
			if tc.name == "event-flood" {
				// The flood breaks the session while nothing is asked.
				testkit.WaitFor(t, 10*time.Second, "the event flood to break the session", func() bool {
					return s.(*session).p.peer.Err() != nil
				})
				if err := s.(*session).p.peer.Err(); !strings.Contains(err.Error(), tc.cmdErr) {
					t.Fatalf("the session broke with %v; want an error saying %q", err, tc.cmdErr)
				}
			}
			r, err = s.HandleRequest(cctx)
			switch {
			case tc.hang:
				if !errors.Is(err, driver.ErrNoReply) {
					t.Fatalf("HandleRequest = %v, %v; want ErrNoReply", r, err)
				}
			case err == nil || !strings.Contains(err.Error(), tc.cmdErr):
				t.Fatalf("HandleRequest = %v, %v; want an error saying %q", r, err, tc.cmdErr)
			}
			if tc.name == "crash-mid-spec" && !strings.Contains(err.Error(), "hostile: crashing mid-spec") {
				t.Errorf("the error %q does not carry the adapter's stderr", err)
			}
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if !groupGone(pgid) {
				t.Fatalf("processes of group %d outlived Close", pgid)
			}
			if Live() != before {
				t.Fatalf("%d adapter groups left running", Live()-before)
			}
		})
	}
}

func TestNoCommand(t *testing.T) {
	if _, err := (&Target{}).Start(context.Background(), tcp); err == nil || !strings.Contains(err.Error(), "no command") {
		t.Fatalf("Start without a command: %v", err)
	}
	if _, err := (&Target{Argv: []string{"/no/such/adapter"}}).Start(context.Background(), tcp); err == nil || !strings.Contains(err.Error(), "/no/such/adapter") {
		t.Fatalf("Start of a missing program: %v", err)
	}
}

// Validate checks what the adapter writes against the protocol's JSON
// Schema: a hello the Go types let through is refused, naming the line
// and the field; without Validate it is taken.
func TestValidateChecksTheSchema(t *testing.T) {
	before := Live()
	lax := hostile("schema-breaker")
	if err := lax.Err(); err != nil {
		t.Fatalf("without Validate: %v", err)
	}
	strict := hostile("schema-breaker")
	strict.Validate = true
	err := strict.Err()
	if err == nil || !strings.Contains(err.Error(), "line 1") || !strings.Contains(err.Error(), "protocol.schema.json") || !strings.Contains(err.Error(), "/version") {
		t.Errorf("with Validate: %v; want the schema's complaint about line 1's /version", err)
	}
	testkit.WaitFor(t, 5*time.Second, "the adapters' groups to be reaped", func() bool { return Live() == before })
}

// KillAll ends every live adapter group (the harness's Ctrl-C).
func TestKillAll(t *testing.T) {
	s, err := hostile("leaves-children").Start(context.Background(), tcp)
	if err != nil {
		t.Fatal(err)
	}
	pgid := s.(*session).p.pgid
	KillAll()
	select {
	case <-s.(*session).p.exited:
	case <-time.After(5 * time.Second):
		t.Fatal("the adapter outlived KillAll")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if !groupGone(pgid) {
		t.Fatal("children outlived KillAll")
	}
}

// process: splits a command line as a shell would; reference-process runs sockspec's
// adapter command, with a known mutant only.
func TestSchemes(t *testing.T) {
	reg := driver.NewRegistry(Scheme(), ReferenceScheme([]string{"ord03-x"}))
	o := driver.OpenOptions{Sockspec: "/bin/sockspec"}
	for name, want := range map[string][]string{
		"process:./adapter --flag":                         {"./adapter", "--flag"},
		`process:python3 '/my adapters/a.py' --name "x y"`: {"python3", "/my adapters/a.py", "--name", "x y"},
		"reference-process":                                {"/bin/sockspec", "adapter"},
		"reference-process:ord03-x":                        {"/bin/sockspec", "adapter", "--mutation", "ord03-x"},
	} {
		target, err := reg.Open(name, o)
		if err != nil || !slices.Equal(target.(*Target).Argv, want) {
			t.Errorf("Open(%q) = %v, %v; want argv %q", name, target, err, want)
		}
	}
	for _, tc := range []struct {
		name string
		o    driver.OpenOptions
		want string
	}{
		{"process:  ", o, "names no command: write process:COMMAND ARGS"},
		{"process:python3 'a.py", o, "a single quote is not closed"},
		{"reference-process:no-such", o, `unknown mutant "no-such"`},
		{"reference-process", driver.OpenOptions{}, "this program is not sockspec"},
	} {
		if _, err := reg.Open(tc.name, tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%q): %v; want %q", tc.name, err, tc.want)
		}
	}
}
