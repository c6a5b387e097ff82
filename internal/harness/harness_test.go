package harness

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/jackc/pgx/v5"
)

func TestPostgres_StopStart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real PostgreSQL server")
	}
	pg := StartPostgres(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	query := func() error {
		conn, err := pgx.Connect(ctx, pg.URL())
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		var n int
		return conn.QueryRow(ctx, "SELECT 1").Scan(&n)
	}
	if err := query(); err != nil {
		t.Fatalf("query: %v", err)
	}
	pg.Stop(t)
	if err := query(); err == nil {
		t.Fatal("query succeeded on a stopped server")
	}
	pg.Start(t)
	if err := query(); err != nil {
		t.Fatalf("query after restart: %v", err)
	}
	other := pg.NewDatabase(t)
	conn, err := pgx.Connect(ctx, other)
	if err != nil {
		t.Fatalf("connect to new database: %v", err)
	}
	conn.Close(ctx)
}

func TestClickHouse_StopStart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real ClickHouse server")
	}
	ch := StartClickHouse(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	query := func() error {
		conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{ch.Addr()}, DialTimeout: time.Second})
		if err != nil {
			return err
		}
		defer conn.Close()
		var v string
		return conn.QueryRow(ctx, "SELECT version()").Scan(&v)
	}
	if err := query(); err != nil {
		t.Fatalf("query: %v", err)
	}
	ch.Stop(t)
	if err := query(); err == nil {
		t.Fatal("query succeeded on a stopped server")
	}
	ch.Start(t)
	if err := query(); err != nil {
		t.Fatalf("query after restart: %v", err)
	}
}

func TestProcess_WaitReady(t *testing.T) {
	tests := map[string]struct {
		script  string
		ready   func(ctx context.Context) error
		wantErr string // substring; "" = ready
		wantLog string // substring of the process's log
	}{
		"ready":              {script: "exec sleep 30", ready: func(context.Context) error { return nil }},
		"exits during start": {script: "echo boom; exit 3", ready: func(context.Context) error { return errors.New("no") }, wantErr: "exited during start: exit status 3", wantLog: "boom"},
		"never ready":        {script: "exec sleep 30", ready: func(context.Context) error { return errors.New("not yet") }, wantErr: "not ready within 200ms"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			log := filepath.Join(t.TempDir(), "log")
			p, err := StartProcess(exec.Command("sh", "-c", tc.script), log)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Kill()
			err = p.WaitReady(200*time.Millisecond, tc.ready)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("WaitReady = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("WaitReady = %v, want %q", err, tc.wantErr)
			}
			if !strings.Contains(tailFiles(1<<10, log), tc.wantLog) {
				t.Fatalf("log of the process: %q", tailFiles(1<<10, log))
			}
		})
	}
}

func TestProcess_Stop(t *testing.T) {
	start := func(t *testing.T, script string) *Process {
		t.Helper()
		p, err := StartProcess(exec.Command("sh", "-c", script), filepath.Join(t.TempDir(), "log"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Kill)
		return p
	}
	t.Run("exits on the signal", func(t *testing.T) {
		p := start(t, "exec sleep 30")
		if err := p.Stop(syscall.SIGTERM, 10*time.Second); err != nil || !p.Exited() {
			t.Fatalf("Stop = %v, exited %v", err, p.Exited())
		}
		if err := p.Stop(syscall.SIGTERM, time.Second); err != nil {
			t.Fatalf("second Stop = %v", err)
		}
	})
	t.Run("killed after the grace period", func(t *testing.T) {
		log := filepath.Join(t.TempDir(), "log")
		p, err := StartProcess(exec.Command("sh", "-c", `trap "" TERM; echo trapped; exec sleep 30`), log)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Kill)
		// SIGTERM only once the shell ignores it.
		if err := p.WaitReady(10*time.Second, func(context.Context) error {
			if !strings.Contains(tailFiles(1<<10, log), "trapped") {
				return errors.New("trap not set yet")
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		err = p.Stop(syscall.SIGTERM, 200*time.Millisecond)
		if err == nil || !strings.Contains(err.Error(), "killed") || !p.Exited() {
			t.Fatalf("Stop of a process ignoring SIGTERM = %v, exited %v", err, p.Exited())
		}
	})
}
