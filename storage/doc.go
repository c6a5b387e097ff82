// Package storage defines the records of Mini Bitly (Link, APIKey, VisitBatch,
// Stats), the interfaces the rest of the service needs from a backend
// (LinkStore, KeyStore, VisitSink, StatsReader, Pinger) and the sentinel errors
// they return (ErrNotFound, ErrConflict, ErrUnavailable, ErrInvalidCursor).
//
// Backends live beside it and never import each other: storage/embedded
// (bbolt, the zero-setup default), storage/postgres (links and keys),
// storage/clickhouse (visit aggregates). storage/storagetest is the
// conformance suite every backend runs.
//
// This package imports the standard library only.
package storage
