#!/usr/bin/env bash
# The whole test suite, as `make test` and CI (.ci/run, with CI=true) run it:
#   1. install what the tests need and is missing (ensure_pkg below);
#   2. start the services they need (start_bg), stopped again on exit;
#   3. go vet ./..., then every test with -race.
# Under CI=true nothing may be skipped: a missing tool fails the run here, and tests that read
# CI fail instead of skipping (scripts/testreport also fails the run on any skipped test).
# The full log of the test run is kept in test-output/go-test.json.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export CI="${CI:-false}"
out_dir=test-output
mkdir -p "$out_dir"
start=$SECONDS

say() { printf '== %s\n' "$*"; }
fail() {
  printf '\ntest.sh: FAIL: %s\n' "$*" >&2
  exit 1
}

# Services started for the tests, stopped (by their own pid) whatever way the script ends.
started_pids=()
start_bg() {
  "$@" &
  started_pids+=("$!")
}
stop_started() {
  local pid
  for pid in "${started_pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${started_pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
}
trap stop_started EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ensure_pkg <debian-package> <binary>: install the package when the binary is missing and we
# are root (apt-get update runs once, before the first install). When it is still missing,
# CI fails here; a developer is warned, and the tests that need it skip.
apt_updated=false
ensure_pkg() {
  local pkg=$1 bin=$2
  command -v "$bin" >/dev/null 2>&1 && return 0
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    if ! $apt_updated; then
      say "apt-get update"
      apt-get update -qq || true
      apt_updated=true
    fi
    say "apt-get install $pkg (for $bin)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$pkg" || true
  fi
  command -v "$bin" >/dev/null 2>&1 && return 0
  if [ "$CI" = true ]; then
    fail "$bin (Debian package $pkg) is missing and could not be installed"
  fi
  echo "test.sh: warning: $bin (Debian package $pkg) is missing: the tests that need it will skip" >&2
}

command -v go >/dev/null 2>&1 || fail "go is not on PATH"

# What the tests need beyond Go. Add here, e.g.:
#   ensure_pkg redis-server redis-server
#   ensure_pkg chromium chromium
# and start services with start_bg (they are stopped on exit), e.g.:
#   start_bg redis-server --port 0 --unixsocket "$PWD/$out_dir/redis.sock" --save ''

# Redis (storage/redis and its tests, through internal/redistest): one redis-server for the
# whole run, on a free loopback port, nothing persisted, its files and log in
# test-output/redis. Tests share it by keeping their keys under prefixes of their own, so it
# is never flushed. Without it the tests would start a server per test binary themselves.
ensure_pkg redis-server redis-server
# redis_ping <port>: whether a Redis answers PING there (bash's /dev/tcp: no client needed).
redis_ping() {
  local reply
  exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
  printf 'PING\r\n' >&3
  IFS= read -r -t 2 reply <&3 || true
  exec 3>&-
  [ "$reply" = $'+PONG\r' ]
}
start_redis() {
  local dir=$PWD/$out_dir/redis port pid attempt
  rm -rf "$dir"
  mkdir -p "$dir"
  for attempt in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 40000))
    # Something already listens there: try another port.
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then continue; fi
    start_bg redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
      --dir "$dir" --logfile "$dir/redis.log" --daemonize no
    pid=${started_pids[-1]}
    for _ in $(seq 100); do
      if redis_ping "$port" 2>/dev/null; then
        export LATCH_TEST_REDIS_URL="redis://127.0.0.1:$port/0"
        say "redis-server on 127.0.0.1:$port"
        return 0
      fi
      kill -0 "$pid" 2>/dev/null || break # it exited (the port was taken meanwhile?)
      sleep 0.1
    done
    kill "$pid" 2>/dev/null || true
  done
  if [ "$CI" = true ]; then
    fail "redis-server did not start (log: $dir/redis.log)"
  fi
  echo "test.sh: warning: redis-server did not start (log: $dir/redis.log): the Redis tests start their own" >&2
}
if command -v redis-server >/dev/null 2>&1; then
  start_redis
fi

# The browser tests (internal/browsertest and its users) drive Debian's Chromium through chromedp
# (internal/browsertest finds /usr/bin/chromium, or $LATCH_TEST_CHROMIUM), against the test SPA
# in testdata/spa, which needs its npm dependencies (@auth0/auth0-spa-js, pinned in
# package-lock.json).
ensure_pkg chromium chromium
ensure_pkg npm npm
export LATCH_TEST_SPA_DIR="$PWD/testdata/spa"
# ensure_spa_deps: npm ci when node_modules is missing or older than package-lock.json (npm ci
# rewrites node_modules/.package-lock.json). No install scripts: the SPA uses the SDK's prebuilt
# browser bundle only.
ensure_spa_deps() {
  local dir=$LATCH_TEST_SPA_DIR
  local stamp=$dir/node_modules/.package-lock.json
  local bundle=$dir/node_modules/@auth0/auth0-spa-js/dist/auth0-spa-js.production.js
  if [ -f "$bundle" ] && [ -f "$stamp" ] && ! [ "$dir/package-lock.json" -nt "$stamp" ]; then
    return 0
  fi
  if command -v npm >/dev/null 2>&1; then
    say "npm ci in testdata/spa"
    if (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) && [ -f "$bundle" ]; then
      return 0
    fi
  fi
  if [ "$CI" = true ]; then
    fail "cannot install the npm dependencies of testdata/spa (npm ci)"
  fi
  echo "test.sh: warning: testdata/spa has no node_modules (npm ci failed): the browser tests that need the SPA will skip" >&2
}
ensure_spa_deps

# The Node SDK tests (cmd/latch, TestNodeSDK*) run Auth0's Management client (`auth0`, pinned in
# testdata/node-mgmt/package-lock.json) with node against latch over HTTPS.
ensure_pkg nodejs node
# ensure_node_mgmt_deps: npm ci in testdata/node-mgmt, on the same terms as ensure_spa_deps.
ensure_node_mgmt_deps() {
  local dir=$PWD/testdata/node-mgmt
  local stamp=$dir/node_modules/.package-lock.json
  local sdk=$dir/node_modules/auth0/package.json
  if [ -f "$sdk" ] && [ -f "$stamp" ] && ! [ "$dir/package-lock.json" -nt "$stamp" ]; then
    return 0
  fi
  if command -v npm >/dev/null 2>&1; then
    say "npm ci in testdata/node-mgmt"
    if (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) && [ -f "$sdk" ]; then
      return 0
    fi
  fi
  if [ "$CI" = true ]; then
    fail "cannot install the npm dependencies of testdata/node-mgmt (npm ci)"
  fi
  echo "test.sh: warning: testdata/node-mgmt has no node_modules (npm ci failed): the Node SDK tests will skip" >&2
}
ensure_node_mgmt_deps

say "go vet ./..."
go vet ./... || fail "go vet found problems"

say "go test -race -count=1 -timeout 25m ./..."
go build -o "$out_dir/testreport" ./scripts/testreport || fail "cannot build scripts/testreport"
set +e
go test -race -count=1 -timeout 25m -json ./... 2>&1 | tee "$out_dir/go-test.json" | "$out_dir/testreport"
statuses=("${PIPESTATUS[@]}")
set -e
test_status=${statuses[0]} report_status=${statuses[2]}

# On success the report's "summary: N passed, N failed, N skipped" is the last line.
if [ "$test_status" -ne 0 ] || [ "$report_status" -ne 0 ]; then
  fail "go test exited $test_status, the report $report_status after $((SECONDS - start))s (CI=$CI; full log: $out_dir/go-test.json)"
fi
