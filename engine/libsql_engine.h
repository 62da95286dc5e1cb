/* engine/libsql_engine.h: what our engine build adds to the SQLite3MultipleCiphers C API (engine/libsql_engine.c).
** Included by src/local only. */
#ifndef LIBSQL_ENGINE_H
#define LIBSQL_ENGINE_H

#include <sqlite3.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Decrypts, in place, one page as it is stored in the main file or the WAL of database zDb ("main" when NULL) of
** connection db, with that connection's read cipher: `data` holds the n bytes of page `pgno` read raw from disk.
** SQLITE_OK when the database is not encrypted (the page is left as it is); SQLITE_MISUSE when n is not the codec's
** page size or pgno is 0; the cipher's error code (e.g. SQLITE_NOTADB for an authentication failure) otherwise.
** The connection must have read its schema (so that its codec knows the page size). */
int libsql_engine_decrypt_page(sqlite3* db, const char* zDb, unsigned int pgno, void* data, int n);

/* Marks the SQL function zName with nArg arguments (as registered, UTF-8) internal: SQL text cannot call it any more
** ("no such function"), code the engine generates still can (engine/patches/0030-vector-index.patch calls the
** vector index's functions so). SQLITE_ERROR when there is no such function. */
int libsql_engine_make_internal(sqlite3* db, const char* zName, int nArg);

#ifdef __cplusplus
}
#endif

#endif
