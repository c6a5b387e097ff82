// Package poll is the module's one polling loop: it asks a condition again
// and again until it holds, instead of sleeping for it (STYLE.md: no
// time.Sleep as synchronisation).
//
//   - Until polls until a condition returns nil or a context is done; the
//     harness uses it to wait for servers and nodes to become ready.
//   - Eventually is Until for tests: it fails the test with the condition's
//     last error once the timeout has passed.
//   - Consistently watches a condition for a whole duration and fails the
//     test at its first error: the way to check that something does not
//     happen (a re-join, a merge) instead of sleeping and looking once.
//
// A condition is a func() error: nil means it holds, an error says what was
// seen instead, which is what a failed test prints:
//
//	poll.Eventually(t, 30*time.Second, func() error {
//		if v := n.view(t); v.Alive != 3 {
//			return fmt.Errorf("%s sees %d alive members, want 3", n.name, v.Alive)
//		}
//		return nil
//	})
//
// Conditions run on the calling goroutine, so a condition may call t.Fatal
// to stop at once on an error that waiting cannot cure. The interval between
// calls starts at 10 ms and doubles up to 100 ms.
//
// It imports only the standard library.
package poll
