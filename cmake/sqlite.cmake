# The SQLite engine, compiled from the official amalgamation with the options this project relies on.
# Why each option is here: docs/SQLITE_OPTIONS.md.
if(NOT EXISTS "${LIBSQL_SQLITE_DIR}/sqlite3.c")
  message(FATAL_ERROR "SQLite amalgamation not found in ${LIBSQL_SQLITE_DIR}: run scripts/setup first")
endif()

add_library(libsql_sqlite3 STATIC "${LIBSQL_SQLITE_DIR}/sqlite3.c")
target_include_directories(libsql_sqlite3 SYSTEM PUBLIC "${LIBSQL_SQLITE_DIR}")
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
)
target_compile_definitions(libsql_sqlite3 PUBLIC ${LIBSQL_SQLITE_DEFINES})
# Third-party code: its warnings are not ours to fix. Optimised even in debug builds: tests run faster.
target_compile_options(libsql_sqlite3 PRIVATE -w -O2)
set_target_properties(libsql_sqlite3 PROPERTIES POSITION_INDEPENDENT_CODE ON)
find_package(Threads REQUIRED)
target_link_libraries(libsql_sqlite3 PUBLIC Threads::Threads ${CMAKE_DL_LIBS} m)
