package containers

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/sockspec/sockspec/containers/images"
	"github.com/sockspec/sockspec/spec/driver"
)

// helperEnv makes the test binary a harness helper instead of a test run.
const helperEnv = "SOCKSPEC_CONTAINERS_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(m.Run())
	case "hold":
		os.Exit(holdSession())
	case "open":
		// One Open and one Start, printing the error's text.
		t, err := Open(os.Args[len(os.Args)-1], Options{})
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			var s driver.Session
			if s, err = t.Start(ctx, driver.ServerConfig{Family: driver.TCP, Dispatch: driver.Sync}); err == nil {
				s.Close()
			}
			cancel()
			t.Close()
		}
		if err != nil {
			fmt.Print(err.Error())
			os.Exit(1)
		}
		os.Exit(0)
	}
}

// holdSession is a harness that starts a session and waits to be killed:
// it prints its run's ID once the session's container runs and the
// spares for the next sessions are made.
func holdSession() int {
	t, err := Open("reference", Options{})
	if err != nil {
		fmt.Println("error", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := t.Start(ctx, driver.ServerConfig{Family: driver.TCP, Dispatch: driver.Sync}); err != nil {
		fmt.Println("error", err)
		return 2
	}
	if err := t.(*Target).sparesMade(ctx); err != nil {
		fmt.Println("error", err)
		return 2
	}
	fmt.Println("ready", RunID())
	time.Sleep(time.Minute) // killed long before
	return 0
}

// helper runs the test binary as a helper harness.
func helper(t *testing.T, mode string, env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^$"}, args...)...)
	cmd.Env = append(append(os.Environ(), helperEnv+"="+mode), env...)
	return cmd
}

// TestSweepAfterKill kills a harness with SIGKILL while its session runs
// and its spares wait, and checks that the next start removes the
// containers and the network it left, and says so.
func TestSweepAfterKill(t *testing.T) {
	e := needEngine(t)
	needImage(t, e, images.ReferenceImage)
	cmd := helper(t, "hold", nil)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var run string
	select {
	case l := <-lines:
		f := strings.Fields(l)
		if len(f) != 2 || f[0] != "ready" {
			t.Fatalf("the helper said %q", l)
		}
		run = f[1]
	case <-time.After(60 * time.Second):
		t.Fatal("the helper harness did not start its session within 60s")
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	left := func() (int, int) {
		f := make(client.Filters).Add("label", LabelRun+"="+run)
		cs, err := e.Client.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
		if err != nil {
			t.Fatal(err)
		}
		ns, err := e.Client.NetworkList(ctx, client.NetworkListOptions{Filters: f})
		if err != nil {
			t.Fatal(err)
		}
		return len(cs.Items), len(ns.Items)
	}
	want := 2 + poolSize
	if c, n := left(); c != want || n != 0 {
		t.Fatalf("the killed harness left %d containers and %d networks; want its session, its %d spares and its network holder", c, n, poolSize)
	}
	said, err := Sweep(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(said, run) || !strings.Contains(said, fmt.Sprintf("removed %d container(s)", want)) {
		t.Errorf("Sweep said %q; want the %d containers of run %s named", said, want, run)
	}
	if c, n := left(); c != 0 || n != 0 {
		t.Errorf("after the sweep %d containers and %d networks of the dead run are left", c, n)
	}
}

// TestSweepSparesLiveRuns: what a running harness owns is not swept.
func TestSweepSparesLiveRuns(t *testing.T) {
	e := needEngine(t)
	needImage(t, e, images.ReferenceImage)
	tgt := openTarget(t, "reference", Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := tgt.Start(ctx, driver.ServerConfig{Family: driver.TCP, Dispatch: driver.Sync})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := Sweep(ctx, e); err != nil {
		t.Fatal(err)
	}
	if _, err := s.State(ctx); err != nil {
		t.Fatalf("the live session broke after a sweep: %v", err)
	}
}
