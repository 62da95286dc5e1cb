#!/usr/bin/env bash
# Builds and runs tests/package/consumer against libsql-cpp the ways a user gets it (docs/INSTALL.md):
#   install       `cmake --install` of this build tree into a prefix, then find_package(libsql CONFIG)
#   pkgconfig     the same prefix through `pkg-config --cflags --libs --static libsql`, compiled by the compiler alone
#   subdirectory  add_subdirectory(<source tree>) (the library only: no tests, benchmarks or server)
#   fetchcontent  FetchContent_Declare(libsql SOURCE_DIR <source tree>), no network
#   shared        the source tree built with BUILD_SHARED_LIBS=ON, installed, its exported symbols checked, then
#                 find_package as in install
# Where this build tree has the SOCI backend, every mode but pkgconfig also builds soci_consumer against libsql::soci
# and runs it through the factory and through SOCI's loader.
# Usage: consumer_test.sh MODE SOURCE_DIR BUILD_DIR SCRATCH_DIR CXX CC BUILD_TYPE
# SCRATCH_DIR is removed at the end, pass or fail.
set -euo pipefail
mode=$1 src=$2 build=$3 scratch=$4 cxx=$5 cc=$6 build_type=${7:-RelWithDebInfo}
consumer_src=$src/tests/package/consumer

rm -rf "$scratch"
mkdir -p "$scratch"
trap '[[ -n ${LIBSQL_KEEP_SCRATCH:-} ]] || rm -rf "$scratch"' EXIT
cd "$scratch"

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
  # Hits across build trees: the scratch builds compile the same sources from the same depth (scripts/lib.sh).
  export CCACHE_NOHASHDIR=1 CCACHE_BASEDIR=$src
fi
common=("${generator[@]}" "${launcher[@]}" -DCMAKE_BUILD_TYPE="$build_type" -DCMAKE_CXX_COMPILER="$cxx"
        -DCMAKE_C_COMPILER="$cc")
# LIBSQL_PACKAGE_SANITIZE: a sanitized build tree's flags (tests/CMakeLists.txt); everything here is built with them.
san=${LIBSQL_PACKAGE_SANITIZE:-}
if [[ -n $san ]]; then
  common+=(-DCMAKE_CXX_FLAGS="$san" -DCMAKE_C_FLAGS="$san" -DCMAKE_EXE_LINKER_FLAGS="$san"
           -DCMAKE_SHARED_LINKER_FLAGS="$san")
fi

fail() { echo "consumer_test $mode: FAILED: $*" >&2; exit 1; }

# consume ARGS...: configure, build and run the consumer.
consume() {
  cmake -S "$consumer_src" -B consumer-build "${common[@]}" "$@" >consumer-configure.log 2>&1 ||
    { cat consumer-configure.log; fail "configuring the consumer"; }
  cmake --build consumer-build -j2 >consumer-build.log 2>&1 || { cat consumer-build.log; fail "building the consumer"; }
  consumer-build/consumer || fail "the consumer exited $?"
}

# check_prefix PREFIX: what an install must hold.
check_prefix() {
  local p=$1 f
  for f in include/libsql/libsql.hpp include/libsql/detail/backend.hpp lib/cmake/libsql/libsqlConfig.cmake \
           lib/cmake/libsql/libsqlConfigVersion.cmake lib/cmake/libsql/libsqlTargets.cmake lib/pkgconfig/libsql.pc; do
    [[ -f $p/$f ]] || fail "$f not installed"
  done
  compgen -G "$p/lib/liblibsql-cpp.*" >/dev/null || fail "the library not installed"
  if [[ -x $build/tools/libsql/libsql && $mode != shared ]]; then
    [[ -x $p/bin/libsql ]] || fail "the libsql command not installed"
  fi
}

# The SOCI backend, when this build tree has it: installed beside the library, found as find_package(libsql
# COMPONENTS soci), and loadable by SOCI's loader from the prefix.
soci_built=
compgen -G "$build/src/soci/libsoci_libsql.so*" >/dev/null && soci_built=1
# check_soci_backend DIR: libsoci_libsql.so.4.0 in DIR exports the factory and not the engine, and soci_consumer
# runs through libsql::soci's factory and through SOCI's loader from DIR.
check_soci_backend() {
  local dir=$1 exported
  [[ -f $dir/libsoci_libsql.so.4.0 ]] || fail "no libsoci_libsql.so.4.0 in $dir"
  exported=$(nm -D --defined-only "$dir/libsoci_libsql.so.4.0" | awk '{print $3}')
  grep -qx factory_libsql <<<"$exported" || fail "libsoci_libsql exports no factory_libsql"
  if grep -q '^sqlite3' <<<"$exported"; then fail "libsoci_libsql exports the engine's sqlite3* symbols"; fi
  consumer-build/soci_consumer || fail "soci_consumer exited $?"
  SOCI_BACKENDS_PATH=$dir consumer-build/soci_consumer --by-name || fail "soci_consumer --by-name exited $?"
}
# check_soci PREFIX: the backend installed there, as find_package(libsql COMPONENTS soci) found it.
check_soci() {
  local p=$1
  [[ -f $p/include/libsql/soci.hpp && -f $p/lib/cmake/libsql/libsqlSociTargets.cmake ]] ||
    fail "the SOCI backend's header or CMake targets not installed"
  check_soci_backend "$p/lib"
}
# check_soci_subproject: the backend built inside the consumer's build (add_subdirectory, FetchContent).
check_soci_subproject() {
  local so
  so=$(find consumer-build -name libsoci_libsql.so.4.0 | head -1)
  [[ -n $so ]] || fail "the subproject built no libsoci_libsql.so.4.0"
  check_soci_backend "$(dirname "$so")"
}

# subproject: the library (and the SOCI backend when this machine has SOCI) as part of the consumer's build; the
# server and the command are left out to stay quick.
subproject=(-DLIBSQL_CONSUMER_SOURCE_DIR="$src" -DLIBSQL_BUILD_SERVER=OFF -DLIBSQL_CONSUMER_SOCI=${soci_built:+ON})
soci_option=OFF
[[ -z $soci_built ]] || soci_option=ON
subproject+=(-DLIBSQL_BUILD_SOCI="$soci_option")

case $mode in
  install)
    cmake --install "$build" --prefix "$scratch/prefix" >install.log || { cat install.log; fail "cmake --install"; }
    check_prefix "$scratch/prefix"
    consume -DLIBSQL_CONSUMER_MODE=package -DCMAKE_PREFIX_PATH="$scratch/prefix" -DLIBSQL_CONSUMER_SOCI=${soci_built:+ON}
    [[ -z $soci_built ]] || check_soci "$scratch/prefix"
    ;;
  pkgconfig)
    cmake --install "$build" --prefix "$scratch/prefix" >install.log || { cat install.log; fail "cmake --install"; }
    check_prefix "$scratch/prefix"
    flags=$(PKG_CONFIG_PATH=$scratch/prefix/lib/pkgconfig pkg-config --cflags --libs --static libsql) ||
      fail "pkg-config"
    echo "pkg-config: $flags"
    # shellcheck disable=SC2086  # the flags are words
    "$cxx" -std=c++20 $san -o consumer "$consumer_src/main.cpp" $flags || fail "compiling with pkg-config's flags"
    # A shared libsql from a prefix outside the loader's path (nothing sets an rpath here).
    LD_LIBRARY_PATH=$scratch/prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} ./consumer || fail "the consumer exited $?"
    ;;
  subdirectory)
    consume -DLIBSQL_CONSUMER_MODE=subdirectory "${subproject[@]}"
    [[ -z $soci_built ]] || check_soci_subproject
    ;;
  fetchcontent)
    consume -DLIBSQL_CONSUMER_MODE=fetchcontent "${subproject[@]}"
    [[ -z $soci_built ]] || check_soci_subproject
    ;;
  shared)
    lib_build=$scratch/shared/lib-build
    cmake -S "$src" -B "$lib_build" "${common[@]}" -DBUILD_SHARED_LIBS=ON -DLIBSQL_BUILD_SERVER=OFF \
          -DLIBSQL_BUILD_SOCI="$soci_option" -DLIBSQL_BUILD_TESTS=OFF -DLIBSQL_BUILD_BENCH=OFF -DLIBSQL_BUILD_EXAMPLES=OFF >lib-configure.log 2>&1 ||
      { cat lib-configure.log; fail "configuring the shared library"; }
    cmake --build "$lib_build" -j2 >lib-build.log 2>&1 || { cat lib-build.log; fail "building the shared library"; }
    cmake --install "$lib_build" --prefix "$scratch/prefix" >install.log || { cat install.log; fail "cmake --install"; }
    check_prefix "$scratch/prefix"
    so=$(readlink -f "$scratch"/prefix/lib/liblibsql-cpp.so)
    soname=$(objdump -p "$so" | awk '$1 == "SONAME" {print $2}')
    echo "shared: $(basename "$so"), SONAME $soname"
    [[ $soname =~ ^liblibsql-cpp\.so\.[0-9]+ ]] || fail "no versioned SONAME ($soname)"
    nm -D --defined-only "$so" >exported.txt
    nm -DC --defined-only "$so" >exported_demangled.txt
    echo "shared: $(wc -l <exported.txt) exported symbols, $(grep -c ' sqlite3' exported.txt || true) sqlite3*"
    if grep -q ' sqlite3' exported.txt; then fail "the engine's sqlite3* symbols are exported"; fi
    # Everything exported belongs to namespace libsql (functions, type information, virtual tables).
    others=$(grep -v 'libsql::' exported_demangled.txt || true)
    [[ -z $others ]] || { echo "$others" | head -20; fail "symbols outside namespace libsql exported"; }
    consume -DLIBSQL_CONSUMER_MODE=package -DCMAKE_PREFIX_PATH="$scratch/prefix" -DLIBSQL_CONSUMER_SOCI=${soci_built:+ON}
    if [[ -n $soci_built ]]; then
      # The backend links the shared libsql (found beside it through its $ORIGIN run path), not a copy of it.
      objdump -p "$scratch/prefix/lib/libsoci_libsql.so.4.0" | grep -q "NEEDED *$soname" ||
        fail "libsoci_libsql.so.4.0 does not link $soname"
      check_soci "$scratch/prefix"
    fi
    ;;
  *)
    fail "unknown mode (install, pkgconfig, subdirectory, fetchcontent, shared)"
    ;;
esac
echo "consumer_test $mode: ok"
