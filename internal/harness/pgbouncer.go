package harness

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PgBouncerInstall is the command that installs the pooler.
const PgBouncerInstall = "apt-get update && apt-get install -y pgbouncer"

// PgBouncer is a pgbouncer in transaction-pooling mode on 127.0.0.1 in
// front of one PostgreSQL server (any database name is passed through).
// Clients must not rely on session state or named prepared statements
// (pgbouncer before 1.21 does not track them): use URL, which asks pgx for
// QueryExecModeExec.
type PgBouncer struct {
	dir     string
	logPath string
	port    int
	proc    *Process
}

// PgBouncerPoolSize is default_pool_size: server connections per
// (database, user), kept small so tests exercise the sharing.
const PgBouncerPoolSize = 4

// StartPgBouncer starts pgbouncer in front of the server at targetPort on
// 127.0.0.1 (a Postgres's or a Replica's Port) and stops it when t ends.
// As root it runs as the postgres user (pgbouncer refuses root).
func StartPgBouncer(t testing.TB, targetPort int) *PgBouncer {
	t.Helper()
	bin, err := exec.LookPath("pgbouncer")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/pgbouncer"); serr != nil {
			t.Fatalf("harness: pgbouncer not found on PATH or in /usr/sbin; install it: %s", PgBouncerInstall)
		}
		bin = "/usr/sbin/pgbouncer"
	}
	dir, err := os.MkdirTemp("", "minibitly-pgbouncer-")
	if err != nil {
		t.Fatalf("harness: pgbouncer temp dir: %v", err)
	}
	b := &PgBouncer{dir: dir, logPath: filepath.Join(dir, "pgbouncer.log")}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(b.Logs())
		}
		if b.proc != nil {
			if err := b.proc.Stop(syscall.SIGINT, 10*time.Second); err != nil {
				t.Errorf("harness: stop pgbouncer: %v", err)
			}
		}
		_ = os.RemoveAll(dir)
	})
	if b.port, err = freePort("127.0.0.1"); err != nil {
		t.Fatalf("harness: %v", err)
	}
	ini := fmt.Sprintf(`[databases]
* = host=127.0.0.1 port=%d

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = trust
auth_file = %s
pool_mode = transaction
max_client_conn = 1000
default_pool_size = %d
reserve_pool_size = 0
ignore_startup_parameters = extra_float_digits
server_reset_query =
server_check_delay = 1
logfile =
pidfile =
log_connections = 0
log_disconnections = 0
`, targetPort, b.port, filepath.Join(dir, "userlist.txt"), PgBouncerPoolSize)
	// No max_prepared_statements: 1.21's setting, which 1.18 (Debian 12)
	// refuses as unknown.
	files := map[string]string{"pgbouncer.ini": ini, "userlist.txt": `"postgres" ""` + "\n"}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatalf("harness: write %s: %v", name, err)
		}
	}
	cmd := exec.Command(bin, filepath.Join(dir, "pgbouncer.ini"))
	cmd.Dir = dir
	if os.Geteuid() == 0 {
		cred, err := postgresCredential()
		if err != nil {
			t.Fatalf("harness: pgbouncer refuses to run as root and %v", err)
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatalf("harness: %v", err)
		}
	}
	if b.proc, err = StartProcess(cmd, b.logPath); err != nil {
		t.Fatalf("harness: pgbouncer: %v", err)
	}
	if err := b.proc.WaitReady(startTimeout, b.ping); err != nil {
		t.Fatalf("harness: pgbouncer on port %d: %v\n%s", b.port, err, b.Logs())
	}
	return b
}

func (b *PgBouncer) ping(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, b.urlFor("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "SELECT 1")
	return err
}

func (b *PgBouncer) urlFor(db string) string {
	return fmt.Sprintf("postgres://postgres@%s/%s?sslmode=disable&default_query_exec_mode=exec",
		net.JoinHostPort("127.0.0.1", strconv.Itoa(b.port)), db)
}

// Port is pgbouncer's TCP port on 127.0.0.1.
func (b *PgBouncer) Port() int { return b.port }

// URLOf turns a URL of a database on the target server into the same
// database through the pooler, with default_query_exec_mode=exec.
func (b *PgBouncer) URLOf(t testing.TB, serverURL string) string {
	t.Helper()
	u, err := url.Parse(serverURL)
	if err != nil {
		t.Fatalf("harness: parse %q: %v", serverURL, err)
	}
	u.Host = net.JoinHostPort("127.0.0.1", strconv.Itoa(b.port))
	q := u.Query()
	q.Set("default_query_exec_mode", "exec")
	u.RawQuery = q.Encode()
	return u.String()
}

// Logs returns the tail of pgbouncer's log.
func (b *PgBouncer) Logs() string { return tailFiles(16<<10, b.logPath) }
