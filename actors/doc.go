// Package actors holds the per-node actor layer: N shard actors
// (protoactor-go, identity "shard-<i>") that each own the links and visit
// counters of the codes hashing to them, the batcher that moves visits from
// the gateway's lock-free visit log to the shards, and the flusher that
// writes the shards' aggregates to the visit sink with retry, back-off, a
// bounded buffer and a circuit breaker.
//
// Each actor is a thin adapter over a plain single-threaded state struct
// (shardState) that is unit-tested without the actor system.
//
// Node ties them together and satisfies gateway.Resolver:
//
//	n, _ := actors.New(cfg, deps)
//	n.Start()
//	e, err := n.Resolve(ctx, "abc1234") // near-cache miss path
//	...
//	n.Shutdown(ctx) // drains the visit log, the shards and the flusher
//
// It imports storage and internal packages, never gateway or cmd.
package actors
