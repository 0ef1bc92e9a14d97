package containers

import (
	"os"

	"github.com/sockspec/sockspec/spec/driver"
)

// Scheme is the container tier's kind of target for a driver.Registry:
// "container:" followed by what Open takes. An image= target's family,
// dispatch and vouched capabilities come from the options, as for exec:;
// what the tier removes of dead runs is said on standard error.
func Scheme() driver.Scheme { return scheme{} }

type scheme struct{}

func (scheme) Name() string { return "container" }

func (scheme) Usage() string {
	return "container:reference|cpython:X.Y|image=NAME[,cmd=ARGV]|adapter=NAME[,cmd=ARGV]"
}

func (scheme) Open(arg string, o driver.OpenOptions) (driver.Target, error) {
	return Open(arg, Options{Family: o.Family, Dispatch: o.Dispatch, Capabilities: o.Vouch, Log: os.Stderr})
}
