// Package inject fails chosen occurrences of the reference's own seams:
// the Nth accept or recvfrom of its network (FaultyNetwork), the Nth fork
// of its forking mix-in (Spawner) and the Nth goroutine start of its
// threading mix-in (GoStarter). The in-process target uses it to honour a
// driver.Fault whose mechanism is the target itself; impl's and netsim's
// tests use it to reach error paths on demand.
//
// A fault fires on occurrences chosen by count (Occurrences), never at
// random, so a failing run replays exactly. Faults made from outside a
// running process (strace, rlimits, cgroups, signals) are in
// internal/osfault instead.
package inject
