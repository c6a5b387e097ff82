// Package gateway is the HTTP front of a node (fasthttp): the redirect hot
// path (GET|HEAD /{code}), the JSON API under /api/v1 with API-key auth and
// its OpenAPI document, /health, /ready and /metrics.
//
// It owns request parsing, validation, the mapping of errors to HTTP
// statuses (errors.go, one function) and the per-key API rate limit. It
// declares the small interface it needs from the actor layer (Resolver) and
// uses the storage interfaces; it imports storage and internal packages
// only, never actors, cluster or cmd.
//
// The redirect of a near-cached code allocates nothing, takes no global
// lock, does no I/O and logs nothing (TestServer_CachedRedirectAllocatesNothing).
//
//	srv, _ := gateway.New(gateway.DefaultConfig(), gateway.Deps{…})
//	go srv.Serve(ln)
//	…
//	srv.Shutdown(ctx)
package gateway
