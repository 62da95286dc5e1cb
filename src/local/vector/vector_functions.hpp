// libSQL's vector SQL functions, registered on every engine connection the local layer opens (so local files,
// `libsql serve` and replicas all have them): vector, vector32, vector64, vector16, vectorb16, vector8,
// vector1bit, vector_extract, vector_distance_cos, vector_distance_l2, libsql_vector_idx (the index marker), the
// DiskANN index's internal functions (vector_index.cpp) and vector_top_k (docs/VECTOR.md).
#pragma once

#include "core/vector_format.hpp"

struct sqlite3;
struct sqlite3_value;

namespace libsql::vec {

/// Returns the SQLite result code of the first registration that failed, or SQLITE_OK. Includes vector_top_k.
int register_vector_functions(sqlite3* db) noexcept;

/// vector_top_k(index, query, k) over a DiskANN index, whichever engine wrote it (vector_top_k.cpp).
int register_vector_top_k(sqlite3* db) noexcept;

/// libsql_vector_idx_create / _insert / _delete, which the engine's code for CREATE INDEX and row changes calls
/// (vector_index.cpp), marked internal so that user SQL cannot call them.
int register_vector_index(sqlite3* db) noexcept;

/// A column value as libSQL's index reads it: a vector blob of any type, or text parsed as float32.
/// vector_error with libSQL's message otherwise.
[[nodiscard]] vector_data value_to_vector(sqlite3_value* v);

} // namespace libsql::vec
