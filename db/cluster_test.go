package db

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// fastSettings make throwaway clusters start and write quickly; TestCluster leaves them out so its
// timings are those of the production launcher.
var fastSettings = map[string]string{"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}

// clusterHome returns a fresh cluster directory. Not t.TempDir: that is 0700, and a root test run
// hands the server to the postgres user, who must be able to traverse it.
func clusterHome(t *testing.T) string {
	t.Helper()
	base, err := os.MkdirTemp("", "payhub-cluster-test-*")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(base, 0o711); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	return filepath.Join(base, "pg")
}

// startCluster starts a cluster that the test stops at its end if it did not already.
func startCluster(t *testing.T, opts ClusterOptions) *Cluster {
	t.Helper()
	c := startUnmanaged(t, opts)
	t.Cleanup(func() {
		if err := c.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return c
}

// startUnmanaged starts a cluster the test must take care of.
func startUnmanaged(t *testing.T, opts ClusterOptions) *Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := StartCluster(ctx, opts)
	if errors.Is(err, ErrNoPostgres) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func queryString(t *testing.T, conn *pgx.Conn, sql string) string {
	t.Helper()
	var s string
	if err := conn.QueryRow(context.Background(), sql).Scan(&s); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return s
}

func TestCluster(t *testing.T) {
	dir := clusterHome(t)
	ctx := context.Background()

	t0 := time.Now()
	c := startCluster(t, ClusterOptions{Dir: dir})
	t.Logf("first start (initdb + start): %s", time.Since(t0).Round(time.Millisecond))
	if !c.Started() {
		t.Fatal("Started() = false on a fresh directory")
	}
	if !strings.HasPrefix(c.URL("payhub"), "postgres:///payhub?") {
		t.Errorf("URL = %q, want postgres:///payhub?...", c.URL("payhub"))
	}

	conn := connect(t, c.URL("payhub"))
	if got := queryString(t, conn, "SELECT 1::text"); got != "1" {
		t.Fatalf("SELECT 1 = %q", got)
	}
	if got := queryString(t, conn, "SHOW listen_addresses"); got != "" {
		t.Errorf("listen_addresses = %q, want no TCP listener", got)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')"); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, "password"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("password file mode = %v, want 0600", st.Mode().Perm())
	}
	if log, _ := os.ReadFile(filepath.Join(dir, "postgres.log")); strings.Contains(string(log), c.password) {
		t.Error("postgres.log contains the password")
	}

	t.Run("second start attaches", func(t *testing.T) {
		t0 := time.Now()
		other := startCluster(t, ClusterOptions{Dir: dir})
		t.Logf("attach: %s", time.Since(t0).Round(time.Millisecond))
		if other.Started() {
			t.Fatal("Started() = true while another process's server runs on the directory")
		}
		if got := queryString(t, connect(t, other.URL("payhub")), "SELECT v FROM kept"); got != "still here" {
			t.Fatalf("via attached cluster: %q", got)
		}
		if err := other.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		if got := queryString(t, conn, "SELECT 1::text"); got != "1" {
			t.Fatal("server went down when the attached handle stopped")
		}
	})

	conn.Close(ctx)
	t0 = time.Now()
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("stop: %s", time.Since(t0).Round(time.Millisecond))
	if err := c.Stop(ctx); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if procs := serverProcesses(t, c.dataDir); len(procs) > 0 {
		t.Fatalf("after Stop, processes still serve %s: %v", c.dataDir, procs)
	}

	t0 = time.Now()
	c2 := startCluster(t, ClusterOptions{Dir: dir})
	t.Logf("restart: %s", time.Since(t0).Round(time.Millisecond))
	if !c2.Started() {
		t.Fatal("Started() = false after the previous server stopped")
	}
	if got := queryString(t, connect(t, c2.URL("payhub")), "SELECT v FROM kept"); got != "still here" {
		t.Fatalf("after restart: %q", got)
	}
}

func TestClusterStalePidFile(t *testing.T) {
	// A home too deep for a socket path also sends the socket to /tmp, covered here on the way.
	dir := filepath.Join(clusterHome(t), strings.Repeat("d", 100))
	opts := ClusterOptions{Dir: dir, Settings: fastSettings}
	c := startUnmanaged(t, opts)
	if !strings.HasPrefix(c.sockDir, "/tmp/payhub-pg-") {
		t.Errorf("socket dir for a long home = %s, want one under /tmp", c.sockDir)
	}
	t.Cleanup(func() { os.RemoveAll(c.sockDir) })
	connect(t, c.URL("payhub"))

	// A server killed outright leaves its postmaster.pid behind, and children that take a
	// moment to notice; frozen here so that moment lasts.
	var children []int
	for _, pid := range serverProcesses(t, c.dataDir) {
		if pid != c.proc.Pid {
			children = append(children, pid)
			syscall.Kill(pid, syscall.SIGSTOP)
		}
	}
	if len(children) == 0 {
		t.Fatal("found no server child processes")
	}
	if err := c.proc.Kill(); err != nil {
		t.Fatal(err)
	}
	<-c.done
	time.AfterFunc(500*time.Millisecond, func() {
		for _, pid := range children {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	if _, err := os.Stat(filepath.Join(c.dataDir, "postmaster.pid")); err != nil {
		t.Fatalf("expected a leftover postmaster.pid: %v", err)
	}
	if err := c.Stop(context.Background()); err == nil || !strings.Contains(err.Error(), "already exited") {
		t.Errorf("Stop of a server that died = %v, want it reported", err)
	}
	c = startCluster(t, opts)
	if !c.Started() {
		t.Fatal("attached to a dead server")
	}
	if log, _ := os.ReadFile(c.logPath); !strings.Contains(string(log), "pre-existing shared memory block") {
		t.Error("the start did not run into the orphaned shared memory this test sets up")
	}
	connect(t, c.URL("payhub"))
	if err := c.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}

	// After a container restart the recorded pid may belong to an unrelated live process.
	// It must be the server's user's: postgres ignores a pid it is not allowed to signal.
	sleeper := exec.Command("sleep", "60")
	if st, err := os.Stat(c.dataDir); err == nil && os.Geteuid() == 0 {
		sys := st.Sys().(*syscall.Stat_t)
		sleeper.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: sys.Uid, Gid: sys.Gid}}
	}
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { sleeper.Process.Kill(); sleeper.Wait() }()
	pidFile := fmt.Sprintf("%d\n%s\n1700000000\n5432\n%s\n\n  1234  5678\nready   \n", sleeper.Process.Pid, c.dataDir, c.sockDir)
	// The socket has a lock file of the same kind, with the same problem. Both are written as
	// the server would have left them.
	for _, lock := range []string{filepath.Join(c.dataDir, "postmaster.pid"), filepath.Join(c.sockDir, ".s.PGSQL.5432.lock")} {
		if err := os.WriteFile(lock, []byte(pidFile), 0o600); err != nil {
			t.Fatal(err)
		}
		if st, err := os.Stat(c.dataDir); err == nil {
			sys := st.Sys().(*syscall.Stat_t)
			os.Chown(lock, int(sys.Uid), int(sys.Gid))
		}
	}
	c = startCluster(t, opts)
	if !c.Started() {
		t.Fatal("attached to an unrelated process")
	}
	connect(t, c.URL("payhub"))
}

// TestClusterDiesWithOwner kills a process that started a cluster, as a crash or a second Ctrl-C
// would, and expects the server to go away with it.
func TestClusterDiesWithOwner(t *testing.T) {
	if dir := os.Getenv("PAYHUB_CLUSTER_OWNER_DIR"); dir != "" {
		c, err := StartCluster(context.Background(), ClusterOptions{Dir: dir, Settings: fastSettings})
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println(c.proc.Pid)
		select {}
	}
	if _, err := findBinaries(""); err != nil {
		t.Skip(err)
	}
	dir := clusterHome(t)
	owner := exec.Command(os.Args[0], "-test.run=^TestClusterDiesWithOwner$")
	owner.Env = append(os.Environ(), "PAYHUB_CLUSTER_OWNER_DIR="+dir)
	out, err := owner.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := owner.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		owner.Process.Kill()
		owner.Wait()
		t.Fatalf("owner process: %q: %v", line, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		owner.Process.Kill()
		owner.Wait()
		t.Fatalf("owner process: %s", line)
	}
	if err := owner.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	owner.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("postgres (pid %d) outlived the process that started it", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
	deadline = time.Now().Add(5 * time.Second)
	for len(serverProcesses(t, filepath.Join(dir, "data"))) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("postgres children outlived the postmaster: %v", serverProcesses(t, filepath.Join(dir, "data")))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestClusterNoPostgres(t *testing.T) {
	saved := binSearch
	t.Cleanup(func() { binSearch = saved })
	binSearch.lookPath = func(file string) (string, error) { return "", exec.ErrNotFound }
	binSearch.globs = []string{filepath.Join(t.TempDir(), "postgresql", "*", "bin")}

	_, err := StartCluster(context.Background(), ClusterOptions{Dir: clusterHome(t)})
	if !errors.Is(err, ErrNoPostgres) {
		t.Fatalf("err = %v, want ErrNoPostgres", err)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") || !strings.Contains(msg, "apt-get install postgresql") || !strings.Contains(msg, "DATABASE_URL") {
		t.Errorf("error should say on one line how to fix it: %q", msg)
	}
}

func TestClusterUntraversableParent(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only a root hub hands the server to another user")
	}
	if _, err := findBinaries(""); err != nil {
		t.Skip(err)
	}
	_, err := StartCluster(context.Background(), ClusterOptions{Dir: filepath.Join(t.TempDir(), "pg")})
	if err == nil || !strings.Contains(err.Error(), "not searchable by user") {
		t.Fatalf("err = %v, want a diagnosis of the 0700 parent", err)
	}
}

func TestFindBinariesPrefersNewestAndDataVersion(t *testing.T) {
	root := t.TempDir()
	for _, v := range []string{"9.6", "13", "15", "16"} {
		bin := filepath.Join(root, v, "bin")
		if err := os.MkdirAll(bin, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"initdb", "postgres"} {
			if err := os.WriteFile(filepath.Join(bin, name), nil, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	saved := binSearch
	t.Cleanup(func() { binSearch = saved })
	binSearch.lookPath = func(file string) (string, error) { return "", exec.ErrNotFound }
	binSearch.globs = []string{filepath.Join(root, "*", "bin")}

	for _, tc := range []struct{ dataMajor, want string }{
		{"", "16"},   // fresh cluster: newest
		{"15", "15"}, // existing cluster: its own version
		{"9.6", "9.6"},
		{"12", "16"}, // not installed: newest, and postgres will say why it cannot start
	} {
		b, err := findBinaries(tc.dataMajor)
		if err != nil {
			t.Fatal(err)
		}
		if got := filepath.Base(filepath.Dir(filepath.Dir(b.postgres))); got != tc.want {
			t.Errorf("findBinaries(%q) picked %s, want %s", tc.dataMajor, got, tc.want)
		}
	}
}

func TestSocketDir(t *testing.T) {
	short := "/srv/hub/.hub/postgres"
	if got := socketDir(short); got != short+"/run" {
		t.Errorf("socketDir(%q) = %q", short, got)
	}
	long := "/srv/" + strings.Repeat("x", 100)
	got := socketDir(long)
	if !strings.HasPrefix(got, "/tmp/payhub-pg-") || got != socketDir(long) || got == socketDir(long+"y") {
		t.Errorf("socketDir(long) = %q: want a stable, home-specific directory under /tmp", got)
	}
	if len(got)+len("/.s.PGSQL.5432") > 107 {
		t.Errorf("socket path too long: %q", got)
	}
}

// serverProcesses lists processes working in dataDir (the postmaster and all its children chdir
// there) or naming it on their command line.
func serverProcesses(t *testing.T, dataDir string) []int {
	t.Helper()
	data, err := os.Stat(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skip("no /proc:", err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if cwd, err := os.Stat(fmt.Sprintf("/proc/%d/cwd", pid)); err == nil && os.SameFile(cwd, data) {
			pids = append(pids, pid)
			continue
		}
		if cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && strings.Contains(string(cmdline), dataDir) {
			pids = append(pids, pid)
		}
	}
	return pids
}
