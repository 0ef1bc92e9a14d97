// Package containers is the container tier: it judges an implementation
// inside a Linux container, through driver.Target and driver.Session as
// adapters/process and adapters/blackbox judge one on the host. Targets,
// after "container:" (Open):
//
//	reference                  the Go reference, "sockspec adapter" in the reference image
//	cpython:X.Y                CPython's own socketserver: driver.py in the cpython image
//	adapter=IMAGE[,cmd=ARGV]   any image whose program speaks the driver protocol
//	image=IMAGE[,cmd=ARGV]     any server image, judged from outside (exec: semantics)
//
// make images builds the first two (package images); nothing is ever
// pulled, and an image that is not built is an error naming make images.
// cmd= is split at spaces into the program's argv; it replaces the
// image's entry point.
//
// # One container per session
//
// Each session is a container of its own, created with the Docker API
// (the engine is found and checked through testcontainers-go: Connect),
// started only after the harness attached to it: the adapter's stdin
// and stdout are the Docker attach stream (hijacked, demultiplexed here),
// which works for any image, a shell-less one included. docker-init is the
// container's PID 1 (a Python PID 1 would ignore SIGTERM); the adapter is
// its child, whose host pid (State.Pid's child, the same kernel) is what
// the hygiene oracle (internal/procfs), the faults (internal/osfault) and
// the signals reach: the same means as the process tier, on the same
// process. A session's Close says bye and waits, within ByeBound, for the
// container to stop (docker-init exits with the adapter, and the kernel
// kills the rest of the container's processes first) and for its output
// to end; a container that does not stop is removed at once, which kills
// every process in it.
//
// The protocol is spoken by adapters/process's Peer and Session, the
// process tier's own, over the attach stream instead of pipes: a
// container is the session's process.Host (its host pid, its network,
// its retirement). An image= program is likewise adapters/blackbox's
// Session, whose blackbox.Place is the container. Only how a program is
// started, found and ended is this package's.
//
// # Spares
//
// A container takes 100–250 ms to start, longer than many specs take to
// run, so the engine's work is kept off the specs' path (pool.go). An
// adapter target keeps two spares: containers made exactly as a session's
// (image, limits, labels, confinement, network, a shared directory of
// their own) whose adapter runs and waits on its stdin for its first
// command, as a fresh one would. Start takes the oldest, reads the hello
// waiting in its attach stream and starts making the next; the probe's
// container is the first spare.
// No container serves two sessions. A stopped session's container is
// removed in the background. Both run on goroutines of the target, which
// it names (BackgroundFuncs) for the suite's per-spec leak check; its
// Close waits for them and removes the spares. image= targets, whose
// program starts serving as soon as its container starts, have none.
//
// # Where the servers listen
//
// The sessions of a target share one network namespace: that of a holder
// container (the reference image's adapter, idle) with network mode none,
// so the namespace has a loopback interface and nothing else: no route
// out, not even to the host, and no port published. Servers bind
// 127.0.0.1 there as the specs ask, two servers of one target see each
// other's ports (NET-01, NET-04) as processes of one host do, and the
// harness reaches them by opening its client sockets from a thread that
// entered the namespace (setns; the harness needs root or CAP_SYS_ADMIN,
// as it needs CAP_SYS_PTRACE for strace already). Unix sockets live in a
// host directory mounted into the container at the same path. Publishing
// ports was rejected: docker-proxy accepts connections itself, which
// changes what the listen backlog and the client's address rules see.
//
// Options.Network = NetworkHost runs the containers in the host's
// namespace instead: no network isolation, as a process target has.
//
// # Confinement
//
// Every container: all capabilities dropped, no-new-privileges, a
// read-only root with a tmpfs on /tmp, user 65534:65534 (Options.User),
// limits on tasks, descriptors, memory and CPU (Limits, DefaultLimits).
// A harness without CAP_SYS_RESOURCE cannot change the limits of another
// user's process, so the rlimit faults are then not offered (N/A); run as
// the harness's own uid to have them.
//
// # Cleanup without the reaper
//
// testcontainers' reaper (Ryuk) is off: Connect sets
// TESTCONTAINERS_RYUK_DISABLED=true and TESTCONTAINERS_HOST_OVERRIDE=
// 127.0.0.1 unless the user set them, and refuses a container host that
// is not a loopback address. Every container carries labels naming the
// run, the harness's pid and its start time; sessions and targets remove
// their own (a target's Close its spares and its network holder),
// RemoveRun removes a whole run (an interrupted harness), and
// the first Open of a process removes, and reports, what runs whose
// harness is gone left behind (Sweep).
package containers
