// Command sockspec is the command-line face of the sockspec conformance kit
// for the BaseServer contract of Python's socketserver.
//
// Each subcommand lives in a file of its own and is listed once in the
// commands table below; main only dispatches on the first argument.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/sockspec/sockspec/adapters/inproc"
)

// command is one subcommand.
type command struct {
	name    string
	summary string // one line, for the list of commands
	usage   string // full help, printed by -h and by "sockspec help NAME"
	// run executes the command and returns the exit status. ctx is
	// cancelled at the first SIGINT or SIGTERM.
	run func(ctx context.Context, e env) int
}

// env is what main hands a subcommand besides the context.
type env struct {
	Args   []string // the arguments after the subcommand's name
	Stdout io.Writer
	Stderr io.Writer
	// Again is closed at the second SIGINT or SIGTERM: the user no longer
	// wants to wait for a graceful stop.
	Again <-chan struct{}
}

// commands lists the subcommands in the order the usage shows them.
var commands = []command{
	runCommand,
	reproduceCommand,
	matrixCommand,
	reportCommand,
	rulesCommand,
	serveCommand,
	adapterCommand,
	networkCommand,
	proxyCommand,
	doctorCommand,
	versionCommand,
}

func main() {
	// A forking server's request child is this program run again: it must
	// serve its request before anything else happens, flags included
	// (inproc.ChildMain serves the recipes of serve too; a mutant's child
	// finds its mutation among mutations()).
	inproc.ChildMain(mutations())
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches args to a subcommand and returns the exit status: 2 when
// no or an unknown subcommand is named, 0 for help.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage())
		return 2
	}
	switch name := args[0]; name {
	case "help", "-h", "-help", "--help":
		return help(args[1:], stdout, stderr)
	case "--version", "-version":
		return runVersion(context.Background(), env{Args: args[1:], Stdout: stdout, Stderr: stderr})
	default:
		c, ok := lookup(name)
		if !ok {
			fmt.Fprintf(stderr, "sockspec: unknown command %q: run 'sockspec help' for the list of commands\n", name)
			return 2
		}
		ctx, again, stop := signalContext()
		defer stop()
		return c.run(ctx, env{Args: args[1:], Stdout: stdout, Stderr: stderr, Again: again})
	}
}

// help prints the general usage, or that of the command named in args.
func help(args []string, stdout, stderr io.Writer) int {
	switch len(args) {
	case 0:
		fmt.Fprint(stdout, usage())
		return 0
	case 1:
		if c, ok := lookup(args[0]); ok {
			fmt.Fprint(stdout, c.usage)
			return 0
		}
		fmt.Fprintf(stderr, "sockspec help: unknown command %q: run 'sockspec help' for the list of commands\n", args[0])
	default:
		fmt.Fprintf(stderr, "sockspec help: too many arguments: give at most one command name\n")
	}
	return 2
}

func lookup(name string) (command, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// usage is the general help, built from the commands table so that a new
// subcommand shows up without further edits.
func usage() string {
	var b strings.Builder
	b.WriteString("sockspec: conformance kit for the BaseServer contract of Python's socketserver\n\n")
	b.WriteString("Usage:\n  sockspec <command> [flags]\n\nCommands:\n")
	width := len("help")
	for _, c := range commands {
		width = max(width, len(c.name))
	}
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-*s  %s\n", width, c.name, c.summary)
	}
	fmt.Fprintf(&b, "  %-*s  %s\n", width, "help", "print this help, or a command's with 'sockspec help <command>'")
	b.WriteString("\nRun 'sockspec <command> -h' for the flags of a command.\n")
	return b.String()
}

// signalContext returns a context cancelled at the first SIGINT or SIGTERM
// and a channel closed at the second, so that a command can stop gracefully
// and still be hurried by a user who will not wait. stop undoes both.
func signalContext() (ctx context.Context, again <-chan struct{}, stop func()) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithCancel(context.Background())
	second := make(chan struct{})
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		select {
		case <-sigs:
			cancel()
		case <-done:
			return
		}
		select {
		case <-sigs:
			close(second)
		case <-done:
		}
	}()
	return ctx, second, func() {
		signal.Stop(sigs)
		close(done)
		<-exited
		cancel()
	}
}

// parseFlags parses args into fs for the subcommand name. It answers -h
// with usage (status 0) and a bad flag with what was wrong (status 2);
// done is true then, and the subcommand returns status.
func parseFlags(e env, fs *flag.FlagSet, name, usage string, args []string) (status int, done bool) {
	err := fs.Parse(args)
	switch {
	case err == nil:
		return 0, false
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(e.Stdout, usage)
		return 0, true
	}
	fmt.Fprintf(e.Stderr, "sockspec %s: %v\nRun 'sockspec help %s' for the flags.\n", name, err, name)
	return 2, true
}
