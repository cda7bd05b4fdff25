// Package dbtest gives tests a private, fully migrated PostgreSQL database each.
//
// Every package whose tests touch Postgres declares
//
//	func TestMain(m *testing.M) { os.Exit(dbtest.Run(m)) }
//
// and calls New (or NewURL) in each test. The server is the one DATABASE_URL names when it is set,
// otherwise a throwaway cluster the test binary starts on first use and removes at the end.
// Databases are cloned from a migrated template, so a test pays for a CREATE DATABASE, not for
// running the migrations.
package dbtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/payhub/payhub/db"
)

const (
	// templateLockKey serialises template builds among test binaries sharing one DATABASE_URL
	// server (go test ./... runs packages in parallel). Derived from the text "payhub.dbtest".
	templateLockKey = 5_310_283_407_661_914_112
	// tempDirPattern names the cluster homes of test binaries, so leftovers can be found.
	tempDirPattern = "payhub-test-*"
	// ownerFile in a cluster home records the pid of the test binary using it.
	ownerFile = "owner.pid"
	// setupTimeout covers starting a cluster and migrating the template.
	setupTimeout = 3 * time.Minute
	// opTimeout covers creating or dropping one test database.
	opTimeout = time.Minute
)

// testSettings trade durability for speed: a test cluster is thrown away, crash or not.
var testSettings = map[string]string{
	"fsync":              "off",
	"synchronous_commit": "off",
	"full_page_writes":   "off",
}

// server is the database server this test binary uses.
type server struct {
	cluster  *db.Cluster // nil when DATABASE_URL names the server
	home     string      // the cluster's temporary home, removed at the end
	adminURL string      // where CREATE/DROP DATABASE are issued
	admin    *pgxpool.Pool
	urlFor   func(database string) string
	template string
	prefix   string // makes database names unique across test binaries sharing a server
	seq      atomic.Uint64
}

var (
	runCalled atomic.Bool
	setupOnce sync.Once
	srv       *server
	setupErr  error
)

// Run is used from TestMain: func TestMain(m *testing.M) { os.Exit(dbtest.Run(m)) }.
// It runs the tests, then stops the cluster this test binary started (if any).
func Run(m *testing.M) int {
	runCalled.Store(true)
	code := m.Run()
	// Once.Do orders this after the setup that tests may have run, and fails any stray late use.
	setupOnce.Do(func() { setupErr = errors.New("the test run is over") })
	if srv != nil {
		if err := srv.close(); err != nil {
			fmt.Fprintf(os.Stderr, "dbtest: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// New returns a pool on a fresh, fully migrated database private to this test; dropped at t.Cleanup.
func New(t testing.TB) *pgxpool.Pool {
	t.Helper()
	dbURL := NewURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	pool, err := db.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	// Registered after NewURL's cleanup, so it runs first: the pool is gone before the drop.
	t.Cleanup(pool.Close)
	return pool
}

// NewURL is like New but returns the connection URL (for code under test that opens its own pool); dropped at t.Cleanup.
func NewURL(t testing.TB) string {
	t.Helper()
	if !runCalled.Load() {
		t.Fatal("dbtest: this package needs func TestMain(m *testing.M) { os.Exit(dbtest.Run(m)) }, " +
			"which stops the test database server when the tests end")
	}
	setupOnce.Do(func() { srv, setupErr = setup() })
	if setupErr != nil {
		t.Fatalf("dbtest: %v", setupErr)
	}
	name := fmt.Sprintf("%s_%d", srv.prefix, srv.seq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if _, err := srv.admin.Exec(ctx, "CREATE DATABASE "+ident(name)+" TEMPLATE "+ident(srv.template)); err != nil {
		t.Fatalf("dbtest: create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		// FORCE: code under test may have leaked connections; they must not keep the database.
		if _, err := srv.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident(name)+" WITH (FORCE)"); err != nil {
			t.Errorf("dbtest: drop test database %s: %v", name, err)
		}
	})
	return srv.urlFor(name)
}

func setup() (*server, error) {
	s := &server{}
	if err := s.init(); err != nil {
		if cerr := s.close(); cerr != nil {
			err = fmt.Errorf("%w (cleaning up: %v)", err, cerr)
		}
		return nil, err
	}
	return s, nil
}

func (s *server) init() error {
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	tag := make([]byte, 3)
	if _, err := rand.Read(tag); err != nil {
		return err
	}
	// The pid alone is not unique when test binaries in different containers share a server.
	s.prefix = fmt.Sprintf("payhub_test_%d_%s", os.Getpid(), hex.EncodeToString(tag))

	if env := os.Getenv("DATABASE_URL"); env != "" {
		if _, err := withDatabase(env, "x"); err != nil {
			return err
		}
		s.adminURL = env
		s.urlFor = func(name string) string {
			u, _ := withDatabase(env, name) // validated above
			return u
		}
	} else {
		if err := s.startCluster(ctx); err != nil {
			return err
		}
		s.adminURL = s.cluster.URL("postgres")
		s.urlFor = s.cluster.URL
	}

	var err error
	if s.admin, err = pgxpool.New(ctx, s.adminURL); err != nil {
		return fmt.Errorf("connect to test server: %w", err)
	}
	if s.template, err = templateName(); err != nil {
		return err
	}
	return s.ensureTemplate(ctx)
}

// startCluster starts this binary's private cluster in a fresh home under the temp directory.
func (s *server) startCluster(ctx context.Context) error {
	sweepStaleHomes()
	home, err := os.MkdirTemp("", tempDirPattern)
	if err != nil {
		return err
	}
	s.home = home
	// MkdirTemp makes it 0700; a root test run hands the server to the postgres user, who must
	// be able to enter.
	if err := os.Chmod(home, 0o711); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(home, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return err
	}
	s.cluster, err = db.StartCluster(ctx, db.ClusterOptions{Dir: filepath.Join(home, "pg"), Settings: testSettings})
	if errors.Is(err, db.ErrNoPostgres) {
		return fmt.Errorf("start test cluster: %w", err) // already says to install it or set DATABASE_URL
	}
	if err != nil {
		return fmt.Errorf("start test cluster (or set DATABASE_URL to use an existing server): %w", err)
	}
	return nil
}

// sweepStaleHomes removes cluster homes left by test binaries that died before their cleanup (a
// timeout panic, a kill). Their servers went down with them; each home holds ~40 MB.
func sweepStaleHomes() {
	homes, _ := filepath.Glob(filepath.Join(os.TempDir(), tempDirPattern))
	for _, home := range homes {
		b, err := os.ReadFile(filepath.Join(home, ownerFile))
		if err != nil {
			continue // being set up right now, or not ours
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			os.RemoveAll(home)
		}
	}
}

// ensureTemplate makes sure the migrated template database exists, building it if needed.
func (s *server) ensureTemplate(ctx context.Context) error {
	// A connection of its own: the advisory lock belongs to the session, and closing the session
	// is the one release that cannot fail.
	conn, err := pgx.Connect(ctx, s.adminURL)
	if err != nil {
		return fmt.Errorf("connect to test server: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", int64(templateLockKey)); err != nil {
		return fmt.Errorf("lock template: %w", err)
	}

	// A finished template is marked IS_TEMPLATE; one without the mark is the remains of a
	// binary that died while migrating it.
	var isTemplate bool
	err = conn.QueryRow(ctx, "SELECT datistemplate FROM pg_database WHERE datname = $1", s.template).Scan(&isTemplate)
	switch {
	case err == nil && isTemplate:
		return nil
	case err == nil:
		if _, err := conn.Exec(ctx, "DROP DATABASE "+ident(s.template)+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("drop unfinished template %s: %w", s.template, err)
		}
	case !errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("look up template: %w", err)
	}

	if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident(s.template)); err != nil {
		return fmt.Errorf("create template %s: %w", s.template, err)
	}
	if err := db.Migrate(ctx, s.urlFor(s.template)); err != nil {
		return fmt.Errorf("migrate template %s: %w", s.template, err)
	}
	// CREATE DATABASE ... TEMPLATE fails while anyone is connected to the template; make sure no
	// straggler from the migration is, and that nobody can connect to it again.
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+ident(s.template)+" WITH ALLOW_CONNECTIONS false"); err != nil {
		return fmt.Errorf("seal template %s: %w", s.template, err)
	}
	if _, err := conn.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", s.template); err != nil {
		return fmt.Errorf("seal template %s: %w", s.template, err)
	}
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+ident(s.template)+" WITH IS_TEMPLATE true"); err != nil {
		return fmt.Errorf("seal template %s: %w", s.template, err)
	}
	return nil
}

// templateName names the template after what goes into it: our migration files and the River
// version, whose migrations db.Migrate also applies. A changed migration gets a new template
// rather than tests running against a stale schema.
func templateName() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(db.MigrationsFS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		content, err := fs.ReadFile(db.MigrationsFS, path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", path, len(content))
		h.Write(content)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("hash migrations: %w", err)
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if strings.HasPrefix(dep.Path, "github.com/riverqueue/river") {
				if dep.Replace != nil {
					dep = dep.Replace
				}
				fmt.Fprintf(h, "%s@%s\x00", dep.Path, dep.Version)
			}
		}
	}
	return "payhub_tmpl_" + hex.EncodeToString(h.Sum(nil))[:16], nil
}

// close releases what setup acquired; it copes with a partial setup.
func (s *server) close() error {
	if s.admin != nil {
		s.admin.Close()
	}
	var errs []error
	if s.cluster != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s.cluster.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop test cluster: %w", err))
		}
	}
	if s.home != "" {
		if err := os.RemoveAll(s.home); err != nil {
			errs = append(errs, fmt.Errorf("remove test cluster: %w", err))
		}
	}
	return errors.Join(errs...)
}

// withDatabase returns connString pointing at database instead. DATABASE_URL may be a URL or a
// keyword/value string; in the latter a repeated key overrides the earlier one.
func withDatabase(connString, database string) (string, error) {
	if strings.HasPrefix(connString, "postgres://") || strings.HasPrefix(connString, "postgresql://") {
		u, err := url.Parse(connString)
		if err != nil {
			return "", errors.New("DATABASE_URL is not a valid URL") // url's message would quote the password
		}
		u.Path = "/" + database
		u.RawPath = ""
		q := u.Query()
		if q.Has("dbname") {
			q.Del("dbname")
			u.RawQuery = q.Encode()
		}
		return u.String(), nil
	}
	if _, err := pgx.ParseConfig(connString); err != nil {
		return "", errors.New("DATABASE_URL is neither a postgres:// URL nor a valid keyword/value connection string")
	}
	return connString + " dbname='" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(database) + "'", nil
}

func ident(name string) string { return pgx.Identifier{name}.Sanitize() }
