// libSQL's vector SQL functions, registered on every engine connection the local layer opens (so local files,
// `libsql serve` and replicas all have them): vector, vector32, vector64, vector16, vectorb16, vector8,
// vector1bit, vector_extract, vector_distance_cos, vector_distance_l2, and libsql_vector_idx, the index marker,
// which fails with a clear message until the DiskANN index is implemented (docs/VECTOR.md).
#pragma once

struct sqlite3;

namespace libsql::vec {

/// Returns the SQLite result code of the first registration that failed, or SQLITE_OK.
int register_vector_functions(sqlite3* db) noexcept;

} // namespace libsql::vec
