package db

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// ClusterDatabase is the database the hub uses in its private cluster; StartCluster creates it.
const ClusterDatabase = "payhub"

// ErrNoPostgres is wrapped by StartCluster's error when no PostgreSQL server binaries exist on
// this machine, so callers can tell "install PostgreSQL" apart from a server that failed to start.
var ErrNoPostgres = errors.New("PostgreSQL server binaries (initdb, postgres) not found")

const (
	// clusterUser is the superuser initdb creates. Naming it after the product rather than
	// "postgres" keeps libpq's defaults (database = user name) pointing at our database.
	clusterUser = "payhub"

	// maxSocketDirLen keeps "<dir>/.s.PGSQL.5432" within sun_path (108 bytes with its NUL);
	// postgres refuses longer socket paths.
	maxSocketDirLen = 107 - len("/.s.PGSQL.5432")

	// startTimeout bounds waits that would otherwise hang forever on a context without deadline:
	// a server that is not ready after this long is broken, not slow.
	startTimeout = 60 * time.Second
	// stopTimeout bounds fast shutdown when the caller's context has no deadline.
	stopTimeout = 30 * time.Second
	// quitGrace is how long immediate shutdown (SIGQUIT) gets before SIGKILL.
	quitGrace = 5 * time.Second
	// logRotateSize keeps postgres.log from growing across an unbounded number of restarts.
	logRotateSize = 16 << 20
	// pollInterval paces readiness polling; startup takes a few hundred milliseconds, so a short
	// interval is what makes restarts feel instant.
	pollInterval = 5 * time.Millisecond
)

// baseSettings are applied at every start. No TCP listener: the hub talks to its private server
// over a Unix socket in a directory only the server's user can enter, so nothing else on the
// machine (or network) can reach it. max_connections leaves room for several pools (hub, River,
// test helpers) without the default 100 becoming the bottleneck.
var baseSettings = map[string]string{
	"listen_addresses": "",
	"max_connections":  "200",
}

// binSearch says where findBinaries looks for PostgreSQL. It is a variable so tests can simulate
// a machine without PostgreSQL.
var binSearch = struct {
	lookPath func(file string) (string, error)
	globs    []string
}{
	lookPath: exec.LookPath,
	// Debian/Ubuntu install each major version under /usr/lib/postgresql/<v>/bin, the PGDG RPMs
	// under /usr/pgsql-<v>/bin; neither puts the server binaries on PATH.
	globs: []string{"/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin"},
}

// ClusterOptions configures StartCluster.
type ClusterOptions struct {
	// Dir is the cluster's home (for example "./.hub/postgres"), created if missing. It holds the
	// data directory, the generated password, the server log and, when the path is short enough,
	// the socket directory.
	Dir string
	// Logger receives lifecycle events (never the password); nil discards them.
	Logger *slog.Logger
	// Settings are extra server settings (name → value) passed at each start by this process;
	// they do not apply when attaching to a server someone else started. fsync=off also makes
	// initdb skip its own fsyncs, which is only sensible for throwaway clusters such as tests'.
	Settings map[string]string
}

// Cluster is a private PostgreSQL server living in a directory: started by StartCluster,
// reachable through URL, stopped by Stop.
type Cluster struct {
	dir      string
	dataDir  string
	sockDir  string
	password string
	logPath  string
	logger   *slog.Logger

	// started is set when this process runs the server as its child; the fields below are
	// only meaningful then.
	started bool
	proc    *os.Process
	done    chan struct{} // closed once the server process has exited
	waitErr error         // the server's exit status, valid after done is closed

	stopOnce sync.Once
	stopErr  error
}

// account is the unprivileged user the server runs as when the hub runs as root.
type account struct {
	name     string
	uid, gid int
}

// pgBinaries are the server programs of one PostgreSQL installation.
type pgBinaries struct {
	initdb, postgres string
}

// StartCluster brings up the private PostgreSQL server in opts.Dir and returns once it accepts
// connections. The first call initialises the cluster (initdb, a random password in
// <Dir>/password, a "payhub" database); later calls reuse it. If a server is already running on
// that directory (another hub process started it), StartCluster attaches to it instead of starting
// a second one. The server runs as a child of this process and shuts down if this process dies;
// ctx bounds the start only, not the server's life.
func StartCluster(ctx context.Context, opts ClusterOptions) (*Cluster, error) {
	if opts.Dir == "" {
		return nil, errors.New("postgres cluster: ClusterOptions.Dir is empty")
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("postgres cluster: %w", err)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c := &Cluster{
		dir:     dir,
		dataDir: filepath.Join(dir, "data"),
		sockDir: socketDir(dir),
		logPath: filepath.Join(dir, "postgres.log"),
		logger:  logger,
	}

	runAs, err := serverAccount()
	if err != nil {
		return nil, err
	}
	if err := prepareHome(dir, runAs); err != nil {
		return nil, err
	}

	// Two hub processes starting on the same directory at once must not both run initdb or both
	// start a server: the loser of this lock finds the winner's server running and attaches.
	unlock, err := lockDir(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer unlock()

	attached, err := c.attach(ctx)
	if err != nil {
		return nil, err
	}
	if attached {
		return c, nil
	}

	wantMajor := "" // none yet: a fresh cluster
	switch v, err := os.ReadFile(filepath.Join(c.dataDir, "PG_VERSION")); {
	case err == nil:
		wantMajor = strings.TrimSpace(string(v))
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("postgres cluster in %s: %w", dir, err)
	}
	bins, err := findBinaries(wantMajor)
	if err != nil {
		return nil, err
	}

	if wantMajor == "" {
		if err := c.initCluster(ctx, bins, runAs, opts.Settings["fsync"] == "off"); err != nil {
			return nil, err
		}
	}
	pw, err := os.ReadFile(filepath.Join(dir, "password"))
	if err != nil {
		return nil, fmt.Errorf("postgres cluster in %s has no readable password file (remove %s to start afresh): %w",
			dir, c.dataDir, err)
	}
	c.password = strings.TrimSpace(string(pw))

	if err := ensureSocketDir(c.sockDir, runAs); err != nil {
		return nil, err
	}
	if err := c.start(ctx, bins, runAs, opts.Settings); err != nil {
		return nil, err
	}
	return c, nil
}

// URL returns a connection URL for database on this cluster, over its Unix socket and with its
// password. The cluster has a "payhub" database from its first start. The URL carries the
// password: never log it.
func (c *Cluster) URL(database string) string {
	q := url.Values{
		"host":     {c.sockDir},
		"user":     {clusterUser},
		"password": {c.password},
	}
	u := url.URL{Scheme: "postgres", Path: "/" + database, RawQuery: q.Encode()}
	return u.String()
}

// Started reports whether this process started the server (and Stop will stop it), as opposed to
// attaching to a server another process runs on the same directory.
func (c *Cluster) Started() bool { return c.started }

// Stop shuts the server down if this process started it, and does nothing when it attached to
// someone else's server. It asks for a fast shutdown (open transactions are rolled back) and waits
// until ctx ends (at most 30s); a server still up then gets an immediate shutdown, which is
// crash-safe: the next start replays the WAL. Calling Stop again returns the first result.
func (c *Cluster) Stop(ctx context.Context) error {
	if c == nil || !c.started {
		return nil
	}
	c.stopOnce.Do(func() { c.stopErr = c.stop(ctx) })
	return c.stopErr
}

func (c *Cluster) stop(ctx context.Context) error {
	t0 := time.Now()
	ctx, cancel := context.WithTimeout(ctx, stopTimeout)
	defer cancel()
	select {
	case <-c.done:
		return fmt.Errorf("postgres (pid %d) had already exited: %v%s", c.proc.Pid, c.waitErr, c.logTail(0))
	default:
	}
	_ = c.proc.Signal(syscall.SIGINT) // fails only if it just exited, which done reports
	select {
	case <-c.done:
		c.logger.Info("postgres stopped", "pid", c.proc.Pid, "took", time.Since(t0).Round(time.Millisecond))
		if c.waitErr != nil {
			return fmt.Errorf("postgres (pid %d) shut down with %v%s", c.proc.Pid, c.waitErr, c.logTail(0))
		}
		return nil
	case <-ctx.Done():
	}
	c.kill()
	return fmt.Errorf("postgres (pid %d) did not finish a fast shutdown in %s; forced an immediate shutdown",
		c.proc.Pid, time.Since(t0).Round(time.Millisecond))
}

// kill ends the server without waiting for a checkpoint and returns once it has exited.
func (c *Cluster) kill() {
	_ = c.proc.Signal(syscall.SIGQUIT)
	select {
	case <-c.done:
		return
	case <-time.After(quitGrace):
	}
	_ = c.proc.Kill()
	<-c.done
}

// serverAccount returns the user to run the server as, or nil to run it as ourselves. PostgreSQL
// refuses to run as root, so a root hub hands it to the conventional "postgres" user.
func serverAccount() (*account, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.Atoi(u.Uid)
		gid, err2 := strconv.Atoi(u.Gid)
		if err1 != nil || err2 != nil {
			continue
		}
		return &account{name: name, uid: uid, gid: gid}, nil
	}
	return nil, errors.New("postgres cluster: running as root, which PostgreSQL refuses, and there is no " +
		"'postgres' or 'nobody' user to run it as: create one (useradd --system postgres) or run the hub as a regular user")
}

// prepareHome creates the cluster home and, when the server runs as another user, makes sure that
// user can reach it: a directory it cannot traverse only surfaces later as an obscure initdb error.
func prepareHome(dir string, runAs *account) error {
	perm := os.FileMode(0o700)
	if runAs != nil {
		perm = 0o711 // traversable, not listable: the server user only needs to reach data/ and run/
	}
	if err := os.MkdirAll(dir, perm); err != nil {
		return fmt.Errorf("postgres cluster: %w", err)
	}
	if runAs == nil {
		return nil
	}
	// The home is ours to adjust; its parents are not, so those only get a diagnosis.
	if st, err := os.Stat(dir); err == nil {
		if bit := searchBit(st, runAs); st.Mode().Perm()&bit == 0 {
			if err := os.Chmod(dir, st.Mode().Perm()|bit); err != nil {
				return fmt.Errorf("postgres cluster: %w", err)
			}
		}
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return fmt.Errorf("postgres cluster: %w", err)
	}
	for p := real; ; p = filepath.Dir(p) {
		st, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("postgres cluster: %w", err)
		}
		if st.Mode().Perm()&searchBit(st, runAs) == 0 {
			return fmt.Errorf("postgres cluster: directory %s is not searchable by user %s (uid %d), who runs "+
				"PostgreSQL because the hub runs as root; make it searchable (chmod o+x %s) or put the cluster elsewhere",
				p, runAs.name, runAs.uid, p)
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

// searchBit is the permission bit that decides whether a can traverse a directory: owner, group
// or other, in the order the kernel checks them. Only the primary group counts because the server
// is started with no supplementary groups.
func searchBit(st fs.FileInfo, a *account) fs.FileMode {
	sys, ok := st.Sys().(*syscall.Stat_t)
	switch {
	case !ok:
		return 0o001
	case int(sys.Uid) == a.uid:
		return 0o100
	case int(sys.Gid) == a.gid:
		return 0o010
	default:
		return 0o001
	}
}

// socketDir picks the socket directory: inside the home when the path fits in a socket address,
// else a directory in /tmp named after the home, so it is the same at every start.
func socketDir(home string) string {
	if d := filepath.Join(home, "run"); len(d) <= maxSocketDirLen {
		return d
	}
	sum := sha256.Sum256([]byte(home))
	return "/tmp/payhub-pg-" + hex.EncodeToString(sum[:8])
}

// ensureSocketDir creates the socket directory private to the server's user. It may live in /tmp,
// where anyone could have planted a symlink or a directory of their own in advance, so both are
// refused (or, as root, taken over).
func ensureSocketDir(dir string, runAs *account) error {
	uid := os.Geteuid()
	if runAs != nil {
		uid = runAs.uid
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("postgres socket directory: %w", err)
	}
	st, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("postgres socket directory: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("postgres socket directory %s is not a directory; remove it", dir)
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && int(sys.Uid) != uid {
		if os.Geteuid() != 0 {
			return fmt.Errorf("postgres socket directory %s belongs to uid %d, not us; remove it", dir, sys.Uid)
		}
		if err := os.Lchown(dir, uid, runAs.gid); err != nil {
			return fmt.Errorf("postgres socket directory: %w", err)
		}
	}
	if st.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("postgres socket directory: %w", err)
		}
	}
	return nil
}

// lockDir takes an exclusive lock on the cluster home for the duration of a start. Polling rather
// than blocking keeps ctx in charge of how long we wait.
func lockDir(ctx context.Context, dir string) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("postgres cluster: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("postgres cluster: lock %s: %w", f.Name(), err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("postgres cluster: waiting for another process starting the cluster in %s: %w", dir, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// findBinaries locates initdb and postgres: on PATH first (an explicit choice of the user), else the
// installation matching the data directory's major version, else the newest one installed.
func findBinaries(wantMajor string) (pgBinaries, error) {
	pg, err1 := binSearch.lookPath("postgres")
	initdb, err2 := binSearch.lookPath("initdb")
	if err1 == nil && err2 == nil {
		return pgBinaries{initdb: initdb, postgres: pg}, nil
	}
	type candidate struct {
		dir     string
		version []int
		major   string
	}
	var found []candidate
	for _, g := range binSearch.globs {
		matches, _ := filepath.Glob(g)
		for _, d := range matches {
			if !isExecutable(filepath.Join(d, "postgres")) || !isExecutable(filepath.Join(d, "initdb")) {
				continue
			}
			v, major := dirVersion(d)
			found = append(found, candidate{dir: d, version: v, major: major})
		}
	}
	if len(found) == 0 {
		return pgBinaries{}, fmt.Errorf("%w on PATH or in %s: install PostgreSQL (e.g. apt-get install postgresql) "+
			"or set DATABASE_URL to an existing server", ErrNoPostgres, strings.Join(binSearch.globs, ", "))
	}
	slices.SortStableFunc(found, func(a, b candidate) int { return slices.Compare(b.version, a.version) })
	best := found[0]
	for _, f := range found {
		if wantMajor != "" && f.major == wantMajor {
			best = f
			break
		}
	}
	return pgBinaries{initdb: filepath.Join(best.dir, "initdb"), postgres: filepath.Join(best.dir, "postgres")}, nil
}

var versionRe = regexp.MustCompile(`\d+(\.\d+)*`)

// dirVersion extracts the version from an installation's bin directory name (".../15/bin",
// "/usr/pgsql-16/bin"), both as numbers to sort by and as the major version PG_VERSION records.
func dirVersion(binDir string) (version []int, major string) {
	s := versionRe.FindString(filepath.Base(filepath.Dir(binDir)))
	if s == "" {
		return nil, ""
	}
	for part := range strings.SplitSeq(s, ".") {
		n, _ := strconv.Atoi(part)
		version = append(version, n)
	}
	if version[0] < 10 && len(version) > 1 {
		return version, fmt.Sprintf("%d.%d", version[0], version[1]) // 9.6 and older: two-part majors
	}
	return version, strconv.Itoa(version[0])
}

func isExecutable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0
}

// initCluster runs initdb. It builds the cluster in a scratch directory and renames it into place
// only once complete, so an interrupted first start is simply redone instead of leaving a
// half-initialised data directory that initdb would refuse.
func (c *Cluster) initCluster(ctx context.Context, bins pgBinaries, runAs *account, noSync bool) error {
	t0 := time.Now()
	if _, err := os.Stat(c.dataDir); err == nil {
		return fmt.Errorf("postgres cluster: %s exists but is not a PostgreSQL data directory (no PG_VERSION); remove it", c.dataDir)
	}
	scratch := c.dataDir + ".init"
	if err := os.RemoveAll(scratch); err != nil {
		return fmt.Errorf("postgres cluster: %w", err)
	}
	if err := mkdirFor(scratch, runAs); err != nil {
		return err
	}

	secret := make([]byte, 24)
	if _, err := rand.Read(secret); err != nil {
		return err
	}
	password := hex.EncodeToString(secret)
	// initdb reads the password from a file; it runs as the server user, so this copy is that
	// user's, and it is gone once initdb is done.
	pwInit := filepath.Join(c.dir, "password.init")
	if err := writeFileAtomic(pwInit, []byte(password+"\n"), runAs); err != nil {
		return err
	}
	defer os.Remove(pwInit)

	logFile, logOff, err := c.openLog()
	if err != nil {
		return err
	}
	defer logFile.Close()

	args := []string{
		"-D", scratch,
		"-U", clusterUser,
		"--pwfile=" + pwInit,
		"--auth-local=scram-sha-256",
		"--auth-host=reject",
		"--encoding=UTF8",
		// C collation: byte order, no dependency on the OS's collation data, which would
		// otherwise invalidate text indexes when glibc changes. Character classes (upper(), ILIKE)
		// still need a UTF-8 ctype for non-ASCII text when the system provides one.
		"--locale=C",
		"--no-instructions", // they tell how to start the server by hand, which is our job
	}
	if hasCUTF8() {
		args = append(args, "--lc-ctype=C.UTF-8")
	}
	if noSync {
		args = append(args, "--no-sync")
	}
	cmd := exec.CommandContext(ctx, bins.initdb, args...)
	cmd.Dir = c.dir
	cmd.Env = serverEnv()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Credential: credential(runAs)}
	if err := cmd.Run(); err != nil {
		os.RemoveAll(scratch)
		return fmt.Errorf("postgres cluster: initdb in %s failed: %w%s", scratch, err, c.logTail(logOff))
	}

	// Only the Unix socket, even if someone starts this cluster by hand without our settings.
	conf := "\n# Added by payhub: the hub reaches this server only through its private Unix socket.\nlisten_addresses = ''\n"
	if err := appendFile(filepath.Join(scratch, "postgresql.conf"), conf); err != nil {
		return err
	}
	// The password must be in place before the data directory appears: a data directory is
	// taken as a finished cluster whose password is on file.
	if err := writeFileAtomic(filepath.Join(c.dir, "password"), []byte(password+"\n"), nil); err != nil {
		return err
	}
	if err := os.Rename(scratch, c.dataDir); err != nil {
		return fmt.Errorf("postgres cluster: %w", err)
	}
	c.logger.Info("postgres cluster initialised", "dir", c.dir, "took", time.Since(t0).Round(time.Millisecond))
	return nil
}

// hasCUTF8 reports whether the C.UTF-8 locale is installed (glibc ships it from 2.35; Debian
// long before); initdb fails outright on a locale the system lacks.
func hasCUTF8() bool {
	for _, p := range []string{"/usr/lib/locale/C.utf8", "/usr/lib/locale/C.UTF-8"} {
		if _, err := os.Stat(p); err == nil {
			return true
		}
	}
	return false
}

// start runs the server as our child and waits until it accepts connections.
func (c *Cluster) start(ctx context.Context, bins pgBinaries, runAs *account, extra map[string]string) error {
	t0 := time.Now()
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()

	settings := make(map[string]string, len(baseSettings)+len(extra)+1)
	maps.Copy(settings, baseSettings)
	maps.Copy(settings, extra)
	// The directory list is comma-separated; quoting keeps a path with commas or spaces whole.
	settings["unix_socket_directories"] = `"` + strings.ReplaceAll(c.sockDir, `"`, `""`) + `"`
	args := []string{"-D", c.dataDir}
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		args = append(args, "-c", k+"="+settings[k])
	}

	if err := c.rotateLog(); err != nil {
		return err
	}
	if err := c.removeStaleSocketLock(); err != nil {
		return err
	}
	logFile, logOff, err := c.openLog()
	if err != nil {
		return err
	}
	defer logFile.Close() // the child has its own descriptor

	for {
		attemptOff, err := logFile.Seek(0, io.SeekEnd)
		if err != nil {
			return fmt.Errorf("postgres cluster: %w", err)
		}
		cmd := exec.Command(bins.postgres, args...)
		cmd.Dir = c.dataDir
		cmd.Env = serverEnv()
		cmd.Stdout, cmd.Stderr = logFile, logFile
		cmd.SysProcAttr = &syscall.SysProcAttr{
			Credential: credential(runAs),
			// Own process group: a Ctrl-C at the terminal goes to the hub only, which then shuts
			// down in order (draining work that still needs the database) and stops us last.
			Setpgid: true,
			// If the hub dies without calling Stop, the kernel tells the server, so it cannot
			// outlive us. SIGINT is fast shutdown; SIGTERM (smart shutdown) would keep it up for
			// as long as any other client, such as an attached hub, stays connected.
			Pdeathsig: syscall.SIGINT,
		}
		if err := c.spawn(cmd); err != nil {
			return fmt.Errorf("postgres cluster: start %s: %w", bins.postgres, err)
		}
		c.started = true
		err = c.waitReady(ctx, logOff)
		if err == nil {
			break
		}
		c.kill()
		c.started = false
		// Right after a server was killed, its children take a moment to notice and detach
		// from its shared memory; until then postgres refuses to start. They are on their way
		// out, so try again rather than fail.
		if !strings.Contains(c.logTail(attemptOff), "pre-existing shared memory block") || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(50 * time.Millisecond):
		}
	}
	if err := c.ensureDatabase(ctx); err != nil {
		c.kill()
		c.started = false
		return fmt.Errorf("postgres cluster in %s: %w%s", c.dir, err, c.logTail(logOff))
	}
	c.logger.Info("postgres started", "pid", c.proc.Pid, "dir", c.dir, "socket_dir", c.sockDir,
		"took", time.Since(t0).Round(time.Millisecond))
	return nil
}

// spawn starts cmd from a goroutine locked to its OS thread until the process exits. Pdeathsig
// fires when the thread that forked the child ends, not the process (go.dev/issue/27505); the
// runtime retires a thread when a goroutine exits while locked to it, so an unrelated goroutine
// could otherwise take our server down with it.
func (c *Cluster) spawn(cmd *exec.Cmd) error {
	c.done = make(chan struct{})
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		c.proc = cmd.Process
		started <- nil
		c.waitErr = cmd.Wait()
		close(c.done)
	}()
	return <-started
}

// waitReady polls postmaster.pid until the server records that it accepts connections, which is
// what pg_ctl -w does; it costs no connection attempt per poll.
func (c *Cluster) waitReady(ctx context.Context, logOff int64) error {
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		if pf, err := readPidFile(c.dataDir); err == nil && pf.pid == c.proc.Pid && pf.status == "ready" {
			return nil
		}
		select {
		case <-c.done:
			return fmt.Errorf("postgres cluster in %s: server exited during startup (%v)%s", c.dir, c.waitErr, c.logTail(logOff))
		case <-ctx.Done():
			return fmt.Errorf("postgres cluster in %s: server not ready: %w%s", c.dir, ctx.Err(), c.logTail(logOff))
		case <-tick.C:
		}
	}
}

// ensureDatabase creates the payhub database if missing. Checking at every start rather than
// only after initdb covers a first start interrupted in between, and doubles as proof that the
// password on file is the server's.
func (c *Cluster) ensureDatabase(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", ClusterDatabase).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{ClusterDatabase}.Sanitize()); err != nil {
		return fmt.Errorf("create database %s: %w", ClusterDatabase, err)
	}
	return nil
}

// attach looks for a server already running on the data directory and, if one answers, makes c
// a handle on it. A postmaster.pid naming a process that is not that server (the pid was reused
// after a crash or container restart) is removed, since postgres would refuse to start over it.
func (c *Cluster) attach(ctx context.Context) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	pw, pwErr := os.ReadFile(filepath.Join(c.dir, "password"))
	var lastErr error
	var unreadableSince time.Time
	for {
		pf, err := readPidFile(c.dataDir)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return false, nil
		case errors.Is(err, fs.ErrPermission):
			return false, fmt.Errorf("postgres cluster in %s belongs to another user (created by a hub running as someone else?): %w", c.dir, err)
		case err != nil:
			// postgres writes the file in steps, so a reader can catch it half-written; a file
			// that stays unreadable is debris from a crash during startup.
			if unreadableSince.IsZero() {
				unreadableSince = time.Now()
			} else if time.Since(unreadableSince) > 2*time.Second {
				c.logger.Warn("removing unreadable postmaster.pid", "dir", c.dataDir, "err", err)
				return false, removePidFile(c.dataDir, pf.raw)
			}
		default:
			switch postmasterState(pf.pid, c.dataDir) {
			case pmGone:
				return false, nil // postgres itself discards a pid file whose process is gone
			case pmOther:
				c.logger.Warn("removing stale postmaster.pid", "dir", c.dataDir, "pid", pf.pid)
				return false, removePidFile(c.dataDir, pf.raw)
			}
			if pwErr != nil {
				return false, fmt.Errorf("postgres cluster in %s: a server (pid %d) runs on it, but the password file is unreadable: %w",
					c.dir, pf.pid, pwErr)
			}
			c.password = strings.TrimSpace(string(pw))
			if pf.sockDir != "" {
				c.sockDir = pf.sockDir // where it actually listens, whoever started it
			}
			lastErr = ping(ctx, c.URL("postgres"))
			if lastErr == nil {
				c.logger.Info("attached to running postgres", "pid", pf.pid, "dir", c.dir, "socket_dir", c.sockDir)
				return true, nil
			}
			if isAuthFailure(lastErr) {
				return false, fmt.Errorf("postgres cluster in %s: the running server (pid %d) rejects the password on file: %w",
					c.dir, pf.pid, lastErr)
			}
			// Otherwise it is starting up or shutting down: wait for either outcome.
		}
		select {
		case <-ctx.Done():
			return false, fmt.Errorf("postgres cluster in %s: a server is running on it but does not accept connections (%v): %w",
				c.dir, lastErr, ctx.Err())
		case <-time.After(4 * pollInterval):
		}
	}
}

func ping(ctx context.Context, connURL string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, connURL)
	if err != nil {
		return err
	}
	return conn.Close(ctx)
}

func isAuthFailure(err error) bool {
	// 28P01 invalid_password, 28000 invalid_authorization_specification.
	return hasCode(err, "28P01") || hasCode(err, "28000")
}

// pmState classifies the process a postmaster.pid names.
type pmState int

const (
	pmOurs  pmState = iota // a postgres serving our data directory (or we cannot tell otherwise)
	pmGone                 // no such process
	pmOther                // some other process that inherited the pid
)

func postmasterState(pid int, dataDir string) pmState {
	if pid <= 0 || pid == os.Getpid() {
		return pmOther
	}
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return pmGone
	}
	// The postmaster's working directory is its data directory. Reading another user's cwd
	// link needs privileges, hence the weaker command-line test as a fallback.
	if cwd, err := os.Stat(fmt.Sprintf("/proc/%d/cwd", pid)); err == nil {
		if data, err := os.Stat(dataDir); err == nil && os.SameFile(cwd, data) {
			return pmOurs
		}
		return pmOther
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return pmOurs
	}
	argv0, _, _ := bytes.Cut(cmdline, []byte{0})
	if base := filepath.Base(string(argv0)); base == "postgres" || base == "postmaster" {
		return pmOurs
	}
	return pmOther
}

// pidFile is what we use of postmaster.pid: line 1 the pid, line 5 the first socket directory,
// line 8 the status ("starting", "ready", "stopping").
type pidFile struct {
	raw     []byte
	pid     int
	sockDir string
	status  string
}

func readPidFile(dataDir string) (pidFile, error) {
	raw, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		return pidFile{}, err
	}
	pf := pidFile{raw: raw}
	lines := strings.Split(string(raw), "\n")
	pf.pid, err = strconv.Atoi(strings.TrimSpace(lines[0]))
	if err != nil {
		return pf, fmt.Errorf("postmaster.pid: bad pid %q", lines[0])
	}
	if len(lines) > 4 {
		pf.sockDir = strings.TrimSpace(lines[4])
	}
	if len(lines) > 7 {
		pf.status = strings.TrimSpace(lines[7])
	}
	return pf, nil
}

// removePidFile deletes postmaster.pid only if it still holds what we judged stale, so a server
// starting meanwhile keeps its own.
func removePidFile(dataDir string, judged []byte) error {
	path := filepath.Join(dataDir, "postmaster.pid")
	now, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(now, judged) {
		return nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("postgres cluster: remove stale %s: %w", path, err)
	}
	return nil
}

// removeStaleSocketLock deletes the socket's lock file when the pid it records now belongs to an
// unrelated process: postgres, as with postmaster.pid, would refuse to start over it. Only called
// once attach has established that no server runs on our data directory.
func (c *Cluster) removeStaleSocketLock() error {
	path := filepath.Join(c.sockDir, ".s.PGSQL.5432.lock")
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil // absent, or postgres will say what is wrong with it
	}
	first, _, _ := strings.Cut(string(raw), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil || postmasterState(pid, c.dataDir) != pmOther {
		return nil
	}
	c.logger.Warn("removing stale socket lock file", "path", path, "pid", pid)
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("postgres cluster: remove stale %s: %w", path, err)
	}
	return nil
}

// openLog opens the server log for appending and returns the offset where this run's output
// starts, so error messages quote this run and not earlier ones.
func (c *Cluster) openLog() (*os.File, int64, error) {
	f, err := os.OpenFile(c.logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, 0, fmt.Errorf("postgres cluster: %w", err)
	}
	off, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("postgres cluster: %w", err)
	}
	return f, off, nil
}

func (c *Cluster) rotateLog() error {
	st, err := os.Stat(c.logPath)
	if err != nil || st.Size() < logRotateSize {
		return nil
	}
	if err := os.Rename(c.logPath, c.logPath+".1"); err != nil {
		return fmt.Errorf("postgres cluster: rotate log: %w", err)
	}
	return nil
}

// logTail returns the end of what the server logged since offset from, formatted to be appended
// to an error message.
func (c *Cluster) logTail(from int64) string {
	const maxTail = 4096
	f, err := os.Open(c.logPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return ""
	}
	start := max(from, st.Size()-maxTail)
	buf := make([]byte, st.Size()-start)
	if _, err := f.ReadAt(buf, start); err != nil && !errors.Is(err, io.EOF) {
		return ""
	}
	if start > from {
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			buf = buf[i+1:] // drop the partial first line
		}
	}
	text := strings.TrimSpace(string(buf))
	if text == "" {
		return "\n(" + c.logPath + " has nothing from this run)"
	}
	return "\n--- end of " + c.logPath + " ---\n" + text
}

// credential makes a child run as runAs with no supplementary groups (nil: as ourselves).
func credential(runAs *account) *syscall.Credential {
	if runAs == nil {
		return nil
	}
	return &syscall.Credential{Uid: uint32(runAs.uid), Gid: uint32(runAs.gid)}
}

// serverEnv is our environment without libpq's PG* variables, which must not steer the server
// tools (PGDATA, PGPORT, ...) away from the settings we pass explicitly.
func serverEnv() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "PG") })
}

// mkdirFor creates a directory private to runAs (or to us when nil).
func mkdirFor(dir string, runAs *account) error {
	if err := os.Mkdir(dir, 0o700); err != nil {
		return fmt.Errorf("postgres cluster: %w", err)
	}
	if runAs != nil {
		if err := os.Chown(dir, runAs.uid, runAs.gid); err != nil {
			return fmt.Errorf("postgres cluster: %w", err)
		}
	}
	return nil
}

// writeFileAtomic writes a 0600 file owned by owner (nil: us) under a temporary name and renames
// it into place, so readers never see a partial secret.
func writeFileAtomic(path string, data []byte, owner *account) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("postgres cluster: %w", err)
	}
	if owner != nil {
		if err := os.Chown(tmp, owner.uid, owner.gid); err != nil {
			os.Remove(tmp)
			return fmt.Errorf("postgres cluster: %w", err)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("postgres cluster: %w", err)
	}
	return nil
}

func appendFile(path, text string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("postgres cluster: %w", err)
	}
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		return fmt.Errorf("postgres cluster: %w", err)
	}
	return f.Close()
}
