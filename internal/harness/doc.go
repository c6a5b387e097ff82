// Package harness starts real, throwaway database servers for tests:
// PostgreSQL (initdb + postgres from /usr/lib/postgresql/*/bin, run as the
// postgres user when the test runs as root) and ClickHouse (Debian's
// clickhouse-server as a plain process). Each server gets its own temporary
// data directory and random loopback ports, is polled until it answers, logs
// to a file whose tail is printed when a test fails, and is stopped and
// removed when the test (or TestMain) ends.
//
// A missing server binary is a test failure naming the install command, never
// a skip. Callers may skip under testing.Short() for a quick edit loop; CI
// never uses -short.
//
// Per test:
//
//	pg := harness.StartPostgres(t) // stopped by t.Cleanup
//	store, err := postgres.Open(ctx, postgres.Config{URL: pg.URL()})
//
// One server per package (cheaper): LaunchPostgres / LaunchClickHouse return a
// server without a testing.TB; TestMain closes it after m.Run. Stop and Start
// stop and restart a server on the same data directory and port for fault
// tests.
//
// The package imports only the standard library and the database drivers; it
// must not import other packages of this module.
package harness
