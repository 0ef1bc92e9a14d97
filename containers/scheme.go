package containers

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/sockspec/sockspec/spec/driver"
)

// Scheme is the container tier's kind of target for a driver.Registry:
// "container:" followed by what Open takes, then options, each
// ",key=value": pids=N, nofile=N, memory=SIZE (512m, 1g), cpus=X (0.5),
// user=UID:GID, net=isolated|host. An image= or adapter= target's cmd=
// comes last, since its command may hold anything. An image= target's
// family, dispatch and vouched capabilities come from the options, as
// for exec:; what the tier removes of dead runs is said on standard
// error.
func Scheme() driver.Scheme { return scheme{} }

type scheme struct{}

func (scheme) Name() string { return "container" }

func (scheme) Usage() string {
	return "container:reference|cpython:X.Y|image=NAME[,cmd=ARGV]|adapter=NAME[,cmd=ARGV][,pids=N,nofile=N,memory=SIZE,cpus=X,user=UID:GID,net=host]"
}

func (scheme) Open(arg string, o driver.OpenOptions) (driver.Target, error) {
	opts := Options{Family: o.Family, Dispatch: o.Dispatch, Capabilities: o.Vouch, Log: os.Stderr}
	what, err := parseOptions(arg, &opts)
	if err != nil {
		return nil, err
	}
	return Open(what, opts)
}

// parseOptions takes the ",key=value" options off a container target's
// argument into o, and returns what is left for Open: the target itself,
// with its cmd= when it has one.
func parseOptions(arg string, o *Options) (string, error) {
	head, cmd, hasCmd := strings.Cut(arg, ",cmd=")
	parts := strings.Split(head, ",")
	what := parts[0]
	for _, p := range parts[1:] {
		key, value, ok := strings.Cut(p, "=")
		if !ok || value == "" {
			return "", fmt.Errorf("containers: option %q of %q: write key=value (pids, nofile, memory, cpus, user, net)", p, arg)
		}
		var err error
		switch key {
		case "pids":
			o.Limits.Pids, err = strconv.ParseInt(value, 10, 64)
		case "nofile":
			o.Limits.NoFile, err = strconv.ParseInt(value, 10, 64)
		case "memory":
			o.Limits.Memory, err = parseSize(value)
		case "cpus":
			o.Limits.CPUs, err = strconv.ParseFloat(value, 64)
		case "user":
			o.User = value
		case "net":
			o.Network = value
		default:
			return "", fmt.Errorf("containers: unknown option %q of %q: want pids, nofile, memory, cpus, user or net (cmd= comes last)", key, arg)
		}
		if err != nil {
			return "", fmt.Errorf("containers: option %s=%q of %q is not a number (memory takes 512m, 1g)", key, value, arg)
		}
	}
	if hasCmd {
		what += ",cmd=" + cmd
	}
	return what, nil
}

// parseSize reads a byte count with an optional k, m or g suffix.
func parseSize(s string) (int64, error) {
	mult := int64(1)
	switch strings.ToLower(s[len(s)-1:]) {
	case "k":
		mult = 1 << 10
	case "m":
		mult = 1 << 20
	case "g":
		mult = 1 << 30
	}
	if mult != 1 {
		s = s[:len(s)-1]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n * mult, err
}
