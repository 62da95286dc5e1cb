/* engine/libsql_engine.c: the engine's translation unit. It compiles the SQLite3MultipleCiphers amalgamation as it is
** (with our patches applied by scripts/setup, our options from cmake/sqlite.cmake) and adds, in the same unit, the
** few functions declared in libsql_engine.h that need the codec's internals. See docs/ENGINE.md. */
#include "sqlite3.c"

#include "libsql_engine.h"

int libsql_engine_decrypt_page(sqlite3* db, const char* zDb, unsigned int pgno, void* data, int n) {
  int rc = SQLITE_OK;
  Codec* codec;
  if (db == 0 || data == 0 || pgno == 0 || n <= 0) return SQLITE_MISUSE;
  sqlite3_mutex_enter(db->mutex);
  codec = sqlite3mcGetCodec(db, zDb ? zDb : "main");
  if (codec != 0 && sqlite3mcIsEncrypted(codec) && sqlite3mcHasReadCipher(codec)) {
    if (n != sqlite3mcGetPageSize(codec)) {
      rc = SQLITE_MISUSE;
    } else {
      rc = sqlite3mcDecrypt(codec, (int)pgno, (unsigned char*)data, n);
    }
  }
  sqlite3_mutex_leave(db->mutex);
  return rc;
}

int libsql_engine_make_internal(sqlite3* db, const char* zName, int nArg) {
  FuncDef* p;
  if (db == 0 || zName == 0) return SQLITE_MISUSE;
  sqlite3_mutex_enter(db->mutex);
  p = sqlite3FindFunction(db, zName, nArg, SQLITE_UTF8, 0);
  /* only a function of this connection's own, never one of the built-in (shared, static) definitions */
  if (p != 0 && (p->funcFlags & SQLITE_FUNC_BUILTIN) == 0) p->funcFlags |= SQLITE_FUNC_INTERNAL;
  sqlite3_mutex_leave(db->mutex);
  return p != 0 && (p->funcFlags & SQLITE_FUNC_INTERNAL) ? SQLITE_OK : SQLITE_ERROR;
}
