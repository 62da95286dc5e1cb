// Hrana 3 over HTTP in Protobuf (proto/hrana_http.proto): pipeline request and response bodies, the cursor request
// body, and the length-delimited cursor response (head, then entries).
#include "hrana/proto/hrana_http.pb.h"
#include "hrana/protobuf_detail.hpp"

namespace libsql::hrana::protobuf {

using namespace pbc;
namespace http = libsql::hrana::pb::http;

namespace {

template <class Req> void sql_or_id_from(const Req& r, std::string_view where, std::optional<std::string>& sql,
                                         std::optional<std::int32_t>& sql_id) {
    if (r.has_sql()) sql = text_in(r.sql(), std::string(where) + ".sql");
    if (r.has_sql_id()) sql_id = r.sql_id();
    if (sql && sql_id) fail(where, "both 'sql' and 'sql_id' given");
    if (!sql && !sql_id) fail(where, "one of 'sql' and 'sql_id' is required");
}

stream_request from_pb(const http::StreamRequest& r, const std::string& where) {
    using R = http::StreamRequest;
    switch (r.request_case()) {
    case R::kClose: return close_req{};
    case R::kExecute:
        if (!r.execute().has_stmt()) fail(where, "missing field 'stmt'");
        return execute_req{pbc::from_pb(r.execute().stmt(), where + ".stmt")};
    case R::kBatch:
        if (!r.batch().has_batch()) fail(where, "missing field 'batch'");
        return batch_req{pbc::from_pb(r.batch().batch(), where + ".batch")};
    case R::kSequence: {
        sequence_req s;
        sql_or_id_from(r.sequence(), where, s.sql, s.sql_id);
        return s;
    }
    case R::kDescribe: {
        describe_req d;
        sql_or_id_from(r.describe(), where, d.sql, d.sql_id);
        return d;
    }
    case R::kStoreSql: return store_sql_req{r.store_sql().sql_id(), text_in(r.store_sql().sql(), where + ".sql")};
    case R::kCloseSql: return close_sql_req{r.close_sql().sql_id()};
    case R::kGetAutocommit: return get_autocommit_req{};
    case R::REQUEST_NOT_SET: break;
    }
    fail(where, "request without a kind");
}

void to_pb(const stream_request& req, http::StreamRequest* out) {
    struct visitor {
        http::StreamRequest* out;
        void operator()(const execute_req& r) const { pbc::to_pb(r.stmt, out->mutable_execute()->mutable_stmt()); }
        void operator()(const batch_req& r) const { pbc::to_pb(r.batch, out->mutable_batch()->mutable_batch()); }
        void operator()(const sequence_req& r) const {
            auto* x = out->mutable_sequence();
            if (r.sql) text_out(x->mutable_sql(), *r.sql);
            if (r.sql_id) x->set_sql_id(*r.sql_id);
        }
        void operator()(const describe_req& r) const {
            auto* x = out->mutable_describe();
            if (r.sql) text_out(x->mutable_sql(), *r.sql);
            if (r.sql_id) x->set_sql_id(*r.sql_id);
        }
        void operator()(const store_sql_req& r) const {
            auto* x = out->mutable_store_sql();
            x->set_sql_id(r.sql_id);
            text_out(x->mutable_sql(), r.sql);
        }
        void operator()(const close_sql_req& r) const { out->mutable_close_sql()->set_sql_id(r.sql_id); }
        void operator()(const close_req&) const { (void)out->mutable_close(); }
        void operator()(const get_autocommit_req&) const { (void)out->mutable_get_autocommit(); }
    };
    std::visit(visitor{out}, req);
}

void to_pb(const stream_response& resp, http::StreamResponse* out) {
    struct visitor {
        http::StreamResponse* out;
        void operator()(const execute_resp& r) const { pbc::to_pb(r.result, out->mutable_execute()->mutable_result()); }
        void operator()(const batch_resp& r) const { pbc::to_pb(r.result, out->mutable_batch()->mutable_result()); }
        void operator()(const sequence_resp&) const { (void)out->mutable_sequence(); }
        void operator()(const describe_resp& r) const { pbc::to_pb(r.result, out->mutable_describe()->mutable_result()); }
        void operator()(const store_sql_resp&) const { (void)out->mutable_store_sql(); }
        void operator()(const close_sql_resp&) const { (void)out->mutable_close_sql(); }
        void operator()(const close_resp&) const { (void)out->mutable_close(); }
        void operator()(const get_autocommit_resp& r) const { out->mutable_get_autocommit()->set_is_autocommit(r.is_autocommit); }
    };
    std::visit(visitor{out}, resp);
}

stream_response from_pb(const http::StreamResponse& r, const std::string& where) {
    using R = http::StreamResponse;
    switch (r.response_case()) {
    case R::kClose: return close_resp{};
    case R::kExecute: return execute_resp{pbc::from_pb(r.execute().result(), where + ".result")};
    case R::kBatch: return batch_resp{pbc::from_pb(r.batch().result(), where + ".result")};
    case R::kSequence: return sequence_resp{};
    case R::kDescribe: return describe_resp{pbc::from_pb(r.describe().result(), where + ".result")};
    case R::kStoreSql: return store_sql_resp{};
    case R::kCloseSql: return close_sql_resp{};
    case R::kGetAutocommit: return get_autocommit_resp{r.get_autocommit().is_autocommit()};
    case R::RESPONSE_NOT_SET: break;
    }
    fail(where, "response without a kind");
}

std::optional<std::string> opt_text(bool has, const std::string& bytes, std::string_view where) {
    if (!has) return std::nullopt;
    return text_in(bytes, where);
}

void put_varint(std::uint64_t v, std::string& out) {
    while (v >= 0x80) {
        out += static_cast<char>(static_cast<unsigned char>(v | 0x80U));
        v >>= 7;
    }
    out += static_cast<char>(static_cast<unsigned char>(v));
}

template <class M> void append_delimited(const M& m, std::string& out) {
    put_varint(m.ByteSizeLong(), out);
    pbc::append(m, out);
}

} // namespace

pipeline_request parse_pipeline_request(std::string_view bytes) {
    http::PipelineReqBody m;
    parse_message(m, bytes, "pipeline request");
    pipeline_request out;
    out.baton = opt_text(m.has_baton(), m.baton(), "baton");
    out.requests.reserve(static_cast<std::size_t>(m.requests_size()));
    for (int i = 0; i < m.requests_size(); ++i) out.requests.push_back(from_pb(m.requests(i), "requests[" + std::to_string(i) + "]"));
    return out;
}

void serialize(const pipeline_request& r, std::string& out) {
    http::PipelineReqBody m;
    if (r.baton) text_out(m.mutable_baton(), *r.baton);
    for (const auto& req : r.requests) to_pb(req, m.add_requests());
    pbc::append(m, out);
}

pipeline_response parse_pipeline_response(std::string_view bytes) {
    http::PipelineRespBody m;
    parse_message(m, bytes, "pipeline response");
    pipeline_response out;
    out.baton = opt_text(m.has_baton(), m.baton(), "baton");
    out.base_url = opt_text(m.has_base_url(), m.base_url(), "base_url");
    for (int i = 0; i < m.results_size(); ++i) {
        const std::string w = "results[" + std::to_string(i) + "]";
        const auto& r = m.results(i);
        if (r.has_ok()) out.results.emplace_back(from_pb(r.ok(), w));
        else if (r.has_error()) out.results.emplace_back(pbc::from_pb(r.error(), w + ".error"));
        else fail(w, "result without a kind");
    }
    return out;
}

void serialize(const pipeline_response& r, std::string& out) {
    http::PipelineRespBody m;
    if (r.baton) text_out(m.mutable_baton(), *r.baton);
    if (r.base_url) text_out(m.mutable_base_url(), *r.base_url);
    for (const auto& res : r.results) {
        auto* x = m.add_results();
        if (const auto* resp = std::get_if<stream_response>(&res)) to_pb(*resp, x->mutable_ok());
        else pbc::to_pb(std::get<error>(res), x->mutable_error());
    }
    pbc::append(m, out);
}

cursor_request parse_cursor_request(std::string_view bytes) {
    http::CursorReqBody m;
    parse_message(m, bytes, "cursor request");
    cursor_request out;
    out.baton = opt_text(m.has_baton(), m.baton(), "baton");
    if (!m.has_batch()) fail("", "missing field 'batch'");
    out.batch = pbc::from_pb(m.batch(), "batch");
    return out;
}

void serialize(const cursor_request& r, std::string& out) {
    http::CursorReqBody m;
    if (r.baton) text_out(m.mutable_baton(), *r.baton);
    pbc::to_pb(r.batch, m.mutable_batch());
    pbc::append(m, out);
}

cursor_response_head parse_cursor_response_head(std::string_view bytes) {
    http::CursorRespBody m;
    parse_message(m, bytes, "cursor response");
    return {opt_text(m.has_baton(), m.baton(), "baton"), opt_text(m.has_base_url(), m.base_url(), "base_url")};
}

cursor_entry parse_cursor_entry(std::string_view bytes) {
    pb::CursorEntry m;
    parse_message(m, bytes, "cursor entry");
    return pbc::from_pb(m, "");
}

void serialize_delimited(const cursor_response_head& r, std::string& out) {
    http::CursorRespBody m;
    if (r.baton) text_out(m.mutable_baton(), *r.baton);
    if (r.base_url) text_out(m.mutable_base_url(), *r.base_url);
    append_delimited(m, out);
}

void serialize_delimited(const cursor_entry& e, std::string& out) {
    pb::CursorEntry m;
    pbc::to_pb(e, &m);
    append_delimited(m, out);
}

std::optional<std::string_view> next_delimited(std::string_view& in) {
    if (in.empty()) return std::nullopt;
    std::uint64_t len = 0;
    std::size_t i = 0;
    for (int shift = 0;; shift += 7) {
        if (i >= in.size() || shift > 63) fail("cursor response", "truncated or invalid length prefix");
        const auto b = static_cast<unsigned char>(in[i++]);
        len |= std::uint64_t{b & 0x7FU} << shift;
        if ((b & 0x80U) == 0) break;
    }
    if (len > in.size() - i) fail("cursor response", "truncated message");
    const std::string_view msg = in.substr(i, static_cast<std::size_t>(len));
    in.remove_prefix(i + static_cast<std::size_t>(len));
    return msg;
}

} // namespace libsql::hrana::protobuf
