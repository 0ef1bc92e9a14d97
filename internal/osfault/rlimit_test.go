package osfault

import (
	"errors"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

func TestNofileSetAndRead(t *testing.T) {
	c := startPython(t, pythons(t)[0], "spawn_probe.py")
	c.next()
	before, err := Nofile(c.pid)
	if err != nil {
		t.Fatal(err)
	}
	want := Limit{Soft: 100, Hard: before.Hard}
	if err := SetNofile(c.pid, want); err != nil {
		t.Fatal(err)
	}
	if got, _ := Nofile(c.pid); got != want {
		t.Fatalf("after SetNofile(%+v), Nofile = %+v", want, got)
	}
	if err := SetNofile(c.pid, before); err != nil {
		t.Fatal(err)
	}
	if got, _ := Nofile(c.pid); got != before {
		t.Fatalf("restored %+v, Nofile = %+v", before, got)
	}
	if err := SetNofile(c.pid, Limit{Soft: 10, Hard: 5}); err == nil || !strings.Contains(err.Error(), "above hard limit") {
		t.Fatalf("soft above hard: %v; want an error saying so", err)
	}
}

func TestNofileOfNoProcess(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	_, err := Nofile(cmd.Process.Pid)
	if !errors.Is(err, syscall.ESRCH) || !strings.Contains(err.Error(), "no process") {
		t.Fatalf("Nofile of a reaped process: %v; want ESRCH, saying there is no such process", err)
	}
}

// The accept after ExhaustFDs fails with EMFILE for real; the one after
// lift takes the same waiting connection.
func TestExhaustFDs(t *testing.T) {
	eachPython(t, func(t *testing.T, python string) {
		c, addr := acceptLoop(t, python, "paced")
		connect(t, addr)
		before, err := Nofile(c.pid)
		if err != nil {
			t.Fatal(err)
		}
		lift, err := ExhaustFDs(c.pid)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.ask("accept"); got != "EMFILE" {
			t.Fatalf("accept while exhausted: %q; want EMFILE", got)
		}
		if err := lift(); err != nil {
			t.Fatal(err)
		}
		if err := lift(); err != nil {
			t.Fatalf("second lift: %v", err)
		}
		if got, _ := Nofile(c.pid); got != before {
			t.Fatalf("after lift the limit is %+v; was %+v", got, before)
		}
		if got := c.ask("accept"); got != "ok" {
			t.Fatalf("accept after lift: %q; want ok", got)
		}
	})
}
