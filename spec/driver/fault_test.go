package driver_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sockspec/sockspec/spec/driver"
)

func TestFaultValidate(t *testing.T) {
	good := []driver.Fault{
		{Op: "accept", Errno: "EMFILE", Nth: 1},
		{Op: "accept", Errno: "ENFILE", Nth: 2, Count: 3, Via: driver.ViaStrace, Delay: time.Millisecond},
		{Op: "wait", Errno: "EINTR", Nth: 1, Count: 20, Via: driver.ViaStrace},
		{Op: "nofile", Errno: "EMFILE", Nth: 1, Via: driver.ViaRlimit, For: time.Second},
		{Op: "pids", Errno: "EAGAIN", Nth: 1, Via: driver.ViaCgroup},
	}
	for _, f := range good {
		if err := f.Validate(); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	bad := map[string]driver.Fault{
		"want empty":             {Op: "accept", Errno: "EMFILE", Nth: 1, Via: "ptrace"},
		"cannot be injected via": {Op: "nofile", Errno: "EMFILE", Nth: 1},
		"nth ≥ 1":                {Op: "fork", Errno: "EAGAIN"},
		"only strace can delay":  {Op: "nofile", Errno: "EMFILE", Nth: 1, Via: driver.ViaRlimit, Delay: time.Second},
		"must not be negative":   {Op: "wait", Errno: "EINTR", Nth: 1, Via: driver.ViaStrace, For: -1},
	}
	for want, f := range bad {
		if err := f.Validate(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: got %v, want an error saying %q", f, err, want)
		}
	}
	cfg := driver.ServerConfig{Family: driver.TCP, Dispatch: driver.Sync, Faults: good[1:2]}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "Injector") {
		t.Errorf("a strace fault in the configuration: got %v, want an error that points at the Injector", err)
	}
}

func TestScheduledIsSeeded(t *testing.T) {
	base := driver.Fault{Op: "accept", Errno: "ECONNABORTED", Nth: 3}
	a := driver.Scheduled(base, 42, 5, 20)
	if !slices.Equal(a, driver.Scheduled(base, 42, 5, 20)) {
		t.Fatal("the same seed gave two schedules")
	}
	if slices.Equal(a, driver.Scheduled(base, 43, 5, 20)) {
		t.Fatal("seeds 42 and 43 gave the same schedule")
	}
	if len(a) != 5 {
		t.Fatalf("%d faults, want 5", len(a))
	}
	for i, f := range a {
		if f.Nth < 3 || f.Nth >= 23 || f.Last() != f.Nth || (i > 0 && f.Nth <= a[i-1].Nth) {
			t.Fatalf("schedule %v: occurrences must be single, increasing and within 3..22", a)
		}
	}
}
