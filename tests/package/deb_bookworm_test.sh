#!/usr/bin/env bash
# The Debian package on a fresh Debian 12 (docs/INSTALL.md): `cpack -G DEB` of this build tree, installed with apt in
# a minimal bookworm root made by debootstrap (apt resolves the package's Depends from Debian's archive, which checks
# that line), then only what a consumer needs (g++, cmake, make, pkg-config). Inside, tests/package/consumer is built
# against the installed package with find_package (libsql::libsql and libsql::soci) and with pkg-config, and run; so
# are the SOCI backend through SOCI's loader and the `libsql` command.
# Usage: deb_bookworm_test.sh SOURCE_DIR BUILD_DIR SCRATCH_DIR
#   The root is made once and kept as a tarball in $LIBSQL_DEB_CACHE (default SOURCE_DIR/build/deb-bookworm), with
#   the packages apt downloaded into it, so a rerun unpacks the root and downloads nothing new. The first run also
#   takes the .debs this machine's apt already has (/var/cache/apt/archives: what scripts/setup installed), hard-linked,
#   never written to; debootstrap and apt check each against the archive's signed index. SCRATCH_DIR (the
#   root of this run) is removed at the end, pass or fail, unless LIBSQL_KEEP_SCRATCH is set.
#   Needs root (chroot) and debootstrap (scripts/setup installs it); exits 77 (skipped) without them.
#   The mirror is the one this machine's apt uses (/etc/apt/sources.list*), or LIBSQL_DEB_MIRROR.
#   LIBSQL_TEST_DEB=0 skips it (exit 77), e.g. `LIBSQL_TEST_DEB=0 scripts/test` on a slow link to the archive.
set -euo pipefail
src=$1 build=$2 scratch=$3
cache=${LIBSQL_DEB_CACHE:-${LIBSQL_BUILD_ROOT:-$src/build}/deb-bookworm}
root=$scratch/root

say() { echo "deb_bookworm_test: $*"; }
fail() { echo "deb_bookworm_test: FAILED: $*" >&2; exit 1; }
if [[ ${LIBSQL_TEST_DEB:-1} == 0 ]]; then
  say "skipped: LIBSQL_TEST_DEB=0"
  exit 77
fi
if [[ $(id -u) -ne 0 ]] || ! command -v debootstrap >/dev/null || ! command -v chroot >/dev/null; then
  say "skipped: needs root, chroot and debootstrap (apt-get install debootstrap)"
  exit 77
fi
command -v cpack >/dev/null || fail "no cpack"

# The archive's URIs for bookworm, bookworm-updates and bookworm-security, read from apt's sources (one-line and
# deb822 formats), as "URI SUITE" lines.
mirrors() {
  if [[ -n ${LIBSQL_DEB_MIRROR:-} ]]; then
    echo "$LIBSQL_DEB_MIRROR bookworm"
    return
  fi
  local f files=()
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] && files+=("$f")  # mawk stops at a file it cannot open
  done
  ((${#files[@]})) || return 0
  awk '
    function flush() {
      if (types ~ /(^| )deb( |$)/) for (u in uris) for (s in suites) print uris[u], suites[s]
      types = ""; delete uris; delete suites
    }
    FNR == 1 { flush() }
    /^[ \t]*#/ { next }
    /^deb[ \t]/ { sub(/\[[^]]*\][ \t]*/, ""); print $2, $3; next }
    /^[ \t]*$/ { flush(); next }
    /^Types:/ { types = $0; sub(/^Types:[ \t]*/, "", types) }
    /^URIs:/ { n = split($0, a, /[ \t]+/); for (i = 2; i <= n; i++) uris[i] = a[i] }
    /^Suites:/ { n = split($0, a, /[ \t]+/); for (i = 2; i <= n; i++) suites[i] = a[i] }
    END { flush() }
  ' "${files[@]}" 2>/dev/null | awk '$2 ~ /^bookworm(-updates|-security)?$/ && $1 ~ /^https?:/' | sort -u
}
mapfile -t sources < <(mirrors)
((${#sources[@]})) || sources=("http://deb.debian.org/debian bookworm")
mirror=
for s in "${sources[@]}"; do [[ ${s#* } == bookworm ]] && mirror=${s% *} && break; done
[[ -n $mirror ]] || mirror=http://deb.debian.org/debian

rm -rf "$scratch"
mkdir -p "$scratch" "$cache/archives"
host_debs=/var/cache/apt/archives
# seed_debs DIR: hard links to the .debs the cache and this machine's apt hold (nothing when they are on another
# file system).
seed_debs() {
  cp -ln "$cache"/archives/*.deb "$1/" 2>/dev/null || true
  cp -ln "$host_debs"/*.deb "$1/" 2>/dev/null || true
}
cleanup() {
  # Nothing is mounted in the root; only the packages downloaded here (not the machine's own) are kept.
  local f
  for f in "$root"/var/cache/apt/archives/*.deb "$cache"/debootstrap-debs/*.deb; do
    [[ -f $f && ! -e $host_debs/${f##*/} ]] && { cp -ln "$f" "$cache/archives/" 2>/dev/null || cp -n "$f" "$cache/archives/"; }
  done
  rm -rf "$cache/debootstrap-debs"
  [[ -n ${LIBSQL_KEEP_SCRATCH:-} ]] || rm -rf "$scratch"
}
trap cleanup EXIT
start=$SECONDS

# 1. The package, from this build tree (as built: ctest does not rebuild it).
say "cpack -G DEB in $build"
(cd "$build" && cpack -G DEB -B "$scratch/cpack") >"$scratch/cpack.log" 2>&1 || { cat "$scratch/cpack.log"; fail "cpack"; }
deb=$(compgen -G "$scratch/cpack/libsql-cpp_*.deb" | head -1) || fail "cpack made no libsql-cpp_*.deb"
say "$(basename "$deb"): $(du -h "$deb" | cut -f1), Depends: $(dpkg-deb -f "$deb" Depends)"

# 2. A fresh bookworm (debootstrap --variant=minbase), made once and kept as a tarball.
base=$cache/bookworm-minbase.tar
if [[ ! -f $base ]]; then
  say "debootstrap --variant=minbase bookworm from $mirror (once; kept as $base)"
  rm -rf "$cache/debootstrap" "$cache/debootstrap-debs"
  mkdir -p "$cache/debootstrap-debs"
  seed_debs "$cache/debootstrap-debs"
  debootstrap --variant=minbase --cache-dir="$cache/debootstrap-debs" bookworm "$cache/debootstrap" "$mirror" \
    >"$cache/debootstrap.log" 2>&1 ||
    { tail -30 "$cache/debootstrap.log"; rm -rf "$cache/debootstrap"; fail "debootstrap"; }
  rm -f "$cache/debootstrap"/var/cache/apt/archives/*.deb
  tar -C "$cache/debootstrap" -cf "$base.tmp" . && mv "$base.tmp" "$base"
  rm -rf "$cache/debootstrap"
fi
mkdir -p "$root"
tar -C "$root" -xf "$base"
for s in "${sources[@]}"; do echo "deb ${s% *} ${s#* } main"; done >"$root/etc/apt/sources.list"
rm -f "$root"/etc/apt/sources.list.d/*
cp /etc/resolv.conf "$root/etc/resolv.conf"
seed_debs "$root/var/cache/apt/archives"
cp "$deb" "$root/tmp/"
cp -r "$src/tests/package/consumer" "$root/tmp/consumer"
say "root ready after $((SECONDS - start)) s; apt sources: $(tr '\n' ';' <"$root/etc/apt/sources.list")"

# 3. Inside: apt installs the package (and its Depends), then the consumer's tools; the consumer builds both ways.
chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
  LC_ALL=C DEBIAN_FRONTEND=noninteractive DEB="/tmp/$(basename "$deb")" /bin/bash -euo pipefail -c '
  step() { echo "deb_bookworm_test (inside, ${SECONDS} s): $*"; }
  step "apt-get install $DEB"
  apt-get update -q >/tmp/apt-update.log 2>&1 || { cat /tmp/apt-update.log; exit 1; }
  apt-get install -y -q --no-install-recommends "$DEB" >/tmp/apt-install.log 2>&1 ||
    { tail -40 /tmp/apt-install.log; exit 1; }
  grep -m1 "^Setting up libsql-cpp" /tmp/apt-install.log
  echo "$(grep -c "^Setting up" /tmp/apt-install.log) packages set up with it"
  step "apt-get install g++ cmake make pkg-config"
  apt-get install -y -q --no-install-recommends g++ cmake make pkg-config >/tmp/apt-tools.log 2>&1 ||
    { tail -40 /tmp/apt-tools.log; exit 1; }
  dpkg-query -W -f="\${Package} \${Version}\n" libsql-cpp g++ cmake libsoci-dev
  for f in /usr/bin/libsql /usr/lib/libsoci_libsql.so.4.0; do
    if ldd "$f" | grep "not found"; then echo "$f: a library the Depends line does not bring"; exit 1; fi
  done
  step "the libsql command"
  out=$(libsql shell --mode csv --no-header :memory: "SELECT 40 + 2")
  [[ $out == 42 ]] || { echo "libsql shell printed \"$out\""; exit 1; }
  echo "libsql shell: SELECT 40 + 2 = $out"
  step "find_package(libsql CONFIG REQUIRED COMPONENTS soci)"
  cmake -S /tmp/consumer -B /tmp/consumer-build -DCMAKE_BUILD_TYPE=Release -DLIBSQL_CONSUMER_SOCI=ON \
    >/tmp/configure.log 2>&1 || { cat /tmp/configure.log; exit 1; }
  grep "consumer: libsql" /tmp/configure.log
  cmake --build /tmp/consumer-build -j2 >/tmp/build.log 2>&1 || { cat /tmp/build.log; exit 1; }
  /tmp/consumer-build/consumer
  /tmp/consumer-build/soci_consumer
  /tmp/consumer-build/soci_consumer --by-name   # SOCI loader: /usr/lib/libsoci_libsql.so.4.0, no SOCI_BACKENDS_PATH
  step "pkg-config --cflags --libs --static libsql"
  flags=$(pkg-config --cflags --libs --static libsql)
  echo "pkg-config: $flags"
  g++ -std=c++20 -O1 -o /tmp/consumer-pc /tmp/consumer/main.cpp $flags
  /tmp/consumer-pc
' || fail "inside the bookworm root (above)"
say "ok in $((SECONDS - start)) s"
