// Package proctest builds the minibitly binary and runs it as a real process
// for integration tests: free loopback ports, temp data dirs, readiness
// polling, SIGTERM/SIGKILL, and captured logs shown on failure.
package proctest
