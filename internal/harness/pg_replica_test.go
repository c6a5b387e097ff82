package harness

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// A row written on the primary reaches the replica; with replay paused it
// does not; through pgbouncer the primary answers.
func TestReplica_StreamsPausesAndPools(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real PostgreSQL servers")
	}
	pg := StartPostgres(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	primary, err := pgx.Connect(ctx, pg.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer primary.Close(ctx)
	if _, err := primary.Exec(ctx, "CREATE TABLE t (v int)"); err != nil {
		t.Fatal(err)
	}
	r := pg.StartReplica(t)
	count := func(url string) int {
		t.Helper()
		c, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		var n int
		if err := c.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if _, err := primary.Exec(ctx, "INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	r.WaitCaughtUp(t)
	if n := count(r.URL()); n != 1 {
		t.Fatalf("replica rows = %d, want 1", n)
	}
	r.PauseReplay(t)
	if _, err := primary.Exec(ctx, "INSERT INTO t VALUES (2)"); err != nil {
		t.Fatal(err)
	}
	if n := count(r.URL()); n != 1 {
		t.Fatalf("paused replica rows = %d, want 1", n)
	}
	r.ResumeReplay(t)
	r.WaitCaughtUp(t)
	if n := count(r.URL()); n != 2 {
		t.Fatalf("resumed replica rows = %d, want 2", n)
	}
	b := StartPgBouncer(t, pg.Port())
	if n := count(b.URLOf(t, pg.URL())); n != 2 {
		t.Fatalf("rows through pgbouncer = %d, want 2", n)
	}
	r.Stop(t)
	r.Start(t)
	r.WaitCaughtUp(t)
}
