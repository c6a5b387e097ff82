#!/bin/sh
# Runs every Go fuzz target of the module for a bounded time each
# (FUZZTIME, default 10s). `make test` already runs each target's seed
# corpus (testdata/fuzz/<Target>/ and its f.Add seeds) as a plain test;
# this explores beyond it. A crasher is written by `go test` under the
# package's testdata/fuzz/<Target>/: commit it with the fix.
set -eu
cd "$(dirname "$0")/.."
FUZZTIME="${FUZZTIME:-10s}"
GO="${GO:-go}"
n=0
for f in $(grep -rl --include='*_test.go' '^func Fuzz' .); do
	pkg="./$(dirname "$f" | sed 's|^\./||')"
	for t in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$f"); do
		echo "== $pkg $t ($FUZZTIME)"
		"$GO" test -run '^$' -fuzz "^$t\$" -fuzztime "$FUZZTIME" "$pkg"
		n=$((n + 1))
	done
done
echo "fuzzed $n targets for $FUZZTIME each"
[ "$n" -ge 5 ] || { echo "fewer than 5 fuzz targets" >&2; exit 1; }
