// libSQL's DiskANN index on disk (docs/VECTOR.md): the libsql_vector_meta_shadow row (9-byte tag/u64 pairs) and
// the node blocks of <index>_shadow. Shared by vector_top_k (search) and vector_index.cpp (maintenance).
#pragma once

#include "core/vector_format.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace libsql::vec {

/// What the meta row says, and the block layout that follows from it.
struct index_layout {
    int version = 3;
    int metric = 1; // 1 cosine, 2 l2
    std::size_t block = 0;
    vtype node_type = vtype::f32, edge_type = vtype::f32;
    std::uint32_t dims = 0;
    std::size_t node_meta = 16, node_vec = 0, edge_vec = 0, max_edges = 0, edge_meta_at = 0;
    std::size_t search_l = 200, insert_l = 70;
    double alpha = 1.2;
};

[[nodiscard]] std::uint64_t le64(const std::uint8_t* p) noexcept;
void put_le64(std::uint8_t* p, std::uint64_t v) noexcept;
/// Bytes of one stored vector (no type trailer in a block).
[[nodiscard]] std::size_t payload_size(vtype t, std::uint32_t dims);
/// "name" quoted as an SQL identifier.
[[nodiscard]] std::string quoted(const std::string& name);
/// Reads and checks the meta row of index `name` in schema `db_name`; vector_error with `what` ("search",
/// "insert", ...) in the message when it is missing or makes no sense.
[[nodiscard]] index_layout read_layout(sqlite3* db, const std::string& db_name, const std::string& name, const char* what);
/// A vector stored in a block, as float32.
[[nodiscard]] std::vector<float> stored_as_f32(const std::uint8_t* p, vtype t, std::uint32_t dims);
/// The bytes a block stores for v (converted to type t first).
[[nodiscard]] std::vector<std::uint8_t> stored_bytes(const vector_data& v, vtype t);
/// The index's metric over float32 vectors.
[[nodiscard]] float index_distance(const index_layout& l, const std::vector<float>& a, const std::vector<float>& b) noexcept;

/// A statement finalised on scope exit; preparation failures raise vector_error("<prefix>: <engine message>").
struct stmt {
    sqlite3_stmt* st = nullptr;
    stmt(sqlite3* db, const std::string& sql, const char* prefix);
    ~stmt();
    stmt(const stmt&) = delete;
    stmt& operator=(const stmt&) = delete;
};

} // namespace libsql::vec
