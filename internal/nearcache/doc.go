// Package nearcache is the gateway's bounded, sharded cache of resolved
// links (code → *Entry). Lookups take a shard's read lock, never a global
// one, and allocate nothing: the map is indexed with the request's bytes.
//
// Entries are immutable once published and shared by every reader; an
// update replaces the pointer, and the TTL deadline of a publication lives
// in the cache's slot beside the pointer, never in the entry.
//
// One owner: the actor layer (actors.System) creates the cache, fills it on
// a miss and removes entries on update and delete; the gateway only reads
// it, through nearcache.Reader (gateway.Deps.Cache). A TTL bounds how long
// a stale entry can live when an invalidation is lost (across nodes).
//
// It imports nothing local.
package nearcache
