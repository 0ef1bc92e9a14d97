package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sockspec/sockspec/impl"
	"github.com/sockspec/sockspec/internal/testkit"
)

// startServe runs serve in this process and returns the address it printed
// and a stop function that cancels it and returns its result.
func startServe(t *testing.T, cfg serveConfig) (addr string, stderr *testkit.Buffer, stop func() error) {
	t.Helper()
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	stderr = &testkit.Buffer{}
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, cfg, pw, stderr, nil)
		pw.Close()
	}()
	first := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(pr).ReadString('\n')
		first <- line
		pr.Close()
	}()
	var once sync.Once
	var result error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case result = <-done:
			case <-time.After(exitTimeout):
				t.Fatalf("serve has not returned %v after its context was cancelled", exitTimeout)
			}
		})
		return result
	}
	t.Cleanup(func() { _ = stop() })
	select {
	case line := <-first:
		if line == "" {
			t.Fatalf("serve printed no address: %v; stderr %q", stop(), stderr.String())
		}
		return strings.TrimSuffix(line, "\n"), stderr, stop
	case <-time.After(startTimeout):
		t.Fatalf("serve printed no address within %v", startTimeout)
	}
	return "", nil, nil
}

func TestServeInProcess(t *testing.T) {
	for _, d := range []impl.Dispatch{impl.Sync, impl.Threading, impl.Forking} {
		t.Run(d.String(), func(t *testing.T) {
			cfg := serveConfig{Dispatch: d, Family: impl.TCP, Addr: defaultInetAddr, Handler: "upper", PollInterval: 50 * time.Millisecond, Timeout: time.Second}
			addr, stderr, stop := startServe(t, cfg)
			if !inetAddr.MatchString(addr) {
				t.Fatalf("address line %q", addr)
			}
			if got := request(t, "tcp", addr, "in process\n"); got != "IN PROCESS\n" {
				t.Fatalf("reply %q", got)
			}
			if err := stop(); err != nil {
				t.Fatalf("serve returned %v after cancel, want nil", err)
			}
			// A request child may still be exiting when the stop begins,
			// which the stop announces; anything else is a failure.
			for _, line := range strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n") {
				if line != "" && !strings.Contains(line, "waiting for 1 request child to finish") {
					t.Errorf("stderr: %q", line)
				}
			}
		})
	}
}

func TestServeInProcessUnixgramRemovesSocket(t *testing.T) {
	path := filepath.Join(shortDir(t), "s.sock")
	cfg := serveConfig{Dispatch: impl.Threading, Family: impl.UnixDatagram, Addr: path, Handler: "echo", PollInterval: 50 * time.Millisecond}
	addr, _, stop := startServe(t, cfg)
	if addr != path {
		t.Fatalf("address line %q, want %q", addr, path)
	}
	if got := request(t, "unixgram", addr, "dgram"); got != "dgram" {
		t.Fatalf("reply %q", got)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("socket file after serve returned: %v, want it removed", err)
	}
}

// TestServeBindErrors: a failed bind returns at once with a message that
// names --addr and says what to do, and prints no address.
func TestServeBindErrors(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	dir := shortDir(t)
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cfg  serveConfig
		want []string
	}{
		{"tcp in use", serveConfig{Family: impl.TCP, Addr: taken.Addr().String()}, []string{"cannot bind tcp " + taken.Addr().String(), "address already in use", "choose another --addr"}},
		{"unix file there", serveConfig{Family: impl.UnixStream, Addr: file}, []string{"cannot bind unix " + file, "already in use", "remove it", "--addr"}},
		{"unixgram file there", serveConfig{Family: impl.UnixDatagram, Addr: file}, []string{"cannot bind unixgram", "remove it"}},
		{"no such directory", serveConfig{Family: impl.UnixStream, Addr: filepath.Join(dir, "none", "s")}, []string{"no such file or directory", "check --addr"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Handler, tc.cfg.PollInterval = "echo", time.Second
			var stdout, stderr testkit.Buffer
			err := serve(context.Background(), tc.cfg, &stdout, &stderr, nil)
			if err == nil {
				t.Fatal("serve succeeded, want a bind error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if stdout.String() != "" {
				t.Errorf("stdout %q, want nothing", stdout.String())
			}
		})
	}
	if _, err := os.Stat(file); err != nil {
		t.Errorf("a failed bind touched the existing file: %v", err)
	}
}

func TestReadProcStat(t *testing.T) {
	st, err := readProcStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if st.PID != os.Getpid() || st.PPID != os.Getppid() || st.State == 'Z' {
		t.Errorf("readProcStat(self) = %+v, want pid %d, ppid %d, not a zombie", st, os.Getpid(), os.Getppid())
	}
	if _, err := readProcStat(-1); err == nil {
		t.Error("readProcStat(-1) succeeded")
	}
}
