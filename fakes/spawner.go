package fakes

import (
	"sync/atomic"

	"github.com/sockspec/sockspec/impl"
)

// StubSpawner is an impl.Spawner that starts no process: each Spawn
// returns a child whose Wait reports exit status 0 at once. Tests of the
// forking path that care about the parent's bookkeeping (how often it
// forks, how a failed fork is reported) use it where a real child would
// only add time.
type StubSpawner struct{ spawned atomic.Int32 }

// Spawn hands back a stub child with a pid no real process has (above
// the kernel's pid_max of 2^22).
func (s *StubSpawner) Spawn(impl.ChildSpec) (impl.Child, error) {
	return stubChild(1<<22 + s.spawned.Add(1)), nil
}

// Spawned counts the children handed back so far.
func (s *StubSpawner) Spawned() int { return int(s.spawned.Load()) }

type stubChild int

func (c stubChild) PID() int           { return int(c) }
func (c stubChild) Wait() (int, error) { return 0, nil }

var _ impl.Spawner = (*StubSpawner)(nil)
