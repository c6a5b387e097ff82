#!/bin/sh
# Regenerates proto/clusterpb from proto/*.proto. Needs protoc (Debian:
# protobuf-compiler) and protoc-gen-go at the version go.mod pins.
set -eu
cd "$(dirname "$0")/.."
command -v protoc >/dev/null 2>&1 || { echo "protoc missing: apt-get install -y protobuf-compiler" >&2; exit 1; }
ver=$(go list -m -f '{{.Version}}' google.golang.org/protobuf)
bin="$(go env GOPATH)/bin"
[ -x "$bin/protoc-gen-go" ] && "$bin/protoc-gen-go" --version 2>/dev/null | grep -q "$ver" || \
  GOBIN="$bin" go install "google.golang.org/protobuf/cmd/protoc-gen-go@$ver"
PATH="$bin:$PATH" protoc -I proto --go_out=. --go_opt=module=github.com/minibitly/minibitly proto/cluster.proto
