// Package actors holds a node's actor layer, System: the near-cache it
// owns, N shard actors (protoactor-go, identity "shard-<i>") that each own
// the links and visit counters of the codes hashing to them, and the
// components around them:
//
//   - loader (loader.go): reads links from the store on a miss, off the
//     shards' goroutines, the misses queued meanwhile in one round trip;
//   - batcher (batcher.go): the single consumer of the gateway's visit log,
//     aggregating per shard and shipping every BatchInterval;
//   - visitSender (sender.go): in a cluster, delivers visit batches of codes
//     owned by other nodes, acknowledged and de-duplicated by (From, Seq);
//   - flusher (flusher.go, breaker.go): writes the shards' aggregates to the
//     visit sink with retry, back-off, a bounded buffer and a circuit
//     breaker;
//   - nodeActor with its inbox state (remote.go, wire.go): the per-node actor
//     "node" that takes lookups, invalidations and visit batches from other
//     nodes over protoactor remote (protobuf in proto/clusterpb);
//   - membershipWatcher (membership.go, acklog.go): reacts to gossip
//     (ownership moves, healed partitions, dead members' visits at risk).
//
// Each actor is a thin adapter over a plain single-threaded state struct
// (shardState, inbox), and each component takes narrow dependencies
// (functions, the sink, its metrics, a clock) instead of the System, so all
// of them are unit-tested without the actor system. Each starts goroutines
// through its own routines starter, which refuses new work once closing
// and is waited for by System.Shutdown.
//
// System satisfies gateway.Resolver and gives the gateway the read side of
// its near-cache:
//
//	sys, _ := actors.New(cfg, deps)
//	sys.Start()
//	gw, _ := gateway.New(gcfg, gateway.Deps{Resolver: sys, Cache: sys.NearCache(), …})
//	e, err := sys.Resolve(ctx, "abc1234") // the near-cache miss path
//	...
//	sys.Shutdown(ctx) // drains the visit log, the shards and the flusher
//
// Entries it returns are shared and immutable. It imports cluster, proto,
// storage and internal packages, never gateway or cmd.
package actors
