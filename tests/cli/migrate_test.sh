#!/usr/bin/env bash
# `libsql migrate up|down|status DIR TARGET`: run against a temporary folder of migrations and a temporary database.
#   tests/cli/migrate_test.sh PATH_TO_LIBSQL
set -euo pipefail

bin=${1:?usage: migrate_test.sh PATH_TO_LIBSQL}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dir="$tmp/migrations"
db="$tmp/app.db"
mkdir "$dir"
echo "CREATE TABLE a(id INTEGER PRIMARY KEY, x TEXT);" >"$dir/0001_a.up.sql"
echo "DROP TABLE a;" >"$dir/0001_a.down.sql"
echo "CREATE TABLE b(id INTEGER PRIMARY KEY); CREATE INDEX b_id ON b(id);" >"$dir/0002_b.up.sql"
echo "DROP TABLE b;" >"$dir/0002_b.down.sql"
echo "CREATE TABLE c(id INTEGER PRIMARY KEY);" >"$dir/0003_c.up.sql"
echo "DROP TABLE c;" >"$dir/0003_c.down.sql"

failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
# expect_status VERSION APPLIED: the status line of VERSION says applied yes/no.
expect_status() {
  local line
  line=$("$bin" migrate status "$dir" "$db" | awk -v v="$1" '$1 == v')
  [[ -n "$line" ]] || { fail "status has no line for $1"; return; }
  [[ $(awk '{print $3}' <<<"$line") == "$2" ]] || fail "status of $1: expected applied=$2, got '$line'"
  if [[ $2 == yes ]]; then
    [[ $(awk '{print $4}' <<<"$line") =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T ]] || fail "status of $1: no applied_at in '$line'"
  fi
}

# status of a database that does not exist: an error, and no file made.
if "$bin" migrate status "$dir" "$db" >/dev/null 2>"$tmp/err"; then fail "status of a missing database succeeded"; fi
[[ ! -e "$db" ]] || fail "status created the database"

# up --to 1, then up: each applied version printed.
out=$("$bin" migrate up --to 1 "$dir" "$db") || fail "up --to 1 exited $?"
[[ $out == "applied 0001 a" ]] || fail "up --to 1 printed '$out'"
expect_status 0001 yes
expect_status 0002 no
out=$("$bin" migrate up "$dir" "$db") || fail "up exited $?"
[[ $out == $'applied 0002 b\napplied 0003 c' ]] || fail "up printed '$out'"
out=$("$bin" migrate up "$dir" "$db") || fail "second up exited $?"
[[ $out == "nothing to apply" ]] || fail "second up printed '$out'"

out=$("$bin" migrate status "$dir" "$db")
head -1 <<<"$out" | grep -q '^version  *name  *applied  *applied_at$' || fail "status header: '$(head -1 <<<"$out")'"
[[ $(wc -l <<<"$out") -eq 4 ]] || fail "status has $(wc -l <<<"$out") lines, expected 4: $out"
for v in 0001 0002 0003; do expect_status "$v" yes; done

# down reverts the last one only; down --to 0 the rest.
out=$("$bin" migrate down "$dir" "$db") || fail "down exited $?"
[[ $out == "reverted 0003 c" ]] || fail "down printed '$out'"
expect_status 0003 no
expect_status 0002 yes
out=$("$bin" migrate down --to 0 "$dir" "$db") || fail "down --to 0 exited $?"
[[ $out == $'reverted 0002 b\nreverted 0001 a' ]] || fail "down --to 0 printed '$out'"
for v in 0001 0002 0003; do expect_status "$v" no; done
out=$("$bin" migrate down "$dir" "$db") || fail "down on nothing exited $?"
[[ $out == "nothing to revert" ]] || fail "down on nothing printed '$out'"

# a failing migration: non-zero exit, the message on stderr, earlier ones kept, nothing of the failing one.
echo "CREATE TABLE d(id INTEGER PRIMARY KEY); THIS IS NOT SQL;" >"$dir/0004_d.up.sql"
if "$bin" migrate up "$dir" "$db" >"$tmp/out" 2>"$tmp/err"; then fail "up with a broken migration succeeded"; fi
grep -q '^libsql migrate: ' "$tmp/err" || fail "no error message on stderr: '$(cat "$tmp/err")'"
for v in 0001 0002 0003; do expect_status "$v" yes; done
expect_status 0004 no
rm "$dir/0004_d.up.sql"

# a server that is not there (nothing listens on port 1): a connection error, exit code non-zero. (Migrations over
# HTTP against `libsql serve` are tested in shell_test.sh.)
if "$bin" migrate up "$dir" "http://127.0.0.1:1" >/dev/null 2>"$tmp/err"; then fail "up against a dead URL succeeded"; fi
grep -q '^libsql migrate: .*127.0.0.1:1' "$tmp/err" || fail "no clear connection error: '$(cat "$tmp/err")'"
# --sync-url makes TARGET a replica's local file, so TARGET cannot be a URL then.
if "$bin" migrate up --sync-url "http://127.0.0.1:1" "$dir" "http://127.0.0.1:1" >/dev/null 2>"$tmp/err"; then
  fail "up with --sync-url and a URL target succeeded"
fi
grep -q 'sync-url' "$tmp/err" || fail "no clear --sync-url error: '$(cat "$tmp/err")'"
# a missing folder: a usage error.
if "$bin" migrate up "$tmp/nowhere" "$db" >/dev/null 2>&1; then fail "up with a missing folder succeeded"; fi
# a malformed migration file name.
echo "SELECT 1;" >"$dir/x_bad.up.sql"
if "$bin" migrate status "$dir" "$db" >/dev/null 2>"$tmp/err"; then fail "status with a malformed file name succeeded"; fi
grep -q '^libsql migrate: ' "$tmp/err" || fail "no error message for a malformed file: '$(cat "$tmp/err")'"

if [[ $failures -ne 0 ]]; then echo "$failures failure(s)" >&2; exit 1; fi
echo "migrate_test: all checks passed"
