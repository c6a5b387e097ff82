// Package harness is the module's test harness: it runs the real processes
// that integration tests need (throwaway PostgreSQL and ClickHouse servers
// and the minibitly binary itself, alone or as a multi-process cluster), and
// holds the one polling loop tests use instead of sleeping.
//
// Polling (poll.go): a condition is a func() error, nil when it holds, else
// what was seen instead. Eventually polls it until it holds and fails the
// test with its last error once the timeout has passed; Consistently polls
// it for a whole duration and fails at its first error (to check that
// something does not happen, instead of sleeping and looking once); Until is
// the loop itself, bounded by a context, for code without a test. The wait
// between two calls starts at 10 ms and doubles up to 100 ms. Conditions run
// on the calling goroutine, so one may call t.Fatal to stop at once on an
// error that waiting cannot cure:
//
//	harness.Eventually(t, 30*time.Second, func() error {
//		if got := n.view(t).Alive; got != 3 {
//			return fmt.Errorf("%s sees %d alive members, want 3", n.name, got)
//		}
//		return nil
//	})
//
// Processes (proc.go): one runner, Process, starts every child: output
// appended to a log file whose tail is printed when a test fails, killed
// with the test binary if it dies first (Pdeathsig), stopped by a signal
// with a grace period, and polled until ready. On top of it:
//
//   - Postgres: initdb + postgres from /usr/lib/postgresql/*/bin, run as the
//     postgres user when the test runs as root. ClickHouse: Debian's
//     clickhouse-server as a plain process. Each gets its own temporary data
//     directory and a random port (loopback unless Options say otherwise),
//     and is stopped and removed when the test (or TestMain) ends. Stop and
//     Start stop and restart a server on the same data directory and port
//     for fault tests; NewDatabase gives each test its own database.
//   - Replica (pg_replica.go): Postgres.StartReplica copies a server with
//     pg_basebackup -R -X stream and runs it as a hot standby on its own
//     port; PauseReplay and ResumeReplay make it lag on purpose (it keeps
//     answering with old rows), WaitCaughtUp waits for replay, Stop and
//     Start as for the primary. PgBouncer (pgbouncer.go): StartPgBouncer
//     runs Debian's pgbouncer in transaction-pooling mode in front of a
//     server, as the postgres user (it refuses root); URLOf gives a URL
//     through it with default_query_exec_mode=exec.
//   - ClickHouseCluster: a ZooKeeper (Debian's zookeeperd jars as a plain
//     java process) and shards × replicas ClickHouse servers with
//     remote_servers, macros and distributed DDL, for replicated-table
//     tests; Stop and Start of one server as above.
//   - Node: one minibitly process (Binary builds ./cmd/minibitly once per
//     test binary, with -race when the test has it), ready once GET /ready
//     answers 200; Stop sends SIGTERM and fails the test on a non-zero exit,
//     Kill sends SIGKILL, Pause and Resume send SIGSTOP and SIGCONT, and
//     StartWith restarts it (same --data-dir) with flags added for that
//     start. Client and Do talk HTTP to it.
//
// Fault programs without a testing.TB (bench/chaos) use BuildBinary,
// LaunchNode and Node.Relaunch, and Halt and Relaunch of the servers.
//
// A missing server binary is a test failure naming the install command, never
// a skip. Callers may skip under testing.Short() for a quick edit loop; CI
// never uses -short.
//
// Per test:
//
//	pg := harness.StartPostgres(t) // stopped by t.Cleanup
//	cfg := postgres.DefaultConfig()
//	cfg.URL = pg.URL()
//	store, err := postgres.Open(ctx, cfg)
//
//	addr := fmt.Sprintf("127.0.0.1:%d", harness.FreePort(t, "127.0.0.1"))
//	n := harness.StartNode(t, harness.NodeConfig{Name: "n1", HTTPAddr: addr,
//		Args: []string{"--http-addr", addr, "--data-dir", t.TempDir()}}) // killed by t.Cleanup
//	n.Stop(t) // SIGTERM; n.Start(t) starts it again
//
// One server per test binary (cheaper): NewShared starts one on first use and
// RunAndClose closes it from TestMain. LaunchPostgres, LaunchClickHouse and
// LaunchNode start one without a testing.TB (TestMain, scripts/devcluster);
// the caller must Close it.
//
// The package imports only the standard library and the database drivers;
// it must not import other packages of this module.
package harness
