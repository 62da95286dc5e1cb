#!/usr/bin/env bash
# Server load: `libsql serve` beside `tursodb --sync-server`, the same request (a /v2/pipeline executing SELECT 1;
# with a close for libsql serve, which tursodb refuses),
# with wrk (Debian package `wrk`, installed by scripts/setup) at 1, 8 and 64 connections, 2 wrk threads; then
# libsql serve over WebSocket (bench/serve_load_ws.mjs: execute SELECT 1 on one stream per socket, closed loop).
# Prints one line per server and connection count: req/s, p50 and p99 latency, errors.
# Usage: bench/serve_load.sh LIBSQL_BIN [TURSODB_BIN] [SECONDS]
set -uo pipefail
bin=${1:?usage: serve_load.sh LIBSQL_BIN [TURSODB_BIN] [SECONDS]}
tursodb=${2:-$(dirname "$0")/../build/npm/node_modules/@tursodatabase/cli-linux-x64-gnu/tursodb}
seconds=${3:-5}
here=$(cd "$(dirname "$0")" && pwd)
command -v wrk >/dev/null || { echo "wrk is missing (apt-get install wrk; scripts/setup does)"; exit 77; }
dir=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  rm -rf "$dir"
}
trap cleanup EXIT

run() {  # run NAME URL
  for c in 1 8 64; do
    local t=$(( c < 2 ? 1 : 2 ))
    local line
    line=$(wrk -t"$t" -c"$c" -d"${seconds}s" -s "$here/serve_load.lua" "$2/v2/pipeline" 2>&1 | grep '^RESULT') || line="RESULT failed"
    printf '%-10s %3d connections  %s\n' "$1" "$c" "${line#RESULT }"
  done
}

"$bin" serve "$dir/libsql.db" --listen 127.0.0.1:0 --no-replication --log-level error >"$dir/out" 2>"$dir/err" &
pids+=($!)
for _ in $(seq 100); do grep -q '^listening on ' "$dir/out" 2>/dev/null && break; sleep 0.1; done
url=$(sed -n 's/^listening on \(http:[^ ]*\)$/\1/p' "$dir/out")
[[ -n $url ]] || { echo "libsql serve did not start: $(cat "$dir/err")"; exit 1; }
run "libsql" "$url"
# The same request over Hrana-over-WebSocket (one stream per socket; node's `ws` from build/npm drives it).
if command -v node >/dev/null; then
  node "$here/serve_load_ws.mjs" "ws://${url#http://}" "$seconds" 1 8 64 2>&1 | while read -r line; do
    c=$(sed -n 's/.*connections=\([0-9]*\).*/\1/p' <<<"$line")
    printf '%-10s %3s connections  %s\n' "libsql-ws" "${c:-?}" "$(sed 's/^RESULT //; s/ connections=[0-9]*//' <<<"$line")"
  done
fi

if [[ -x $tursodb ]]; then
  port=$(( 20000 + RANDOM % 20000 ))
  "$tursodb" "$dir/turso.db" --sync-server "127.0.0.1:$port" >"$dir/tout" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
  # No close: tursodb has no streams and refuses it (500). It also closes the connection after every response, so
  # wrk reconnects for each request there.
  SERVE_LOAD_BODY='{"requests":[{"type":"execute","stmt":{"sql":"SELECT 1"}}]}' run "tursodb" "http://127.0.0.1:$port"
else
  echo "tursodb not found at $tursodb: only libsql serve measured"
fi
