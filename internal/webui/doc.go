// Package webui holds the built web UI (dist/, made from ../../ui by
// `make ui` and committed, so building the binary needs no Node) and serves
// nothing itself: the gateway reads Assets once at start and answers /ui/
// from memory.
//
// dist/ is what esbuild writes: index.html (not hashed: always revalidated)
// and assets/*-HASH.{js,css} (content-hashed: cached for a year). The
// package imports only the standard library.
package webui
