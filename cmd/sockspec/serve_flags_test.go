package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/sockspec/sockspec/impl"
)

func TestParseServeFlagsDefaults(t *testing.T) {
	got, err := parseServeFlags(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := serveConfig{Dispatch: impl.Sync, Family: impl.TCP, Addr: "127.0.0.1:0", Handler: "echo", PollInterval: 500 * time.Millisecond}
	if got != want {
		t.Errorf("defaults %+v, want %+v", got, want)
	}
}

func TestParseServeFlagsValid(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want serveConfig
	}{
		{
			args: []string{"--mode", "forking", "--family", "unixgram", "--addr", "/tmp/x.sock", "--handler", "upper", "--poll-interval", "20ms", "--timeout", "3s"},
			want: serveConfig{Dispatch: impl.Forking, Family: impl.UnixDatagram, Addr: "/tmp/x.sock", Handler: "upper", PollInterval: 20 * time.Millisecond, Timeout: 3 * time.Second},
		},
		{
			args: []string{"-mode=threading", "-family=udp", "-addr=[::1]:9000", "-timeout=0"},
			want: serveConfig{Dispatch: impl.Threading, Family: impl.UDP, Addr: "[::1]:9000", Handler: "echo", PollInterval: 500 * time.Millisecond},
		},
		{
			args: []string{"--family", "unix", "--addr", strings.Repeat("a", maxUnixPath)},
			want: serveConfig{Family: impl.UnixStream, Addr: strings.Repeat("a", maxUnixPath), Handler: "echo", PollInterval: 500 * time.Millisecond},
		},
	} {
		got, err := parseServeFlags(tc.args)
		if err != nil {
			t.Errorf("%q: %v", tc.args, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%q: %+v, want %+v", tc.args, got, tc.want)
		}
	}
}

// TestServeBadFlags checks that every bad command line exits 2 with one
// line on standard error that names the flag (or the argument) and says
// what to give instead, and that no server is started.
func TestServeBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string // parts of the message
	}{
		{[]string{"--mode", "fork"}, []string{"--mode", `"fork"`, "use sync, threading or forking"}},
		{[]string{"--mode", ""}, []string{"--mode", "use sync"}},
		{[]string{"--family", "sctp"}, []string{"--family", `"sctp"`, "use tcp, udp, unix or unixgram"}},
		{[]string{"--handler", "rot13"}, []string{"--handler", `"rot13"`, "use echo or upper"}},
		{[]string{"--timeout", "-1s"}, []string{"--timeout", "negative", "zero or more"}},
		{[]string{"--timeout", "5"}, []string{"--timeout", "not a duration", "with a unit"}},
		{[]string{"--poll-interval", "-5ms"}, []string{"--poll-interval", "negative"}},
		{[]string{"--poll-interval", "0"}, []string{"--poll-interval", "zero", "above zero"}},
		{[]string{"--poll-interval", "soon"}, []string{"--poll-interval", "not a duration"}},
		{[]string{"--family", "unix"}, []string{"--addr", "required", "--family unix", "socket path"}},
		{[]string{"--family", "unixgram"}, []string{"--addr", "required", "--family unixgram"}},
		{[]string{"--family", "unix", "--addr", "/" + strings.Repeat("a", maxUnixPath)}, []string{"--addr", "108 bytes", "shorter path"}},
		{[]string{"--addr", "localhost"}, []string{"--addr", `"localhost"`, "host:port"}},
		{[]string{"--family", "udp", "--addr", "/tmp/x.sock"}, []string{"--addr", "host:port"}},
		{[]string{"--addr"}, []string{"-addr", "needs an argument", "sockspec serve -h"}},
		{[]string{"--bogus"}, []string{"-bogus", "not defined", "sockspec serve -h"}},
		{[]string{"tcp"}, []string{`unexpected argument "tcp"`, "flags only"}},
		{[]string{"--mode", "sync", "extra"}, []string{`unexpected argument "extra"`}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			if _, err := parseServeFlags(tc.args); err == nil || errors.Is(err, errHelp) {
				t.Fatalf("parseServeFlags accepted %q (err %v)", tc.args, err)
			}
			var stdout, stderr bytes.Buffer
			code := runServe(context.Background(), env{Args: tc.args, Stdout: &stdout, Stderr: &stderr})
			if code != 2 {
				t.Errorf("exit status %d, want 2", code)
			}
			msg := stderr.String()
			if !strings.HasPrefix(msg, "sockspec serve: ") || strings.Count(msg, "\n") != 1 || !strings.HasSuffix(msg, "\n") {
				t.Errorf("stderr is not one line starting with the command: %q", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q does not contain %q", msg, w)
				}
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout %q, want nothing", stdout.String())
			}
		})
	}
}

// TestServeUsageNamesEveryFlag keeps the help text in step with the flags.
func TestServeUsageNamesEveryFlag(t *testing.T) {
	fs, _ := newServeFlags()
	n := 0
	fs.VisitAll(func(f *flag.Flag) {
		n++
		if !strings.Contains(serveUsage, "--"+f.Name+" ") {
			t.Errorf("serve usage does not document --%s", f.Name)
		}
	})
	if n == 0 {
		t.Fatal("no flags defined")
	}
	for _, s := range []string{"handle_error", "first line", "SIGTERM", "Exit status"} {
		if !strings.Contains(serveUsage, s) {
			t.Errorf("serve usage does not mention %q", s)
		}
	}
}
