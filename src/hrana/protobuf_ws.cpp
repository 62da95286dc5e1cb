// Hrana 3 over WebSocket in Protobuf (proto/hrana_ws.proto, subprotocol hrana3-protobuf): client and server messages.
#include "hrana/proto/hrana_ws.pb.h"
#include "hrana/protobuf_detail.hpp"

namespace libsql::hrana::protobuf {

using namespace pbc;
namespace ws = libsql::hrana::pb::ws;

namespace {

template <class Req> void sql_or_id_from(const Req& r, const std::string& where, std::optional<std::string>& sql,
                                         std::optional<std::int32_t>& sql_id) {
    if (r.has_sql()) sql = text_in(r.sql(), where + ".sql");
    if (r.has_sql_id()) sql_id = r.sql_id();
    if (sql && sql_id) fail(where, "both 'sql' and 'sql_id' given");
    if (!sql && !sql_id) fail(where, "one of 'sql' and 'sql_id' is required");
}

ws_request from_pb(const ws::RequestMsg& r, const std::string& where) {
    using R = ws::RequestMsg;
    switch (r.request_case()) {
    case R::kOpenStream: return ws_open_stream{r.open_stream().stream_id()};
    case R::kCloseStream: return ws_close_stream{r.close_stream().stream_id()};
    case R::kExecute:
        if (!r.execute().has_stmt()) fail(where, "missing field 'stmt'");
        return ws_execute{r.execute().stream_id(), pbc::from_pb(r.execute().stmt(), where + ".stmt")};
    case R::kBatch:
        if (!r.batch().has_batch()) fail(where, "missing field 'batch'");
        return ws_batch{r.batch().stream_id(), pbc::from_pb(r.batch().batch(), where + ".batch")};
    case R::kOpenCursor:
        if (!r.open_cursor().has_batch()) fail(where, "missing field 'batch'");
        return ws_open_cursor{r.open_cursor().stream_id(), r.open_cursor().cursor_id(),
                              pbc::from_pb(r.open_cursor().batch(), where + ".batch")};
    case R::kCloseCursor: return ws_close_cursor{r.close_cursor().cursor_id()};
    case R::kFetchCursor: return ws_fetch_cursor{r.fetch_cursor().cursor_id(), r.fetch_cursor().max_count()};
    case R::kSequence: {
        ws_sequence s;
        s.stream_id = r.sequence().stream_id();
        sql_or_id_from(r.sequence(), where, s.sql, s.sql_id);
        return s;
    }
    case R::kDescribe: {
        ws_describe d;
        d.stream_id = r.describe().stream_id();
        sql_or_id_from(r.describe(), where, d.sql, d.sql_id);
        return d;
    }
    case R::kStoreSql: return store_sql_req{r.store_sql().sql_id(), text_in(r.store_sql().sql(), where + ".sql")};
    case R::kCloseSql: return close_sql_req{r.close_sql().sql_id()};
    case R::kGetAutocommit: return ws_get_autocommit{r.get_autocommit().stream_id()};
    case R::REQUEST_NOT_SET: break;
    }
    fail(where, "request without a kind");
}

void to_pb(const ws_request& req, ws::RequestMsg* out) {
    struct visitor {
        ws::RequestMsg* out;
        void operator()(const ws_open_stream& r) const { out->mutable_open_stream()->set_stream_id(r.stream_id); }
        void operator()(const ws_close_stream& r) const { out->mutable_close_stream()->set_stream_id(r.stream_id); }
        void operator()(const ws_execute& r) const {
            auto* x = out->mutable_execute();
            x->set_stream_id(r.stream_id);
            pbc::to_pb(r.stmt, x->mutable_stmt());
        }
        void operator()(const ws_batch& r) const {
            auto* x = out->mutable_batch();
            x->set_stream_id(r.stream_id);
            pbc::to_pb(r.batch, x->mutable_batch());
        }
        void operator()(const ws_sequence& r) const {
            auto* x = out->mutable_sequence();
            x->set_stream_id(r.stream_id);
            if (r.sql) text_out(x->mutable_sql(), *r.sql);
            if (r.sql_id) x->set_sql_id(*r.sql_id);
        }
        void operator()(const ws_describe& r) const {
            auto* x = out->mutable_describe();
            x->set_stream_id(r.stream_id);
            if (r.sql) text_out(x->mutable_sql(), *r.sql);
            if (r.sql_id) x->set_sql_id(*r.sql_id);
        }
        void operator()(const store_sql_req& r) const {
            auto* x = out->mutable_store_sql();
            x->set_sql_id(r.sql_id);
            text_out(x->mutable_sql(), r.sql);
        }
        void operator()(const close_sql_req& r) const { out->mutable_close_sql()->set_sql_id(r.sql_id); }
        void operator()(const ws_get_autocommit& r) const { out->mutable_get_autocommit()->set_stream_id(r.stream_id); }
        void operator()(const ws_open_cursor& r) const {
            auto* x = out->mutable_open_cursor();
            x->set_stream_id(r.stream_id);
            x->set_cursor_id(r.cursor_id);
            pbc::to_pb(r.batch, x->mutable_batch());
        }
        void operator()(const ws_close_cursor& r) const { out->mutable_close_cursor()->set_cursor_id(r.cursor_id); }
        void operator()(const ws_fetch_cursor& r) const {
            auto* x = out->mutable_fetch_cursor();
            x->set_cursor_id(r.cursor_id);
            x->set_max_count(r.max_count);
        }
    };
    std::visit(visitor{out}, req);
}

void to_pb(const ws_response& resp, ws::ResponseOkMsg* out) {
    struct visitor {
        ws::ResponseOkMsg* out;
        void operator()(const ws_open_stream_resp&) const { (void)out->mutable_open_stream(); }
        void operator()(const ws_close_stream_resp&) const { (void)out->mutable_close_stream(); }
        void operator()(const execute_resp& r) const { pbc::to_pb(r.result, out->mutable_execute()->mutable_result()); }
        void operator()(const batch_resp& r) const { pbc::to_pb(r.result, out->mutable_batch()->mutable_result()); }
        void operator()(const sequence_resp&) const { (void)out->mutable_sequence(); }
        void operator()(const describe_resp& r) const { pbc::to_pb(r.result, out->mutable_describe()->mutable_result()); }
        void operator()(const store_sql_resp&) const { (void)out->mutable_store_sql(); }
        void operator()(const close_sql_resp&) const { (void)out->mutable_close_sql(); }
        void operator()(const get_autocommit_resp& r) const { out->mutable_get_autocommit()->set_is_autocommit(r.is_autocommit); }
        void operator()(const ws_open_cursor_resp&) const { (void)out->mutable_open_cursor(); }
        void operator()(const ws_close_cursor_resp&) const { (void)out->mutable_close_cursor(); }
        void operator()(const ws_fetch_cursor_resp& r) const {
            auto* x = out->mutable_fetch_cursor();
            for (const auto& e : r.entries) pbc::to_pb(e, x->add_entries());
            x->set_done(r.done);
        }
    };
    std::visit(visitor{out}, resp);
}

ws_response from_pb(const ws::ResponseOkMsg& r, const std::string& where) {
    using R = ws::ResponseOkMsg;
    switch (r.response_case()) {
    case R::kOpenStream: return ws_open_stream_resp{};
    case R::kCloseStream: return ws_close_stream_resp{};
    case R::kExecute: return execute_resp{pbc::from_pb(r.execute().result(), where + ".result")};
    case R::kBatch: return batch_resp{pbc::from_pb(r.batch().result(), where + ".result")};
    case R::kOpenCursor: return ws_open_cursor_resp{};
    case R::kCloseCursor: return ws_close_cursor_resp{};
    case R::kFetchCursor: {
        ws_fetch_cursor_resp f;
        for (int i = 0; i < r.fetch_cursor().entries_size(); ++i)
            f.entries.push_back(pbc::from_pb(r.fetch_cursor().entries(i), where + ".entries[" + std::to_string(i) + "]"));
        f.done = r.fetch_cursor().done();
        return f;
    }
    case R::kSequence: return sequence_resp{};
    case R::kDescribe: return describe_resp{pbc::from_pb(r.describe().result(), where + ".result")};
    case R::kStoreSql: return store_sql_resp{};
    case R::kCloseSql: return close_sql_resp{};
    case R::kGetAutocommit: return get_autocommit_resp{r.get_autocommit().is_autocommit()};
    case R::RESPONSE_NOT_SET: break;
    }
    fail(where, "response without a kind");
}

} // namespace

ws_client_msg parse_ws_client_msg(std::string_view bytes) {
    ws::ClientMsg m;
    parse_message(m, bytes, "client message");
    switch (m.msg_case()) {
    case ws::ClientMsg::kHello:
        if (m.hello().has_jwt()) return ws_hello{text_in(m.hello().jwt(), "hello.jwt")};
        return ws_hello{};
    case ws::ClientMsg::kRequest:
        return ws_request_msg{m.request().request_id(), from_pb(m.request(), "request")};
    case ws::ClientMsg::MSG_NOT_SET: break;
    }
    fail("", "client message without a kind");
}

void serialize(const ws_client_msg& msg, std::string& out) {
    ws::ClientMsg m;
    if (const auto* hello = std::get_if<ws_hello>(&msg)) {
        auto* h = m.mutable_hello();
        if (hello->jwt) text_out(h->mutable_jwt(), *hello->jwt);
    } else {
        const auto& req = std::get<ws_request_msg>(msg);
        auto* r = m.mutable_request();
        r->set_request_id(req.request_id);
        to_pb(req.request, r);
    }
    pbc::append(m, out);
}

ws_server_msg parse_ws_server_msg(std::string_view bytes) {
    ws::ServerMsg m;
    parse_message(m, bytes, "server message");
    switch (m.msg_case()) {
    case ws::ServerMsg::kHelloOk: return ws_hello_ok{};
    case ws::ServerMsg::kHelloError: return ws_hello_error{pbc::from_pb(m.hello_error().error(), "hello_error.error")};
    case ws::ServerMsg::kResponseOk:
        return ws_response_ok{m.response_ok().request_id(), from_pb(m.response_ok(), "response_ok")};
    case ws::ServerMsg::kResponseError:
        return ws_response_error{m.response_error().request_id(),
                                 pbc::from_pb(m.response_error().error(), "response_error.error")};
    case ws::ServerMsg::MSG_NOT_SET: break;
    }
    fail("", "server message without a kind");
}

void serialize(const ws_server_msg& msg, std::string& out) {
    ws::ServerMsg m;
    struct visitor {
        ws::ServerMsg& m;
        void operator()(const ws_hello_ok&) const { (void)m.mutable_hello_ok(); }
        void operator()(const ws_hello_error& h) const { pbc::to_pb(h.error, m.mutable_hello_error()->mutable_error()); }
        void operator()(const ws_response_ok& r) const {
            auto* x = m.mutable_response_ok();
            x->set_request_id(r.request_id);
            to_pb(r.response, x);
        }
        void operator()(const ws_response_error& r) const {
            auto* x = m.mutable_response_error();
            x->set_request_id(r.request_id);
            pbc::to_pb(r.error, x->mutable_error());
        }
    };
    std::visit(visitor{m}, msg);
    pbc::append(m, out);
}

} // namespace libsql::hrana::protobuf
