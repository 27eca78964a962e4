#!/bin/sh
# realpath-before.sh REV [realpath flags]: runs the real-path scenarios
# (go run . realpath) with the library at commit REV as one more column,
# "before", beside today's, and writes the tables and plots into the
# repository's docs as go run . realpath does. One module cannot require
# two builds of itself, so this copies bench and the library at REV into
# a scratch directory, renames the old library's module path, and adds
# _before/before.go, which registers it. Nothing in the repository but
# docs/ changes. Needs root (network namespaces), git and the Go
# toolchain; the first run fetches the old build's dependencies.
set -eu
rev=${1:?usage: realpath-before.sh REV [realpath flags]}
shift
bench=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$bench/.." && pwd)
short=$(git -C "$root" rev-parse --short "$rev")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/before" "$tmp/bench"
git -C "$root" archive "$rev" | tar -x -C "$tmp/before"
# The old build's nested modules (bench, e2e/interop...) are not needed.
find "$tmp/before" -mindepth 2 -name go.mod -exec dirname {} \; | xargs rm -rf
find "$tmp/before" \( -name '*.go' -o -name go.mod \) -exec \
	sed -i 's#github.com/inet256/go-utp/v2#beforelib.invalid#g' {} +
cp "$bench"/*.go "$bench"/go.mod "$bench"/go.sum "$tmp/bench/"
cp "$bench/_before/before.go" "$tmp/bench/before_lib.go"
cd "$tmp/bench"
go mod edit -replace "github.com/inet256/go-utp/v2=$root" \
	-require beforelib.invalid@v0.0.0 -replace "beforelib.invalid=$tmp/before"
export GOFLAGS=-mod=mod GONOSUMDB=github.com/inet256,github.com/brendoncarroll,github.com/anacrolix
UTP_BEFORE_REV=$short go run . realpath -out "$root/docs/performance.md" -plots "$root/docs/perf" "$@"
