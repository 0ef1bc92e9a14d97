package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sockspec/sockspec/spec/driver"
)

// probeBound bounds the probe: starting one server and closing it. An
// adapter's hello has HelloBound (10 s) of its own; an exec: program its
// ReadyTimeout.
const probeBound = 30 * time.Second

// probeTarget starts one server of a family and dispatch the target
// claims and closes it, so that a target that cannot start at all (a
// program that does not exist, an adapter that dies) stops the run with
// one line naming the cause, instead of failing every spec alike. It
// tries each claimed family and dispatch until one is not refused as
// unsupported.
func probeTarget(ctx context.Context, t driver.Target) error {
	ctx, cancel := context.WithTimeout(ctx, probeBound)
	defer cancel()
	info := t.Info()
	var families []driver.Family
	for _, f := range driver.Families {
		if info.Capabilities.Has(string(f)) {
			families = append(families, f)
		}
	}
	if len(families) == 0 {
		return fmt.Errorf("%s claims no socket family (its capabilities: %s)", info.Name, strings.Join(info.Capabilities, ", "))
	}
	dispatches := []driver.Dispatch{driver.Sync}
	for _, d := range driver.Dispatches[1:] {
		if info.Capabilities.Has(string(d)) {
			dispatches = append(dispatches, d)
		}
	}
	var unsupported *driver.UnsupportedError
	for _, f := range families {
		for _, d := range dispatches {
			cfg := driver.ServerConfig{Family: f, Dispatch: d}
			sess, err := t.Start(ctx, cfg)
			switch {
			case errors.As(err, &unsupported):
				continue
			case errors.Is(err, driver.ErrNoReply):
				return fmt.Errorf("cannot start %s: no answer within %v", cfg, probeBound)
			case err != nil:
				return fmt.Errorf("cannot start %s: %v", cfg, err)
			}
			if err := sess.Close(); err != nil {
				return fmt.Errorf("started %s, but closing it failed: %v", cfg, err)
			}
			return nil
		}
	}
	return fmt.Errorf("cannot start any server it claims: %v", unsupported)
}

// oneLine joins the lines of a message for a one-line error, keeping
// its first lines: an adapter's standard error can be long.
func oneLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	s = strings.Join(lines, " | ")
	const keep = 400
	if len(s) > keep {
		s = s[:keep] + "…"
	}
	return s
}
