# The engine: the SQLite3MultipleCiphers amalgamation (SQLite + the encryption codecs libSQL uses), with our patches,
# compiled with the options this project relies on. Why each option is here: docs/ENGINE.md.
if(NOT EXISTS "${LIBSQL_SQLITE_DIR}/sqlite3.c")
  message(FATAL_ERROR "Engine amalgamation not found in ${LIBSQL_SQLITE_DIR}: run scripts/setup first")
endif()
file(STRINGS "${LIBSQL_SQLITE_DIR}/sqlite3.h" libsql_sqlite3mc_version REGEX "^#define SQLITE3MC_VERSION_STRING")
if(NOT libsql_sqlite3mc_version)
  message(FATAL_ERROR "${LIBSQL_SQLITE_DIR} is not the SQLite3MultipleCiphers amalgamation: run scripts/setup")
endif()

# engine/libsql_engine.c includes sqlite3.c and adds the functions of engine/libsql_engine.h (one translation unit:
# they reach the codec's internals).
add_library(libsql_sqlite3 STATIC "${PROJECT_SOURCE_DIR}/engine/libsql_engine.c")
set_source_files_properties("${PROJECT_SOURCE_DIR}/engine/libsql_engine.c" PROPERTIES
  OBJECT_DEPENDS "${LIBSQL_SQLITE_DIR}/sqlite3.c;${LIBSQL_SQLITE_DIR}/sqlite3.h")
target_include_directories(libsql_sqlite3 SYSTEM PUBLIC "${LIBSQL_SQLITE_DIR}" "${PROJECT_SOURCE_DIR}/engine")
set(LIBSQL_SQLITE_DEFINES
  SQLITE_THREADSAFE=1
  SQLITE_DQS=0
  SQLITE_ENABLE_DBPAGE_VTAB
  SQLITE_ENABLE_SESSION
  SQLITE_ENABLE_PREUPDATE_HOOK
  SQLITE_ENABLE_COLUMN_METADATA
  SQLITE_ENABLE_FTS5
  SQLITE_ENABLE_RTREE
  SQLITE_ENABLE_MATH_FUNCTIONS
  SQLITE_ENABLE_STAT4
  SQLITE_ENABLE_API_ARMOR
  SQLITE_USE_URI=1
  SQLITE_DEFAULT_MEMSTATUS=0
  SQLITE_LIKE_DOESNT_MATCH_BLOBS
  HAVE_USLEEP=1
  HAVE_FDATASYNC=1
  HAVE_LOCALTIME_R=1
  HAVE_GMTIME_R=1
  HAVE_STRCHRNUL=1
  HAVE_MALLOC_USABLE_SIZE=1
  # SQLite3MultipleCiphers: a key given without a cipher means AES-256-CBC, libSQL's default ("aes256cbc");
  # connections choose another cipher at run time (connect_options::cipher, PRAGMA cipher).
  CODEC_TYPE=CODEC_TYPE_AES256
)
target_compile_definitions(libsql_sqlite3 PUBLIC ${LIBSQL_SQLITE_DEFINES})
# Third-party code: its warnings are not ours to fix. Optimised even in debug builds: tests run faster.
target_compile_options(libsql_sqlite3 PRIVATE -w -O2)
set_target_properties(libsql_sqlite3 PROPERTIES POSITION_INDEPENDENT_CODE ON)
find_package(Threads REQUIRED)
target_link_libraries(libsql_sqlite3 PUBLIC Threads::Threads ${CMAKE_DL_LIBS} m)
