// Hrana v3 cursors in JSON: the cursor request body, the response head line and the entries that follow it
// (step_begin, step_end, step_error, row, error), one per line.
#include "hrana/json_detail.hpp"

namespace libsql::hrana {
namespace json {

cursor_entry read_cursor_entry(const reader& r, std::size_t i, const path& where) {
    const std::string_view type = r.type_tag(i, where);
    if (type == "step_begin") {
        step_begin_entry e;
        e.step = r.req_uint32(i, "step", where);
        if (const std::size_t c = r.find_opt(i, "cols"); c != reader::npos) {
            const path p{&where, "cols"};
            e.cols = read_cols(r, c, p);
        }
        return e;
    }
    if (type == "step_end") {
        step_end_entry e;
        e.affected_row_count = r.opt_uint64(i, "affected_row_count", where).value_or(0);
        e.last_insert_rowid = read_opt_rowid(r, i, where);
        return e;
    }
    if (type == "step_error") {
        const path p{&where, "error"};
        const std::uint32_t step = r.req_uint32(i, "step", where);
        return step_error_entry{step, read_error(r, r.require(i, "error", where), p)};
    }
    if (type == "row") {
        const path p{&where, "row"};
        return row_entry{read_values(r, r.require(i, "row", where), p)};
    }
    if (type == "error") {
        const path p{&where, "error"};
        return error_entry{read_error(r, r.require(i, "error", where), p)};
    }
    fail_unknown_type(where, "cursor entry", type);
}

} // namespace json

using namespace json;

cursor_request parse_cursor_request(std::string_view json) {
    const tape t = parse_json(json);
    const reader r(t);
    const path root;
    r.expect_object(0, root);
    cursor_request req;
    req.baton = r.opt_string(0, "baton", root);
    const path p{&root, "batch"};
    req.batch = read_batch(r, r.require(0, "batch", root), p);
    return req;
}

cursor_response_head parse_cursor_response_head(std::string_view json_line) {
    const tape t = parse_json(json_line);
    const reader r(t);
    const path root;
    r.expect_object(0, root);
    return cursor_response_head{r.opt_string(0, "baton", root), r.opt_string(0, "base_url", root)};
}

cursor_entry parse_cursor_entry(std::string_view json_line) {
    const tape t = parse_json(json_line);
    const reader r(t);
    return read_cursor_entry(r, 0, path{});
}

void serialize(const cursor_request& r, std::string& out) {
    out += "{\"baton\":";
    write_opt_string(out, r.baton);
    out += ",\"batch\":";
    write_batch(out, r.batch);
    out += '}';
}

void serialize(const cursor_response_head& r, std::string& out) {
    out += "{\"baton\":";
    write_opt_string(out, r.baton);
    out += ",\"base_url\":";
    write_opt_string(out, r.base_url);
    out += '}';
}

void serialize(const cursor_entry& e, std::string& out) {
    struct entry_writer {
        std::string& out;
        void operator()(const step_begin_entry& s) const {
            out += R"({"type":"step_begin","step":)";
            write_int(out, s.step);
            out += ",\"cols\":";
            write_cols(out, s.cols);
            out += '}';
        }
        void operator()(const step_end_entry& s) const {
            out += R"({"type":"step_end","affected_row_count":)";
            write_int(out, s.affected_row_count);
            write_opt_rowid(out, s.last_insert_rowid);
            out += '}';
        }
        void operator()(const step_error_entry& s) const {
            out += R"({"type":"step_error","step":)";
            write_int(out, s.step);
            out += ",\"error\":";
            write_error(out, s.error);
            out += '}';
        }
        void operator()(const row_entry& s) const {
            out += R"({"type":"row","row":)";
            write_values(out, s.row);
            out += '}';
        }
        void operator()(const error_entry& s) const {
            out += R"({"type":"error","error":)";
            write_error(out, s.error);
            out += '}';
        }
    };
    std::visit(entry_writer{out}, e);
}

} // namespace libsql::hrana
