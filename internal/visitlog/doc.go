// Package visitlog carries visits from the redirect hot path to the batcher
// that aggregates them. Record is lock-free, allocation-free and makes no
// system call: a visit is copied into a slot of a bounded multi-producer ring
// (Vyukov's MPMC queue, one consumer) chosen by a stripe hint. A single
// consumer drains the rings.
//
// Draining and freeing are separate: Drain hands visits on, Commit frees
// their slots once the consumer no longer needs them (CommitDrained frees
// everything drained). A ring is full when all its slots hold uncommitted
// visits; the visit is then dropped and counted in Dropped. The consumer
// drains and commits every few milliseconds, so this happens only when the
// process is starved for CPU far beyond its redirect capacity, or when the
// visits cannot be made durable.
//
// New keeps the rings in process memory. Open keeps them in a journal: a
// file mapped MAP_SHARED, whose pages outlive a killed process in the page
// cache and reach the disk on Sync. Reopened, a journal hands its published,
// uncommitted visits to Drain again, so a visit whose Record returned true
// is counted exactly once if the consumer commits only what is durable
// elsewhere. Slots carry a crc32c; a corrupt slot, a hole, or a file that is
// not a journal of the same geometry is reported (Report) and does not stop
// Open.
//
// It imports nothing local.
package visitlog
