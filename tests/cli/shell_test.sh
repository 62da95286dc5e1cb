#!/usr/bin/env bash
# `libsql shell TARGET [SQL]` as a process: output modes, exit codes, dot commands, piped and interactive input, and
# the same SQL giving the same output from a local file, from `libsql serve` and from tursodb --sync-server. Also
# `libsql migrate up DIR URL` against `libsql serve`.
#   tests/cli/shell_test.sh PATH_TO_LIBSQL [PATH_TO_TURSODB]
set -uo pipefail

bin=$(realpath "${1:?usage: shell_test.sh PATH_TO_LIBSQL [PATH_TO_TURSODB]}")
here=$(dirname "$(realpath "$0")")
tursodb=${2:+$(realpath "$2")}
tmp=$(mktemp -d)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do
    kill -INT "$p" 2>/dev/null
    kill -TERM "$p" 2>/dev/null
  done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
cd "$tmp" || exit 1

failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
# shell ARGS...: the shell with a time limit, so that a hang fails the test instead of stalling it.
shell() { timeout 20 "$bin" shell "$@"; }
# expect NAME EXPECTED ACTUAL
expect() {
  if [[ "$2" != "$3" ]]; then
    fail "$1"
    diff <(printf '%s\n' "$2") <(printf '%s\n' "$3") | head -20 >&2
  fi
}

# The known table. The same text creates it on every target.
setup_sql="CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT, price REAL, tag BLOB, n INTEGER);
INSERT INTO items VALUES (1,'apple',0.5,x'CAFE',9007199254740993),(2,'pear, green',NULL,NULL,-7),
  (3,'say \"hi\"',12.25,x'',0),(4,'',1e20,NULL,NULL),(5,'héllo',-0.1,x'00ff',42);"
query="SELECT * FROM items ORDER BY id"

shell db.sqlite "$setup_sql" || fail "setup exited $?"

# --- every mode's exact output
expect "table mode" "$(cat <<'EOF'
+----+-------------+---------+---------+------------------+
| id | name        | price   | tag     | n                |
+----+-------------+---------+---------+------------------+
|  1 | apple       |     0.5 | X'CAFE' | 9007199254740993 |
|  2 | pear, green | NULL    | NULL    |               -7 |
|  3 | say "hi"    |   12.25 | X''     |                0 |
|  4 |             | 1.0e+20 | NULL    | NULL             |
|  5 | héllo       |    -0.1 | X'00FF' |               42 |
+----+-------------+---------+---------+------------------+
EOF
)" "$(shell db.sqlite "$query")"

expect "csv mode" "$(cat <<'EOF'
id,name,price,tag,n
1,apple,0.5,X'CAFE',9007199254740993
2,"pear, green",,,-7
3,"say ""hi""",12.25,X'',0
4,"",1.0e+20,,
5,héllo,-0.1,X'00FF',42
EOF
)" "$(shell --mode csv db.sqlite "$query")"

expect "csv --no-header" $'1,apple\n2,"pear, green"' "$(shell --mode csv --no-header db.sqlite "SELECT id, name FROM items WHERE id < 3")"

expect "json mode" "$(cat <<'EOF'
[{"id":1,"name":"apple","price":0.5,"tag":"CAFE","n":9007199254740993},
{"id":2,"name":"pear, green","price":null,"tag":null,"n":-7},
{"id":3,"name":"say \"hi\"","price":12.25,"tag":"","n":0},
{"id":4,"name":"","price":1.0e+20,"tag":null,"n":null},
{"id":5,"name":"héllo","price":-0.1,"tag":"00FF","n":42}]
EOF
)" "$(shell --mode json db.sqlite "$query")"

expect "line mode" "$(cat <<'EOF'
   id = 1
 name = apple
price = 0.5
  tag = X'CAFE'
    n = 9007199254740993

   id = 2
 name = pear, green
price = NULL
  tag = NULL
    n = -7
EOF
)" "$(shell --mode line db.sqlite "SELECT * FROM items WHERE id <= 2 ORDER BY id")"

# JSON output parses as JSON, with the values intact (python is optional).
if command -v python3 >/dev/null; then
  shell --mode json db.sqlite "$query" | python3 -c '
import json, sys
rows = json.load(sys.stdin)
assert len(rows) == 5 and rows[0]["n"] == 9007199254740993 and rows[3]["price"] == 1e20, rows
assert rows[2]["name"] == "say \"hi\"" and rows[4]["name"] == "h\u00e9llo" and rows[1]["tag"] is None, rows
' || fail "json output does not parse to the table's values"
fi

# Floats print in their shortest round-trip form, always with a '.' or an exponent.
expect "reals" "1.0|0.1|0.30000000000000004|1.0e-07|123456789.125|-0.0|Inf" \
  "$(shell --mode csv --no-header db.sqlite "SELECT 1.0, 0.1, 0.1 + 0.2, 1e-7, 123456789.125, -0.0, 1e999" | tr ',' '|')"

# --- SQL arguments: several statements, several arguments, exit codes, stderr
expect "two statements" $'a\n1\nb\n2' "$(shell --mode csv db.sqlite "SELECT 1 AS a; SELECT 2 AS b")"
expect "two arguments" $'a\n1\nb\n2' "$(shell --mode csv db.sqlite "SELECT 1 AS a" "SELECT 2 AS b;")"
expect "no output for a statement without rows" "" "$(shell db.sqlite "CREATE TABLE IF NOT EXISTS items(x); SELECT * FROM items WHERE 0")"
out=$(shell --mode csv db.sqlite "SELECT 1 AS a; SELECT nope FROM items; SELECT 3 AS c" 2>err.txt); rc=$?
[[ $rc -ne 0 ]] || fail "an SQL error exited 0"
expect "output before the error" $'a\n1' "$out"
grep -q '^Error: .*no such column: nope' err.txt || fail "no error message on stderr: '$(cat err.txt)'"
shell db.sqlite "SELEKT 1" >/dev/null 2>err.txt && fail "a syntax error exited 0"
grep -q 'syntax error' err.txt || fail "syntax error message: '$(cat err.txt)'"
shell db.sqlite "INSERT INTO items(id) VALUES (1)" >/dev/null 2>err.txt && fail "a constraint error exited 0"
grep -q 'UNIQUE constraint failed' err.txt || fail "constraint message: '$(cat err.txt)'"
shell db.sqlite ".bogus" >/dev/null 2>err.txt && fail "an unknown dot command exited 0"
grep -q 'unknown command' err.txt || fail "unknown dot command message: '$(cat err.txt)'"
"$bin" shell --mode bogus db.sqlite "SELECT 1" >/dev/null 2>&1 && fail "--mode bogus was accepted"
expect "a statement without ';' and a trailing comment" "1" "$(shell --mode csv --no-header db.sqlite "SELECT 1 -- the end")"
expect "';' inside strings, identifiers and comments" $'x;y,2\na;b,2' \
  "$(shell --mode csv db.sqlite "SELECT 'a;b' AS \"x;y\", /* ; */ 2 AS \"2\" -- ;")"

# --- .tables, .schema, .read (with a trigger whose body holds ';'), .mode, .headers
cat >script.sql <<'EOF'
-- a comment; with a semicolon
CREATE TABLE log(msg TEXT);
CREATE TRIGGER items_ins AFTER INSERT ON items BEGIN
  INSERT INTO log VALUES ('inserted; ' || new.name);
  INSERT INTO log VALUES ('again');
END;
CREATE VIEW cheap AS SELECT id FROM items WHERE price < 1;
INSERT INTO items(id, name) VALUES (6, 'fig'); SELECT msg FROM log
;
.mode csv
SELECT 'from the file' AS done;
EOF
expect ".read" "$(cat <<'EOF'
+---------------+
| msg           |
+---------------+
| inserted; fig |
| again         |
+---------------+
done
from the file
EOF
)" "$(shell db.sqlite ".read script.sql")"
expect ".tables" $'cheap\nitems\nlog' "$(shell db.sqlite .tables)"
expect ".tables PATTERN" 'items' "$(shell db.sqlite ".tables it%")"
expect ".schema TABLE" "CREATE TABLE log(msg TEXT);" "$(shell db.sqlite ".schema log")"
expect ".schema" "$(cat <<'EOF'
CREATE VIEW cheap AS SELECT id FROM items WHERE price < 1;
CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT, price REAL, tag BLOB, n INTEGER);
CREATE TRIGGER items_ins AFTER INSERT ON items BEGIN
  INSERT INTO log VALUES ('inserted; ' || new.name);
  INSERT INTO log VALUES ('again');
END;
CREATE TABLE log(msg TEXT);
EOF
)" "$(shell db.sqlite .schema)"
shell db.sqlite ".read missing.sql" >/dev/null 2>err.txt && fail ".read of a missing file exited 0"
grep -q "missing.sql" err.txt || fail ".read error message: '$(cat err.txt)'"
shell db.sqlite "DROP TRIGGER items_ins; DROP VIEW cheap; DROP TABLE log; DELETE FROM items WHERE id = 6" || fail "cleanup exited $?"

# --- piped stdin: SQL over several lines, dot commands, errors reported and skipped (exit 1), --bail
out=$(printf 'SELECT 1\n  AS a;\n.mode json\nSELECT nope;\nSELECT 2 AS b;\n' | "$bin" shell db.sqlite 2>err.txt); rc=$?
expect "piped stdin" $'+---+\n| a |\n+---+\n| 1 |\n+---+\n[{"b":2}]' "$out"
[[ $rc -eq 1 ]] || fail "piped input with an error exited $rc, expected 1"
grep -q 'no such column: nope' err.txt || fail "piped error message: '$(cat err.txt)'"
out=$(printf 'SELECT nope;\nSELECT 2 AS b;\n' | "$bin" shell --bail db.sqlite 2>/dev/null); rc=$?
[[ $rc -eq 1 && -z $out ]] || fail "--bail: exit $rc, output '$out'"
expect "echo | shell" $'+---+\n| 1 |\n+---+\n| 1 |\n+---+' "$(echo 'select 1;' | "$bin" shell db.sqlite)"
expect "piped, last statement without ';'" "7" "$(printf '.mode csv\n.headers off\nSELECT 7' | "$bin" shell db.sqlite)"
expect ".quit stops reading" "1" "$(printf '.mode csv\n.headers off\nSELECT 1;\n.quit\nSELECT 2;\n' | "$bin" shell db.sqlite)"
# No history file when stdin is not a terminal.
echo 'SELECT 1;' | LIBSQL_HISTORY="$tmp/hist-pipe" "$bin" shell db.sqlite >/dev/null
[[ ! -e "$tmp/hist-pipe" ]] || fail "a history file was written for piped input"

# --- .eqp on: the plan tree before the results; .timer on
expect ".eqp on" "$(cat <<'EOF'
QUERY PLAN
`--SEARCH items USING INTEGER PRIMARY KEY (rowid=?)
name
apple
EOF
)" "$(shell --mode csv db.sqlite ".eqp on" "SELECT name FROM items WHERE id = 1")"
expect ".eqp off" $'name\napple' "$(shell --mode csv db.sqlite ".eqp on" ".eqp off" "SELECT name FROM items WHERE id = 1")"
out=$(shell --mode csv db.sqlite ".timer on" "SELECT 1 AS a")
[[ $out =~ ^a$'\n'1$'\n'"Run Time: real "[0-9.]+" user "[0-9.]+" sys "[0-9.]+$ ]] || fail ".timer on printed '$out'"

# --- interactive: a terminal (through script(1)), line editing, the continuation prompt, history saved
if command -v script >/dev/null; then
  out=$(printf 'SELECT 40 +\n 2 AS x;\n.quit\n' | LIBSQL_HISTORY="$tmp/hist" timeout 20 script -qec "$bin shell --mode csv db.sqlite" /dev/null | tr -d '\r')
  grep -q '^   \.\.\.>  2 AS x;$' <<<"$out" || fail "no continuation prompt in: $out"
  grep -q '^42$' <<<"$out" || fail "interactive result missing in: $out"
  grep -q 'SELECT\\04040' "$tmp/hist" 2>/dev/null || fail "history not saved: '$(cat "$tmp/hist" 2>&1)'"
  # Ctrl-C interrupts a running statement (an endless one here) and the shell goes on. The keys are sent once
  # libedit has echoed the statement after its prompt (so the shell is up and has read it), again until the
  # interruption shows: a ^C that arrives before the statement starts is ignored, as at the prompt.
  # wait_for PATTERN TENTHS: wait until the terminal output shows PATTERN.
  wait_for() { for _ in $(seq "$2"); do grep -q "$1" ctrlc.out 2>/dev/null && return 0; sleep 0.1; done; return 1; }
  (printf 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c;\n'
   wait_for 'libsql> WITH' 100
   for _ in $(seq 20); do sleep 0.2; printf '\003'; wait_for 'interrupted' 5 && break; done
   printf 'SELECT 5 AS five;\n.quit\n') | timeout 30 script -qec "$bin shell --mode csv db.sqlite" /dev/null >ctrlc.out
  out=$(tr -d '\r' <ctrlc.out)
  grep -q 'Error: interrupted' <<<"$out" || fail "Ctrl-C did not interrupt: $out"
  grep -q '^5$' <<<"$out" || fail "no result after Ctrl-C: $out"
fi

# --- the same SQL from a local file, from libsql serve and from tursodb
# run_all TARGET: every mode's output of the comparison queries.
compare_sql=("$query" "SELECT id, price * 2 AS p, length(tag) AS l, typeof(n) AS t FROM items ORDER BY id DESC"
             "SELECT count(*) AS c, sum(n) AS s, avg(price) AS a FROM items")
run_all() {
  local m q
  for m in table csv json line; do
    for q in "${compare_sql[@]}"; do shell --mode "$m" "$@" "$q" 2>&1; done
  done
  shell "$@" .tables 2>&1
}
local_out=$(run_all db.sqlite)

# start_serve DB [ARGS...]: `libsql serve DB` on an ephemeral port (http, or https with the TLS options); sets port
# (empty when it did not start).
start_serve() {
  local db=$1 log=$1.log
  shift
  "$bin" serve "$db" --listen 127.0.0.1:0 "$@" >"$log" 2>"$log.err" &
  pids+=($!)
  port=
  for _ in $(seq 200); do
    port=$(sed -n 's#^listening on https\{0,1\}://127\.0\.0\.1:\([0-9][0-9]*\)$#\1#p' "$log")
    [[ -n $port ]] && return
    sleep 0.05
  done
}
start_serve "$tmp/served.db"
if [[ -z $port ]]; then
  fail "libsql serve did not print its port: $(cat "$tmp"/served.db.log*)"
else
  url="http://127.0.0.1:$port"
  shell "$url" "$setup_sql" || fail "setup over HTTP exited $?"
  expect "the same output from libsql serve" "$local_out" "$(run_all "$url")"
  expect "libsql serve: .eqp on" "$(shell --mode csv db.sqlite ".eqp on" "SELECT name FROM items WHERE id = 1")" \
    "$(shell --mode csv "$url" ".eqp on" "SELECT name FROM items WHERE id = 1")"
  expect "libsql serve: .schema" "$(shell db.sqlite ".schema items")" "$(shell "$url" ".schema items")"
  shell "$url" "SELECT nope" >/dev/null 2>err.txt && fail "a remote SQL error exited 0"
  grep -q 'no such column: nope' err.txt || fail "remote error message: '$(cat err.txt)'"
  expect "libsql serve: piped" "$(echo "$query;" | "$bin" shell db.sqlite)" "$(echo "$query;" | "$bin" shell "$url")"
  # a token on a server without auth is simply not needed
  LIBSQL_AUTH_TOKEN=abc shell --mode csv --no-header "$url" "SELECT count(*) FROM items" >out.txt 2>&1 || fail "LIBSQL_AUTH_TOKEN: $(cat out.txt)"

  # migrations over HTTP
  mkdir migrations
  echo "CREATE TABLE m1(id INTEGER PRIMARY KEY);" >migrations/0001_m1.up.sql
  echo "DROP TABLE m1;" >migrations/0001_m1.down.sql
  echo "CREATE TABLE m2(id INTEGER PRIMARY KEY); INSERT INTO m2 VALUES (1);" >migrations/0002_m2.up.sql
  echo "DROP TABLE m2;" >migrations/0002_m2.down.sql
  out=$(timeout 20 "$bin" migrate up migrations "$url" 2>&1) || fail "migrate up URL: $out"
  expect "migrate up URL" $'applied 0001 m1\napplied 0002 m2' "$out"
  expect "migrated tables over HTTP" "1" "$(shell --mode csv --no-header "$url" "SELECT id FROM m2")"
  out=$(timeout 20 "$bin" migrate status migrations "$url" 2>&1) || fail "migrate status URL: $out"
  [[ $(awk '$1 == "0002" {print $3}' <<<"$out") == yes ]] || fail "migrate status URL printed '$out'"
  out=$(timeout 20 "$bin" migrate down migrations "$url" 2>&1) || fail "migrate down URL: $out"
  expect "migrate down URL" "reverted 0002 m2" "$out"
  expect "migrate down URL: table gone" "m1" "$(shell "$url" ".tables m%")"

  # an embedded replica of the served database
  out=$(shell --sync-url "$url" --mode csv --no-header replica.db "SELECT count(*) FROM items" ".sync" 2>err.txt); rc=$?
  if [[ $rc -eq 0 ]]; then
    [[ $out =~ ^5$'\n'[0-9]+" frames applied, replication index "[0-9]+$ ]] || fail "replica: '$out'"
    out=$(shell --sync-url "$url" replica.db ".freeze" 2>&1) || fail ".freeze: $out"
    expect "frozen replica reads locally" "5" "$(shell --mode csv --no-header replica.db "SELECT count(*) FROM items")"
    # migrations through a replica: written to the primary, visible on both
    echo "CREATE TABLE r1(id INTEGER PRIMARY KEY); INSERT INTO r1 VALUES (7);" >migrations/0003_r1.up.sql
    out=$(timeout 20 "$bin" migrate up --sync-url "$url" migrations replica2.db 2>&1) || fail "migrate up replica: $out"
    expect "migrate up replica" $'applied 0002 m2\napplied 0003 r1' "$out"
    expect "replica migration reached the primary" "7" "$(shell --mode csv --no-header "$url" "SELECT id FROM r1")"
    expect "replica sees its migration" "7" \
      "$(shell --sync-url "$url" --mode csv --no-header replica2.db "SELECT id FROM r1")"
  else
    grep -q '^Error: ' err.txt || fail "replica open failed without a message (exit $rc)"
    echo "note: replicas not available yet: $(head -1 err.txt)"
  fi
fi

# --auth-token and LIBSQL_AUTH_TOKEN against a server that checks JWTs (an Ed25519 key and token made by openssl)
if command -v openssl >/dev/null && openssl genpkey -algorithm ed25519 -out jwt.key 2>/dev/null; then
  openssl pkey -in jwt.key -pubout -out jwt.pub
  b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
  jwt_body="$(printf '{"alg":"EdDSA","typ":"JWT"}' | b64url).$(printf '{"a":"rw"}' | b64url)"
  printf '%s' "$jwt_body" >jwt.in
  token="$jwt_body.$(openssl pkeyutl -sign -inkey jwt.key -rawin -in jwt.in | b64url)"
  start_serve "$tmp/auth.db" --auth-jwt-key-file jwt.pub
  if [[ -z $port ]]; then
    fail "libsql serve with auth did not start: $(cat "$tmp"/auth.db.log*)"
  else
    aurl="http://127.0.0.1:$port"
    shell "$aurl" "SELECT 1" >/dev/null 2>err.txt && fail "no token: accepted"
    grep -q '^Error: .*401' err.txt || fail "no token: '$(cat err.txt)'"
    expect "--auth-token" "1" "$(shell --auth-token "$token" --mode csv --no-header "$aurl" "SELECT 1")"
    expect "LIBSQL_AUTH_TOKEN" "2" "$(LIBSQL_AUTH_TOKEN=$token shell --mode csv --no-header "$aurl" "SELECT 2")"
    shell --auth-token "$token.x" "$aurl" "SELECT 1" >/dev/null 2>&1 && fail "a bad signature was accepted"
    out=$(LIBSQL_AUTH_TOKEN=$token timeout 20 "$bin" migrate up migrations "$aurl" 2>&1) || fail "migrate with a token: $out"
    [[ $out == "applied 0001 m1"* ]] || fail "migrate with a token printed '$out'"
    timeout 20 "$bin" migrate status migrations "$aurl" >/dev/null 2>&1 && fail "migrate without a token succeeded"
  fi
fi

# tursodb --sync-server on a fresh file
if [[ -n $tursodb && -x $tursodb ]]; then
  tport=
  for _ in 1 2 3 4 5; do
    p=$((20000 + RANDOM % 20000))
    "$tursodb" "$tmp/turso-$p.db" --sync-server "127.0.0.1:$p" >/dev/null 2>&1 &
    tpid=$!
    pids+=($tpid)
    for _ in $(seq 100); do
      if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then tport=$p; break; fi
      kill -0 "$tpid" 2>/dev/null || break
      sleep 0.05
    done
    [[ -n $tport ]] && break
  done
  if [[ -z $tport ]]; then
    fail "tursodb --sync-server did not start"
  else
    turl="http://127.0.0.1:$tport"
    shell "$turl" "$setup_sql" || fail "setup on tursodb exited $?"
    expect "the same output from tursodb" "$local_out" "$(run_all "$turl")"
    expect "tursodb: .eqp on" "$(shell --mode csv db.sqlite ".eqp on" "SELECT name FROM items WHERE id = 1")" \
      "$(shell --mode csv "$turl" ".eqp on" "SELECT name FROM items WHERE id = 1")"
    shell "$turl" "SELECT nope" >/dev/null 2>err.txt && fail "a tursodb SQL error exited 0"
    grep -q '^Error: .*nope' err.txt || fail "tursodb error message: '$(cat err.txt)'"
  fi
else
  echo "note: tursodb not found, its comparison skipped"
fi

# --- over TLS: a server with a certificate from a throwaway CA (tests/support/make_test_certs.sh, openssl)
certs="$tmp/certs"
mkdir -p "$certs"
if ! command -v openssl >/dev/null; then
  fail "openssl is missing (scripts/setup installs it)"
elif ! bash "$here/../support/make_test_certs.sh" "$certs"; then
  fail "make_test_certs.sh failed"
else
  start_serve "$tmp/tls.db" --tls-cert-file "$certs/server.pem" --tls-key-file "$certs/server.key"
  tls_port=$port
  if [[ -z $tls_port ]]; then
    fail "libsql serve with TLS did not start: $(cat "$tmp/tls.db.log.err")"
  else
    for scheme in https wss; do
      turl="$scheme://localhost:$tls_port"
      expect "shell over $scheme with --tls-ca-file" "42" \
        "$(shell --mode csv --no-header --tls-ca-file "$certs/ca.pem" "$turl" "SELECT 40 + 2")"
      shell "$turl" "SELECT 1" >/dev/null 2>err.txt && fail "$scheme without the CA exited 0"
      grep -qi 'certificate\|tls\|ssl' err.txt || fail "$scheme without the CA: '$(cat err.txt)'"
      shell --tls-ca-file "$certs/other-ca.pem" "$turl" "SELECT 1" >/dev/null 2>&1 &&
        fail "$scheme with another CA exited 0"
      expect "shell over $scheme with --no-tls-verify" "7" \
        "$(shell --mode csv --no-header --no-tls-verify "$turl" "SELECT 7")"
    done
    shell --tls-ca-file "$tmp/no-such.pem" "https://localhost:$tls_port" "SELECT 1" >/dev/null 2>&1 &&
      fail "a missing --tls-ca-file exited 0"
  fi
fi

if [[ $failures -ne 0 ]]; then echo "$failures failure(s)" >&2; exit 1; fi
echo "shell_test: all checks passed"
