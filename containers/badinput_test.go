package containers

import (
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/moby/client"
	"github.com/sockspec/sockspec/containers/images"
)

// badOpen runs Open and Start in a helper harness and returns the error
// text and the helper's pid; it checks the text is one line.
func badOpen(t *testing.T, env []string, arg string) (string, int) {
	t.Helper()
	cmd := helper(t, "open", env, arg)
	out, err := cmd.Output()
	if err == nil {
		t.Fatalf("%s: no error", arg)
	}
	msg := string(out)
	if msg == "" {
		t.Fatalf("%s: the helper failed without a message: %v", arg, err)
	}
	if strings.Contains(strings.TrimSpace(msg), "\n") {
		t.Errorf("%s: the error is not one line:\n%s", arg, msg)
	}
	return msg, cmd.Process.Pid
}

// noneLeft checks that the helper harness pid left no container or
// network. Only its own count: other harnesses on the machine (another
// package's tests, a killed run) may have left theirs.
func noneLeft(t *testing.T, e *Engine, pid int) {
	t.Helper()
	f := make(client.Filters).Add("label", LabelPID+"="+strconv.Itoa(pid))
	cs, err := e.Client.ContainerList(context.Background(), client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	ns, err := e.Client.NetworkList(context.Background(), client.NetworkListOptions{Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs.Items) > 0 || len(ns.Items) > 0 {
		t.Errorf("a failed start left %d container(s) and %d network(s) behind", len(cs.Items), len(ns.Items))
	}
	if _, err := Sweep(context.Background(), e); err != nil {
		t.Fatal(err)
	}
}

func TestBadInput(t *testing.T) {
	e := needEngine(t)
	needImage(t, e, images.ReferenceImage)
	cases := []struct {
		name, arg string
		env       []string
		want      []string // in the error, each "A | B" one of its alternatives
	}{
		{"no engine", "reference", []string{"DOCKER_HOST=unix:///nonexistent/docker.sock"}, []string{"no Docker engine answers", "start it"}},
		{"a container host beyond loopback", "reference", []string{"TESTCONTAINERS_HOST_OVERRIDE=192.0.2.1"}, []string{"not a loopback address", "TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1"}},
		{"the reaper asked for", "reference", []string{"TESTCONTAINERS_RYUK_DISABLED=false"}, []string{"reaper is enabled"}},
		{"image not built", "image=sockspec/not-built:1", nil, []string{"not built", "make images"}},
		{"no such command", "adapter=" + images.ReferenceImage + ",cmd=/no/such/program", nil, []string{"has no command", "/no/such/program", "cmd="}},
		// Whether the program ends before the harness attaches or after,
		// the one line says it ended.
		{"exits at once", "adapter=" + images.ReferenceImage + ",cmd=/sockspec rules", nil, []string{"ended before its hello | exited at once"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msg, pid := badOpen(t, c.env, c.arg)
			for _, w := range c.want {
				if !slices.ContainsFunc(strings.Split(w, " | "), func(alt string) bool { return strings.Contains(msg, alt) }) {
					t.Errorf("the error %q does not say %q", msg, w)
				}
			}
			noneLeft(t, e, pid)
		})
	}
}

// TestRefusedLimit: a limit the daemon refuses is an error naming the
// limits, and no container is left.
func TestRefusedLimit(t *testing.T) {
	e := needEngine(t)
	needImage(t, e, images.ReferenceImage)
	tgt := openTarget(t, "reference", Options{Limits: Limits{CPUs: 4096}})
	err := tgt.Err()
	if err == nil {
		t.Fatal("4096 CPUs were granted")
	}
	msg := err.Error()
	if !strings.Contains(msg, "cpus 4096") || strings.Contains(msg, "\n") {
		t.Errorf("the error does not name the limit on one line: %q", msg)
	}
	if left := runContainers(t, e); len(left) > 1 { // the network holder may run
		t.Errorf("containers left: %v", left)
	}
	if err := (Limits{Memory: 1 << 20}).Validate(); err == nil || !strings.Contains(err.Error(), "6 MiB") {
		t.Errorf("a 1 MiB memory limit: %v", err)
	}
}

func TestCheckLoopback(t *testing.T) {
	for host, ok := range map[string]bool{"127.0.0.1": true, "::1": true, "localhost": true, "10.0.2.2": false, "172.17.0.1": false, "docker.example": false} {
		if err := CheckLoopback(host); (err == nil) != ok {
			t.Errorf("CheckLoopback(%q) = %v", host, err)
		}
	}
	needEngine(t)
	if _, set := os.LookupEnv("TESTCONTAINERS_HOST_OVERRIDE"); !set {
		t.Error("Connect left TESTCONTAINERS_HOST_OVERRIDE unset")
	}
	host, err := engine.Provider.DaemonHost(context.Background())
	if err != nil || CheckLoopback(host) != nil {
		t.Errorf("the container host is %q (%v)", host, err)
	}
}
