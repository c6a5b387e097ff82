// Package embedded is the zero-setup storage backend of a single node: links,
// API keys and visit aggregates in one bbolt file, so minibitly with no
// configuration serves everything, stats included. A cluster needs
// storage/postgres instead (links must be shared between nodes).
//
// One *Store implements storage.LinkStore, KeyStore, VisitSink, StatsReader
// and Pinger. bbolt locks the file: a second process that opens it fails
// after Config.OpenTimeout.
//
//	s, err := embedded.Open(embedded.DefaultConfig())
//	if err != nil { ... }
//	defer s.Close()
//
// Layout (all integers big-endian; times are UTC, truncated to microseconds
// like PostgreSQL's):
//
//	links      code → JSON record; a deleted link stays as a tombstone so
//	           its code is never reused
//	links_time flip(createdAt ns) ‖ code → ∅, walked backwards for
//	           newest-first listing (CreatedAt desc, then Code desc)
//	links_tag  uvarint(len tag) ‖ tag ‖ flip(createdAt ns) ‖ code → ∅
//	keys       id → JSON APIKey;  keys_hash  hash → id
//	visits     code ‖ 0x00 ‖ flip(minute) ‖ dims → uint64 count, where
//	           dims are five uvarint-length-prefixed strings (referrer,
//	           device, browser, OS, country) and a bot byte
//	totals     code → uint64, every visit of the code
//	batches    node ID → bucket of applied Seq → ∅ (see WriteVisits)
//
// flip(x) is uint64(x) with the sign bit inverted, so signed values sort in
// byte order.
//
// It imports package storage, bbolt and the standard library only.
package embedded
