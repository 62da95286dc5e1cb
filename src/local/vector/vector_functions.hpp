// libSQL's vector SQL functions, registered on every engine connection the local layer opens (so local files,
// `libsql serve` and replicas all have them): vector, vector32, vector64, vector16, vectorb16, vector8,
// vector1bit, vector_extract, vector_distance_cos, vector_distance_l2, and libsql_vector_idx, the index marker,
// which fails with a clear message until the DiskANN index is implemented (docs/VECTOR.md), as does CREATE INDEX
// with it.
#pragma once

#include <string_view>

struct sqlite3;

namespace libsql::vec {

/// Returns the SQLite result code of the first registration that failed, or SQLITE_OK. Includes vector_top_k.
int register_vector_functions(sqlite3* db) noexcept;

/// vector_top_k(index, query, k), read-only over a libSQL-built index (vector_top_k.cpp).
int register_vector_top_k(sqlite3* db) noexcept;

/// True for CREATE [UNIQUE] INDEX ... libsql_vector_idx(...): the engine would make a plain expression index
/// (without libSQL's shadow tables) that libSQL cannot write to afterwards, so the local layer refuses it.
[[nodiscard]] bool creates_vector_index(std::string_view sql) noexcept;

/// The message for that refusal (also libsql_vector_idx's own error).
inline constexpr const char* vector_index_unsupported =
    "libsql_vector_idx: vector indexes are not supported by this engine yet (libsql-cpp keeps no DiskANN index); "
    "nothing was written. Drop the index or write to this table with libSQL";

} // namespace libsql::vec
