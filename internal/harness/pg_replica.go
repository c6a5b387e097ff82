package harness

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Replica is a streaming hot standby of a harness Postgres: a copy taken
// with pg_basebackup -R -X stream, running on its own port on 127.0.0.1. It
// holds every database of the primary, read-only, as far as it has
// replayed.
type Replica struct {
	primary *Postgres
	dataDir string
	logPath string
	port    int

	mu   sync.Mutex
	proc *Process
}

// StartReplica copies p with pg_basebackup and starts the copy as a hot
// standby streaming from p. It is stopped when t ends (its data directory is
// under p's and goes with it).
func (p *Postgres) StartReplica(t testing.TB) *Replica {
	t.Helper()
	r, err := p.launchReplica()
	if err != nil {
		t.Fatalf("harness: replica: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(r.Logs())
		}
		if err := r.stop(); err != nil {
			t.Errorf("harness: stop replica: %v", err)
		}
		_ = os.RemoveAll(r.dataDir)
	})
	return r
}

func (p *Postgres) launchReplica() (*Replica, error) {
	p.mu.Lock()
	p.dbs++
	n := p.dbs
	p.mu.Unlock()
	r := &Replica{
		primary: p,
		dataDir: filepath.Join(p.dir, fmt.Sprintf("replica%d", n)),
		logPath: filepath.Join(p.dir, fmt.Sprintf("replica%d.log", n)),
	}
	if err := os.Mkdir(r.dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("replica data dir: %w", err)
	}
	if p.cred != nil {
		if err := os.Chown(r.dataDir, int(p.cred.Uid), int(p.cred.Gid)); err != nil {
			return nil, fmt.Errorf("chown replica data dir: %w", err)
		}
	}
	cmd := p.command("pg_basebackup", "-R", "-X", "stream", "-c", "fast", "--no-sync",
		"-D", r.dataDir, "-h", p.opts.clientHost(), "-p", strconv.Itoa(p.port), "-U", "postgres")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("pg_basebackup: %w\n%s", err, out)
	}
	port, err := freePort("127.0.0.1")
	if err != nil {
		return nil, err
	}
	r.port = port
	if err := r.start(); err != nil {
		return nil, fmt.Errorf("%w\n%s", err, r.Logs())
	}
	return r, nil
}

func (r *Replica) start() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.proc != nil && !r.proc.Exited() {
		return nil
	}
	proc, err := r.primary.runServer(r.dataDir, r.port, "127.0.0.1", r.logPath, r.ping,
		"shared_buffers=32MB", "hot_standby=on",
		// Queries on the standby are not cancelled by replay for a while
		// (recovery conflicts), as on a production standby.
		"max_standby_streaming_delay=30s", "hot_standby_feedback=on")
	if err != nil {
		return fmt.Errorf("replica on port %d: %w", r.port, err)
	}
	r.proc = proc
	return nil
}

func (r *Replica) ping(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, r.urlFor("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var standby bool
	if err := conn.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&standby); err != nil {
		return err
	}
	if !standby {
		return fmt.Errorf("replica on port %d is not in recovery", r.port)
	}
	return nil
}

func (r *Replica) stop() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.proc == nil {
		return nil
	}
	err := r.proc.Stop(syscall.SIGINT, 30*time.Second)
	r.proc = nil
	return err
}

func (r *Replica) urlFor(db string) string {
	return fmt.Sprintf("postgres://postgres@%s/%s?sslmode=disable", net.JoinHostPort("127.0.0.1", strconv.Itoa(r.port)), db)
}

// URL is the connection string of the "minibitly" database on the replica.
func (r *Replica) URL() string { return r.urlFor("minibitly") }

// Port is the replica's TCP port on 127.0.0.1.
func (r *Replica) Port() int { return r.port }

// URLOf turns a URL of a database on the primary (e.g. from NewDatabase)
// into the same database on the replica.
func (r *Replica) URLOf(t testing.TB, primaryURL string) string {
	t.Helper()
	u, err := url.Parse(primaryURL)
	if err != nil {
		t.Fatalf("harness: parse %q: %v", primaryURL, err)
	}
	u.Host = net.JoinHostPort("127.0.0.1", strconv.Itoa(r.port))
	return u.String()
}

// Stop shuts the replica down (fast shutdown) and waits for the exit; Start
// brings it back on the same port, where it catches up from the primary.
func (r *Replica) Stop(t testing.TB) {
	t.Helper()
	if err := r.stop(); err != nil {
		t.Fatalf("harness: stop replica: %v", err)
	}
}

// Start restarts a stopped replica and waits until it accepts reads.
func (r *Replica) Start(t testing.TB) {
	t.Helper()
	if err := r.start(); err != nil {
		t.Fatalf("harness: restart replica: %v\n%s", err, r.Logs())
	}
}

// PauseReplay stops applying WAL on the replica (pg_wal_replay_pause): it
// keeps answering, with the data as of the pause — real lag to a reader.
func (r *Replica) PauseReplay(t testing.TB) {
	t.Helper()
	r.exec(t, "SELECT pg_wal_replay_pause()")
	// pg_wal_replay_pause only requests the pause; wait until it holds.
	r.poll(t, "replay paused", func(ctx context.Context, c *pgx.Conn) error {
		var state string
		if err := c.QueryRow(ctx, "SELECT pg_get_wal_replay_pause_state()").Scan(&state); err != nil {
			return err
		}
		if state != "paused" {
			return fmt.Errorf("pause state %q", state)
		}
		return nil
	})
}

// ResumeReplay undoes PauseReplay.
func (r *Replica) ResumeReplay(t testing.TB) {
	t.Helper()
	r.exec(t, "SELECT pg_wal_replay_resume()")
}

// WaitCaughtUp waits until the replica has replayed everything the primary
// had written when it was called (e.g. a database just created).
func (r *Replica) WaitCaughtUp(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pc, err := pgx.Connect(ctx, r.primary.urlFor("postgres"))
	if err != nil {
		t.Fatalf("harness: connect to primary: %v", err)
	}
	defer pc.Close(ctx)
	var lsn string
	if err := pc.QueryRow(ctx, "SELECT pg_current_wal_lsn()::text").Scan(&lsn); err != nil {
		t.Fatalf("harness: primary wal lsn: %v", err)
	}
	r.poll(t, "replayed "+lsn, func(ctx context.Context, c *pgx.Conn) error {
		var ok bool
		if err := c.QueryRow(ctx, "SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", lsn).Scan(&ok); err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("not yet")
		}
		return nil
	})
}

func (r *Replica) exec(t testing.TB, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, r.urlFor("postgres"))
	if err != nil {
		t.Fatalf("harness: connect to replica: %v", err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, sql); err != nil {
		t.Fatalf("harness: replica %s: %v", sql, err)
	}
}

func (r *Replica) poll(t testing.TB, what string, f func(context.Context, *pgx.Conn) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, r.urlFor("postgres"))
	if err != nil {
		t.Fatalf("harness: connect to replica: %v", err)
	}
	defer c.Close(ctx)
	if err := Until(ctx, func() error { return f(ctx, c) }); err != nil {
		t.Fatalf("harness: replica %s: %v", what, err)
	}
}

// Logs returns the tail of the replica's log.
func (r *Replica) Logs() string { return tailFiles(16<<10, r.logPath) }
