// The Hrana Protobuf codec (src/hrana/protobuf.hpp) against the JSON one: round-trip properties over generated
// messages (message -> Protobuf -> struct -> JSON equals message -> JSON), exact struct round trips where the
// encoding is lossless, wire bytes checked against the spec's field numbers, and bad input.
#include "hrana/protobuf.hpp"
#include "hrana/protocol.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

namespace hrana = libsql::hrana;
namespace pbuf = libsql::hrana::protobuf;

namespace {

/// Random Hrana messages. With exact=false, text may hold invalid UTF-8 and floats may be NaN or infinite (what the
/// encodings write differently from what they were given, but both the same way).
class generator {
public:
    generator(std::uint32_t seed, bool exact) : rng_(seed), exact_(exact) {}

    std::size_t n(std::size_t max) { return std::uniform_int_distribution<std::size_t>(0, max)(rng_); }
    bool coin() { return n(1) == 1; }

    std::string text() {
        static const char* const pieces[] = {"a", "SELECT ?", "héllo", "🌍", "\"q\"", "\\", "\n", "\t", "中文", " ", "x"};
        std::string s;
        for (std::size_t i = n(6); i > 0; --i) s += pieces[n(std::size(pieces) - 1)];
        if (!exact_ && n(5) == 0) s += "\xff\xc3";  // invalid UTF-8
        if (n(8) == 0) s += std::string(1, '\0');
        return s;
    }
    libsql::value value() {
        switch (n(4)) {
        case 0: return libsql::value{};
        case 1: {
            static const std::int64_t ints[] = {0, 1, -1, 42, std::numeric_limits<std::int64_t>::min(),
                                                std::numeric_limits<std::int64_t>::max(), 9007199254740993};
            return libsql::value(libsql::value_view::integer(ints[n(std::size(ints) - 1)]));
        }
        case 2: {
            std::vector<double> ds{0.5, -0.0, 3.141592653589793, 1e300, 5e-324, 0.1};
            if (!exact_) {
                ds.push_back(std::numeric_limits<double>::infinity());
                ds.push_back(std::nan(""));
            }
            return libsql::value(libsql::value_view::real(ds[n(ds.size() - 1)]));
        }
        case 3: return libsql::value(libsql::value_view::text(text()));
        default: {
            libsql::blob b;
            for (std::size_t i = n(9); i > 0; --i) b.push_back(static_cast<std::byte>(n(255)));
            return libsql::value(libsql::value_view::blob(b));
        }
        }
    }
    std::vector<libsql::value> values(std::size_t max = 4) {
        std::vector<libsql::value> v;
        for (std::size_t i = n(max); i > 0; --i) v.push_back(value());
        return v;
    }
    std::optional<std::uint64_t> opt_u64() {
        if (coin()) return std::nullopt;
        return coin() ? std::uint64_t{7} : std::numeric_limits<std::uint64_t>::max();
    }
    hrana::stmt stmt() {
        hrana::stmt s;
        if (coin()) s.sql = text(); else s.sql_id = static_cast<std::int32_t>(n(100)) - 3;
        s.args = values();
        for (std::size_t i = n(2); i > 0; --i) s.named_args.push_back({":" + text(), value()});
        s.want_rows = coin();
        s.replication_index = opt_u64();
        return s;
    }
    hrana::condition condition(int depth = 0) {
        hrana::condition c;
        const std::size_t k = depth > 3 ? n(1) : n(5);
        using K = hrana::condition::kind;
        switch (k) {
        case 0: c.type = K::ok; c.step = static_cast<std::uint32_t>(n(9)); break;
        case 1: c.type = K::error; c.step = static_cast<std::uint32_t>(n(9)); break;
        case 2: c.type = K::not_; c.conds.push_back(condition(depth + 1)); break;
        case 3:
        case 4:
            c.type = k == 3 ? K::and_ : K::or_;
            for (std::size_t i = n(3); i > 0; --i) c.conds.push_back(condition(depth + 1));
            break;
        default: c.type = K::is_autocommit; break;
        }
        return c;
    }
    hrana::batch batch() {
        hrana::batch b;
        for (std::size_t i = n(4); i > 0; --i) {
            hrana::batch_step s;
            if (coin()) s.condition = condition();
            s.stmt = stmt();
            b.steps.push_back(std::move(s));
        }
        b.replication_index = opt_u64();
        return b;
    }
    hrana::error error() { return {text(), coin() ? std::string("SQLITE_CONSTRAINT") : std::string()}; }
    std::vector<hrana::column> cols() {
        std::vector<hrana::column> c;
        for (std::size_t i = n(3); i > 0; --i) c.push_back({text(), coin() ? std::optional<std::string>("INTEGER") : std::nullopt});
        return c;
    }
    hrana::stmt_result stmt_result() {
        hrana::stmt_result r;
        r.cols = cols();
        for (std::size_t i = n(3); i > 0; --i) r.rows.push_back(values());
        r.affected_row_count = n(5);
        if (coin()) r.last_insert_rowid = coin() ? std::int64_t{-5} : std::numeric_limits<std::int64_t>::max();
        r.replication_index = opt_u64();
        if (coin()) r.rows_read = n(100);
        if (coin()) r.rows_written = n(100);
        if (coin()) r.query_duration_ms = 0.25;
        return r;
    }
    /// As servers produce them: one entry per step in both vectors, the last step not skipped, no replication
    /// index (Protobuf has none on batch results).
    hrana::batch_result batch_result() {
        hrana::batch_result b;
        const std::size_t steps = n(4);
        for (std::size_t i = 0; i < steps; ++i) {
            const std::size_t k = i + 1 == steps ? n(1) : n(2);
            b.step_results.push_back(k == 0 ? std::optional<hrana::stmt_result>(stmt_result()) : std::nullopt);
            b.step_errors.push_back(k == 1 ? std::optional<hrana::error>(error()) : std::nullopt);
        }
        return b;
    }
    hrana::describe_result describe_result() {
        hrana::describe_result d;
        for (std::size_t i = n(3); i > 0; --i) d.params.push_back({coin() ? std::optional<std::string>(":" + text()) : std::nullopt});
        d.cols = cols();
        d.is_explain = coin();
        d.is_readonly = coin();
        return d;
    }
    hrana::cursor_entry cursor_entry() {
        switch (n(4)) {
        case 0: return hrana::step_begin_entry{static_cast<std::uint32_t>(n(9)), cols()};
        case 1: return hrana::step_end_entry{n(9), coin() ? std::optional<std::int64_t>(-1) : std::nullopt};
        case 2: return hrana::step_error_entry{static_cast<std::uint32_t>(n(9)), error()};
        case 3: return hrana::row_entry{values()};
        default: return hrana::error_entry{error()};
        }
    }
    std::optional<std::string> opt_text() { return coin() ? std::optional<std::string>(text()) : std::nullopt; }

    hrana::stream_request stream_request() {
        switch (n(7)) {
        case 0: return hrana::execute_req{stmt()};
        case 1: return hrana::batch_req{batch()};
        case 2: return coin() ? hrana::sequence_req{text(), std::nullopt} : hrana::sequence_req{std::nullopt, 3};
        case 3: return coin() ? hrana::describe_req{text(), std::nullopt} : hrana::describe_req{std::nullopt, 4};
        case 4: return hrana::store_sql_req{static_cast<std::int32_t>(n(50)), text()};
        case 5: return hrana::close_sql_req{static_cast<std::int32_t>(n(50))};
        case 6: return hrana::close_req{};
        default: return hrana::get_autocommit_req{};
        }
    }
    hrana::stream_response stream_response() {
        switch (n(7)) {
        case 0: return hrana::execute_resp{stmt_result()};
        case 1: return hrana::batch_resp{batch_result()};
        case 2: return hrana::sequence_resp{};
        case 3: return hrana::describe_resp{describe_result()};
        case 4: return hrana::store_sql_resp{};
        case 5: return hrana::close_sql_resp{};
        case 6: return hrana::close_resp{};
        default: return hrana::get_autocommit_resp{coin()};
        }
    }
    hrana::pipeline_request pipeline_request() {
        hrana::pipeline_request r;
        r.baton = opt_text();
        for (std::size_t i = n(4); i > 0; --i) r.requests.push_back(stream_request());
        return r;
    }
    hrana::pipeline_response pipeline_response() {
        hrana::pipeline_response r;
        r.baton = opt_text();
        r.base_url = opt_text();
        for (std::size_t i = n(4); i > 0; --i) {
            if (coin()) r.results.emplace_back(stream_response());
            else r.results.emplace_back(error());
        }
        return r;
    }
    hrana::ws_client_msg ws_client_msg() {
        if (n(5) == 0) return hrana::ws_hello{opt_text()};
        const auto id = static_cast<std::int32_t>(n(1000));
        const auto sid = static_cast<std::int32_t>(n(5));
        hrana::ws_request req;
        switch (n(11)) {
        case 0: req = hrana::ws_open_stream{sid}; break;
        case 1: req = hrana::ws_close_stream{sid}; break;
        case 2: req = hrana::ws_execute{sid, stmt()}; break;
        case 3: req = hrana::ws_batch{sid, batch()}; break;
        case 4: req = hrana::ws_sequence{sid, text(), std::nullopt}; break;
        case 5: req = hrana::ws_describe{sid, std::nullopt, 9}; break;
        case 6: req = hrana::store_sql_req{3, text()}; break;
        case 7: req = hrana::close_sql_req{3}; break;
        case 8: req = hrana::ws_get_autocommit{sid}; break;
        case 9: req = hrana::ws_open_cursor{sid, 2, batch()}; break;
        case 10: req = hrana::ws_close_cursor{2}; break;
        default: req = hrana::ws_fetch_cursor{2, static_cast<std::uint32_t>(n(1000))}; break;
        }
        return hrana::ws_request_msg{id, std::move(req)};
    }
    hrana::ws_server_msg ws_server_msg() {
        const auto id = static_cast<std::int32_t>(n(1000));
        switch (n(3)) {
        case 0: return hrana::ws_hello_ok{};
        case 1: return hrana::ws_hello_error{error()};
        case 2: return hrana::ws_response_error{id, error()};
        default: break;
        }
        hrana::ws_response resp;
        switch (n(11)) {
        case 0: resp = hrana::ws_open_stream_resp{}; break;
        case 1: resp = hrana::ws_close_stream_resp{}; break;
        case 2: resp = hrana::execute_resp{stmt_result()}; break;
        case 3: resp = hrana::batch_resp{batch_result()}; break;
        case 4: resp = hrana::sequence_resp{}; break;
        case 5: resp = hrana::describe_resp{describe_result()}; break;
        case 6: resp = hrana::store_sql_resp{}; break;
        case 7: resp = hrana::close_sql_resp{}; break;
        case 8: resp = hrana::get_autocommit_resp{coin()}; break;
        case 9: resp = hrana::ws_open_cursor_resp{}; break;
        case 10: resp = hrana::ws_close_cursor_resp{}; break;
        default: {
            hrana::ws_fetch_cursor_resp f;
            for (std::size_t i = n(4); i > 0; --i) f.entries.push_back(cursor_entry());
            f.done = coin();
            resp = std::move(f);
        }
        }
        return hrana::ws_response_ok{id, std::move(resp)};
    }

private:
    std::mt19937 rng_;
    bool exact_;
};

template <class T> std::string json(const T& m) {
    std::string out;
    hrana::serialize(m, out);
    return out;
}
template <class T> std::string pb(const T& m) {
    std::string out;
    pbuf::serialize(m, out);
    return out;
}

constexpr int rounds = 400;

/// For every generated message: JSON of (message -> Protobuf -> struct) equals JSON of the message; with exact
/// generation also the structs are equal.
template <class Gen, class Parse> void check_property(Gen gen, Parse parse) {
    for (const bool exact : {true, false}) {
        for (int i = 0; i < rounds; ++i) {
            generator g(static_cast<std::uint32_t>(i) * 2654435761U + (exact ? 1U : 0U), exact);
            const auto m = gen(g);
            const std::string bytes = pb(m);
            const auto back = parse(bytes);
            ASSERT_EQ(json(back), json(m)) << "seed " << i << (exact ? " exact" : " lossy");
            if (exact) {
                ASSERT_TRUE(back == m) << "seed " << i << ": " << json(m);
                ASSERT_EQ(pb(back), bytes) << "seed " << i;
            }
        }
    }
}

} // namespace

TEST(hrana_protobuf, pipeline_request_round_trips_like_json) {
    check_property([](generator& g) { return g.pipeline_request(); }, [](std::string_view b) { return pbuf::parse_pipeline_request(b); });
}
TEST(hrana_protobuf, pipeline_response_round_trips_like_json) {
    check_property([](generator& g) { return g.pipeline_response(); }, [](std::string_view b) { return pbuf::parse_pipeline_response(b); });
}
TEST(hrana_protobuf, cursor_request_round_trips_like_json) {
    check_property([](generator& g) { return hrana::cursor_request{g.opt_text(), g.batch()}; },
                   [](std::string_view b) { return pbuf::parse_cursor_request(b); });
}
TEST(hrana_protobuf, ws_client_msg_round_trips_like_json) {
    check_property([](generator& g) { return g.ws_client_msg(); }, [](std::string_view b) { return pbuf::parse_ws_client_msg(b); });
}
TEST(hrana_protobuf, ws_server_msg_round_trips_like_json) {
    check_property([](generator& g) { return g.ws_server_msg(); }, [](std::string_view b) { return pbuf::parse_ws_server_msg(b); });
}

TEST(hrana_protobuf, cursor_body_is_length_delimited_head_then_entries) {
    generator g(7, true);
    std::string body;
    const hrana::cursor_response_head head{std::string("baton-1"), std::nullopt};
    pbuf::serialize_delimited(head, body);
    std::vector<hrana::cursor_entry> entries;
    for (int i = 0; i < 50; ++i) entries.push_back(g.cursor_entry());
    for (const auto& e : entries) pbuf::serialize_delimited(e, body);
    std::string_view in = body;
    const auto first = pbuf::next_delimited(in);
    ASSERT_TRUE(first);
    EXPECT_EQ(pbuf::parse_cursor_response_head(*first), head);
    for (const auto& e : entries) {
        const auto m = pbuf::next_delimited(in);
        ASSERT_TRUE(m);
        EXPECT_EQ(json(pbuf::parse_cursor_entry(*m)), json(e));
    }
    EXPECT_FALSE(pbuf::next_delimited(in));
    std::string_view truncated(body.data(), body.size() - 1);
    EXPECT_THROW(
        {
            while (pbuf::next_delimited(truncated)) {}
        },
        hrana::protocol_violation);
}

TEST(hrana_protobuf, wire_bytes_follow_the_spec_field_numbers) {
    // PipelineReqBody{requests: [StreamRequest{execute(2): ExecuteStreamReq{stmt(1): Stmt{sql(1): "SELECT 1",
    // args(3): [Value{integer(2): -1 (zigzag 1)}], want_rows(5): true}}}]}
    hrana::pipeline_request r;
    hrana::stmt s;
    s.sql = "SELECT 1";
    s.args.push_back(libsql::value(libsql::value_view::integer(-1)));
    r.requests.push_back(hrana::execute_req{s});
    const std::string stmt_bytes = std::string("\x0a\x08SELECT 1", 10) + "\x1a\x02\x10\x01" + "\x28\x01";
    const std::string exec = "\x0a" + std::string(1, static_cast<char>(stmt_bytes.size())) + stmt_bytes;
    const std::string req = "\x12" + std::string(1, static_cast<char>(exec.size())) + exec;
    const std::string body = "\x12" + std::string(1, static_cast<char>(req.size())) + req;
    EXPECT_EQ(pb(r), body);
    EXPECT_EQ(pbuf::parse_pipeline_request(body), r);

    // A batch result's steps are maps keyed by step index: {step_errors(2): {1: Error{message(1): "e"}}}.
    hrana::batch_result b;
    b.step_results = {std::nullopt, std::nullopt};
    b.step_errors = {std::nullopt, hrana::error{"e", ""}};
    hrana::pipeline_response resp;
    resp.results.emplace_back(hrana::stream_response{hrana::batch_resp{b}});
    const std::string entry = std::string("\x08\x01\x12\x03\x0a\x01" "e", 7);
    const std::string map_field = "\x12" + std::string(1, static_cast<char>(entry.size())) + entry;
    const std::string batch_resp = "\x0a" + std::string(1, static_cast<char>(map_field.size())) + map_field;
    const std::string stream_resp = "\x1a" + std::string(1, static_cast<char>(batch_resp.size())) + batch_resp;
    const std::string result = "\x0a" + std::string(1, static_cast<char>(stream_resp.size())) + stream_resp;
    EXPECT_EQ(pb(resp), "\x1a" + std::string(1, static_cast<char>(result.size())) + result);
}

TEST(hrana_protobuf, bad_input_is_a_protocol_violation) {
    const auto violates = [](std::string_view bytes) {
        EXPECT_THROW((void)pbuf::parse_pipeline_request(bytes), hrana::protocol_violation) << testing::PrintToString(std::string(bytes));
    };
    violates("\xff\xff\xff");                                    // not a message
    violates(std::string("\x12\x05\x12\x03\x0a\x01", 6));         // truncated
    violates(std::string("\x12\x00", 2));                          // a request without a kind
    violates(std::string("\x12\x04\x12\x02\x0a\x00", 6));         // a statement without sql or sql_id
    violates(std::string("\x12\x08\x12\x06\x0a\x04\x0a\x02\xff\xfe", 10));  // SQL that is not UTF-8
    // A value without a type: Stmt{sql_id: 1, args: [Value{}]}
    violates(std::string("\x12\x08\x12\x06\x0a\x04\x10\x01\x1a\x00", 10));
    // Conditions nested beyond the limit: not(not(...(ok 0))) 1500 deep inside a batch step.
    std::string cond = std::string("\x08\x00", 2);
    for (int i = 0; i < 1500; ++i) {
        std::string wrapped = "\x1a";
        std::size_t len = cond.size();
        while (len >= 0x80) {
            wrapped += static_cast<char>((len & 0x7F) | 0x80);
            len >>= 7;
        }
        wrapped += static_cast<char>(len);
        cond = wrapped + cond;
    }
    EXPECT_THROW((void)pbuf::parse_cursor_request(std::string("\x12\x02\x0a\x00", 4)), hrana::protocol_violation);  // step without stmt
    std::string step = "\x0a";
    {
        std::size_t len = cond.size();
        while (len >= 0x80) {
            step += static_cast<char>((len & 0x7F) | 0x80);
            len >>= 7;
        }
        step += static_cast<char>(len);
        step += cond;
        step += std::string("\x12\x02\x10\x01", 4);  // stmt{sql_id: 1}
    }
    std::string batch = "\x0a";
    {
        std::size_t len = step.size();
        while (len >= 0x80) {
            batch += static_cast<char>((len & 0x7F) | 0x80);
            len >>= 7;
        }
        batch += static_cast<char>(len);
        batch += step;
    }
    std::string body = "\x12";
    {
        std::size_t len = batch.size();
        while (len >= 0x80) {
            body += static_cast<char>((len & 0x7F) | 0x80);
            len >>= 7;
        }
        body += static_cast<char>(len);
        body += batch;
    }
    EXPECT_THROW((void)pbuf::parse_cursor_request(body), hrana::protocol_violation);
}
