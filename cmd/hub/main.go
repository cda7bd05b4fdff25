// Command hub is Payhub's one production binary: it serves the GraphQL API and runs the sync
// workers (`hub serve`), applies migrations (`hub migrate`), manages the API's keys (`hub apikey`),
// runs the demo (`hub demo`), and reconciles a day's settlement (`hub reconcile`).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// command is one `hub` subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stderr io.Writer) error
}

var commands = []command{
	{"serve", "serve the GraphQL API (starts a private PostgreSQL unless DATABASE_URL is set)", runServe},
	{"migrate", "apply database migrations and exit", runMigrate},
	{"apikey", "manage the GraphQL API's keys: create (prints the key once), list, revoke", runAPIKey},
	{"demo", "run the hub, its PostgreSQL, the simulators and a shop placing orders, in one process", runDemo},
	{"reconcile", "reconcile a gateway's settlement of one day against the payments; --out writes the discrepancy report", runReconcile},
}

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		err := c.run(ctx, args[1:], stderr)
		switch {
		case err == nil, errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			return 2
		default:
			fmt.Fprintf(stderr, "hub %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "hub: unknown command %q (run 'hub --help' for the list)\n", args[0])
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: hub <command> [flags]\n\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'hub <command> --help' for a command's flags.")
}

// errUsage reports bad flags; the flag package has already printed the one-line reason.
var errUsage = errors.New("usage")

// parseFlags parses a subcommand's flags, printing one clear line (not the whole usage) on error.
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(stderr)
		fmt.Fprintf(stderr, "Usage of hub %s:\n", fs.Name())
		fs.PrintDefaults()
		return flag.ErrHelp
	case err != nil:
		fmt.Fprintf(stderr, "hub %s: %v (see 'hub %s --help')\n", fs.Name(), err, fs.Name())
		return errUsage
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "hub %s: unexpected argument %q (see 'hub %s --help')\n", fs.Name(), fs.Arg(0), fs.Name())
		return errUsage
	}
	return nil
}

func newLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// envOr returns the environment variable's value, or def when it is unset or empty.
func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
