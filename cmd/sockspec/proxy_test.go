package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sockspec/sockspec/internal/testkit"
)

func TestProxyBadInput(t *testing.T) {
	dir := t.TempDir()
	badFile := filepath.Join(dir, "wan.json")
	os.WriteFile(badFile, []byte(`{"faults": [{"kind": "loss"}, {"kind": "latency", "delay": "1ms", "jitter": "10q"}]}`), 0o644)
	ok := []string{"--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "--network", "lan"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--upstream", "127.0.0.1:1", "--network", "lan"}, "--listen is missing: write --listen 127.0.0.1:0"},
		{[]string{"--listen", "127.0.0.1:0", "--network", "lan"}, "--upstream is missing: write --upstream 127.0.0.1:8000"},
		{[]string{"--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1"}, "--network is missing: write --network lan"},
		{append([]string{"--family", "sctp"}, ok...), `--family "sctp": write tcp, udp, unix or unixgram`},
		{append(ok, "--seed", "x"), `--seed "x" is not a number: write --seed 42`},
		{[]string{"--listen", "localhost", "--upstream", "127.0.0.1:1", "--network", "lan"},
			`--listen "localhost" is not host:port: write --listen 127.0.0.1:0`},
		{[]string{"--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "--network", "lann"},
			`--network: unknown network profile "lann" (write one of ideal, lan, wan, lossy, flaky, slow, or the path of a JSON profile file)`},
		{[]string{"--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "--network", badFile},
			`--network: profile ` + badFile + `: fault 2 (latency): field "jitter": "10q" is not a duration (write 10ms)`},
		{append(ok, "extra"), `unexpected argument "extra"`},
	} {
		var stdout, stderr bytes.Buffer
		code := run(append([]string{"proxy"}, tc.args...), &stdout, &stderr)
		if code != 2 || !strings.HasPrefix(stderr.String(), "sockspec proxy: "+tc.want) || strings.Count(stderr.String(), "\n") != 1 {
			t.Errorf("%q: exit status %d, stderr %q; want 2 and one line starting %q", tc.args, code, stderr.String(), tc.want)
		}
		if stdout.Len() != 0 {
			t.Errorf("%q: stdout %q", tc.args, stdout.String())
		}
	}
}

// proxyProc is a running "sockspec proxy".
type proxyProc struct {
	cmd    *exec.Cmd
	addr   string
	stderr testkit.Buffer
	exited chan struct{}
}

// startProxy runs "sockspec proxy ARGS" and returns once it printed its
// address; it is killed and waited for at the test's end.
func startProxy(t *testing.T, args ...string) *proxyProc {
	t.Helper()
	p := &proxyProc{cmd: exec.Command(binary(t), append([]string{"proxy"}, args...)...), exited: make(chan struct{})}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stderr = &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	first := make(chan string, 1)
	var readers sync.WaitGroup
	readers.Add(1)
	go func() {
		defer readers.Done()
		br := bufio.NewReader(out)
		line, _ := br.ReadString('\n')
		first <- strings.TrimSpace(line)
		io.Copy(io.Discard, br)
	}()
	go func() {
		readers.Wait() // Wait closes the pipe: read it to its end first
		p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.exited
	})
	select {
	case p.addr = <-first:
	case <-time.After(startTimeout):
		t.Fatalf("sockspec proxy %q printed no address within %v; stderr:\n%s", args, startTimeout, p.stderr.String())
	}
	if p.addr == "" {
		<-p.exited
		t.Fatalf("sockspec proxy %q exited without an address; stderr:\n%s", args, p.stderr.String())
	}
	return p
}

// stop sends sig and returns the exit status.
func (p *proxyProc) stop(t *testing.T, sig os.Signal) int {
	t.Helper()
	p.cmd.Process.Signal(sig)
	select {
	case <-p.exited:
	case <-time.After(exitTimeout):
		t.Fatalf("sockspec proxy did not exit within %v of %v", exitTimeout, sig)
	}
	return p.cmd.ProcessState.ExitCode()
}

// echoUpstream serves family at a fresh address, echoing streams to their
// FIN and datagrams one by one, until the test ends.
func echoUpstream(t *testing.T, family string) string {
	t.Helper()
	addr := "127.0.0.1:0"
	if family == "unix" || family == "unixgram" {
		addr = filepath.Join(shortDir(t), "echo.sock")
	}
	var wg sync.WaitGroup
	if family == "udp" || family == "unixgram" {
		pc, err := net.ListenPacket(family, addr)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 64<<10)
			for {
				n, from, err := pc.ReadFrom(buf)
				if err != nil {
					return
				}
				pc.WriteTo(buf[:n], from)
			}
		}()
		t.Cleanup(func() { pc.Close(); wg.Wait() })
		return pc.LocalAddr().String()
	}
	ln, err := net.Listen(family, addr)
	if err != nil {
		t.Fatal(err)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(ioTimeout))
				io.Copy(c, c)
				c.(interface{ CloseWrite() error }).CloseWrite()
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return ln.Addr().String()
}

// A stream goes through "sockspec proxy" and back unchanged, and the
// proxy exits 0 at SIGTERM.
func TestProxyCommandStream(t *testing.T) {
	for _, family := range []string{"tcp", "unix"} {
		t.Run(family, func(t *testing.T) {
			listen := "127.0.0.1:0"
			if family == "unix" {
				listen = filepath.Join(shortDir(t), "front.sock")
			}
			p := startProxy(t, "--family", family, "--listen", listen, "--upstream", echoUpstream(t, family),
				"--network", "lan", "--seed", "7")
			c, err := net.DialTimeout(family, p.addr, ioTimeout)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(ioTimeout))
			data := make([]byte, 1<<20)
			rand.NewChaCha8([32]byte{3}).Read(data)
			go func() {
				c.Write(data)
				c.(interface{ CloseWrite() error }).CloseWrite()
			}()
			got, err := io.ReadAll(c)
			if err != nil || sha256.Sum256(got) != sha256.Sum256(data) {
				t.Fatalf("echoed %d of %d bytes (%v), or changed", len(got), len(data), err)
			}
			if code := p.stop(t, syscall.SIGTERM); code != 0 {
				t.Fatalf("exit status %d after SIGTERM; stderr:\n%s", code, p.stderr.String())
			}
		})
	}
}

// Datagrams go through and back, decisions are printed with --events, and
// SIGINT ends the proxy with status 0.
func TestProxyCommandDatagram(t *testing.T) {
	p := startProxy(t, "--family", "udp", "--listen", "127.0.0.1:0", "--upstream", echoUpstream(t, "udp"),
		"--network", "wan", "--events")
	c, err := net.DialTimeout("udp", p.addr, ioTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(ioTimeout))
	c.Write([]byte("hello"))
	buf := make([]byte, 16)
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("reply %q %v", buf[:n], err)
	}
	if code := p.stop(t, os.Interrupt); code != 0 {
		t.Fatalf("exit status %d after SIGINT; stderr:\n%s", code, p.stderr.String())
	}
	if ev := p.stderr.String(); !strings.Contains(ev, "udp up #1 delay latency 5 bytes") || !strings.Contains(ev, "udp down #1 delay") {
		t.Fatalf("--events printed:\n%s", ev)
	}
}
