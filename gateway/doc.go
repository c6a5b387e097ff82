// Package gateway is the HTTP front of a node (fasthttp): the redirect hot
// path (GET|HEAD /{code}), the JSON API under /api/v1 with API-key auth and
// its OpenAPI document, the cluster view (/api/v1/cluster), a Bitly API v4
// subset under /v4 (bitly*.go: Bitly's shapes and errors over the same link
// functions, validation and stats), CORS for the API prefixes (cors.go),
// /health, /ready and /metrics; and for browsers (web.go) the QR code of a
// link (/{code}/qr-code, qrcode.go), the web UI under /ui/ (the embedded
// build of internal/webui) and / redirecting to it.
//
// It owns request parsing, validation, the per-key API rate limit and the
// mapping of errors to HTTP statuses and JSON error codes: one function,
// toAPIError in errors.go, maps every error the gateway answers with (API
// and cluster routes, redirects, bulk items, requests fasthttp cannot
// read), and writeError writes them (writeBitlyError, for /v4, turns the
// same answer into Bitly's body). It declares the small interfaces it
// needs from the layers below, Resolver (the actor layer) and Cluster (the
// membership, or SingleNode), and uses the storage interfaces; it imports
// storage and internal packages only, never actors, cluster or cmd.
//
// Request bodies are streamed and read only after the API key is checked
// and the route matched, in bounded steps up to MaxBodyBytes (preauth.go);
// connections are capped in total and per client IP (connlimit.go).
//
// The redirect of a near-cached code allocates nothing, takes no global
// lock, does no I/O and logs nothing (TestServer_CachedRedirectAllocatesNothing).
//
//	srv, _ := gateway.New(gateway.DefaultConfig(), gateway.Deps{…})
//	go srv.Serve(ln)
//	…
//	srv.Shutdown(ctx)
package gateway
