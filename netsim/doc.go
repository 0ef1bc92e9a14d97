// Package netsim is sockspec's simulated network: stream and datagram
// sockets for the tcp, udp, unix and unixgram families that live in memory,
// so that the reference (or any Go server that takes a Listen/ListenPacket
// seam) runs on them unchanged.
//
// Everything here is deterministic. Network assigns ports in a fixed order
// and keeps a record of wire events (Network.Events) that a test or a
// report can read.
//
// Network blocks only on channels and time.AfterFunc timers, never on
// sync.Cond, polling loops or sleeps, so it runs inside a testing/synctest
// bubble: a goroutine waiting in Accept, WaitReady, Read or Write is
// durably blocked, and the bubble's virtual clock moves on to the next
// deadline as soon as everything is waiting. A timeout spec then costs no
// wall time. The objects of one Network belong to the bubble in which they
// were first used; share them between bubbles and the runtime panics, as
// it does for any channel or timer of another bubble.
//
// Errors are shaped like the ones the operating system's network gives, so
// that code under test cannot tell the difference: a *net.OpError wrapping
// an *os.SyscallError with the errno (errors.Is(err, syscall.EADDRINUSE)
// holds), os.ErrDeadlineExceeded for deadlines, net.ErrClosed after Close,
// and a bare io.EOF at the end of a stream. The doc comment of each type
// lists where it knowingly differs from a real socket.
//
// # Link model
//
// A Profile describes a link as data: a list of faults (latency with
// jitter, bandwidth, a slicer that chops writes, limit_data, reset,
// half_close, blackhole, slow_close, refuse, backlog_full, partition; for
// datagrams loss, duplicate, reorder, truncate), each acting up (from the
// dialer), down or both ways, on every occurrence or on the Nth, on a
// share of them (probability), within a window of time (from, until). An
// Engine turns a profile and a seed into decisions (when each segment or
// datagram arrives, where a connection is cut) and reports each one as a
// LinkEvent; the same seed gives the same decisions. Network.SetProfile
// applies an engine to a Network's sockets in virtual time; the package
// netsim/proxy applies one between real sockets in real time.
//
// Six profiles are built in (LookupProfile): ideal (nothing), lan
// (0.5 ms ± 0.1 ms), wan (40 ms ± 10 ms and 10 Mbit/s), lossy (streams
// 20 ms; datagrams 5 % lost, 1 % duplicated, 5 % reordered by 20 ms),
// flaky (a fifth of the connections reset after 1 to 64 KiB; datagrams
// 2 % lost) and slow (64 kbit/s, writes chopped into 1 to 16 byte
// segments 1 ms apart). Each acts each way.
//
// A profile file (LoadProfile, ParseProfile) is a JSON object; this one
// uses every field:
//
//	{
//	  "name": "office-vpn",
//	  "doc": "a VPN to the office that drops out now and then",
//	  "faults": [
//	    {"kind": "latency", "delay": "30ms", "jitter": "5ms"},
//	    {"kind": "bandwidth", "rate": "20Mbit/s", "direction": "down"},
//	    {"kind": "bandwidth", "rate": "5Mbit/s", "direction": "up"},
//	    {"kind": "slicer", "bytes": "1..1400", "delay": "100us", "scope": "stream"},
//	    {"kind": "reset", "bytes": "1KiB..64KiB", "probability": 0.05},
//	    {"kind": "limit_data", "bytes": "10MiB", "nth": 3},
//	    {"kind": "refuse", "nth": 7},
//	    {"kind": "partition", "from": "30s", "until": "35s"},
//	    {"kind": "loss", "probability": 0.01},
//	    {"kind": "duplicate", "probability": 0.001},
//	    {"kind": "reorder", "probability": 0.02, "delay": "15ms"},
//	    {"kind": "truncate", "bytes": 1200}
//	  ]
//	}
//
// Durations are Go durations ("100us", "1.5s"); rates are bytes per second
// as a number, or a string in bit/s, kbit/s, Mbit/s, Gbit/s, B/s, KB/s,
// MB/s, KiB/s or MiB/s; byte counts are a number, or a string with B, KB,
// MB, KiB or MiB, and a range "MIN..MAX" draws each count at random.
// "direction" is up, down or both (the default); "scope" is stream,
// datagram or any (the default: whatever the kind acts on). "probability"
// in (0, 1], "nth" from 1, "from" and "until" narrow when a fault acts;
// Fault's doc says how. A mistake is reported on one line naming the file,
// the fault, the field and what to write instead:
//
//	profile wan.json: fault 2 (latency): field "jitter": "10q" is not a duration (write 10ms)
//
// The package imports the standard library only, so that another
// implementation's tests can vendor it (docs/DESIGN.md, "Import rules").
package netsim
