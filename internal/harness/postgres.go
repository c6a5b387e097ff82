package harness

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresInstall is the command that installs the server binaries.
const PostgresInstall = "apt-get update && apt-get install -y postgresql-15"

// Postgres is a throwaway PostgreSQL server on 127.0.0.1 (see Options). It holds one
// database, "minibitly", owned by the superuser "postgres" (trust auth).
type Postgres struct {
	bin     string // directory of initdb and postgres
	dir     string // temporary root, removed by Close
	dataDir string
	logPath string
	port    int
	cred    *syscall.Credential // nil when not running as root
	opts    Options

	mu   sync.Mutex
	proc *Process
	dbs  int
}

// StartPostgres starts a server for t and stops it when t ends. It fails t
// when the server cannot start, printing its log.
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	p, err := LaunchPostgres()
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(p.Logs())
		}
		if err := p.Close(); err != nil {
			t.Errorf("harness: %v", err)
		}
	})
	return p
}

// LaunchPostgres starts a server without a test, for TestMain; the caller
// must Close it. The error includes the server log when the start failed.
func LaunchPostgres() (*Postgres, error) { return LaunchPostgresWith(Options{}) }

// LaunchPostgresWith is LaunchPostgres with options (e.g. another listen
// host).
func LaunchPostgresWith(o Options) (*Postgres, error) {
	bin, err := postgresBin()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "minibitly-pg-")
	if err != nil {
		return nil, fmt.Errorf("postgres temp dir: %w", err)
	}
	p := &Postgres{bin: bin, dir: dir, dataDir: filepath.Join(dir, "data"), logPath: filepath.Join(dir, "postgres.log"), opts: o}
	if err := p.init(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := p.start(); err != nil {
		logs := p.Logs()
		p.Close()
		return nil, fmt.Errorf("%w\n%s", err, logs)
	}
	if err := p.exec(context.Background(), "postgres", "CREATE DATABASE minibitly"); err != nil {
		logs := p.Logs()
		p.Close()
		return nil, fmt.Errorf("create database: %w\n%s", err, logs)
	}
	return p, nil
}

// postgresBin finds the newest /usr/lib/postgresql/*/bin holding initdb, or
// initdb on PATH.
func postgresBin() (string, error) {
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Slice(matches, func(i, j int) bool { return pgMajor(matches[i]) > pgMajor(matches[j]) })
	if len(matches) > 0 {
		return filepath.Dir(matches[0]), nil
	}
	if path, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(path), nil
	}
	return "", fmt.Errorf("postgresql server binaries (initdb, postgres) not found in /usr/lib/postgresql/*/bin or PATH; install them: %s", PostgresInstall)
}

func pgMajor(initdb string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return n
}

// init runs initdb into a data directory owned by the postgres user when
// running as root (initdb refuses root).
func (p *Postgres) init() error {
	if err := os.Chmod(p.dir, 0o755); err != nil {
		return fmt.Errorf("postgres temp dir: %w", err)
	}
	if err := os.Mkdir(p.dataDir, 0o700); err != nil {
		return fmt.Errorf("postgres data dir: %w", err)
	}
	if os.Geteuid() == 0 {
		cred, err := postgresCredential()
		if err != nil {
			return fmt.Errorf("running as root needs the postgres user to run initdb: %w", err)
		}
		p.cred = cred
		if err := os.Chown(p.dataDir, int(cred.Uid), int(cred.Gid)); err != nil {
			return fmt.Errorf("chown postgres data dir: %w", err)
		}
	}
	cmd := p.command("initdb", "-D", p.dataDir, "-U", "postgres", "-A", "trust", "-E", "UTF8",
		"--locale=C", "--no-sync", "--no-instructions")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, out)
	}
	if p.opts.remoteClients() {
		f, err := os.OpenFile(filepath.Join(p.dataDir, "pg_hba.conf"), os.O_APPEND|os.O_WRONLY, 0)
		if err == nil {
			_, err = f.WriteString("host all all 0.0.0.0/0 trust\nhost all all ::/0 trust\n")
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			return fmt.Errorf("pg_hba.conf: %w", err)
		}
	}
	port, err := freePort(p.opts.listenHost())
	if err != nil {
		return err
	}
	p.port = port
	return nil
}

// postgresCredential is the postgres user's, for the server binaries and
// pgbouncer, which refuse to run as root.
func postgresCredential() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("no postgres user: %w (install: %s)", err, PostgresInstall)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// command builds a command for one of the server binaries, run as the
// postgres user when the test runs as root.
func (p *Postgres) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(p.bin, name), args...)
	cmd.Dir = p.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C", "TZ=UTC")
	if p.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
		cmd.Env = append(cmd.Env, "HOME="+p.dir, "USER=postgres")
	}
	return cmd
}

func (p *Postgres) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.proc != nil && !p.proc.Exited() {
		return nil
	}
	proc, err := p.runServer(p.dataDir, p.port, p.opts.listenHost(), p.logPath, p.ping,
		"shared_buffers=64MB",
		// Streaming replicas (StartReplica): pg_hba.conf from initdb already
		// trusts replication connections from 127.0.0.1; keep enough WAL for a
		// stopped replica to catch up without a slot.
		"wal_level=replica", "max_wal_senders=10", "wal_keep_size=256MB")
	if err != nil {
		return fmt.Errorf("postgres on port %d: %w", p.port, err)
	}
	p.proc = proc
	return nil
}

// runServer starts a postgres server on dataDir with the harness's
// settings and extra ones (-c name=value) and waits until ping answers;
// its output goes to logPath. Primary and replicas share it.
func (p *Postgres) runServer(dataDir string, port int, host, logPath string, ping func(context.Context) error, settings ...string) (*Process, error) {
	args := []string{"-D", dataDir, "-p", strconv.Itoa(port)}
	for _, c := range append([]string{"listen_addresses=" + host, "unix_socket_directories=", "max_connections=200",
		"logging_collector=off", "log_min_messages=warning", "TimeZone=UTC"}, settings...) {
		args = append(args, "-c", c)
	}
	proc, err := StartProcess(p.command("postgres", args...), logPath)
	if err != nil {
		return nil, err
	}
	if err := proc.WaitReady(startTimeout, ping); err != nil {
		_ = proc.Stop(syscall.SIGQUIT, 5*time.Second)
		return nil, err
	}
	return proc, nil
}

func (p *Postgres) ping(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, p.urlFor("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return conn.Ping(ctx)
}

func (p *Postgres) exec(ctx context.Context, db, sql string) error {
	conn, err := pgx.Connect(ctx, p.urlFor(db))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

func (p *Postgres) urlFor(db string) string {
	return fmt.Sprintf("postgres://postgres@%s/%s?sslmode=disable", net.JoinHostPort(p.opts.clientHost(), strconv.Itoa(p.port)), db)
}

// URL is the connection string of the "minibitly" database.
func (p *Postgres) URL() string { return p.urlFor("minibitly") }

// Port is the server's TCP port on 127.0.0.1.
func (p *Postgres) Port() int { return p.port }

// NewDatabase creates a fresh, empty database and returns its URL. It is
// dropped (connections terminated) when t ends.
func (p *Postgres) NewDatabase(t testing.TB) string {
	t.Helper()
	p.mu.Lock()
	p.dbs++
	name := fmt.Sprintf("t%d_%d", os.Getpid(), p.dbs)
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.exec(ctx, "postgres", "CREATE DATABASE "+name); err != nil {
		t.Fatalf("harness: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// Best effort: the server may have been stopped by the test.
		_ = p.exec(ctx, "postgres", "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	return p.urlFor(name)
}

// Stop shuts the server down (fast shutdown: open connections are cut) and
// waits until it has exited. The data directory and port are kept for Start.
func (p *Postgres) Stop(t testing.TB) {
	t.Helper()
	if err := p.stop(); err != nil {
		t.Fatalf("harness: stop postgres: %v", err)
	}
}

func (p *Postgres) stop() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.proc == nil {
		return nil
	}
	err := p.proc.Stop(syscall.SIGINT, 30*time.Second)
	p.proc = nil
	return err
}

// Start restarts a stopped server on the same data directory and port and
// waits until it accepts connections.
func (p *Postgres) Start(t testing.TB) {
	t.Helper()
	if err := p.start(); err != nil {
		t.Fatalf("harness: restart postgres: %v\n%s", err, p.Logs())
	}
}

// Halt is Stop without a test (fault injection from a program).
func (p *Postgres) Halt() error { return p.stop() }

// Relaunch is Start without a test: it restarts a stopped server on the
// same data directory and port; a running server is left alone.
func (p *Postgres) Relaunch() error { return p.start() }

// Logs returns the tail of the server log.
func (p *Postgres) Logs() string { return tailFiles(16<<10, p.logPath) }

// Close stops the server and removes its data directory. It is idempotent.
func (p *Postgres) Close() error {
	err := p.stop()
	if rmErr := os.RemoveAll(p.dir); rmErr != nil && err == nil {
		err = fmt.Errorf("remove postgres dir: %w", rmErr)
	}
	return err
}
