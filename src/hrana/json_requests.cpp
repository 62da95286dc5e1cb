// Hrana statements and HTTP stream requests (execute, batch, sequence, describe, store_sql, close_sql, close,
// get_autocommit) and the pipeline request body, in JSON.
#include "hrana/json_detail.hpp"

namespace libsql::hrana {
namespace json {

/// sql / sql_id, exactly one of them.
void read_sql_or_id(const reader& r, std::size_t obj, const path& where, std::optional<std::string>& sql,
                    std::optional<std::int32_t>& sql_id) {
    sql = r.opt_string(obj, "sql", where);
    sql_id = r.opt_int32(obj, "sql_id", where);
    if (sql && sql_id) fail(where, "both 'sql' and 'sql_id' given");
    if (!sql && !sql_id) fail(where, "one of 'sql' and 'sql_id' is required");
}

stmt read_stmt(const reader& r, std::size_t i, const path& where) {
    r.expect_object(i, where);
    stmt s;
    read_sql_or_id(r, i, where, s.sql, s.sql_id);
    if (const std::size_t a = r.find_opt(i, "args"); a != reader::npos) {
        const path p{&where, "args"};
        s.args = read_values(r, a, p);
    }
    if (const std::size_t a = r.find_opt(i, "named_args"); a != reader::npos) {
        const path p{&where, "named_args"};
        r.for_each_element(a, p, [&](std::size_t e, const path& ep) {
            r.expect_object(e, ep);
            named_arg arg;
            arg.name = r.req_string(e, "name", ep);
            const path vp{&ep, "value"};
            arg.value = read_value(r, r.require(e, "value", ep), vp);
            s.named_args.push_back(std::move(arg));
        });
    }
    s.want_rows = r.opt_bool(i, "want_rows", where, true);
    s.replication_index = r.opt_uint64_string(i, "replication_index", where);
    return s;
}

void write_sql_or_id(std::string& out, const std::optional<std::string>& sql, const std::optional<std::int32_t>& sql_id) {
    if (sql) {
        out += ",\"sql\":";
        write_string(out, *sql);
    }
    if (sql_id) {
        out += ",\"sql_id\":";
        write_int(out, *sql_id);
    }
}

void write_stmt(std::string& out, const stmt& s) {
    out += '{';
    bool first = true;
    if (s.sql) {
        write_key(out, "sql");
        write_string(out, *s.sql);
        first = false;
    }
    if (s.sql_id) {
        if (!first) out += ',';
        write_key(out, "sql_id");
        write_int(out, *s.sql_id);
        first = false;
    }
    if (!first) out += ',';
    write_key(out, "args");
    write_values(out, s.args);
    out += ",\"named_args\":[";
    for (std::size_t i = 0; i < s.named_args.size(); ++i) {
        if (i != 0) out += ',';
        out += "{\"name\":";
        write_string(out, s.named_args[i].name);
        out += ",\"value\":";
        write_value(out, s.named_args[i].value);
        out += '}';
    }
    out += "],\"want_rows\":";
    out += s.want_rows ? "true" : "false";
    if (s.replication_index) {
        out += ",\"replication_index\":";
        write_int_string(out, *s.replication_index);
    }
    out += '}';
}

namespace {
stream_request read_stream_request(const reader& r, std::size_t i, const path& where) {
    const std::string_view type = r.type_tag(i, where);
    if (type == "execute") {
        const path p{&where, "stmt"};
        return execute_req{read_stmt(r, r.require(i, "stmt", where), p)};
    }
    if (type == "batch") {
        const path p{&where, "batch"};
        return batch_req{read_batch(r, r.require(i, "batch", where), p)};
    }
    if (type == "sequence") {
        sequence_req s;
        read_sql_or_id(r, i, where, s.sql, s.sql_id);
        return s;
    }
    if (type == "describe") {
        describe_req d;
        read_sql_or_id(r, i, where, d.sql, d.sql_id);
        return d;
    }
    if (type == "store_sql") return store_sql_req{r.req_int32(i, "sql_id", where), r.req_string(i, "sql", where)};
    if (type == "close_sql") return close_sql_req{r.req_int32(i, "sql_id", where)};
    if (type == "close") return close_req{};
    if (type == "get_autocommit") return get_autocommit_req{};
    fail_unknown_type(where, "request", type);
}
} // namespace

void write_store_sql(std::string& out, const store_sql_req& r) {
    out += R"({"type":"store_sql","sql_id":)";
    write_int(out, r.sql_id);
    out += ",\"sql\":";
    write_string(out, r.sql);
    out += '}';
}

void write_close_sql(std::string& out, const close_sql_req& r) {
    out += R"({"type":"close_sql","sql_id":)";
    write_int(out, r.sql_id);
    out += '}';
}

namespace {
struct stream_request_writer {
    std::string& out;
    void operator()(const execute_req& r) const {
        out += R"({"type":"execute","stmt":)";
        write_stmt(out, r.stmt);
        out += '}';
    }
    void operator()(const batch_req& r) const {
        out += R"({"type":"batch","batch":)";
        write_batch(out, r.batch);
        out += '}';
    }
    void operator()(const sequence_req& r) const {
        out += R"({"type":"sequence")";
        write_sql_or_id(out, r.sql, r.sql_id);
        out += '}';
    }
    void operator()(const describe_req& r) const {
        out += R"({"type":"describe")";
        write_sql_or_id(out, r.sql, r.sql_id);
        out += '}';
    }
    void operator()(const store_sql_req& r) const { write_store_sql(out, r); }
    void operator()(const close_sql_req& r) const { write_close_sql(out, r); }
    void operator()(const close_req&) const { out += R"({"type":"close"})"; }
    void operator()(const get_autocommit_req&) const { out += R"({"type":"get_autocommit"})"; }
};
} // namespace

} // namespace json

using namespace json;

pipeline_request parse_pipeline_request(std::string_view json) {
    const tape t = parse_json(json);
    const reader r(t);
    const path root;
    r.expect_object(0, root);
    pipeline_request req;
    req.baton = r.opt_string(0, "baton", root);
    const path p{&root, "requests"};
    const std::size_t a = r.require(0, "requests", root);
    if (r.node(a).kind == jkind::array) req.requests.reserve(r.count(a));
    r.for_each_element(a, p, [&](std::size_t e, const path& ep) { req.requests.push_back(read_stream_request(r, e, ep)); });
    return req;
}

namespace {
/// About how many bytes a statement takes as JSON (its text plus the fixed keys; arguments vary): enough that a
/// pipeline's body is allocated once instead of growing through a dozen copies.
std::size_t stmt_size_hint(const stmt& s) noexcept { return (s.sql ? s.sql->size() : 0) + 96 + 48 * (s.args.size() + s.named_args.size()); }
} // namespace

void serialize(const pipeline_request& r, std::string& out) {
    std::size_t hint = 64;
    for (const auto& q : r.requests) {
        if (const auto* e = std::get_if<execute_req>(&q)) hint += stmt_size_hint(e->stmt);
        else if (const auto* b = std::get_if<batch_req>(&q))
            for (const auto& step : b->batch.steps) hint += stmt_size_hint(step.stmt) + (step.condition ? 64 : 0);
        else hint += 64;
    }
    out.reserve(out.size() + hint);
    out += "{\"baton\":";
    write_opt_string(out, r.baton);
    out += ",\"requests\":[";
    for (std::size_t i = 0; i < r.requests.size(); ++i) {
        if (i != 0) out += ',';
        std::visit(stream_request_writer{out}, r.requests[i]);
    }
    out += "]}";
}

} // namespace libsql::hrana
