package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/sockspec/sockspec/impl"
)

// serveConfig is a validated serve command line.
type serveConfig struct {
	Dispatch     impl.Dispatch
	Family       impl.Family
	Addr         string
	Handler      string // a key of transforms
	PollInterval time.Duration
	Timeout      time.Duration // StreamOptions.Timeout; 0 is no limit
}

// errHelp is returned by parseServeFlags for -h and --help.
var errHelp = errors.New("help requested")

// maxUnixPath is the longest socket path Linux takes: sun_path has 108
// bytes, one of which is the terminating NUL.
const maxUnixPath = 107

// defaultInetAddr binds loopback on a free port, so that a demo never
// listens on an outside interface by accident.
const defaultInetAddr = "127.0.0.1:0"

// rawServeFlags holds the flag values as typed. Everything is taken as a
// string and checked by parseServeFlags, so that each message can say what
// to do; the flag package's own messages are terser.
type rawServeFlags struct {
	mode, family, addr, handler, pollInterval, timeout string
}

// newServeFlags defines the flags of serve, with their defaults.
func newServeFlags() (*flag.FlagSet, *rawServeFlags) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported by the caller, in one line
	fs.Usage = func() {}
	r := &rawServeFlags{}
	fs.StringVar(&r.mode, "mode", "sync", "")
	fs.StringVar(&r.family, "family", "tcp", "")
	fs.StringVar(&r.addr, "addr", "", "")
	fs.StringVar(&r.handler, "handler", "echo", "")
	fs.StringVar(&r.pollInterval, "poll-interval", impl.DefaultPollInterval.String(), "")
	fs.StringVar(&r.timeout, "timeout", "0", "")
	return fs, r
}

// parseServeFlags turns the arguments after "serve" into a config. Every
// error is one sentence that names the flag, says what is wrong with it and
// what to give instead; the caller exits 2 with it.
func parseServeFlags(args []string) (serveConfig, error) {
	fs, raw := newServeFlags()
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return serveConfig{}, errHelp
		}
		return serveConfig{}, fmt.Errorf("%v: run 'sockspec serve -h' for the flags", err)
	}
	if fs.NArg() > 0 {
		return serveConfig{}, fmt.Errorf("unexpected argument %q: serve takes flags only, each value after its flag, as in --addr PATH (run 'sockspec serve -h')", fs.Arg(0))
	}

	var c serveConfig
	var err error
	if c.Dispatch, err = impl.ParseDispatch(raw.mode); err != nil {
		return serveConfig{}, fmt.Errorf("--mode: %v", err)
	}
	if c.Family, err = impl.ParseFamily(raw.family); err != nil {
		return serveConfig{}, fmt.Errorf("--family: %v", err)
	}
	if c.Addr, err = checkAddr(c.Family, raw.addr); err != nil {
		return serveConfig{}, err
	}
	if _, ok := transforms[raw.handler]; !ok {
		return serveConfig{}, fmt.Errorf("--handler: unknown handler %q: use echo or upper", raw.handler)
	}
	c.Handler = raw.handler
	if c.PollInterval, err = parseDuration("--poll-interval", raw.pollInterval); err != nil {
		return serveConfig{}, err
	}
	if c.PollInterval == 0 {
		return serveConfig{}, fmt.Errorf("--poll-interval %q is zero: give a duration above zero, such as 500ms (the serving loop would spin)", raw.pollInterval)
	}
	if c.Timeout, err = parseDuration("--timeout", raw.timeout); err != nil {
		return serveConfig{}, err
	}
	return c, nil
}

// checkAddr applies the default address and rejects an address that
// cannot fit the family, before any socket is made.
func checkAddr(f impl.Family, addr string) (string, error) {
	switch f {
	case impl.UnixStream, impl.UnixDatagram:
		if addr == "" {
			return "", fmt.Errorf("--addr is required with --family %v: give a socket path, such as /tmp/sockspec.sock", f)
		}
		if len(addr) > maxUnixPath {
			return "", fmt.Errorf("--addr is %d bytes long, more than the %d a unix socket path may have: choose a shorter path", len(addr), maxUnixPath)
		}
		return addr, nil
	}
	if addr == "" {
		return defaultInetAddr, nil
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return "", fmt.Errorf("--addr %q is not host:port (%v): give, for example, 127.0.0.1:8000, or port 0 for a free one", addr, err)
	}
	return addr, nil
}

// parseDuration reads a non-negative duration given to flag name.
func parseDuration(name, s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%s %q is not a duration: write a number with a unit, such as 500ms or 2s", name, s)
	}
	if d < 0 {
		return 0, fmt.Errorf("%s %q is negative: give a duration of zero or more, such as 2s", name, s)
	}
	return d, nil
}
