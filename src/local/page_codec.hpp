// Pages of an encrypted database as the engine stores them, for code that reads the files themselves (the server's
// replication endpoints serve plaintext pages of an encrypted database). No SQLite header needed.
#pragma once

#include <cstdint>

struct sqlite3;

namespace libsql::detail {

/// Decrypts, in place, one page read raw from the main file or the WAL of db's main database, with db's cipher and
/// key (engine/libsql_engine.h). SQLITE_OK (0) also when db is not encrypted (the page is left alone); otherwise the
/// engine's error code. db must have read its schema.
[[nodiscard]] int decrypt_page(sqlite3* db, std::uint32_t pgno, void* data, int size) noexcept;

} // namespace libsql::detail
