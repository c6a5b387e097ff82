#!/bin/sh
# Regenerates proto/clusterpb from proto/*.proto (`make proto`). Needs protoc
# (Debian: protobuf-compiler, which scripts/install-deps.sh installs);
# protoc-gen-go is built from the module graph, so it is exactly the version
# go.mod pins (and go.sum verifies).
#
# Usage: scripts/genproto.sh [OUT]. OUT is the root the generated tree is
# written under (default: the repository itself); scripts/check-proto.sh
# passes a temporary directory and diffs.
set -eu
cd "$(dirname "$0")/.."
out=${1:-.}
command -v protoc >/dev/null 2>&1 || { echo "protoc missing: apt-get install -y protobuf-compiler" >&2; exit 1; }
tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
go build -o "$tools/protoc-gen-go" google.golang.org/protobuf/cmd/protoc-gen-go
PATH="$tools:$PATH" protoc -I proto --go_out="$out" --go_opt=module=github.com/minibitly/minibitly proto/*.proto
