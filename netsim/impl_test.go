package netsim_test

import (
	"github.com/sockspec/sockspec/impl"
	"github.com/sockspec/sockspec/netsim"
)

// What impl requires of a custom network's sockets, which the simulated
// ones must keep offering so that the reference can run on them.
var (
	_ impl.Network       = (*netsim.Network)(nil)
	_ impl.ReadyWaiter   = (*netsim.Listener)(nil)
	_ impl.BacklogSetter = (*netsim.Listener)(nil)
	_ impl.ReadyWaiter   = (*netsim.PacketConn)(nil)
)
