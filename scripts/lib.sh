# Shared by scripts/run, scripts/test and scripts/bench: configure and build one build tree.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jobs=${LIBSQL_JOBS:-$(nproc)}
# ccache: share hits between build trees (paths differ, contents do not).
export CCACHE_NOHASHDIR=1 CCACHE_BASEDIR=$root

# build_tree DIR [cmake args...]: configure (once) and build.
build_tree() {
  local dir=$1; shift
  cmake -S "$root" -B "$root/build/$dir" -G Ninja "$@" >/dev/null
  ninja -C "$root/build/$dir" -j "$jobs"
}
