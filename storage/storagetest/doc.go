// Package storagetest is the conformance suite every storage backend runs,
// in the manner of etcd raft's rafttest: a backend's own test opens a fresh,
// empty store per subtest and hands it to RunLinkStore, RunKeyStore and
// RunVisits.
//
//	func TestStore(t *testing.T) {
//		storagetest.RunLinkStore(t, func(t *testing.T) storage.LinkStore {
//			s := openEmpty(t) // registers its cleanup with t.Cleanup
//			return s
//		})
//	}
//
// What the suite pins down beyond the interface comments in package storage:
//
//   - Times come back in UTC and equal to what was written once both are
//     truncated to microseconds (PostgreSQL keeps µs). The fixtures carry a
//     sub-microsecond remainder below 500 ns, so rounding and truncating
//     backends agree.
//   - ListLinks orders by CreatedAt descending, then Code descending in
//     byte order (PostgreSQL: COLLATE "C"); every page but the last is full,
//     and the last page's next cursor is "" even when it is exactly full.
//     Cursors are positions (storage.Cursor), so deleting the link a cursor
//     points at does not break the next page.
//   - UpdateLink is atomic: concurrent patches lose no Version bump.
//   - WriteVisits counts a (NodeID, Seq) batch exactly once, whatever the
//     order batches arrive in; Stats follows storage.Aggregator's rules and
//     refuses what storage.ValidateStatsQuery refuses with
//     storage.ErrInvalidQuery.
//
// It imports package storage and the standard library only.
package storagetest
