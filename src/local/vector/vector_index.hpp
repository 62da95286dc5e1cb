// libSQL's DiskANN index on disk (docs/VECTOR.md): the libsql_vector_meta_shadow row (9-byte tag/u64 pairs) and
// the node blocks of <index>_shadow. Shared by vector_top_k (search) and vector_index.cpp (maintenance).
#pragma once

#include "core/vector_format.hpp"

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;
struct sqlite3_blob;

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

[[nodiscard]] inline std::uint64_t le64(const std::uint8_t* p) noexcept {
    std::uint64_t v = 0;
    if constexpr (std::endian::native == std::endian::little) {
        std::memcpy(&v, p, sizeof v);
        return v;
    }
    for (int i = 7; i >= 0; --i) v = v << 8 | p[i];
    return v;
}
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
/// The same over l.dims floats, given each vector's sum of squares (sum_squares; unused for l2): a vector met many
/// times (the query, a candidate) has its norm computed once. Equal to the form above for the same vectors.
[[nodiscard]] float index_distance(const index_layout& l, const float* a, float aa, const float* b, float bb) noexcept;
/// Sum of squares in the graph's lane order (eight independent sums, vectorised by the compiler at -O2).
[[nodiscard]] float sum_squares(const float* a, std::size_t n) noexcept;

/// Rowid → distance, open addressing in one array (a search meets thousands of rowids: no allocation per entry).
class rowid_map {
public:
    /// The slot for rowid and whether it was just added (its value then 0).
    std::pair<float*, bool> emplace(std::int64_t rowid);
    [[nodiscard]] const float* find(std::int64_t rowid) const noexcept;
    void clear() noexcept;
    /// Room for n rowids without growing.
    void reserve(std::size_t n);

private:
    struct slot { std::int64_t rowid; float d; bool used; };
    std::vector<slot> slots_;
    std::size_t size_ = 0;
    int shift_ = 64;
    [[nodiscard]] std::size_t home(std::int64_t rowid) const noexcept;
};

/// The node blocks of <index>_shadow read and written in place through one sqlite3_blob handle moved from row to
/// row (sqlite3_blob_reopen): a hop reads only the bytes it needs, an edge change writes only the bytes that
/// changed (as libSQL's own blob I/O does), with no statement per node. Closed on scope exit.
class node_blobs {
public:
    node_blobs(sqlite3* db, std::string schema, std::string table, bool writable, std::string where, std::size_t block);
    ~node_blobs();
    node_blobs(const node_blobs&) = delete;
    node_blobs& operator=(const node_blobs&) = delete;
    /// Points the handle at rowid's block; false when the table has no such row. A block shorter than the
    /// layout's, or not a blob, fails ("node block of row N is truncated").
    bool seek(std::int64_t rowid);
    void read(void* out, std::size_t n, std::size_t offset);
    void write(const void* in, std::size_t n, std::size_t offset);
    /// The vector of type t stored at offset, as float32 (a float32 one read straight into out).
    void read_vector(vtype t, std::uint32_t dims, std::size_t offset, std::vector<float>& out);

private:
    std::vector<std::uint8_t> scratch_;
    sqlite3* db_;
    std::string schema_, table_, where_;
    bool writable_;
    std::size_t block_;
    sqlite3_blob* h_ = nullptr;
    std::int64_t at_ = 0;
};

/// A statement finalised on scope exit; preparation failures raise vector_error("<prefix>: <engine message>").
struct stmt {
    sqlite3_stmt* st = nullptr;
    stmt(sqlite3* db, const std::string& sql, const char* prefix);
    ~stmt();
    stmt(const stmt&) = delete;
    stmt& operator=(const stmt&) = delete;
};

} // namespace libsql::vec
