#!/usr/bin/env bash
# `libsql serve` and work nobody waits for, seen with curl: a client that goes away mid-query has its statement
# interrupted (the server's CPU use stops growing, the next request works), and SIGTERM during an endless query
# stops the server promptly (running statements are interrupted after a 2 s grace period) with status 0.
# Usage: abandon_test.sh LIBSQL_BIN
set -uo pipefail
bin=${1:?usage: abandon_test.sh LIBSQL_BIN}
dir=$(mktemp -d)
pid=
curl_pid=
cleanup() {
  [[ -n $curl_pid ]] && kill -KILL "$curl_pid" 2>/dev/null
  [[ -n $pid ]] && kill -KILL "$pid" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT

failed=0
fail() { echo "FAIL abandon: $*"; failed=$((failed + 1)); }
ok() { echo "ok   abandon: $*"; }

endless='{"requests":[{"type":"execute","stmt":{"sql":"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c"}},{"type":"close"}]}'
json=(-H 'content-type: application/json')

# start_server NAME: starts `libsql serve` on an ephemeral port; sets pid and url.
start_server() {
  # Removed first: the shell's `>` truncates it in the child, after this script may already have read the previous
  # server's "listening on" line.
  rm -f "$dir/$1.out"
  "$bin" serve "$dir/$1.db" --listen 127.0.0.1:0 --log-level info >"$dir/$1.out" 2>"$dir/$1.err" &
  pid=$!
  url=
  # Up to 60 s: a loaded 2-core machine (sanitizer builds, parallel tests) starts slowly.
  for _ in $(seq 600); do
    url=$(sed -n 's/^listening on \(http:[^ ]*\)$/\1/p' "$dir/$1.out" 2>/dev/null)
    [[ -n $url ]] && break
    sleep 0.1
  done
  [[ -n $url ]] || { echo "server did not start: $(cat "$dir/$1.err")"; exit 1; }
}

# CPU time (user + system, in clock ticks) the process has used.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null; }

# --- 1. A client that goes away: its query is interrupted.
start_server abandon
curl -s -m 60 "${json[@]}" -d "$endless" "$url/v2/pipeline" >/dev/null 2>&1 &
curl_pid=$!
sleep 0.5
kill -KILL "$curl_pid" 2>/dev/null
wait "$curl_pid" 2>/dev/null
curl_pid=
# Give the server up to 3 s to notice, then its CPU use must stand still (idle: a few ticks at most per second).
quiet=0
prev=$(cpu_ticks "$pid")
for _ in $(seq 12); do
  sleep 0.5
  now=$(cpu_ticks "$pid")
  if [[ -n $prev && -n $now ]] && ((now - prev <= 5)); then quiet=1; break; fi
  prev=$now
done
if ((quiet)); then
  prev=$(cpu_ticks "$pid"); sleep 1; now=$(cpu_ticks "$pid")
  if ((now - prev <= 10)); then ok "abandoned query interrupted (CPU ticks over 1 s after: $((now - prev)))"
  else fail "CPU use grew again: $((now - prev)) ticks in 1 s"; fi
else
  fail "the server kept burning CPU after the client went away ($((now - prev)) ticks per 0.5 s)"
fi
grep -q 'closed its connection' "$dir/abandon.err" && ok "the server logged the abandoned request" ||
  fail "no log line about the abandoned request: $(cat "$dir/abandon.err")"
body=$(curl -s -m 10 "${json[@]}" -d '{"requests":[{"type":"execute","stmt":{"sql":"SELECT 42"}},{"type":"close"}]}' "$url/v2/pipeline")
[[ $body == *'"value":"42"'* ]] && ok "a following request works" || fail "following request: $body"

# --- 2. SIGTERM during an endless query: a prompt, clean exit.
curl -s -m 60 "${json[@]}" -d "$endless" "$url/v2/pipeline" >"$dir/term.body" 2>/dev/null &
curl_pid=$!
sleep 0.5
started=$(date +%s%N)
kill -TERM "$pid"
status=
for _ in $(seq 100); do  # up to 10 s; must be within ~5 s
  if ! kill -0 "$pid" 2>/dev/null; then break; fi
  sleep 0.1
done
if kill -0 "$pid" 2>/dev/null; then
  fail "the server did not exit within 10 s of SIGTERM"
else
  wait "$pid"; status=$?
  elapsed_ms=$((($(date +%s%N) - started) / 1000000))
  pid=
  if [[ $status != 0 ]]; then fail "exit status $status after SIGTERM: $(tail -5 "$dir/abandon.err")"
  elif ((elapsed_ms > 5000)); then fail "exit took ${elapsed_ms} ms (more than 5 s)"
  else ok "SIGTERM during an endless query: exit status 0 after ${elapsed_ms} ms"; fi
fi
wait "$curl_pid" 2>/dev/null
curl_pid=
grep -q 'SQLITE_INTERRUPT' "$dir/term.body" && ok "the client got SQLITE_INTERRUPT" ||
  fail "the client's reply: $(head -c 300 "$dir/term.body")"

# The database is intact and usable after the stop.
start_server abandon
body=$(curl -s -m 10 "${json[@]}" -d '{"requests":[{"type":"execute","stmt":{"sql":"PRAGMA integrity_check"}},{"type":"close"}]}' "$url/v2/pipeline")
[[ $body == *'"value":"ok"'* ]] && ok "integrity_check after restart" || fail "integrity_check: $body"
kill -TERM "$pid"; wait "$pid"; pid=

((failed == 0)) || { echo "$failed failure(s)"; exit 1; }
echo "all abandon checks passed"
