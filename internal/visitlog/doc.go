// Package visitlog carries visits from the redirect hot path to the batcher
// that aggregates them. Record is lock-free and allocation-free: a visit is
// copied into a slot of a bounded multi-producer ring (Vyukov's MPMC queue,
// one consumer) chosen by a stripe hint. A single consumer drains the rings.
//
// When every ring is full the visit is dropped and counted in Dropped; the
// consumer drains every few milliseconds, so this happens only when the
// process is starved for CPU far beyond its redirect capacity.
//
// It imports nothing local.
package visitlog
