// Command minibitly runs a Mini Bitly node: redirects, the link API, visit
// counting and flushing, and (with --gossip-addr) cluster membership.
//
// This package is the only place that reads flags and the environment
// (every flag has a MINIBITLY_* variable). Flags are bound to the packages'
// Config structs filled by their DefaultConfig (defaultConfig in config.go),
// so a default is written once; --help lists them by subsystem. It wires
// the stores, the actor layer, the cluster and the gateway together
// (buildProcess) and owns the shutdown order: stop accepting HTTP → leave
// the cluster → drain actors and flush visits → close the stores. Subcommands:
// serve (default), keys, migrate.
package main
