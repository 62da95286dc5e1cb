// The SQL face of the vector formats: argument decoding with libSQL's checks in libSQL's order, results, errors.
#include "local/vector/vector_functions.hpp"

#include "core/vector_format.hpp"
#include "local/vector/vector_distance.hpp"
#include "local/vector/sql_guard.hpp"

#include <sqlite3.h>

#include <cstring>
#include <new>
#include <string>

namespace libsql::vec {
namespace {

const char* storage_name(int t) noexcept {
    switch (t) {
    case SQLITE_NULL: return "NULL";
    case SQLITE_INTEGER: return "INTEGER";
    case SQLITE_FLOAT: return "FLOAT";
    case SQLITE_BLOB: return "BLOB";
    case SQLITE_TEXT: return "TEXT";
    default: return "UNKNOWN";
    }
}

std::span<const std::uint8_t> blob_of(sqlite3_value* v) {
    const auto* p = static_cast<const std::uint8_t*>(sqlite3_value_blob(v));
    const int n = sqlite3_value_bytes(v);
    if (!p && n > 0) throw vector_error{"out of memory", true};
    return {p, static_cast<std::size_t>(n)};
}

/// libSQL's first look at an argument: type and dimension count without parsing. Text counts as float32 (or
/// the hint) with one component per comma, plus one if it has any digit.
blob_header detect(sqlite3_value* v, vtype text_as) {
    switch (sqlite3_value_type(v)) {
    case SQLITE_BLOB: return inspect_blob(blob_of(v));
    case SQLITE_TEXT: {
        const auto* t = sqlite3_value_text(v);
        const int n = sqlite3_value_bytes(v);
        if (!t) throw vector_error{"out of memory", true};
        std::int64_t commas = 0;
        bool digit = false;
        for (int i = 0; i < n; ++i) {
            commas += t[i] == ',';
            digit = digit || (t[i] >= '0' && t[i] <= '9');
        }
        return {text_as, commas + (digit ? 1 : 0)};
    }
    default:
        throw vector_error{std::string("vector: unexpected value type: got ") + storage_name(sqlite3_value_type(v)) +
                           ", expected TEXT or BLOB"};
    }
}

vector_data parse(sqlite3_value* v, vtype text_as, bool lenient_size = false) {
    if (sqlite3_value_type(v) == SQLITE_BLOB) return decode_blob(blob_of(v), lenient_size);
    return parse_text(reinterpret_cast<const char*>(sqlite3_value_text(v)), text_as);
}

void result_vector(sqlite3_context* ctx, const vector_data& v) {
    const std::vector<std::uint8_t> blob = encode(v);
    if (blob.empty()) {
        sqlite3_result_zeroblob(ctx, 0);
        return;
    }
    sqlite3_result_blob64(ctx, blob.data(), blob.size(), SQLITE_TRANSIENT);
}

void result_text(sqlite3_context* ctx, const vector_data& v) {
    std::string out = "[";
    char buf[32];
    for (std::uint32_t i = 0; i < v.dims; ++i) {
        // the engine's own %g, as libSQL formats
        sqlite3_snprintf(sizeof buf, buf, "%g", v.type == vtype::f64 ? v.f64[i] : static_cast<double>(v.f32[i]));
        if (i) out.push_back(',');
        out += buf;
    }
    out.push_back(']');
    sqlite3_result_text64(ctx, out.data(), out.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
}


template <vtype Target> void construct(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
    if (argc < 1) return;
    guarded(ctx, "vector: internal error", [&] {
        // libSQL parses text straight into float64 for vector64 and into float32 for every other constructor
        constexpr vtype text_as = Target == vtype::f64 ? vtype::f64 : vtype::f32;
        (void)detect(argv[0], text_as);
        const vector_data v = parse(argv[0], text_as);
        result_vector(ctx, v.type == Target ? v : convert(v, Target));
    });
}

void extract(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
    if (argc < 1) return;
    guarded(ctx, "vector: internal error", [&] {
        (void)detect(argv[0], vtype::f32);
        const vector_data v = parse(argv[0], vtype::f32, true);
        if (v.type == vtype::f32 || v.type == vtype::f64) result_text(ctx, v);
        else result_text(ctx, convert(v, vtype::f32));
    });
}

template <bool L2> void distance(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
    if (argc < 2) return;
    guarded(ctx, "vector: internal error", [&] {
        const blob_header a = detect(argv[0], vtype::f32);
        const blob_header b = detect(argv[1], vtype::f32);
        if (a.type != b.type)
            throw vector_error{"vector_distance: vectors must have the same type: " + std::to_string(static_cast<int>(a.type)) +
                               " != " + std::to_string(static_cast<int>(b.type))};
        if (a.dims != b.dims)
            throw vector_error{"vector_distance: vectors must have the same length: " + std::to_string(a.dims) + " != " +
                               std::to_string(b.dims)};
        if (L2 && a.type == vtype::bit1)
            throw vector_error{"vector_distance: l2 distance is not supported for float1bit vectors"};
        // float32 blobs whose size fits their dimension count: straight from the engine's bytes, no copies
        if (a.type == vtype::f32 && sqlite3_value_type(argv[0]) == SQLITE_BLOB && sqlite3_value_type(argv[1]) == SQLITE_BLOB) {
            const auto x = blob_of(argv[0]), y = blob_of(argv[1]);
            const auto want = static_cast<std::size_t>(a.dims) * 4;
            if ((x.size() == want || x.size() == want + 1) && (y.size() == want || y.size() == want + 1)) {
                const auto dims = static_cast<std::uint32_t>(a.dims);
                sqlite3_result_double(ctx, static_cast<double>(L2 ? distance_l2_f32(x.data(), y.data(), dims)
                                                                  : distance_cos_f32(x.data(), y.data(), dims)));
                return;
            }
        }
        const vector_data x = parse(argv[0], vtype::f32, true);
        const vector_data y = parse(argv[1], vtype::f32, true);
        // detected text dimensions can disagree with the parsed ones ('[1,2]' vs '[1 2,]'); libSQL would read
        // past the shorter vector there, we refuse
        if (x.dims != y.dims)
            throw vector_error{"vector_distance: vectors must have the same length: " + std::to_string(x.dims) + " != " +
                               std::to_string(y.dims)};
        sqlite3_result_double(ctx, static_cast<double>(L2 ? distance_l2(x, y) : distance_cos(x, y)));
    });
}

// The index marker: as an expression it returns its first argument, as libSQL's does (the engine never evaluates
// it inside an index: engine/patches/0030-vector-index.patch).
void vector_index_marker(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
    if (argc >= 1) sqlite3_result_value(ctx, argv[0]);
}

} // namespace

vector_data value_to_vector(sqlite3_value* v) {
    (void)detect(v, vtype::f32);
    return parse(v, vtype::f32);
}

int register_vector_functions(sqlite3* db) noexcept {
    using fn = void (*)(sqlite3_context*, int, sqlite3_value**);
    struct entry { const char* name; int args; fn f; };
    static constexpr entry table[] = {
        {"vector", 1, construct<vtype::f32>},       {"vector32", 1, construct<vtype::f32>},
        {"vector64", 1, construct<vtype::f64>},     {"vector1bit", 1, construct<vtype::bit1>},
        {"vector8", 1, construct<vtype::f8>},       {"vector16", 1, construct<vtype::f16>},
        {"vectorb16", 1, construct<vtype::bf16>},   {"vector_extract", 1, extract},
        {"vector_distance_cos", 2, distance<false>}, {"vector_distance_l2", 2, distance<true>},
        {"libsql_vector_idx", -1, vector_index_marker},
    };
    for (const entry& e : table) {
        const int rc = sqlite3_create_function_v2(db, e.name, e.args, SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS,
                                                  nullptr, e.f, nullptr, nullptr, nullptr);
        if (rc != SQLITE_OK) return rc;
    }
    if (const int rc = register_vector_index(db); rc != SQLITE_OK) return rc;
    return register_vector_top_k(db);
}

} // namespace libsql::vec
