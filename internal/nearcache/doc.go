// Package nearcache is the gateway's bounded, sharded cache of resolved
// links (code → *Entry). Lookups take a shard's read lock, never a global
// one, and allocate nothing: the map is indexed with the request's bytes.
//
// Entries are immutable once published; an update replaces the pointer. The
// actor layer fills the cache on a miss and removes entries on update and
// delete; a TTL bounds how long a stale entry can live when an invalidation
// is lost (across nodes).
//
// It imports nothing local.
package nearcache
