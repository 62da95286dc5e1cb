#!/usr/bin/env bash
# libsql serve under large results and careless clients, seen from outside (curl, a raw socket, /proc/PID):
# - a pipeline whose rows exceed --max-response-bytes fails that statement with RESPONSE_TOO_LARGE;
# - /v3/cursor streams: the first byte arrives long before the last, and the server's peak RSS grows by far less
#   than the result's size; memory goes back near idle afterwards;
# - a cursor client that stops reading does not hold the write lock past the stream expiry;
# - streams left open release their file descriptors once they expire.
# Usage: serve_limits_test.sh LIBSQL_BIN
set -uo pipefail
bin=${1:?usage: serve_limits_test.sh LIBSQL_BIN}
dir=$(mktemp -d)
pid=
cleanup() {
  exec 3>&- 2>/dev/null
  [[ -n $pid ]] && kill -KILL "$pid" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT

# Under ASan, freed memory waits in a quarantine (256 MB by default), which would hide what the server holds.
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=4 \
  "$bin" serve "$dir/big.db" --listen 127.0.0.1:0 --stream-expiry 2 --max-response-bytes 1000000 >"$dir/out" 2>"$dir/err" &
pid=$!
for _ in $(seq 100); do
  grep -q '^listening on ' "$dir/out" 2>/dev/null && break
  sleep 0.1
done
url=$(sed -n 's/^listening on \(http:[^ ]*\)$/\1/p' "$dir/out")
[[ -n $url ]] || { echo "server did not start: $(cat "$dir/err")"; exit 1; }
port=${url##*:}

failed=0
fail() { echo "FAIL limits: $*"; failed=$((failed + 1)); }
ok() { echo "ok   limits: $*"; }
# Sanitizer builds (LIBSQL_SANITIZED=1, set by CMake) have their own allocator: RSS says nothing about the server.
memory_checks=1
[[ ${LIBSQL_SANITIZED:-0} == 1 ]] && memory_checks=0
mem_check() {  # mem_check CONDITION_STATUS LABEL
  if (( memory_checks == 0 )); then echo "skip limits: $2 (sanitizer build)"; elif (( $1 == 0 )); then ok "$2"; else fail "$2"; fi
}
kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$pid/status"; }
fds() { ls "/proc/$pid/fd" | wc -l; }
post() { curl -s -m 60 -H 'content-type: application/json' -d "$1" "$url/$2"; }

rows=200000
body=$(post '{"requests":[{"type":"execute","stmt":{"sql":"CREATE TABLE big(id INTEGER PRIMARY KEY, t TEXT)"}},
  {"type":"execute","stmt":{"sql":"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < '$rows') INSERT INTO big SELECT i, hex(randomblob(100)) FROM n"}},
  {"type":"close"}]}' v2/pipeline)
[[ $body == *'"affected_row_count":'$rows* ]] || { echo "cannot fill the table: ${body:0:300}"; exit 1; }

# --- the response limit: the big statement fails, the rest of the pipeline runs
for v in v2 v3; do
  body=$(post '{"requests":[{"type":"execute","stmt":{"sql":"SELECT * FROM big"}},{"type":"execute","stmt":{"sql":"SELECT count(*) FROM big"}},{"type":"close"}]}' $v/pipeline)
  if [[ $body == *'"code":"RESPONSE_TOO_LARGE"'* && $body == *'"value":"'$rows'"'* && ${#body} -lt 100000 ]]; then
    ok "$v pipeline over --max-response-bytes: RESPONSE_TOO_LARGE, later statement ran (${#body} bytes)"
  else
    fail "$v pipeline over the limit: ${body:0:300}"
  fi
done
body=$(post '{"requests":[{"type":"execute","stmt":{"sql":"SELECT * FROM big LIMIT 1000"}},{"type":"close"}]}' v2/pipeline)
[[ $body == *'"type":"ok"'* && $body != *RESPONSE_TOO_LARGE* ]] && ok "a pipeline under the limit" || fail "under the limit: ${body:0:200}"

# --- a streamed cursor: first byte early, memory bounded by a window
sleep 1.5  # a sweep trims what the requests above left
idle=$(kb VmRSS)
peak0=$(kb VmHWM)
read -r ttfb total size < <(curl -s -m 60 -o "$dir/cursor.out" -w '%{time_starttransfer} %{time_total} %{size_download}\n' \
  -d '{"baton":null,"batch":{"steps":[{"stmt":{"sql":"SELECT * FROM big"}}]}}' "$url/v3/cursor")
peak1=$(kb VmHWM)
lines=$(wc -l <"$dir/cursor.out")
last=$(tail -n 1 "$dir/cursor.out")
growth=$((peak1 - peak0))
echo "     cursor: $size bytes, $lines lines, first byte ${ttfb}s of ${total}s; peak RSS ${peak0} -> ${peak1} kB (idle RSS ${idle} kB)"
[[ $lines -eq $((rows + 3)) && $last == *'"type":"step_end"'* ]] && ok "cursor delivered every row" || fail "cursor body: $lines lines, last: ${last:0:200}"
awk -v a="$ttfb" -v b="$total" 'BEGIN { exit !(a * 5 < b) }' && ok "first byte long before the last" || fail "first byte at ${ttfb}s of ${total}s"
# The result is ~$size bytes; building it whole took several times that. A window is 64 KiB.
(( size > 40 * 1024 * 1024 )) || fail "the cursor's result is only ${size} bytes"
(( growth < 24 * 1024 )); mem_check $? "peak RSS grew by ${growth} kB for a ${size}-byte result"
sleep 1.5
after=$(kb VmRSS)
(( after < idle + 16 * 1024 )); mem_check $? "RSS back near idle (${after} kB, idle ${idle} kB)"

# --- a cursor whose client stops reading, inside a write transaction
req='{"baton":null,"batch":{"steps":[{"stmt":{"sql":"BEGIN IMMEDIATE"}},{"stmt":{"sql":"SELECT * FROM big"}}]}}'
exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'POST /v3/cursor HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n\r\n%s' "${#req}" "$req" >&3
sleep 0.5
peak_stall0=$(kb VmHWM)
start=$(date +%s.%N)
body=$(post '{"requests":[{"type":"execute","stmt":{"sql":"INSERT INTO big(t) VALUES (1)"}},{"type":"close"}]}' v2/pipeline)
waited=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
peak_stall1=$(kb VmHWM)
if [[ $body == *'"affected_row_count":1'* ]] && awk -v w="$waited" 'BEGIN { exit !(w < 8) }'; then
  ok "a writer got the lock ${waited}s after a cursor's reader stalled (stream expiry 2 s)"
else
  fail "writer behind a stalled cursor: after ${waited}s: ${body:0:200}"
fi
(( peak_stall1 - peak_stall0 < 24 * 1024 )); mem_check $? "a stalled cursor holds a window, not its result (peak RSS +$((peak_stall1 - peak_stall0)) kB)"
exec 3>&-

# --- streams left open: descriptors once they expire. Each stream's connection has the database and WAL open.
# SQLite's unix VFS cannot close a descriptor of a file on which the process still holds POSIX locks (closing any
# descriptor drops every lock of the process on that file; the pooled connections keep a WAL-mode SHARED lock), so
# it keeps closed connections' descriptors aside and reuses them for the next connections it opens: the count stays
# at the peak of concurrent streams (bounded by --max-streams) instead of growing with every stream ever opened.
open_streams() {
  batons=()
  for i in $(seq 60); do
    b=$(post '{"requests":[{"type":"execute","stmt":{"sql":"SELECT count(*) FROM big"}}]}' v2/pipeline | sed -n 's/.*"baton":"\([^"]*\)".*/\1/p')
    [[ -n $b ]] && batons+=("$b")
  done
}
base=$(fds)
open_streams
open=$(fds)
sleep 4  # expiry 2 s, then a sweep
closed=$(fds)
open_streams
open2=$(fds)
sleep 4
closed2=$(fds)
echo "     fds: $base before, $open with ${#batons[@]} open streams, $closed after they expired; again: $open2, then $closed2"
(( ${#batons[@]} == 60 && open > base + 30 )) && ok "open streams hold descriptors" || fail "streams: ${#batons[@]} batons, fds $base -> $open"
(( closed < open && closed2 < open2 )) && ok "expired streams close their connections" || fail "fds $open -> $closed, $open2 -> $closed2"
# A leak would add about 60 per round; reuse keeps the second round within a few of the first.
(( open2 <= open + 16 && closed2 <= closed + 16 )) && ok "descriptors are reused, not leaked ($open then $open2)" || fail "fds grow: $open then $open2, $closed then $closed2"
body=$(post '{"baton":"'"${batons[0]}"'","requests":[{"type":"close"}]}' v2/pipeline)
[[ $body == *STREAM_EXPIRED* ]] && ok "an expired baton is STREAM_EXPIRED" || fail "expired baton: ${body:0:200}"

# --- GET /metrics (Prometheus text) after all that
curl -s -m 5 "$url/metrics" >"$dir/metrics"
metric() { awk -v k="$1" '$1 == k { print $2 }' "$dir/metrics"; }
m_pipe=$(metric 'libsql_requests_total{kind="pipeline",status="2xx"}')
m_cursor=$(metric 'libsql_requests_total{kind="cursor",status="2xx"}')
m_count=$(metric 'libsql_request_duration_seconds_count{kind="pipeline"}')
m_inf=$(metric 'libsql_request_duration_seconds_bucket{kind="pipeline",le="+Inf"}')
m_sent=$(metric 'libsql_sent_bytes_total')
m_conn=$(metric 'libsql_open_connections')
m_streams=$(metric 'libsql_open_streams')
m_gen=$(metric 'libsql_replication_generation')
echo "     metrics: pipelines ${m_pipe:-?}, cursors ${m_cursor:-?}, sent ${m_sent:-?} bytes, connections ${m_conn:-?}, streams ${m_streams:-?}, generation ${m_gen:-?}"
if [[ -n $m_pipe && -n $m_cursor && -n $m_sent && -n $m_conn && -n $m_streams && -n $m_gen ]] &&
   (( m_pipe >= 60 && m_cursor >= 1 && m_count == m_inf && m_sent > 57000000 && m_conn >= 1 && m_streams == 0 && m_gen >= 1 )); then
  ok "/metrics counts requests by kind and status, latency, bytes, connections, streams, generation"
else
  fail "/metrics: $(head -c 600 "$dir/metrics")"
fi

kill -TERM "$pid"
wait "$pid"
rc=$?
pid=
[[ $rc -eq 0 ]] && ok "SIGTERM: exit 0" || fail "exit status $rc after SIGTERM: $(tail -n 3 "$dir/err")"
# --- a connection cap, and clients that trickle their headers
"$bin" serve "$dir/small.db" --listen 127.0.0.1:0 --max-connections 3 --read-timeout 2 >"$dir/out2" 2>"$dir/err2" &
pid=$!
for _ in $(seq 100); do
  grep -q '^listening on ' "$dir/out2" 2>/dev/null && break
  sleep 0.1
done
url=$(sed -n 's/^listening on \(http:[^ ]*\)$/\1/p' "$dir/out2")
port=${url##*:}
[[ -n $url ]] || { echo "second server did not start: $(cat "$dir/err2")"; exit 1; }
trickle() {  # one header byte every 0.4 s for 8 s, on a connection of its own
  exec {fd}<>"/dev/tcp/127.0.0.1/$port" || return
  printf 'GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ' >&$fd
  for _ in $(seq 20); do printf 'a' >&$fd || break; sleep 0.4; done
}
for i in 1 2 3; do (trickle 2>/dev/null) & done
sleep 0.6
got=$(curl -s -m 5 -o "$dir/refused" -w '%{http_code}' "$url/health")
[[ $got == 503 ]] && grep -q 'Too many connections' "$dir/refused" && ok "over --max-connections: 503 at once" ||
  fail "over --max-connections: status $got: $(head -c 200 "$dir/refused")"
sleep 2.6  # past the 2 s header deadline, while the tricklers still trickle
got=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$url/health")
[[ $got == 200 ]] && ok "tricklers cut at the header deadline (--read-timeout 2), a new client served" ||
  fail "after the header deadline: status $got"
kill -TERM "$pid"
wait "$pid"
rc=$?
pid=
[[ $rc -eq 0 ]] || fail "second server: exit status $rc after SIGTERM"
wait

[[ $failed -eq 0 ]] || { echo "$failed failed"; exit 1; }
