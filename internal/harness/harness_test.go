package harness

import (
	"context"
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
