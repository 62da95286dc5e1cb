// Hrana WebSocket messages in JSON: hello, requests on streams and cursors, and the server's responses.
#include "hrana/json_detail.hpp"

namespace libsql::hrana {
namespace json {

void response_writer::operator()(const ws_open_stream_resp&) const { out += R"({"type":"open_stream"})"; }
void response_writer::operator()(const ws_close_stream_resp&) const { out += R"({"type":"close_stream"})"; }
void response_writer::operator()(const ws_open_cursor_resp&) const { out += R"({"type":"open_cursor"})"; }
void response_writer::operator()(const ws_close_cursor_resp&) const { out += R"({"type":"close_cursor"})"; }
void response_writer::operator()(const ws_fetch_cursor_resp& r) const {
    out += R"({"type":"fetch_cursor","entries":[)";
    for (std::size_t i = 0; i < r.entries.size(); ++i) {
        if (i != 0) out += ',';
        serialize(r.entries[i], out);
    }
    out += "],\"done\":";
    out += r.done ? "true" : "false";
    out += '}';
}

namespace {
ws_request read_ws_request(const reader& r, std::size_t i, const path& where) {
    const std::string_view type = r.type_tag(i, where);
    if (type == "open_stream") return ws_open_stream{r.req_int32(i, "stream_id", where)};
    if (type == "close_stream") return ws_close_stream{r.req_int32(i, "stream_id", where)};
    if (type == "execute") {
        const path p{&where, "stmt"};
        const std::int32_t stream_id = r.req_int32(i, "stream_id", where);
        return ws_execute{stream_id, read_stmt(r, r.require(i, "stmt", where), p)};
    }
    if (type == "batch") {
        const path p{&where, "batch"};
        const std::int32_t stream_id = r.req_int32(i, "stream_id", where);
        return ws_batch{stream_id, read_batch(r, r.require(i, "batch", where), p)};
    }
    if (type == "sequence") {
        ws_sequence s;
        s.stream_id = r.req_int32(i, "stream_id", where);
        read_sql_or_id(r, i, where, s.sql, s.sql_id);
        return s;
    }
    if (type == "describe") {
        ws_describe d;
        d.stream_id = r.req_int32(i, "stream_id", where);
        read_sql_or_id(r, i, where, d.sql, d.sql_id);
        return d;
    }
    if (type == "store_sql") return store_sql_req{r.req_int32(i, "sql_id", where), r.req_string(i, "sql", where)};
    if (type == "close_sql") return close_sql_req{r.req_int32(i, "sql_id", where)};
    if (type == "get_autocommit") return ws_get_autocommit{r.req_int32(i, "stream_id", where)};
    if (type == "open_cursor") {
        ws_open_cursor c;
        c.stream_id = r.req_int32(i, "stream_id", where);
        c.cursor_id = r.req_int32(i, "cursor_id", where);
        const path p{&where, "batch"};
        c.batch = read_batch(r, r.require(i, "batch", where), p);
        return c;
    }
    if (type == "close_cursor") return ws_close_cursor{r.req_int32(i, "cursor_id", where)};
    if (type == "fetch_cursor")
        return ws_fetch_cursor{r.req_int32(i, "cursor_id", where), r.req_uint32(i, "max_count", where)};
    fail_unknown_type(where, "request", type);
}

ws_response read_ws_response(const reader& r, std::size_t i, const path& where) {
    const std::string_view type = r.type_tag(i, where);
    if (auto resp = read_common_response<ws_response>(r, i, where, type)) return std::move(*resp);
    if (type == "open_stream") return ws_open_stream_resp{};
    if (type == "close_stream") return ws_close_stream_resp{};
    if (type == "open_cursor") return ws_open_cursor_resp{};
    if (type == "close_cursor") return ws_close_cursor_resp{};
    if (type == "fetch_cursor") {
        ws_fetch_cursor_resp f;
        const path p{&where, "entries"};
        r.for_each_element(r.require(i, "entries", where), p,
                           [&](std::size_t e, const path& ep) { f.entries.push_back(read_cursor_entry(r, e, ep)); });
        const path dp{&where, "done"};
        f.done = r.boolean(r.require(i, "done", where), dp);
        return f;
    }
    fail_unknown_type(where, "response", type);
}

struct ws_request_writer {
    std::string& out;
    void stream_id(std::int32_t id) const {
        out += ",\"stream_id\":";
        write_int(out, id);
    }
    void operator()(const ws_open_stream& r) const {
        out += R"({"type":"open_stream")";
        stream_id(r.stream_id);
        out += '}';
    }
    void operator()(const ws_close_stream& r) const {
        out += R"({"type":"close_stream")";
        stream_id(r.stream_id);
        out += '}';
    }
    void operator()(const ws_execute& r) const {
        out += R"({"type":"execute")";
        stream_id(r.stream_id);
        out += ",\"stmt\":";
        write_stmt(out, r.stmt);
        out += '}';
    }
    void operator()(const ws_batch& r) const {
        out += R"({"type":"batch")";
        stream_id(r.stream_id);
        out += ",\"batch\":";
        write_batch(out, r.batch);
        out += '}';
    }
    void operator()(const ws_sequence& r) const {
        out += R"({"type":"sequence")";
        stream_id(r.stream_id);
        write_sql_or_id(out, r.sql, r.sql_id);
        out += '}';
    }
    void operator()(const ws_describe& r) const {
        out += R"({"type":"describe")";
        stream_id(r.stream_id);
        write_sql_or_id(out, r.sql, r.sql_id);
        out += '}';
    }
    void operator()(const store_sql_req& r) const { write_store_sql(out, r); }
    void operator()(const close_sql_req& r) const { write_close_sql(out, r); }
    void operator()(const ws_get_autocommit& r) const {
        out += R"({"type":"get_autocommit")";
        stream_id(r.stream_id);
        out += '}';
    }
    void operator()(const ws_open_cursor& r) const {
        out += R"({"type":"open_cursor")";
        stream_id(r.stream_id);
        out += ",\"cursor_id\":";
        write_int(out, r.cursor_id);
        out += ",\"batch\":";
        write_batch(out, r.batch);
        out += '}';
    }
    void operator()(const ws_close_cursor& r) const {
        out += R"({"type":"close_cursor","cursor_id":)";
        write_int(out, r.cursor_id);
        out += '}';
    }
    void operator()(const ws_fetch_cursor& r) const {
        out += R"({"type":"fetch_cursor","cursor_id":)";
        write_int(out, r.cursor_id);
        out += ",\"max_count\":";
        write_int(out, r.max_count);
        out += '}';
    }
};
} // namespace

} // namespace json

using namespace json;

ws_client_msg parse_ws_client_msg(std::string_view json) {
    const tape t = parse_json(json);
    const reader r(t);
    const path root;
    const std::string_view type = r.type_tag(0, root);
    if (type == "hello") return ws_hello{r.opt_string(0, "jwt", root)};
    if (type == "request") {
        const std::int32_t id = r.req_int32(0, "request_id", root);
        const path p{&root, "request"};
        return ws_request_msg{id, read_ws_request(r, r.require(0, "request", root), p)};
    }
    fail_unknown_type(root, "client message", type);
}

ws_server_msg parse_ws_server_msg(std::string_view json) {
    const tape t = parse_json(json);
    const reader r(t);
    const path root;
    const std::string_view type = r.type_tag(0, root);
    if (type == "hello_ok") return ws_hello_ok{};
    if (type == "hello_error") {
        const path p{&root, "error"};
        return ws_hello_error{read_error(r, r.require(0, "error", root), p)};
    }
    if (type == "response_ok") {
        const std::int32_t id = r.req_int32(0, "request_id", root);
        const path p{&root, "response"};
        return ws_response_ok{id, read_ws_response(r, r.require(0, "response", root), p)};
    }
    if (type == "response_error") {
        const std::int32_t id = r.req_int32(0, "request_id", root);
        const path p{&root, "error"};
        return ws_response_error{id, read_error(r, r.require(0, "error", root), p)};
    }
    fail_unknown_type(root, "server message", type);
}

void serialize(const ws_client_msg& m, std::string& out) {
    if (const auto* hello = std::get_if<ws_hello>(&m)) {
        out += R"({"type":"hello","jwt":)";
        write_opt_string(out, hello->jwt);
        out += '}';
        return;
    }
    const auto& req = std::get<ws_request_msg>(m);
    out += R"({"type":"request","request_id":)";
    write_int(out, req.request_id);
    out += ",\"request\":";
    std::visit(ws_request_writer{out}, req.request);
    out += '}';
}

void serialize(const ws_server_msg& m, std::string& out) {
    struct msg_writer {
        std::string& out;
        void operator()(const ws_hello_ok&) const { out += R"({"type":"hello_ok"})"; }
        void operator()(const ws_hello_error& h) const {
            out += R"({"type":"hello_error","error":)";
            write_error(out, h.error);
            out += '}';
        }
        void operator()(const ws_response_ok& r) const {
            out += R"({"type":"response_ok","request_id":)";
            write_int(out, r.request_id);
            out += ",\"response\":";
            std::visit(response_writer{out}, r.response);
            out += '}';
        }
        void operator()(const ws_response_error& r) const {
            out += R"({"type":"response_error","request_id":)";
            write_int(out, r.request_id);
            out += ",\"error\":";
            write_error(out, r.error);
            out += '}';
        }
    };
    std::visit(msg_writer{out}, m);
}

} // namespace libsql::hrana
