# Mini Bitly. `make run` serves a single node on :8080 with the embedded
# store; `make test` installs what the tests need and runs every test.

GO       ?= go
BIN      ?= bin/minibitly
# A development-only API key so the README's curl walk-through works at once.
# Set MINIBITLY_INITIAL_API_KEY yourself for anything real.
DEV_KEY  ?= mb_dev_only_change_me
TESTFLAGS ?=

.PHONY: all build run test test-short deps vet fmt bench bench-go bench-storage bench-load bench-perf proto proto-check cluster clean ui ui-check fuzz chaos

all: build

build:
	$(GO) build -o $(BIN) ./cmd/minibitly

run:
	MINIBITLY_INITIAL_API_KEY=$${MINIBITLY_INITIAL_API_KEY:-$(DEV_KEY)} $(GO) run ./cmd/minibitly

# deps installs the servers the integration tests start (PostgreSQL 15 server
# binaries, ClickHouse from Debian), protoc for proto-check and wrk for
# `make bench`, when missing.
deps:
	@./scripts/install-deps.sh

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }

# proto-check fails when proto/clusterpb is not what `make proto` makes from
# proto/*.proto: it regenerates into a temporary directory and diffs.
proto-check: deps
	@./scripts/check-proto.sh

test: deps vet proto-check
	$(GO) test -race -count=1 -timeout 20m $(TESTFLAGS) ./...

# Quick edit loop: skips the tests that start real servers and processes.
test-short:
	$(GO) test -short -count=1 ./...

bench: bench-go bench-storage bench-load bench-perf

# Every fuzz target for FUZZTIME each (`make test` runs their seed corpora).
fuzz:
	FUZZTIME=$(or $(FUZZTIME),10s) GO=$(GO) ./scripts/fuzz.sh

bench-go:
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./gateway/ ./internal/... ./actors/

# Storage figures against real servers: creates/s on PostgreSQL (group
# commit) and, in ClickHouse, issue 11's scale benchmark: p50/p99 of the
# reads over 100M generated aggregate rows (~1B visits; see docs/storage.md).
bench-storage: deps
	$(GO) test -run '^$$' -bench CreateLink -benchtime=3s ./storage/postgres/
	$(GO) test -run '^$$' -bench 'BenchmarkStore_Scale$$' -benchtime=1x -timeout 90m -v ./storage/clickhouse/

bench-load: deps
	./bench/run.sh

# bench-perf: issue 13's table (throughput, CPU per request, RSS, heap per
# link, cold misses and creates on the embedded store and PostgreSQL), node
# against bench/bare in the same run; LINKS, ROUNDS, DURATION (bench/perf.sh).
bench-perf: deps
	./bench/perf.sh

# chaos: PostgreSQL, ClickHouse and three nodes under a campaign load, five
# faults one after another (SIGKILL + restart, SIGSTOP, ClickHouse down,
# PostgreSQL down, graceful leave + join); fails on a lost or double-counted
# visit or an unexpected 5xx. About 3 minutes; docs/chaos.md.
chaos: deps
	$(GO) run ./bench/chaos -duration-per-phase 20s

proto:
	./scripts/genproto.sh

# ui rebuilds the web UI (ui/, preact + htm + uPlot) into the committed
# internal/webui/dist with the toolchain pinned in ui/package-lock.json
# (esbuild). Only needed after editing ui/: go build embeds what is committed.
ui:
	cd ui && npm ci --no-audit --no-fund && node build.mjs

# ui-check fails when internal/webui/dist is not what `make ui` makes from
# ui/ (the build is reproducible): it rebuilds into a temporary directory
# and diffs. Needs node and npm.
ui-check:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	cd ui && npm ci --no-audit --no-fund --silent && UI_OUT="$$tmp/" node build.mjs >/dev/null && \
	diff -r "$$tmp" ../internal/webui/dist && echo "internal/webui/dist is current"

clean:
	rm -rf bin data

# cluster: PostgreSQL, ClickHouse and three nodes on 127.0.0.1-3 for trying
# the cluster by hand (Ctrl-C stops everything).
cluster: build deps
	$(GO) run ./scripts/devcluster --bin $(BIN)
