// Hrana errors, statement/batch/describe results, the HTTP stream responses and the pipeline response body, in JSON.
#include "hrana/json_detail.hpp"

namespace libsql::hrana {
namespace json {

error read_error(const reader& r, std::size_t i, const path& where) {
    r.expect_object(i, where);
    error e;
    e.message = r.req_string(i, "message", where);
    e.code = r.opt_string(i, "code", where).value_or(std::string{});
    return e;
}

std::vector<column> read_cols(const reader& r, std::size_t arr, const path& where) {
    std::vector<column> cols;
    r.for_each_element(arr, where, [&](std::size_t e, const path& p) {
        r.expect_object(e, p);
        column c;
        c.name = r.opt_string(e, "name", p).value_or(std::string{});
        c.decltype_ = r.opt_string(e, "decltype", p);
        cols.push_back(std::move(c));
    });
    return cols;
}

std::optional<std::int64_t> read_opt_rowid(const reader& r, std::size_t obj, const path& where) {
    const std::size_t v = r.find_opt(obj, "last_insert_rowid");
    if (v == reader::npos) return std::nullopt;
    const path p{&where, "last_insert_rowid"};
    return r.int64_string(v, p);
}

stmt_result read_stmt_result(const reader& r, std::size_t i, const path& where) {
    r.expect_object(i, where);
    stmt_result s;
    // One pass over the members (a batch answer holds a result per step; eight find()s each were most of its cost).
    static constexpr std::array<std::string_view, 8> keys{"cols",          "rows",      "affected_row_count",
                                                          "last_insert_rowid", "replication_index", "rows_read",
                                                          "rows_written",  "query_duration_ms"};
    const auto f = r.find_opts(i, keys);
    auto at = [&](std::size_t k) { return path{&where, keys[k]}; };
    if (f[0] != reader::npos) s.cols = read_cols(r, f[0], at(0));
    if (const std::size_t rows = f[1]; rows != reader::npos) {
        const path p = at(1);
        if (r.node(rows).kind == jkind::array) s.rows.reserve(r.count(rows));
        r.for_each_element(rows, p, [&](std::size_t e, const path& ep) { s.rows.push_back(read_values(r, e, ep)); });
    }
    if (f[2] != reader::npos) s.affected_row_count = r.uint64(f[2], at(2));
    if (f[3] != reader::npos) s.last_insert_rowid = r.int64_string(f[3], at(3));
    if (f[4] != reader::npos) s.replication_index = r.uint64_string(f[4], at(4));
    if (f[5] != reader::npos) s.rows_read = r.uint64(f[5], at(5));
    if (f[6] != reader::npos) s.rows_written = r.uint64(f[6], at(6));
    if (f[7] != reader::npos) s.query_duration_ms = r.number(f[7], at(7));
    return s;
}

batch_result read_batch_result(const reader& r, std::size_t i, const path& where) {
    r.expect_object(i, where);
    batch_result b;
    if (const std::size_t a = r.find_opt(i, "step_results"); a != reader::npos) {
        const path p{&where, "step_results"};
        r.for_each_element(a, p, [&](std::size_t e, const path& ep) {
            if (r.is_null(e)) b.step_results.emplace_back();
            else b.step_results.emplace_back(read_stmt_result(r, e, ep));
        });
    }
    if (const std::size_t a = r.find_opt(i, "step_errors"); a != reader::npos) {
        const path p{&where, "step_errors"};
        r.for_each_element(a, p, [&](std::size_t e, const path& ep) {
            if (r.is_null(e)) b.step_errors.emplace_back();
            else b.step_errors.emplace_back(read_error(r, e, ep));
        });
    }
    b.replication_index = r.opt_uint64_string(i, "replication_index", where);
    return b;
}

describe_result read_describe_result(const reader& r, std::size_t i, const path& where) {
    r.expect_object(i, where);
    describe_result d;
    if (const std::size_t a = r.find_opt(i, "params"); a != reader::npos) {
        const path p{&where, "params"};
        r.for_each_element(a, p, [&](std::size_t e, const path& ep) {
            r.expect_object(e, ep);
            d.params.push_back(describe_param{r.opt_string(e, "name", ep)});
        });
    }
    if (const std::size_t a = r.find_opt(i, "cols"); a != reader::npos) {
        const path p{&where, "cols"};
        d.cols = read_cols(r, a, p);
    }
    d.is_explain = r.opt_bool(i, "is_explain", where, false);
    d.is_readonly = r.opt_bool(i, "is_readonly", where, false);
    return d;
}

namespace {
stream_response read_stream_response(const reader& r, std::size_t i, const path& where) {
    const std::string_view type = r.type_tag(i, where);
    if (auto resp = read_common_response<stream_response>(r, i, where, type)) return std::move(*resp);
    if (type == "close") return close_resp{};
    fail_unknown_type(where, "response", type);
}
} // namespace

void write_error(std::string& out, const error& e) {
    out += "{\"message\":";
    write_string(out, e.message);
    if (!e.code.empty()) {
        out += ",\"code\":";
        write_string(out, e.code);
    }
    out += '}';
}

void write_cols(std::string& out, const std::vector<column>& cols) {
    out += '[';
    for (std::size_t i = 0; i < cols.size(); ++i) {
        if (i != 0) out += ',';
        out += "{\"name\":";
        write_string(out, cols[i].name);
        out += ",\"decltype\":";
        write_opt_string(out, cols[i].decltype_);
        out += '}';
    }
    out += ']';
}

void write_opt_rowid(std::string& out, const std::optional<std::int64_t>& rowid) {
    out += ",\"last_insert_rowid\":";
    if (rowid) write_int_string(out, *rowid);
    else out += "null";
}

namespace {
void write_stmt_result(std::string& out, const stmt_result& s) {
    out += "{\"cols\":";
    write_cols(out, s.cols);
    out += ",\"rows\":[";
    for (std::size_t i = 0; i < s.rows.size(); ++i) {
        if (i != 0) out += ',';
        write_values(out, s.rows[i]);
    }
    out += "],\"affected_row_count\":";
    write_int(out, s.affected_row_count);
    write_opt_rowid(out, s.last_insert_rowid);
    if (s.replication_index) {
        out += ",\"replication_index\":";
        write_int_string(out, *s.replication_index);
    }
    if (s.rows_read) {
        out += ",\"rows_read\":";
        write_int(out, *s.rows_read);
    }
    if (s.rows_written) {
        out += ",\"rows_written\":";
        write_int(out, *s.rows_written);
    }
    if (s.query_duration_ms) {
        out += ",\"query_duration_ms\":";
        if (std::isfinite(*s.query_duration_ms)) write_double(out, *s.query_duration_ms);
        else out += "null";
    }
    out += '}';
}

void write_batch_result(std::string& out, const batch_result& b) {
    out += "{\"step_results\":[";
    for (std::size_t i = 0; i < b.step_results.size(); ++i) {
        if (i != 0) out += ',';
        if (b.step_results[i]) write_stmt_result(out, *b.step_results[i]);
        else out += "null";
    }
    out += "],\"step_errors\":[";
    for (std::size_t i = 0; i < b.step_errors.size(); ++i) {
        if (i != 0) out += ',';
        if (b.step_errors[i]) write_error(out, *b.step_errors[i]);
        else out += "null";
    }
    out += ']';
    if (b.replication_index) {
        out += ",\"replication_index\":";
        write_int_string(out, *b.replication_index);
    }
    out += '}';
}

void write_describe_result(std::string& out, const describe_result& d) {
    out += "{\"params\":[";
    for (std::size_t i = 0; i < d.params.size(); ++i) {
        if (i != 0) out += ',';
        out += "{\"name\":";
        write_opt_string(out, d.params[i].name);
        out += '}';
    }
    out += "],\"cols\":";
    write_cols(out, d.cols);
    out += ",\"is_explain\":";
    out += d.is_explain ? "true" : "false";
    out += ",\"is_readonly\":";
    out += d.is_readonly ? "true" : "false";
    out += '}';
}
} // namespace

void response_writer::operator()(const execute_resp& r) const {
    out += R"({"type":"execute","result":)";
    write_stmt_result(out, r.result);
    out += '}';
}
void response_writer::operator()(const batch_resp& r) const {
    out += R"({"type":"batch","result":)";
    write_batch_result(out, r.result);
    out += '}';
}
void response_writer::operator()(const sequence_resp&) const { out += R"({"type":"sequence"})"; }
void response_writer::operator()(const describe_resp& r) const {
    out += R"({"type":"describe","result":)";
    write_describe_result(out, r.result);
    out += '}';
}
void response_writer::operator()(const store_sql_resp&) const { out += R"({"type":"store_sql"})"; }
void response_writer::operator()(const close_sql_resp&) const { out += R"({"type":"close_sql"})"; }
void response_writer::operator()(const close_resp&) const { out += R"({"type":"close"})"; }
void response_writer::operator()(const get_autocommit_resp& r) const {
    out += r.is_autocommit ? R"({"type":"get_autocommit","is_autocommit":true})"
                           : R"({"type":"get_autocommit","is_autocommit":false})";
}

} // namespace json

using namespace json;

pipeline_response parse_pipeline_response(std::string_view json) {
    const tape t = parse_json(json);
    const reader r(t);
    const path root;
    r.expect_object(0, root);
    pipeline_response resp;
    resp.baton = r.opt_string(0, "baton", root);
    resp.base_url = r.opt_string(0, "base_url", root);
    const path p{&root, "results"};
    r.for_each_element(r.require(0, "results", root), p, [&](std::size_t e, const path& ep) {
        const std::string_view type = r.type_tag(e, ep);
        if (type == "ok") {
            const path rp{&ep, "response"};
            resp.results.emplace_back(read_stream_response(r, r.require(e, "response", ep), rp));
        } else if (type == "error") {
            const path rp{&ep, "error"};
            resp.results.emplace_back(read_error(r, r.require(e, "error", ep), rp));
        } else {
            fail_unknown_type(ep, "result", type);
        }
    });
    return resp;
}

error parse_error_body(std::string_view json) {
    const tape t = parse_json(json);
    const reader r(t);
    return read_error(r, 0, path{});
}

void serialize(const pipeline_response& r, std::string& out) {
    out += "{\"baton\":";
    write_opt_string(out, r.baton);
    out += ",\"base_url\":";
    write_opt_string(out, r.base_url);
    out += ",\"results\":[";
    for (std::size_t i = 0; i < r.results.size(); ++i) {
        if (i != 0) out += ',';
        if (const auto* resp = std::get_if<stream_response>(&r.results[i])) {
            out += R"({"type":"ok","response":)";
            std::visit(response_writer{out}, *resp);
        } else {
            out += R"({"type":"error","error":)";
            write_error(out, std::get<error>(r.results[i]));
        }
        out += '}';
    }
    out += "]}";
}

void serialize(const error& e, std::string& out) { write_error(out, e); }

} // namespace libsql::hrana
