#!/usr/bin/env bash
# Benchmarks, as `make bench` runs them: every Go benchmark once, then the load benchmark
# (cmd/latchbench) when the tree has one. Everything goes to standard output.
# BENCHTIME (default 300ms) keeps the whole run within a few minutes on 2 cores; raise it
# for steadier numbers, e.g. BENCHTIME=2s make bench.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

benchtime=${BENCHTIME:-300ms}

echo "== go test -run '^\$' -bench . -benchmem -benchtime $benchtime ./..."
go test -run '^$' -bench . -benchmem -benchtime "$benchtime" -count 1 ./...

if [ -d cmd/latchbench ]; then
  # latchbench drives a real server: bin/latch, built fresh so it measures this tree.
  echo "== go build -o bin/latch ./cmd/latch"
  go build -o bin/latch ./cmd/latch
  echo "== go run ./cmd/latchbench $*"
  go run ./cmd/latchbench "$@"
fi
