// Maintenance of libSQL's DiskANN vector index in libSQL's on-disk format (docs/VECTOR.md). The engine patch
// engine/patches/0030-vector-index.patch calls three internal SQL functions from the code it generates, in the
// statement that changes the row (so in its transaction, and undone with it):
//   libsql_vector_idx_create(db, index, table, column, declared type, option...)   CREATE INDEX (1: index the
//                                                                                    rows, 0: a dump filled it)
//   libsql_vector_idx_insert(db, index, rowid, vector)                               a row inserted / updated
//   libsql_vector_idx_delete(db, index, rowid)                                       a row deleted / updated
//   libsql_vector_idx_clear(db, index)                                               REINDEX (then inserts)
// They are marked internal (libsql_engine_make_internal): user SQL cannot call them.
//
// The graph: one block per row in <index>_shadow (index_key = rowid), [u64 rowid][u16 edge count, 6 bytes
// zero][node vector][edge vectors][per edge: u32 0, f32 distance, u64 neighbour rowid]. An insert searches the
// graph from a random node with a beam of insert_l, gives the new node the visited nodes as neighbours (DiskANN's
// robust prune: alpha, at most max edges) and adds it to each of them as a neighbour (pruning a full list). A delete
// removes the node; its neighbours that link back choose again among their edges and the deleted node's
// (FreshDiskANN's repair). Edges from other nodes to it stay ("zombies", as in libSQL: both searches skip them,
// and a later insert of the same rowid replaces them).
#include "local/vector/vector_functions.hpp"
#include "local/vector/vector_index.hpp"

#include "local/vector/vector_distance.hpp"
#include "local/vector/sql_guard.hpp"

#include <libsql_engine.h>
#include <sqlite3.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <new>
#include <string>
#include <unordered_set>
#include <vector>

namespace libsql::vec {

// ---- shared layout helpers (vector_index.hpp) ----

void put_le64(std::uint8_t* p, std::uint64_t v) noexcept {
    for (int i = 0; i < 8; ++i, v >>= 8) p[i] = static_cast<std::uint8_t>(v);
}

std::size_t payload_size(vtype t, std::uint32_t dims) {
    switch (t) {
    case vtype::f32: return std::size_t{dims} * 4;
    case vtype::f64: return std::size_t{dims} * 8;
    case vtype::f16:
    case vtype::bf16: return std::size_t{dims} * 2;
    case vtype::bit1: return (std::size_t{dims} + 7) / 8;
    case vtype::f8: return (std::size_t{dims} + 3) / 4 * 4 + 8;
    }
    return 0;
}

std::string quoted(const std::string& name) {
    std::string out = "\"";
    for (char c : name) {
        if (c == '"') out.push_back('"');
        out.push_back(c);
    }
    return out + "\"";
}

namespace {
[[noreturn]] void fail(std::string m) { throw vector_error{std::move(m), false}; }
} // namespace

stmt::stmt(sqlite3* db, const std::string& sql, const char* prefix) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
        const std::string msg = std::string(prefix) + ": " + sqlite3_errmsg(db);
        sqlite3_finalize(st);
        st = nullptr;
        fail(msg);
    }
}
stmt::~stmt() { sqlite3_finalize(st); }

index_layout read_layout(sqlite3* db, const std::string& db_name, const std::string& name, const char* what) {
    const std::string where = std::string("vector index(") + what + ")";
    stmt meta(db, "SELECT metadata FROM " + quoted(db_name) + ".libsql_vector_meta_shadow WHERE name = ?", where.c_str());
    sqlite3_bind_text(meta.st, 1, name.c_str(), -1, SQLITE_TRANSIENT);
    if (sqlite3_step(meta.st) != SQLITE_ROW) fail(where + ": failed to parse vector index parameters");
    const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(meta.st, 0));
    const auto n = static_cast<std::size_t>(sqlite3_column_bytes(meta.st, 0));
    index_layout l;
    std::uint64_t block = 0, compress = 0, type = 0, alpha_bits = 0;
    for (std::size_t i = 0; p && i + 9 <= n; i += 9) {
        const std::uint64_t v = le64(p + i + 1);
        switch (p[i]) { // the last value of a tag wins, as in libSQL
        case 1: l.version = static_cast<int>(v); break;
        case 3: type = v; break;
        case 4: l.dims = static_cast<std::uint32_t>(v); break;
        case 5: l.metric = static_cast<int>(v); break;
        case 6: block = v; break;
        case 7: alpha_bits = v; break;
        case 8: l.insert_l = v ? static_cast<std::size_t>(std::min<std::uint64_t>(v, 1u << 20)) : 70; break;
        case 9: l.search_l = v ? static_cast<std::size_t>(std::min<std::uint64_t>(v, 1u << 20)) : 200; break;
        case 11: compress = v; break;
        default: break;
        }
    }
    if (block <= 128) block <<= 9; // libSQL's old unit (512 bytes) for small values
    if (type < 1 || type > 6 || compress > 6 || l.dims == 0 || l.dims > max_dims || block == 0 || block > (1u << 27) ||
        (l.metric != 1 && l.metric != 2))
        fail(where + ": failed to parse vector index parameters");
    double alpha = 0;
    std::memcpy(&alpha, &alpha_bits, sizeof alpha);
    l.alpha = std::isfinite(alpha) && alpha > 0 ? alpha : 1.2;
    l.block = static_cast<std::size_t>(block);
    l.node_type = static_cast<vtype>(type);
    l.edge_type = compress ? static_cast<vtype>(compress) : l.node_type;
    l.node_meta = l.version <= 2 ? 10 : 16;
    l.node_vec = payload_size(l.node_type, l.dims);
    l.edge_vec = payload_size(l.edge_type, l.dims);
    if (l.block < l.node_meta + l.node_vec + l.edge_vec + 16) fail(where + ": block too small for its vectors");
    l.max_edges = (l.block - l.node_meta - l.node_vec) / (l.edge_vec + 16);
    l.edge_meta_at = l.node_meta + l.node_vec + l.max_edges * l.edge_vec;
    return l;
}

std::vector<float> stored_as_f32(const std::uint8_t* p, vtype t, std::uint32_t dims) {
    if (t == vtype::f32) { // the common case, straight from the block (little-endian, as the format)
        std::vector<float> out(dims);
        if constexpr (std::endian::native == std::endian::little) {
            std::memcpy(out.data(), p, std::size_t{dims} * 4);
            return out;
        }
        for (std::uint32_t i = 0; i < dims; ++i) {
            const std::uint32_t bits = static_cast<std::uint32_t>(p[4 * i]) | static_cast<std::uint32_t>(p[4 * i + 1]) << 8 |
                                       static_cast<std::uint32_t>(p[4 * i + 2]) << 16 | static_cast<std::uint32_t>(p[4 * i + 3]) << 24;
            std::memcpy(&out[i], &bits, sizeof bits);
        }
        return out;
    }
    std::vector<std::uint8_t> blob(p, p + payload_size(t, dims));
    if (t == vtype::bit1) {
        if (blob.size() % 2 == 0) blob.push_back(0);
        blob.push_back(static_cast<std::uint8_t>(8 * (blob.size() + 1) - dims));
    } else if (t == vtype::f8) {
        blob.push_back(0);
        blob.push_back(static_cast<std::uint8_t>((dims + 3) / 4 * 4 - dims));
    }
    if (t != vtype::f32) blob.push_back(static_cast<std::uint8_t>(t));
    vector_data v = decode_blob(blob);
    if (v.type != vtype::f32) v = convert(v, vtype::f32);
    return std::move(v.f32);
}

std::vector<std::uint8_t> stored_bytes(const vector_data& v, vtype t) {
    std::vector<std::uint8_t> blob = encode(v.type == t ? v : convert(v, t));
    blob.resize(payload_size(t, v.dims)); // the payload without its trailer (libSQL's vectorSerializeToBlob)
    return blob;
}

// The graph's own ranking, never shown to users: 32 independent sums in four groups of eight (the compiler
// vectorises each group at -O2 with SSE2, no -march assumed), not the SQL functions' sequential order. Four
// independent accumulators keep the adder busy where one would wait on its own latency. A zero or non-finite vector
// is as far as can be, so that sorting and pruning never meet a NaN.
namespace {
constexpr std::size_t lanes = 8, groups = 4;

// On x86-64 each kernel is also built for AVX2 and the loader picks the build the CPU runs (an ifunc): a group
// then fills one 256-bit register instead of two 128-bit ones. No FMA: every lane still rounds its product and its
// sum separately, and the groups are added in a fixed order, so both builds give the same bits and an index does
// not depend on the machine that built it.
#if defined(__x86_64__) && defined(__GNUC__) && defined(__ELF__) && !defined(__clang__)
#define LIBSQL_VEC_KERNEL __attribute__((target_clones("avx2", "default")))
#else
#define LIBSQL_VEC_KERNEL
#endif
// lane_sum and its terms are inlined into each build of a kernel (a call would run the default build's code).
#if defined(__GNUC__)
#define LIBSQL_VEC_INLINE __attribute__((always_inline))
#else
#define LIBSQL_VEC_INLINE
#endif

/// The sum over i < n of term(i): lanes x groups running sums over whole blocks, then the rest in order.
template <class Term>
LIBSQL_VEC_INLINE inline float lane_sum(std::size_t n, Term term) noexcept {
    float s0[lanes] = {}, s1[lanes] = {}, s2[lanes] = {}, s3[lanes] = {};
    std::size_t i = 0;
    for (; i + lanes * groups <= n; i += lanes * groups) {
        for (std::size_t k = 0; k < lanes; ++k) s0[k] += term(i + k);
        for (std::size_t k = 0; k < lanes; ++k) s1[k] += term(i + lanes + k);
        for (std::size_t k = 0; k < lanes; ++k) s2[k] += term(i + 2 * lanes + k);
        for (std::size_t k = 0; k < lanes; ++k) s3[k] += term(i + 3 * lanes + k);
    }
    for (; i + lanes <= n; i += lanes)
        for (std::size_t k = 0; k < lanes; ++k) s0[k] += term(i + k);
    for (std::size_t k = 0; k < lanes; ++k) s0[k] = (s0[k] + s1[k]) + (s2[k] + s3[k]);
    float sum = 0;
    for (; i < n; ++i) sum += term(i);
    for (std::size_t k = 0; k < lanes; ++k) sum += s0[k];
    return sum;
}

LIBSQL_VEC_KERNEL float dot(const float* x, const float* y, std::size_t n) noexcept {
    return lane_sum(n, [&](std::size_t i) LIBSQL_VEC_INLINE { return x[i] * y[i]; });
}

LIBSQL_VEC_KERNEL float l2(const float* x, const float* y, std::size_t n) noexcept {
    const float r = std::sqrt(lane_sum(n, [&](std::size_t i) LIBSQL_VEC_INLINE {
        const float d = x[i] - y[i];
        return d * d;
    }));
    return std::isfinite(r) ? r : std::numeric_limits<float>::max();
}
} // namespace

float sum_squares(const float* a, std::size_t n) noexcept { return dot(a, a, n); }

float index_distance(const index_layout& l, const float* a, float aa, const float* b, float bb) noexcept {
    if (l.metric == 2) return l2(a, b, l.dims);
    const double denom = std::sqrt(static_cast<double>(aa) * static_cast<double>(bb));
    if (!(denom > 0) || !std::isfinite(denom)) return 2.0f;
    const float r = static_cast<float>(1.0 - static_cast<double>(dot(a, b, l.dims)) / denom);
    return std::isfinite(r) ? r : 2.0f;
}

float index_distance(const index_layout& l, const std::vector<float>& a, const std::vector<float>& b) noexcept {
    if (a.size() < l.dims || b.size() < l.dims) return l.metric == 2 ? std::numeric_limits<float>::max() : 2.0f;
    return index_distance(l, a.data(), l.metric == 2 ? 0 : sum_squares(a.data(), l.dims), b.data(),
                          l.metric == 2 ? 0 : sum_squares(b.data(), l.dims));
}

// ---- rowid_map ----

std::size_t rowid_map::home(std::int64_t rowid) const noexcept {
    // Fibonacci hashing: the product's top bits (rowids are dense and would cluster in the low ones)
    return static_cast<std::size_t>((static_cast<std::uint64_t>(rowid) * 0x9e3779b97f4a7c15ull) >> shift_);
}

void rowid_map::reserve(std::size_t n) {
    std::size_t cap = 1024;
    while (cap < 2 * n) cap *= 2;
    if (cap <= slots_.size()) return;
    std::vector<slot> old = std::move(slots_);
    slots_.assign(cap, slot{0, 0, false});
    shift_ = 64 - std::countr_zero(slots_.size());
    size_ = 0;
    for (const slot& o : old)
        if (o.used) *emplace(o.rowid).first = o.d;
}

std::pair<float*, bool> rowid_map::emplace(std::int64_t rowid) {
    if (2 * (size_ + 1) > slots_.size()) reserve(2 * (size_ + 1)); // at most half full
    for (std::size_t i = home(rowid);; i = (i + 1) & (slots_.size() - 1)) {
        slot& s = slots_[i];
        if (!s.used) {
            s = {rowid, 0, true};
            ++size_;
            return {&s.d, true};
        }
        if (s.rowid == rowid) return {&s.d, false};
    }
}

const float* rowid_map::find(std::int64_t rowid) const noexcept {
    if (slots_.empty()) return nullptr;
    for (std::size_t i = home(rowid);; i = (i + 1) & (slots_.size() - 1)) {
        const slot& s = slots_[i];
        if (!s.used) return nullptr;
        if (s.rowid == rowid) return &s.d;
    }
}

void rowid_map::clear() noexcept {
    for (slot& s : slots_) s.used = false;
    size_ = 0;
}

// ---- node_blobs ----

void node_blobs::read_vector(vtype t, std::uint32_t dims, std::size_t offset, std::vector<float>& out) {
    if constexpr (std::endian::native == std::endian::little) {
        if (t == vtype::f32) {
            out.resize(dims);
            read(out.data(), std::size_t{dims} * 4, offset);
            return;
        }
    }
    scratch_.resize(payload_size(t, dims));
    read(scratch_.data(), scratch_.size(), offset);
    out = stored_as_f32(scratch_.data(), t, dims);
}

node_blobs::node_blobs(sqlite3* db, std::string schema, std::string table, bool writable, std::string where, std::size_t block)
    : db_(db), schema_(std::move(schema)), table_(std::move(table)), where_(std::move(where)), writable_(writable), block_(block) {}

node_blobs::~node_blobs() { sqlite3_blob_close(h_); }

bool node_blobs::seek(std::int64_t rowid) {
    if (h_ && sqlite3_blob_reopen(h_, rowid) == SQLITE_OK) {
        at_ = rowid;
    } else {
        // a failed reopen leaves the handle aborted: open a new one (also the first time)
        sqlite3_blob_close(h_);
        h_ = nullptr;
        const int rc = sqlite3_blob_open(db_, schema_.c_str(), table_.c_str(), "data", rowid, writable_ ? 1 : 0, &h_);
        if (rc != SQLITE_OK) {
            const std::string msg = sqlite3_errmsg(db_);
            sqlite3_blob_close(h_);
            h_ = nullptr;
            if (rc == SQLITE_ERROR && msg.rfind("no such rowid", 0) == 0) return false;
            if (rc == SQLITE_ERROR && msg.rfind("cannot open value of type", 0) == 0)
                fail(where_ + ": node block of row " + std::to_string(rowid) + " is truncated");
            fail(where_ + ": " + msg);
        }
        at_ = rowid;
    }
    if (static_cast<std::size_t>(sqlite3_blob_bytes(h_)) < block_)
        fail(where_ + ": node block of row " + std::to_string(rowid) + " is truncated");
    return true;
}

void node_blobs::read(void* out, std::size_t n, std::size_t offset) {
    if (n == 0) return;
    if (!h_ || sqlite3_blob_read(h_, out, static_cast<int>(n), static_cast<int>(offset)) != SQLITE_OK)
        fail(where_ + ": failed to read node block of row " + std::to_string(at_) + ": " + sqlite3_errmsg(db_));
}

void node_blobs::write(const void* in, std::size_t n, std::size_t offset) {
    if (n == 0) return;
    if (!h_ || sqlite3_blob_write(h_, in, static_cast<int>(n), static_cast<int>(offset)) != SQLITE_OK)
        fail(where_ + ": failed to flush blob: " + sqlite3_errmsg(db_));
}

namespace {

// ---- options and CREATE INDEX ----

bool iequal(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        auto lo = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
        if (lo(a[i]) != lo(b[i])) return false;
    }
    return true;
}

bool is_space(char c) noexcept { return c == ' ' || (c >= '\t' && c <= '\r'); }

/// libSQL's vectorIdxParseColumnType: FLOAT32(n), F32_BLOB(n), ... Returns an empty message on success.
std::string parse_column_type(std::string_view t, vtype& type, std::uint32_t& dims) {
    static constexpr std::pair<std::string_view, vtype> names[] = {
        {"FLOAT32", vtype::f32},   {"F32_BLOB", vtype::f32},  {"FLOAT64", vtype::f64},   {"F64_BLOB", vtype::f64},
        {"FLOAT1BIT", vtype::bit1}, {"F1BIT_BLOB", vtype::bit1}, {"FLOAT8", vtype::f8},   {"F8_BLOB", vtype::f8},
        {"FLOAT16", vtype::f16},   {"F16_BLOB", vtype::f16},  {"FLOATB16", vtype::bf16}, {"FB16_BLOB", vtype::bf16},
    };
    std::size_t i = 0;
    while (i < t.size() && is_space(t[i])) ++i;
    for (const auto& [name, vt] : names) {
        if (t.size() - i < name.size() || !iequal(t.substr(i, name.size()), name)) continue;
        std::size_t k = i + name.size();
        while (k < t.size() && is_space(t[k])) ++k;
        if (k >= t.size() || t[k] != '(') break;
        ++k;
        while (k < t.size() && is_space(t[k])) ++k;
        std::int64_t n = 0;
        while (k < t.size() && t[k] != ')' && !is_space(t[k])) {
            if (t[k] < '0' || t[k] > '9') return "non digit symbol in vector column parameter";
            n = n * 10 + (t[k] - '0');
            if (n > max_dims) return "max vector dimension exceeded";
            ++k;
        }
        while (k < t.size() && is_space(t[k])) ++k;
        if (k >= t.size() || t[k] != ')') return "missed closing brace for vector column type";
        ++k;
        while (k < t.size() && is_space(t[k])) ++k;
        if (k != t.size()) return "extra data after dimension parameter for vector column type";
        if (n <= 0) return "vector column must have non-zero dimension for index";
        type = vt;
        dims = static_cast<std::uint32_t>(n);
        return {};
    }
    return "unexpected vector column type";
}

/// The meta row under construction: libSQL's 128-byte parameter buffer of (tag, u64 LE) pairs.
struct params {
    std::vector<std::uint8_t> bin;
    bool put(std::uint8_t tag, std::uint64_t v) {
        if (bin.size() + 9 > 128) return false;
        bin.push_back(tag);
        for (int i = 0; i < 8; ++i, v >>= 8) bin.push_back(static_cast<std::uint8_t>(v));
        return true;
    }
    [[nodiscard]] std::uint64_t get(std::uint8_t tag) const noexcept {
        std::uint64_t v = 0;
        for (std::size_t i = 0; i + 9 <= bin.size(); i += 9)
            if (bin[i] == tag) v = le64(bin.data() + i + 1);
        return v;
    }
};

/// SQLite's sqlite3Atoi as libSQL uses it: optional sign, digits (at most 10 significant, fitting an int), any
/// trailing text ignored; 0 for anything else.
std::int64_t parse_int(std::string_view z) noexcept {
    std::size_t i = 0;
    bool neg = false;
    if (i < z.size() && (z[i] == '-' || z[i] == '+')) neg = z[i++] == '-';
    while (i < z.size() && z[i] == '0') ++i;
    std::int64_t v = 0;
    std::size_t digits = 0;
    for (; i < z.size() && z[i] >= '0' && z[i] <= '9'; ++i, ++digits) v = v * 10 + (z[i] - '0');
    if (digits > 10 || v - (neg ? 1 : 0) > 2147483647) return 0;
    return neg ? -v : v;
}

/// One 'name=value' option with libSQL's names, values and messages ("" on success).
std::string parse_option(const std::string& opt, params& p) {
    const std::size_t eq = opt.find('=');
    if (eq == std::string::npos) return "unexpected parameter format";
    const std::string_view name(opt.data(), eq);
    const std::string_view value = std::string_view(opt).substr(eq + 1);
    struct known { std::string_view name; std::uint8_t tag; int kind; std::string_view text; std::uint64_t v; };
    static constexpr known table[] = {
        {"type", 2, 0, "diskann", 1},           {"metric", 5, 0, "cosine", 1},
        {"metric", 5, 0, "l2", 2},              {"compress_neighbors", 11, 0, "float1bit", 3},
        {"compress_neighbors", 11, 0, "float8", 4}, {"compress_neighbors", 11, 0, "float16", 5},
        {"compress_neighbors", 11, 0, "floatb16", 6}, {"compress_neighbors", 11, 0, "float32", 1},
        {"alpha", 7, 2, {}, 0},                 {"search_l", 9, 1, {}, 0},
        {"insert_l", 8, 1, {}, 0},              {"max_neighbors", 10, 1, {}, 0},
    };
    for (const known& k : table) {
        if (!iequal(k.name, name)) continue;
        if (k.kind == 1) {
            const std::int64_t v = parse_int(value);
            if (v == 0) return "invalid representation of integer vector index parameter";
            if (v < 0) return "integer vector index parameter must be positive";
            if (!p.put(k.tag, static_cast<std::uint64_t>(v))) return "unable to serialize integer vector index parameter";
            return {};
        }
        if (k.kind == 2) {
            // SQLite's number syntax, all of the text (sqlite3AtoF > 0)
            const std::string text(value);
            char* end = nullptr;
            const double v = text.empty() || is_space(text[0]) ? 0 : std::strtod(text.c_str(), &end);
            const bool hexish = text.find_first_of("xXnNiI") != std::string::npos;
            if (text.empty() || hexish || end == nullptr || *end != '\0')
                return "invalid representation of floating point vector index parameter";
            std::uint64_t bits = 0;
            std::memcpy(&bits, &v, sizeof bits);
            if (!p.put(k.tag, bits)) return "unable to serialize floating point vector index parameter";
            return {};
        }
        // libSQL compares the value's length of the known text, case-insensitively: a prefix matches
        if (value.size() <= k.text.size() && iequal(k.text.substr(0, value.size()), value)) {
            if (!p.put(k.tag, k.v)) return "unable to serialize vector index parameter";
            return {};
        }
    }
    return "invalid parameter";
}

std::string text_arg(sqlite3_value* v) {
    const auto* t = sqlite3_value_text(v);
    if (!t) {
        if (sqlite3_value_type(v) == SQLITE_NULL) return {};
        throw vector_error{"out of memory", true};
    }
    return {reinterpret_cast<const char*>(t), static_cast<std::size_t>(sqlite3_value_bytes(v))};
}

/// An SQL name as libSQL writes it into its shadow table's definition: bare when it is a plain identifier.
std::string sql_name(const std::string& n) {
    bool plain = !n.empty() && !(n[0] >= '0' && n[0] <= '9');
    for (char c : n) plain = plain && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_');
    return plain ? n : quoted(n);
}

void exec(sqlite3* db, const std::string& sql, const char* prefix) {
    char* err = nullptr;
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
        std::string m = std::string(prefix) + ": " + (err ? err : sqlite3_errmsg(db));
        sqlite3_free(err);
        fail(m);
    }
}

// ---- the graph ----

/// A node read whole: a delete's repairs, and the rare re-prune of a node holding an edge to the rowid inserted.
struct node {
    std::int64_t rowid = 0;
    std::vector<std::uint8_t> block;
    std::vector<float> vec;  // the exact vector, float32
    std::vector<float> edge; // the vector as its neighbours store it (the edge type), float32
    float ee = 0;            // edge's sum of squares
};

/// A node an insert's beam search visited: its exact vector and its edges' metadata, not their vectors.
struct seen_node {
    std::int64_t rowid = 0;
    std::size_t count = 0;          // edges
    std::vector<float> vec;         // exact, float32
    float vv = 0;                   // its sum of squares
    std::vector<std::uint8_t> meta; // count × 16 bytes, as in the block
    bool zombie = false;            // one of its edges names the rowid being inserted
};

/// A possible neighbour: its rowid, its vector as the edge type stores it (float32, its sum of squares, bytes).
struct cand {
    std::int64_t rowid;
    std::vector<float> v;
    float vv;
    std::vector<std::uint8_t> bytes;
    float d = 0;
};

/// One index opened for writing inside one call. Blocks are read and written in place through one blob handle;
/// only the new node's row is written by a statement.
class graph {
public:
    graph(sqlite3* db, const std::string& db_name, const std::string& index, const char* what)
        : db_(db), where_(std::string("vector index(") + what + ")"), l_(read_layout(db, db_name, index, what)),
          shadow_(quoted(db_name) + "." + quoted(index + "_shadow")), blobs_(db, db_name, index + "_shadow", true, where_, l_.block) {
        if (l_.version != 3)
            fail(where_ + ": libsql-cpp writes format version 3 only; this index has version " + std::to_string(l_.version));
    }

    [[nodiscard]] const index_layout& layout() const noexcept { return l_; }

    void insert(std::int64_t rowid, const vector_data& v) {
        remove(rowid); // REPLACE of a row whose node is still there, or a node left behind: one node per rowid
        node fresh;
        fresh.rowid = rowid;
        fresh.block.assign(l_.block, 0);
        put_le64(fresh.block.data(), static_cast<std::uint64_t>(rowid));
        const std::vector<std::uint8_t> bytes = stored_bytes(v, l_.node_type);
        std::memcpy(fresh.block.data() + l_.node_meta, bytes.data(), l_.node_vec);
        fresh.vec = stored_as_f32(fresh.block.data() + l_.node_meta, l_.node_type, l_.dims);
        fresh.edge = as_edge(fresh.vec);
        fresh.ee = norm(fresh.edge);
        std::int64_t start = 0;
        std::vector<seen_node> visited;
        near_.clear();
        near_.reserve(std::min<std::size_t>(l_.insert_l * (l_.max_edges + 1) + 16, std::size_t{1} << 20));
        if (random_start(start)) visited = visit(start, fresh, norm(fresh.vec));
        {
            std::vector<cand> pool;
            pool.reserve(visited.size());
            for (const seen_node& n : visited) pool.push_back(cand_of(n));
            (void)choose_edges(fresh, std::move(pool));
        }
        {
            stmt add(db_, "INSERT INTO " + shadow_ + " (index_key, data) VALUES (?, ?)", where_.c_str());
            sqlite3_bind_int64(add.st, 1, rowid);
            sqlite3_bind_blob(add.st, 2, fresh.block.data(), static_cast<int>(fresh.block.size()), SQLITE_STATIC);
            if (sqlite3_step(add.st) != SQLITE_DONE)
                fail(where_ + ": failed to insert shadow row: " + sqlite3_errmsg(db_));
        }
        const cand me{rowid, fresh.edge, fresh.ee, edge_bytes(fresh.vec)};
        for (const seen_node& n : visited) {
            if (!n.zombie && n.count < l_.max_edges) {
                // room left: the back edge goes in as it is (DiskANN prunes only an overfull list), which keeps
                // every node reachable from the nodes its insert visited
                append_edge(n, me);
            } else if (n.zombie) {
                node full;
                if (!load(n.rowid, full)) continue;
                std::vector<cand> pool{me}; // before n's old edges: the zombie edge with this rowid loses
                for (cand& c : edges_of(full)) pool.push_back(std::move(c));
                if (choose_edges(full, std::move(pool))) store(full);
            } else {
                offer_edge(n, me);
            }
        }
    }

    void remove(std::int64_t rowid) {
        node gone;
        if (!load(rowid, gone)) return; // NULL vectors have no node
        const std::vector<cand> around = edges_of(gone);
        // each neighbour that links back loses that edge and chooses again among its edges and the deleted node's
        // (FreshDiskANN's repair, limited to the neighbours we know: edges are stored one way only)
        for (const cand& c : around) {
            node n;
            if (!load(c.rowid, n)) continue;
            std::vector<cand> pool;
            bool linked = false;
            for (cand& e : edges_of(n)) {
                if (e.rowid == rowid) linked = true;
                else pool.push_back(std::move(e));
            }
            if (!linked) continue;
            for (const cand& e : around) pool.push_back(e);
            (void)choose_edges(n, std::move(pool));
            store(n);
        }
        stmt del(db_, "DELETE FROM " + shadow_ + " WHERE index_key = ?", where_.c_str());
        sqlite3_bind_int64(del.st, 1, rowid);
        if (sqlite3_step(del.st) != SQLITE_DONE) fail(where_ + ": failed to remove shadow row: " + sqlite3_errmsg(db_));
    }

private:
    [[nodiscard]] float norm(const std::vector<float>& v) const noexcept {
        return l_.metric == 2 || v.size() < l_.dims ? 0 : sum_squares(v.data(), l_.dims);
    }
    [[nodiscard]] float dist(const std::vector<float>& a, float aa, const std::vector<float>& b, float bb) const noexcept {
        return index_distance(l_, a.data(), aa, b.data(), bb);
    }
    [[nodiscard]] std::size_t edge_at(std::size_t e) const noexcept { return l_.node_meta + l_.node_vec + e * l_.edge_vec; }
    [[nodiscard]] std::size_t meta_at(std::size_t e) const noexcept { return l_.edge_meta_at + e * 16; }
    static void put_meta(std::uint8_t* meta, float d, std::int64_t rowid) noexcept {
        std::memset(meta, 0, 4);
        std::memcpy(meta + 4, &d, sizeof d);
        put_le64(meta + 8, static_cast<std::uint64_t>(rowid));
    }
    static std::int64_t meta_rowid(const std::uint8_t* meta) noexcept { return static_cast<std::int64_t>(le64(meta + 8)); }
    static float meta_distance(const std::uint8_t* meta) noexcept {
        float d;
        std::memcpy(&d, meta + 4, sizeof d);
        return d;
    }
    void write_count(std::size_t count) {
        const std::uint8_t c[2] = {static_cast<std::uint8_t>(count), static_cast<std::uint8_t>(count >> 8)};
        blobs_.write(c, 2, 8);
    }
    void seek_existing(std::int64_t rowid) {
        if (!blobs_.seek(rowid)) fail(where_ + ": failed to flush blob: the node of row " + std::to_string(rowid) + " is gone");
    }

    /// The node of rowid, read whole, or false when it has none.
    bool load(std::int64_t rowid, node& out) {
        if (!blobs_.seek(rowid)) return false;
        out.rowid = rowid;
        out.block.resize(l_.block);
        blobs_.read(out.block.data(), l_.block, 0);
        out.vec = stored_as_f32(out.block.data() + l_.node_meta, l_.node_type, l_.dims);
        out.edge = l_.edge_type == l_.node_type ? out.vec : as_edge(out.vec);
        out.ee = norm(out.edge);
        return true;
    }
    /// Writes a whole block back in place.
    void store(const node& n) {
        seek_existing(n.rowid);
        blobs_.write(n.block.data(), l_.block, 0);
    }

    [[nodiscard]] std::size_t edges(const node& n) const noexcept {
        return std::min<std::size_t>(static_cast<std::size_t>(n.block[8] | n.block[9] << 8), l_.max_edges);
    }
    [[nodiscard]] std::int64_t edge_rowid(const node& n, std::size_t e) const noexcept { return meta_rowid(n.block.data() + meta_at(e)); }
    void set_edges(node& n, std::size_t count) const noexcept {
        n.block[8] = static_cast<std::uint8_t>(count);
        n.block[9] = static_cast<std::uint8_t>(count >> 8);
    }
    /// The bytes the edge type stores for an exact float32 vector.
    [[nodiscard]] std::vector<std::uint8_t> edge_bytes(const std::vector<float>& vec) const {
        if (l_.edge_type == vtype::f32 && std::endian::native == std::endian::little) {
            std::vector<std::uint8_t> out(l_.edge_vec);
            std::memcpy(out.data(), vec.data(), l_.edge_vec);
            return out;
        }
        return stored_bytes(from_floats(vec), l_.edge_type);
    }
    [[nodiscard]] cand cand_of(const seen_node& n) const {
        if (l_.edge_type == l_.node_type) return {n.rowid, n.vec, n.vv, edge_bytes(n.vec)};
        std::vector<float> e = as_edge(n.vec);
        const float ee = norm(e);
        return {n.rowid, std::move(e), ee, edge_bytes(n.vec)};
    }
    [[nodiscard]] std::vector<cand> edges_of(const node& n) const {
        std::vector<cand> out;
        for (std::size_t e = 0, count = edges(n); e < count; ++e) {
            const std::uint8_t* p = n.block.data() + edge_at(e);
            std::vector<float> v = stored_as_f32(p, l_.edge_type, l_.dims);
            const float vv = norm(v);
            out.push_back({edge_rowid(n, e), std::move(v), vv, std::vector<std::uint8_t>(p, p + l_.edge_vec)});
        }
        return out;
    }
    /// The distance from a visited node (its edge form) to a candidate.
    [[nodiscard]] float dist_from(const seen_node& n, const cand& c) const {
        if (l_.edge_type == l_.node_type) return dist(n.vec, n.vv, c.v, c.vv);
        const std::vector<float> e = as_edge(n.vec);
        return dist(e, norm(e), c.v, c.vv);
    }

    /// A node with room meets a new neighbour: three small writes (its edge vector, metadata, the edge count).
    void append_edge(const seen_node& n, const cand& c) {
        std::uint8_t meta[16];
        put_meta(meta, dist_from(n, c), c.rowid);
        seek_existing(n.rowid);
        blobs_.write(c.bytes.data(), l_.edge_vec, edge_at(n.count));
        blobs_.write(meta, 16, meta_at(n.count));
        write_count(n.count + 1);
    }

    /// A full node meets a new possible neighbour (FreshDiskANN's incremental form of the robust prune, O(edges)):
    /// it is refused when an edge covers it, otherwise it replaces the farthest edge farther than itself, and the
    /// edges it covers go. The distances from the new node to n's edges are the ones the beam search computed
    /// (every edge of a visited node was scored), so no edge vector is read for the decision; holes left by the
    /// edges that go are filled from the end of the list, and only the slots that change are written.
    void offer_edge(const seen_node& n, const cand& c) {
        const float d = dist_from(n, c);
        std::vector<float>& to_new = to_new_;
        to_new.assign(n.count, 0);
        std::size_t slot = n.count;
        float worst = d;
        for (std::size_t e = 0; e < n.count; ++e) {
            const std::uint8_t* meta = n.meta.data() + e * 16;
            if (const float* known = near_.find(meta_rowid(meta))) {
                to_new[e] = *known;
            } else {
                seek_existing(n.rowid);
                blobs_.read_vector(l_.edge_type, l_.dims, edge_at(e), edge_buf_);
                to_new[e] = dist(edge_buf_, norm(edge_buf_), c.v, c.vv);
            }
            if (static_cast<double>(d) > l_.alpha * static_cast<double>(to_new[e])) return;
            const float de = meta_distance(meta);
            if (de > worst) {
                worst = de;
                slot = e;
            }
        }
        if (slot == n.count) return;
        std::vector<bool> gone(n.count);
        std::vector<std::size_t> holes;
        for (std::size_t e = 0; e < n.count; ++e) {
            gone[e] = e == slot || static_cast<double>(meta_distance(n.meta.data() + e * 16)) > l_.alpha * static_cast<double>(to_new[e]);
            if (gone[e]) holes.push_back(e);
        }
        const std::size_t count = n.count - holes.size() + 1;
        std::vector<std::uint8_t> meta(n.meta.begin(), n.meta.begin() + static_cast<std::ptrdiff_t>(count * 16));
        seek_existing(n.rowid);
        blobs_.write(c.bytes.data(), l_.edge_vec, edge_at(holes[0]));
        put_meta(meta.data() + holes[0] * 16, d, c.rowid);
        std::size_t from = n.count;
        for (std::size_t h = 1; h < holes.size() && holes[h] < count; ++h) {
            do --from;
            while (gone[from]);
            edge_copy_.resize(l_.edge_vec);
            blobs_.read(edge_copy_.data(), l_.edge_vec, edge_at(from));
            blobs_.write(edge_copy_.data(), l_.edge_vec, edge_at(holes[h]));
            std::memcpy(meta.data() + holes[h] * 16, n.meta.data() + from * 16, 16);
        }
        blobs_.write(meta.data(), meta.size(), meta_at(0));
        write_count(count);
    }

    /// DiskANN's robust prune: n's neighbours become the nearest of `pool` that no nearer chosen neighbour
    /// covers (d(n, c) > alpha * d(chosen, c)), at most max edges. The first of two entries with one rowid wins.
    /// Returns whether n's edges changed.
    bool choose_edges(node& n, std::vector<cand> pool) const {
        std::vector<std::int64_t> before;
        for (std::size_t e = 0, count = edges(n); e < count; ++e) before.push_back(edge_rowid(n, e));
        std::unordered_set<std::int64_t> seen{n.rowid};
        std::vector<cand> uniq;
        uniq.reserve(pool.size());
        for (cand& c : pool)
            if (seen.insert(c.rowid).second) {
                c.d = dist(n.edge, n.ee, c.v, c.vv);
                uniq.push_back(std::move(c));
            }
        std::stable_sort(uniq.begin(), uniq.end(), [](const cand& a, const cand& b) { return a.d < b.d; });
        std::vector<const cand*> kept;
        for (const cand& c : uniq) {
            if (kept.size() >= l_.max_edges) break;
            bool covered = false;
            for (const cand* k : kept)
                if (static_cast<double>(c.d) > l_.alpha * static_cast<double>(dist(k->v, k->vv, c.v, c.vv))) {
                    covered = true;
                    break;
                }
            if (!covered) kept.push_back(&c);
        }
        std::vector<std::int64_t> after;
        for (std::size_t e = 0; e < kept.size(); ++e) {
            std::memcpy(n.block.data() + edge_at(e), kept[e]->bytes.data(), l_.edge_vec);
            put_meta(n.block.data() + meta_at(e), kept[e]->d, kept[e]->rowid);
            after.push_back(kept[e]->rowid);
        }
        set_edges(n, kept.size());
        return before != after;
    }

    [[nodiscard]] std::vector<float> as_edge(const std::vector<float>& v) const {
        if (l_.edge_type == vtype::f32) return v;
        const std::vector<std::uint8_t> bytes = stored_bytes(from_floats(v), l_.edge_type);
        return stored_as_f32(bytes.data(), l_.edge_type, l_.dims);
    }

    /// A random node to start from, or 0 rows.
    bool random_start(std::int64_t& out) {
        // min and max in separate subqueries: each is one b-tree descent (together in one SELECT they scan)
        const std::string lo = "(SELECT min(index_key) FROM " + shadow_ + ")", hi = "(SELECT max(index_key) FROM " + shadow_ + ")";
        stmt s(db_, "SELECT index_key FROM " + shadow_ + " WHERE index_key >= (SELECT a + abs(random() % (b - a + 1)) FROM (SELECT " + lo +
                    " AS a, " + hi + " AS b)) ORDER BY index_key LIMIT 1", where_.c_str());
        if (sqlite3_step(s.st) != SQLITE_ROW) return false;
        out = sqlite3_column_int64(s.st, 0);
        return true;
    }

    /// Beam search (width insert_l) from start toward the new node q; returns every node it visited. Each hop
    /// reads the node's header and vector, its edges' metadata, and the edge vectors of neighbours not met
    /// before; near_ keeps the distance from q (its edge form) to every neighbour met, for offer_edge.
    std::vector<seen_node> visit(std::int64_t start, const node& q, float qq) {
        struct entry { float d; std::int64_t rowid; bool done; };
        std::vector<entry> beam;
        std::vector<seen_node> visited;
        (void)near_.emplace(start);
        beam.push_back({0, start, false});
        const std::size_t width = std::max<std::size_t>(l_.insert_l, 1);
        for (;;) {
            auto next = std::find_if(beam.begin(), beam.end(), [](const entry& c) { return !c.done; });
            if (next == beam.end()) break;
            next->done = true;
            const std::int64_t id = next->rowid;
            if (!blobs_.seek(id)) { // a zombie edge
                beam.erase(next);
                continue;
            }
            seen_node n;
            n.rowid = id;
            std::uint8_t head[10];
            blobs_.read(head, sizeof head, 0);
            n.count = std::min<std::size_t>(static_cast<std::size_t>(head[8] | head[9] << 8), l_.max_edges);
            blobs_.read_vector(l_.node_type, l_.dims, l_.node_meta, n.vec);
            n.vv = norm(n.vec);
            n.meta.resize(n.count * 16);
            blobs_.read(n.meta.data(), n.meta.size(), meta_at(0));
            next->d = dist(q.vec, qq, n.vec, n.vv);
            {
                // its exact distance replaces the edge one it was ranked by: back to its place, the rest stays sorted
                const entry moved = *next;
                beam.erase(next);
                beam.insert(std::upper_bound(beam.begin(), beam.end(), moved, [](const entry& a, const entry& b) { return a.d < b.d; }), moved);
            }
            if (id == start) {
                const cand self = cand_of(n);
                *near_.emplace(id).first = dist(q.edge, q.ee, self.v, self.vv);
            }
            unseen_.clear();
            for (std::size_t e = 0; e < n.count; ++e) {
                const std::int64_t to = meta_rowid(n.meta.data() + e * 16);
                n.zombie = n.zombie || to == q.rowid;
                if (near_.emplace(to).second) unseen_.push_back(e);
            }
            // most edges new: their vectors in one sequential read; else one read each
            const bool bulk = l_.edge_type == vtype::f32 && std::endian::native == std::endian::little && 2 * unseen_.size() > n.count;
            if (bulk) {
                edges_buf_.resize(n.count * l_.dims);
                blobs_.read(edges_buf_.data(), n.count * l_.edge_vec, edge_at(0));
            }
            for (const std::size_t e : unseen_) {
                const std::int64_t to = meta_rowid(n.meta.data() + e * 16);
                float d;
                if (bulk) {
                    const float* v = edges_buf_.data() + e * l_.dims;
                    d = index_distance(l_, q.edge.data(), q.ee, v, l_.metric == 2 ? 0 : sum_squares(v, l_.dims));
                } else {
                    blobs_.read_vector(l_.edge_type, l_.dims, edge_at(e), edge_buf_);
                    d = dist(q.edge, q.ee, edge_buf_, norm(edge_buf_));
                }
                *near_.emplace(to).first = d; // a second probe: the first ones' slots may have moved (rehash)
                const entry c{d, to, false};
                if (beam.size() >= width && !(c.d < beam.back().d)) continue;
                beam.insert(std::upper_bound(beam.begin(), beam.end(), c, [](const entry& a, const entry& b) { return a.d < b.d; }), c);
                if (beam.size() > width) beam.pop_back();
            }
            visited.push_back(std::move(n));
        }
        return visited;
    }

    sqlite3* db_;
    std::string where_;
    index_layout l_;
    std::string shadow_;
    node_blobs blobs_;
    rowid_map near_; // an insert's distances from the new node, by rowid
    std::vector<float> to_new_, edge_buf_, edges_buf_;
    std::vector<std::size_t> unseen_; // a hop's edges to nodes not met before
    std::vector<std::uint8_t> edge_copy_;
};

/// The value of an indexed column as libSQL's index insert reads it; false for NULL (not indexed).
bool row_vector(sqlite3_value* v, const index_layout& l, vector_data& out) {
    if (sqlite3_value_type(v) == SQLITE_NULL) return false;
    out = value_to_vector(v);
    if (out.dims != l.dims)
        fail("vector index(insert): dimensions are different: " + std::to_string(out.dims) + " != " + std::to_string(l.dims));
    if (out.type != l.node_type)
        fail("vector index(insert): vector type differs from column type: " + std::to_string(static_cast<int>(out.type)) + " != " +
             std::to_string(static_cast<int>(l.node_type)));
    return true;
}


void create_fn(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
    guarded(ctx, "vector index: internal error", [&] {
        if (argc < 5) fail("vector index: libsql_vector_idx_create: bad arguments");
        sqlite3* db = sqlite3_context_db_handle(ctx);
        // argv[2], argv[3]: the table and column, for the engine's own loop over the rows
        const std::string db_name = text_arg(argv[0]), index = text_arg(argv[1]), type_name = text_arg(argv[4]);
        vtype type = vtype::f32;
        std::uint32_t dims = 0;
        if (const std::string m = parse_column_type(type_name, type, dims); !m.empty())
            fail("vector index: " + m + ": " + type_name);
        const std::string schema = quoted(db_name);
        exec(db, "CREATE TABLE IF NOT EXISTS " + schema + ".libsql_vector_meta_shadow ( name TEXT PRIMARY KEY, metadata BLOB ) WITHOUT ROWID;",
             "vector index: failed to init meta table");
        params p;
        (void)p.put(1, 3);
        (void)p.put(3, static_cast<std::uint64_t>(type));
        (void)p.put(4, dims);
        for (int i = 5; i < argc; ++i) {
            const std::string opt = text_arg(argv[i]);
            if (const std::string m = parse_option(opt, p); !m.empty())
                fail("vector index: invalid vector index parameter '" + opt + "': " + m);
        }
        auto must = [](bool ok) {
            if (!ok) fail("vector index: unable to initialize diskann");
        };
        must(p.put(2, 1));
        std::uint64_t metric = p.get(5);
        if (metric == 0) {
            metric = 1;
            must(p.put(5, metric));
        }
        std::uint64_t edge_type = p.get(11);
        if (edge_type == 3 && metric != 1) fail("vector index: unable to initialize diskann: 1-bit compression available only for cosine metric");
        if (edge_type == 0) edge_type = static_cast<std::uint64_t>(type);
        const std::uint64_t node_over = payload_size(type, dims) + 16;
        const std::uint64_t edge_over = payload_size(static_cast<vtype>(edge_type), dims) + 16;
        std::uint64_t max_neighbors = p.get(10);
        if (max_neighbors == 0)
            max_neighbors = std::min<std::uint64_t>(3 * (static_cast<std::uint64_t>(std::sqrt(static_cast<double>(dims))) + 1),
                                                    50 * node_over / edge_over + 1);
        const std::uint64_t block = node_over + max_neighbors * edge_over;
        if (block > (std::uint64_t{1} << 27)) fail("vector index: unable to initialize diskann");
        must(p.put(6, std::max<std::uint64_t>(256, block)));
        if (p.get(7) == 0) {
            const double alpha = 1.2;
            std::uint64_t bits = 0;
            std::memcpy(&bits, &alpha, sizeof bits);
            must(p.put(7, bits));
        }
        if (p.get(8) == 0) must(p.put(8, 70));
        if (p.get(9) == 0) must(p.put(9, 200));
        const std::string shadow = sql_name(index + "_shadow");
        exec(db, "CREATE TABLE IF NOT EXISTS " + schema + "." + shadow + " (index_key  INTEGER , data BLOB, PRIMARY KEY (index_key))",
             "vector index: unable to initialize diskann");
        exec(db, "CREATE INDEX IF NOT EXISTS " + schema + "." + sql_name(index + "_shadow_idx") + " ON " + shadow + " (index_key)",
             "vector index: unable to initialize diskann");
        {
            stmt meta(db, "INSERT INTO " + schema + ".libsql_vector_meta_shadow VALUES (?, ?)", "vector index");
            sqlite3_bind_text(meta.st, 1, index.c_str(), -1, SQLITE_TRANSIENT);
            sqlite3_bind_blob(meta.st, 2, p.bin.data(), static_cast<int>(p.bin.size()), SQLITE_TRANSIENT);
            const int rc = sqlite3_step(meta.st);
            // a row there already: a dump loaded tables (shadow included) before indexes; libSQL skips the refill
            if ((rc & 0xff) == SQLITE_CONSTRAINT) {
                sqlite3_result_int(ctx, 0);
                return;
            }
            if (rc != SQLITE_DONE) fail("vector index: unable to update global metadata table");
        }
        (void)read_layout(db, db_name, index, "insert"); // what we wrote reads back
        sqlite3_result_int(ctx, 1); // the engine's code then indexes the rows (libsql_vector_idx_insert each)
    });
}

void insert_fn(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
    guarded(ctx, "vector index: internal error", [&] {
        if (argc != 4) fail("vector index: libsql_vector_idx_insert: bad arguments");
        if (sqlite3_value_type(argv[3]) == SQLITE_NULL) return; // as libSQL: rows with NULL vectors are not indexed
        sqlite3* db = sqlite3_context_db_handle(ctx);
        graph g(db, text_arg(argv[0]), text_arg(argv[1]), "insert");
        vector_data v;
        if (row_vector(argv[3], g.layout(), v)) g.insert(sqlite3_value_int64(argv[2]), v);
    });
}

void delete_fn(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
    guarded(ctx, "vector index: internal error", [&] {
        if (argc != 3) fail("vector index: libsql_vector_idx_delete: bad arguments");
        sqlite3* db = sqlite3_context_db_handle(ctx);
        graph g(db, text_arg(argv[0]), text_arg(argv[1]), "delete");
        g.remove(sqlite3_value_int64(argv[2]));
    });
}

/// REINDEX: the rows are indexed again by the engine's loop after this.
void clear_fn(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
    guarded(ctx, "vector index: internal error", [&] {
        if (argc != 2) fail("vector index: libsql_vector_idx_clear: bad arguments");
        sqlite3* db = sqlite3_context_db_handle(ctx);
        exec(db, "DELETE FROM " + quoted(text_arg(argv[0])) + "." + quoted(text_arg(argv[1]) + "_shadow"), "vector index(clear)");
    });
}

} // namespace

int register_vector_index(sqlite3* db) noexcept {
    using fn = void (*)(sqlite3_context*, int, sqlite3_value**);
    struct entry { const char* name; int args; fn f; };
    static constexpr entry table[] = {
        {"libsql_vector_idx_create", -1, create_fn},
        {"libsql_vector_idx_insert", 4, insert_fn},
        {"libsql_vector_idx_delete", 3, delete_fn},
        {"libsql_vector_idx_clear", 2, clear_fn},
    };
    for (const entry& e : table) {
        int rc = sqlite3_create_function_v2(db, e.name, e.args, SQLITE_UTF8, nullptr, e.f, nullptr, nullptr, nullptr);
        if (rc == SQLITE_OK) rc = libsql_engine_make_internal(db, e.name, e.args);
        if (rc != SQLITE_OK) return rc;
    }
    return SQLITE_OK;
}

} // namespace libsql::vec
