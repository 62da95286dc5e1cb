#!/usr/bin/env bash
# Protocol errors and limits of `libsql serve`, seen with curl. Usage: curl_test.sh LIBSQL_BIN
set -uo pipefail
bin=${1:?usage: curl_test.sh LIBSQL_BIN}
dir=$(mktemp -d)
pid=
cleanup() {
  [[ -n $pid ]] && kill -KILL "$pid" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT

"$bin" serve "$dir/curl.db" --listen 127.0.0.1:0 --max-body-bytes 4096 --stream-expiry 1 >"$dir/out" 2>"$dir/err" &
pid=$!
for _ in $(seq 100); do
  grep -q '^listening on ' "$dir/out" 2>/dev/null && break
  sleep 0.1
done
url=$(sed -n 's/^listening on \(http:[^ ]*\)$/\1/p' "$dir/out")
[[ -n $url ]] || { echo "server did not start: $(cat "$dir/err")"; exit 1; }

failed=0
# check LABEL EXPECTED_STATUS [BODY_REGEX] -- curl args...
check() {
  local label=$1 want=$2 body_re=$3; shift 4
  local got body
  body=$(curl -s -m 10 -o - -w '\n%{http_code}' "$@")
  got=${body##*$'\n'}
  body=${body%$'\n'*}
  if [[ $got != "$want" ]]; then
    echo "FAIL curl: $label: status $got, want $want; body: ${body:0:300}"; failed=$((failed + 1)); return
  fi
  if [[ -n $body_re ]] && ! [[ $body =~ $body_re ]]; then
    echo "FAIL curl: $label: body does not match /$body_re/: ${body:0:300}"; failed=$((failed + 1)); return
  fi
  echo "ok   curl: $label ($got)"
}
json=(-H 'content-type: application/json')

check "GET /health" 200 '^$' -- "$url/health"
check "GET /version" 200 'libsql' -- "$url/version"
check "GET /v2" 200 'Hello, this is HTTP API v2' -- "$url/v2"
check "GET /v3" 200 'v3' -- "$url/v3"
check "unknown path" 404 '' -- "$url/nope"
check "GET / without upgrade" 404 '' -- "$url/"
check "wrong method on /v2/pipeline" 405 '' -- "$url/v2/pipeline"
check "wrong method on /health" 405 '' -- -X POST "$url/health"
check "a pipeline" 200 '"type":"ok"' -- "${json[@]}" -d '{"requests":[{"type":"execute","stmt":{"sql":"SELECT 1"}},{"type":"close"}]}' "$url/v2/pipeline"
check "v3 pipeline, no content-type" 200 '"rows":\[\[\{"type":"integer","value":"7"\}\]\]' -- \
  -d '{"baton":null,"requests":[{"type":"execute","stmt":{"sql":"SELECT 7"}}]}' "$url/v3/pipeline"
check "v3 cursor" 200 'step_begin' -- -d '{"baton":null,"batch":{"steps":[{"stmt":{"sql":"SELECT 1"}}]}}' "$url/v3/cursor"
check "malformed JSON" 400 '' -- "${json[@]}" -d '{"requests":[' "$url/v2/pipeline"
check "not JSON at all" 400 '' -- "${json[@]}" --data-binary $'\x00\xff\xfe garbage' "$url/v2/pipeline"
check "wrong types" 400 '' -- "${json[@]}" -d '{"requests":"execute"}' "$url/v2/pipeline"
check "unknown request type" 400 '' -- "${json[@]}" -d '{"requests":[{"type":"frobnicate"}]}' "$url/v2/pipeline"
check "get_autocommit is v3 only" 400 '' -- "${json[@]}" -d '{"requests":[{"type":"get_autocommit"}]}' "$url/v2/pipeline"
check "forged baton" 400 '' -- "${json[@]}" -d '{"baton":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","requests":[]}' "$url/v2/pipeline"
check "garbage baton" 400 '' -- "${json[@]}" -d '{"baton":"not a baton!","requests":[]}' "$url/v2/pipeline"

# A stream: its baton works once; re-using it is refused; after the expiry it is STREAM_EXPIRED.
resp=$(curl -s -m 10 "${json[@]}" -d '{"requests":[{"type":"execute","stmt":{"sql":"BEGIN"}}]}' "$url/v2/pipeline")
baton=$(sed -n 's/.*"baton":"\([^"]*\)".*/\1/p' <<<"$resp")
if [[ -z $baton ]]; then echo "FAIL curl: no baton in $resp"; failed=$((failed + 1)); fi
check "the baton continues its stream" 200 '"baton":"' -- "${json[@]}" -d "{\"baton\":\"$baton\",\"requests\":[{\"type\":\"execute\",\"stmt\":{\"sql\":\"SELECT 1\"}}]}" "$url/v2/pipeline"
check "a re-used baton" 400 '' -- "${json[@]}" -d "{\"baton\":\"$baton\",\"requests\":[]}" "$url/v2/pipeline"
resp=$(curl -s -m 10 "${json[@]}" -d '{"requests":[{"type":"execute","stmt":{"sql":"BEGIN"}}]}' "$url/v2/pipeline")
baton=$(sed -n 's/.*"baton":"\([^"]*\)".*/\1/p' <<<"$resp")
sleep 2.2
check "an expired stream" 400 'STREAM_EXPIRED' -- "${json[@]}" -d "{\"baton\":\"$baton\",\"requests\":[]}" "$url/v2/pipeline"

big=$(head -c 5000 /dev/zero | tr '\0' 'x')
check "body over --max-body-bytes (Content-Length)" 413 '' -- "${json[@]}" -d "{\"requests\":[],\"pad\":\"$big\"}" "$url/v2/pipeline"
check "body over --max-body-bytes (chunked)" 413 '' -- "${json[@]}" -H 'Transfer-Encoding: chunked' -d "{\"requests\":[],\"pad\":\"$big\"}" "$url/v2/pipeline"
check "body just under the limit" 200 '' -- "${json[@]}" -d "{\"requests\":[],\"pad\":\"${big:0:3000}\"}" "$url/v2/pipeline"
check "still serving after all that" 200 '' -- "$url/health"

# Keep-alive: two requests, one connection.
trace=$(curl -s -v -m 10 "$url/health" "$url/v2" 2>&1)
if grep -q 'Re-using existing connection' <<<"$trace"; then
  echo "ok   curl: keep-alive"
else
  echo "FAIL curl: keep-alive: the second request opened a new connection"; failed=$((failed + 1))
fi

# A client that sends half a request and stalls does not hold anything up (the others are served meanwhile).
exec 3<>"/dev/tcp/127.0.0.1/${url##*:}"
printf 'POST /v2/pipeline HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"req' >&3
check "served while another client stalls" 200 '' -- "$url/health"
exec 3>&-

# SIGTERM: graceful stop, exit code 0.
kill -TERM "$pid"
rc=0
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then
  echo "FAIL curl: server still running 10 s after SIGTERM"; failed=$((failed + 1))
else
  wait "$pid"; rc=$?
  pid=
  if [[ $rc == 0 ]]; then echo "ok   curl: SIGTERM stops the server, exit 0"; else echo "FAIL curl: exit code $rc after SIGTERM"; failed=$((failed + 1)); fi
fi

if ((failed)); then echo "$failed check(s) failed"; echo "--- server stderr"; cat "$dir/err"; exit 1; fi
echo "all checks passed"
