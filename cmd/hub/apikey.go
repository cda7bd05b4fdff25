package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/payhub/payhub/db"
	"github.com/payhub/payhub/graph/auth"
)

// apikeySubcommands are the verbs of `hub apikey`.
var apikeySubcommands = []command{
	{"create", "make a key: --name N --role storefront|dashboard|finance|admin; prints it once", runAPIKeyCreate},
	{"list", "list the keys (prefix, name, role, created, last used, revoked)", runAPIKeyList},
	{"revoke", "revoke the key whose prefix is --prefix P (see 'hub apikey list')", runAPIKeyRevoke},
}

// apikeyStdout is where `hub apikey` writes its results (the key, the list); logs and warnings
// go to stderr, so that `KEY=$(hub apikey create ...)` captures the key alone.
var apikeyStdout io.Writer = os.Stdout

// runAPIKey is `hub apikey <create|list|revoke>`.
func runAPIKey(ctx context.Context, args []string, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(stderr, "Usage: hub apikey <create|list|revoke> [flags]\n\nCommands:")
		for _, c := range apikeySubcommands {
			fmt.Fprintf(stderr, "  %-8s %s\n", c.name, c.summary)
		}
		fmt.Fprintln(stderr, "\nEach honours --data-dir and DATABASE_URL like 'hub serve'; run 'hub apikey <command> --help' for its flags.")
		if len(args) == 0 {
			return errUsage
		}
		return flag.ErrHelp
	}
	for _, c := range apikeySubcommands {
		if c.name == args[0] {
			err := c.run(ctx, args[1:], stderr)
			if err != nil && !errors.Is(err, errUsage) && !errors.Is(err, flag.ErrHelp) {
				return fmt.Errorf("%s: %w", c.name, err)
			}
			return err
		}
	}
	fmt.Fprintf(stderr, "hub apikey: unknown command %q (one of create, list, revoke)\n", args[0])
	return errUsage
}

// dataDirFlag is the --data-dir flag of the commands that use the hub's database.
func dataDirFlag(fs *flag.FlagSet) *string {
	return fs.String("data-dir", envOr("HUB_DATA_DIR", dataDirDefault), "directory of the private PostgreSQL cluster, used when DATABASE_URL is unset (env HUB_DATA_DIR)")
}

func runAPIKeyCreate(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("apikey create", flag.ContinueOnError)
	dataDir := dataDirFlag(fs)
	name := fs.String("name", "", "what the key is for, e.g. \"web shop\" (required; the audit log names the key by it)")
	roleFlag := fs.String("role", "", "the key's role: "+auth.RoleNames()+" (required)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if strings.TrimSpace(*name) == "" {
		fmt.Fprintln(stderr, "hub apikey create: --name is required (see 'hub apikey create --help')")
		return errUsage
	}
	role, err := auth.ParseRole(*roleFlag)
	if err != nil {
		fmt.Fprintf(stderr, "hub apikey create: --role must be one of %s (got %q)\n", auth.RoleNames(), *roleFlag)
		return errUsage
	}
	var key string
	var row db.ApiKey
	err = withQueries(ctx, *dataDir, stderr, true, func(q *db.Queries) error {
		key, row, err = auth.CreateKey(ctx, q, *name, role)
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(apikeyStdout, key)
	fmt.Fprintf(stderr, "Created API key %s (%q, role %s). Store it now: it is shown only this once.\n", row.Prefix, row.Name, row.Role)
	return nil
}

func runAPIKeyList(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("apikey list", flag.ContinueOnError)
	dataDir := dataDirFlag(fs)
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	var rows []db.ApiKey
	if err := withQueries(ctx, *dataDir, stderr, true, func(q *db.Queries) (err error) {
		rows, err = q.ListAPIKeys(ctx)
		return err
	}); err != nil {
		return err
	}
	when := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return t.UTC().Format(time.RFC3339)
	}
	tw := tabwriter.NewWriter(apikeyStdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PREFIX\tNAME\tROLE\tCREATED\tLAST USED\tREVOKED")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Prefix, r.Name, r.Role, when(&r.CreatedAt), when(r.LastUsedAt), when(r.RevokedAt))
	}
	return tw.Flush()
}

func runAPIKeyRevoke(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("apikey revoke", flag.ContinueOnError)
	dataDir := dataDirFlag(fs)
	prefix := fs.String("prefix", "", "the key's prefix, as 'hub apikey list' shows it (required)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if *prefix == "" {
		fmt.Fprintln(stderr, "hub apikey revoke: --prefix is required (see 'hub apikey revoke --help')")
		return errUsage
	}
	var row db.ApiKey
	err := withQueries(ctx, *dataDir, stderr, true, func(q *db.Queries) (err error) {
		row, err = q.RevokeAPIKey(ctx, *prefix)
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("no live API key has the prefix %q (see 'hub apikey list')", *prefix)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "Revoked API key %s (%q, role %s).\n", row.Prefix, row.Name, row.Role)
	return nil
}

// withQueries runs f on the hub's database: the one at DATABASE_URL, or the private cluster in
// dataDir (the one `hub serve` is running, or started for the command and stopped after it). With
// migrate the database is migrated first, so that keys can be made before the first `hub serve`.
func withQueries(ctx context.Context, dataDir string, stderr io.Writer, migrate bool, f func(q *db.Queries) error) (err error) {
	// Only warnings: the command's own output is what its user is after.
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	database, err := openDatabase(ctx, dataDir, logger)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := database.Close(); err == nil {
			err = cerr
		}
	}()
	if migrate {
		if err := db.Migrate(ctx, database.URL); err != nil {
			return err
		}
	}
	pool, err := db.Connect(ctx, database.URL)
	if err != nil {
		return err
	}
	defer pool.Close()
	return f(db.New(pool))
}
