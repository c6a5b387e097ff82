// Package eventlog carries raw visit events (--raw-visits) from the redirect
// hot path to the raw flusher. It is internal/visitlog's ring with another
// slot geometry: Record is lock-free, allocation-free and makes no system
// call; an event is copied into a fixed slot of a bounded multi-producer ring
// (Vyukov's MPMC queue, one consumer) chosen by a stripe hint. A single
// consumer drains the rings, and a drained slot is free at once.
//
// Unlike the visit rings it lives in process memory only: raw events are
// best-effort. A full ring drops the event (counted in Dropped), a crash
// loses the events not drained and written; the visit aggregates, which go
// through internal/visitlog and the journal, stay exact either way.
//
// It imports nothing local.
package eventlog
