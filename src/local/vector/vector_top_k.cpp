// vector_top_k(index, query, k): a read-only search of a libSQL DiskANN index that libSQL built (its
// <index>_shadow table and libsql_vector_meta_shadow row, docs/VECTOR.md), as an eponymous virtual table with one
// column, id (the row's rowid), like libSQL's. Our own greedy beam search over libSQL's graph: candidates ranked
// by the neighbour vectors stored in each node block, visited nodes by their exact vector. The same graph is
// maintained by libSQL and by libsql-cpp (vector_index.cpp), so either may have written it.
#include "local/vector/vector_functions.hpp"

#include "core/vector_format.hpp"
#include "local/vector/vector_distance.hpp"
#include "local/vector/vector_index.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <new>
#include <string>
#include <vector>

namespace libsql::vec {
namespace {

[[noreturn]] void fail(std::string m) { throw vector_error{std::move(m), false}; }

struct candidate {
    float dist;
    std::int64_t rowid;
    bool visited;
};

/// The search: returns up to k rowids, nearest first.
std::vector<std::int64_t> search(sqlite3* db, const std::string& full_name, sqlite3_value* query, std::int64_t k) {
    // 'schema.index' names an index of an attached database, as in libSQL (getIndexNameParts); else main's
    std::string schema = "main", name = full_name;
    if (const auto dot = full_name.find('.'); dot != std::string::npos && dot > 0 && dot + 1 < full_name.size()) {
        schema = full_name.substr(0, dot);
        name = full_name.substr(dot + 1);
    }
    const index_layout l = read_layout(db, schema, name, "search");
    vector_data q = sqlite3_value_type(query) == SQLITE_BLOB
                        ? decode_blob({static_cast<const std::uint8_t*>(sqlite3_value_blob(query)),
                                       static_cast<std::size_t>(sqlite3_value_bytes(query))})
                        : parse_text(reinterpret_cast<const char*>(sqlite3_value_text(query)), vtype::f32);
    if (q.dims != l.dims)
        fail("vector index(search): dimensions are different: " + std::to_string(q.dims) + " != " + std::to_string(l.dims));
    if (q.type != vtype::f32) q = convert(q, vtype::f32);
    const std::string shadow = quoted(schema) + "." + quoted(name + "_shadow");
    stmt first(db, "SELECT index_key FROM " + shadow + " LIMIT 1", "vector index(search)");
    if (sqlite3_step(first.st) != SQLITE_ROW) return {};
    // each hop reads the node's header and vector, its edges' metadata, and only the edge vectors of neighbours
    // not met before, in place through one blob handle
    node_blobs blobs(db, schema, name + "_shadow", false, "vector index(search)", l.block);
    const float qq = l.metric == 2 ? 0 : sum_squares(q.f32.data(), l.dims);
    auto norm = [&](const std::vector<float>& v) { return l.metric == 2 ? 0 : sum_squares(v.data(), l.dims); };
    const std::size_t width = std::max<std::size_t>(l.search_l, static_cast<std::size_t>(std::min<std::int64_t>(k, 100000)));
    std::vector<candidate> cands;
    std::vector<std::pair<float, std::int64_t>> found;
    rowid_map seen;
    seen.reserve(std::min<std::size_t>(width * (l.max_edges + 1) + 16, std::size_t{1} << 20));
    std::vector<float> vec, edge_vecs;
    std::vector<std::uint8_t> meta;
    std::vector<std::size_t> unseen;
    std::uint8_t head[10];
    auto hop = [&](std::int64_t id, float& d) { // reads id's node: its distance, its edges into meta
        if (!blobs.seek(id)) return false;
        blobs.read(head, sizeof head, 0);
        blobs.read_vector(l.node_type, l.dims, l.node_meta, vec);
        d = index_distance(l, q.f32.data(), qq, vec.data(), norm(vec));
        const std::size_t edges = std::min<std::size_t>(static_cast<std::size_t>(head[8] | head[9] << 8), l.max_edges);
        meta.resize(edges * 16);
        blobs.read(meta.data(), meta.size(), l.edge_meta_at);
        return true;
    };
    auto expand = [&](std::int64_t id, float d) {
        found.emplace_back(d, id);
        const std::size_t count = meta.size() / 16;
        unseen.clear();
        for (std::size_t e = 0; e < count; ++e)
            if (seen.emplace(static_cast<std::int64_t>(le64(meta.data() + e * 16 + 8))).second) unseen.push_back(e);
        // most edges new: their vectors in one sequential read; else one read each
        const bool bulk = l.edge_type == vtype::f32 && std::endian::native == std::endian::little && 2 * unseen.size() > count;
        if (bulk) {
            edge_vecs.resize(count * l.dims);
            blobs.read(edge_vecs.data(), count * l.edge_vec, l.node_meta + l.node_vec);
        }
        for (const std::size_t e : unseen) {
            const auto neighbour = static_cast<std::int64_t>(le64(meta.data() + e * 16 + 8));
            const float* v = nullptr;
            if (bulk) {
                v = edge_vecs.data() + e * l.dims;
            } else {
                blobs.read_vector(l.edge_type, l.dims, l.node_meta + l.node_vec + e * l.edge_vec, vec);
                v = vec.data();
            }
            const candidate c{index_distance(l, q.f32.data(), qq, v, l.metric == 2 ? 0 : sum_squares(v, l.dims)), neighbour, false};
            if (cands.size() >= width && !(c.dist < cands.back().dist || (c.dist == cands.back().dist && c.rowid < cands.back().rowid)))
                continue;
            cands.insert(std::upper_bound(cands.begin(), cands.end(), c, [](const candidate& a, const candidate& b) {
                             return a.dist < b.dist || (a.dist == b.dist && a.rowid < b.rowid);
                         }), c);
            if (cands.size() > width) cands.pop_back();
        }
    };
    const std::int64_t start = sqlite3_column_int64(first.st, 0);
    float d = 0;
    if (!hop(start, d)) return {};
    cands.push_back({d, start, true});
    (void)seen.emplace(start);
    expand(start, d);
    for (;;) {
        auto next = std::find_if(cands.begin(), cands.end(), [](const candidate& c) { return !c.visited; });
        if (next == cands.end()) break;
        next->visited = true;
        const std::int64_t id = next->rowid;
        if (!hop(id, d)) continue; // a dangling edge: libSQL may leave one after a delete
        expand(id, d);
    }
    std::sort(found.begin(), found.end());
    std::vector<std::int64_t> out;
    for (std::size_t i = 0; i < found.size() && static_cast<std::int64_t>(i) < k; ++i) out.push_back(found[i].second);
    return out;
}

struct top_k_vtab : sqlite3_vtab {
    sqlite3* db = nullptr;
};
struct top_k_cursor : sqlite3_vtab_cursor {
    std::vector<std::int64_t> ids;
    std::size_t at = 0;
};

int connect(sqlite3* db, void*, int, const char* const*, sqlite3_vtab** out, char** err) {
    const int rc = sqlite3_declare_vtab(db, "CREATE TABLE x(id INTEGER, idx HIDDEN, q HIDDEN, k HIDDEN)");
    if (rc != SQLITE_OK) return rc;
    auto* t = new (std::nothrow) top_k_vtab();
    if (!t) return SQLITE_NOMEM;
    t->db = db;
    *out = t;
    (void)err;
    return SQLITE_OK;
}
int disconnect(sqlite3_vtab* t) {
    delete static_cast<top_k_vtab*>(t);
    return SQLITE_OK;
}

int best_index(sqlite3_vtab*, sqlite3_index_info* info) {
    int where[3] = {-1, -1, -1};
    for (int i = 0; i < info->nConstraint; ++i) {
        const auto& c = info->aConstraint[i];
        if (c.iColumn >= 1 && c.iColumn <= 3 && c.op == SQLITE_INDEX_CONSTRAINT_EQ && c.usable) where[c.iColumn - 1] = i;
    }
    if (where[0] < 0 || where[1] < 0 || where[2] < 0) return SQLITE_CONSTRAINT; // all three arguments are required
    for (int a = 0; a < 3; ++a) {
        info->aConstraintUsage[where[a]].argvIndex = a + 1;
        info->aConstraintUsage[where[a]].omit = 1;
    }
    info->estimatedCost = 1000;
    return SQLITE_OK;
}

int open_cursor(sqlite3_vtab*, sqlite3_vtab_cursor** out) {
    auto* c = new (std::nothrow) top_k_cursor();
    if (!c) return SQLITE_NOMEM;
    *out = c;
    return SQLITE_OK;
}
int close_cursor(sqlite3_vtab_cursor* c) {
    delete static_cast<top_k_cursor*>(c);
    return SQLITE_OK;
}

int filter(sqlite3_vtab_cursor* base, int, const char*, int argc, sqlite3_value** argv) {
    auto* c = static_cast<top_k_cursor*>(base);
    auto* t = static_cast<top_k_vtab*>(base->pVtab);
    auto set_error = [&](const std::string& m) {
        sqlite3_free(t->zErrMsg);
        t->zErrMsg = sqlite3_mprintf("%s", m.c_str());
        return SQLITE_ERROR;
    };
    try {
        c->ids.clear();
        c->at = 0;
        if (argc != 3) return set_error("vector_top_k: expects (index name, query vector, k)");
        if (sqlite3_value_type(argv[0]) != SQLITE_TEXT) return set_error("vector_top_k: the index name must be text");
        if (sqlite3_value_type(argv[2]) != SQLITE_INTEGER || sqlite3_value_int64(argv[2]) <= 0)
            return set_error("vector_top_k: k must be a positive integer");
        const std::string name = reinterpret_cast<const char*>(sqlite3_value_text(argv[0]));
        c->ids = search(t->db, name, argv[1], sqlite3_value_int64(argv[2]));
        return SQLITE_OK;
    } catch (const vector_error& e) {
        return e.nomem ? SQLITE_NOMEM : set_error(e.message);
    } catch (const std::bad_alloc&) {
        return SQLITE_NOMEM;
    }
}
int next(sqlite3_vtab_cursor* c) {
    ++static_cast<top_k_cursor*>(c)->at;
    return SQLITE_OK;
}
int eof(sqlite3_vtab_cursor* base) {
    auto* c = static_cast<top_k_cursor*>(base);
    return c->at >= c->ids.size();
}
int column(sqlite3_vtab_cursor* base, sqlite3_context* ctx, int col) {
    auto* c = static_cast<top_k_cursor*>(base);
    if (col == 0) sqlite3_result_int64(ctx, c->ids[c->at]);
    return SQLITE_OK;
}
int rowid(sqlite3_vtab_cursor* base, sqlite3_int64* out) {
    *out = static_cast<sqlite3_int64>(static_cast<top_k_cursor*>(base)->at);
    return SQLITE_OK;
}

} // namespace

int register_vector_top_k(sqlite3* db) noexcept {
    static const sqlite3_module module = [] {
        sqlite3_module m;
        std::memset(&m, 0, sizeof m);
        m.iVersion = 0;
        m.xConnect = connect; // no xCreate: eponymous only, as libSQL's
        m.xBestIndex = best_index;
        m.xDisconnect = disconnect;
        m.xOpen = open_cursor;
        m.xClose = close_cursor;
        m.xFilter = filter;
        m.xNext = next;
        m.xEof = eof;
        m.xColumn = column;
        m.xRowid = rowid;
        return m;
    }();
    return sqlite3_create_module_v2(db, "vector_top_k", &module, nullptr, nullptr);
}

} // namespace libsql::vec
