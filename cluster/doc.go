// Package cluster is Mini Bitly's membership and placement layer.
//
// It owns three things:
//
//   - gossip membership with hashicorp/memberlist (Node): who is in the cluster, with
//     each member's HTTP and actor-remote address carried in memberlist node metadata;
//   - placement (Placement): which live member owns a short code, decided by rendezvous
//     (highest-random-weight) hashing so that every node with the same member set gives
//     the same answer and a join moves only about 1/n of the codes;
//   - the re-join loop that heals partitions memberlist alone never re-merges
//     (hashicorp/memberlist#222): a node that knows of dead members, or whose seeds are not
//     all alive members, joins them again every Config.RejoinInterval.
//
// The package imports no other package of this module; actors and cmd import it.
//
// Membership state is built only from memberlist's event-delegate callbacks (copied while
// memberlist holds its node lock), never from memberlist.Members(): that call must not be
// made inside a callback (deadlock) and returns pointers into state memberlist keeps
// changing (a data race). A callback records the change and signals a goroutine, which
// rebuilds the Placement, publishes it through an atomic pointer and then signals Changes.
//
// Usage:
//
//	cfg := cluster.DefaultConfig()
//	cfg.NodeName, cfg.BindAddr, cfg.Join = "n1", "0.0.0.0:7946", []string{"minibitly-gossip"}
//	cfg.HTTPAddr, cfg.RemoteAddr = "10.0.0.5:8080", "10.0.0.5:8090"
//	node, err := cluster.New(cfg, prometheus.DefaultRegisterer)
//	...
//	if err := node.Start(ctx); err != nil { ... }
//	defer node.Shutdown()
//	owner := node.Placement().Owner(code) // lock-free, zero allocations
//	for range node.Changes() { /* hand over codes whose owner changed */ }
//	...
//	node.Leave(5 * time.Second) // on SIGTERM, before Shutdown
package cluster
