// Remote connections and statements: the public API mapped onto Hrana pipelines and cursors. See remote.hpp for
// the shape and docs/REMOTE.md for what differs from local connections.
//
// Streams. Outside a transaction a statement is one round trip on a fresh stream, closed in the same pipeline
// ([execute, close]). A statement that may open a transaction (BEGIN, SAVEPOINT) keeps its stream; while one is
// open every pipeline also asks get_autocommit (Hrana 3) or the state is tracked from keywords (Hrana 2, limited
// servers), and once back in autocommit the stream is left "lingering": the next request goes on it and closes it,
// so ending a transaction costs no extra round trip. A lingering stream that expired meanwhile is replaced silently
// (the expiry answer means the request did not run).
#include "remote/remote.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <utility>

namespace libsql::detail::remote {

namespace {

/// The batch answer of a pipeline's only request, with one entry per step in both vectors; nullptr when it is
/// not a batch answer or has more entries than steps. Protobuf peers (hrana3-protobuf) send the step results and
/// errors as maps keyed by step, so steps that neither ran nor failed at the end are simply absent: padded here.
hrana::batch_resp* batch_of(hrana::stream_result& r, std::size_t steps) {
    auto* ok = std::get_if<hrana::stream_response>(&r);
    auto* br = ok == nullptr ? nullptr : std::get_if<hrana::batch_resp>(ok);
    if (br == nullptr || br->result.step_results.size() > steps || br->result.step_errors.size() > steps) return nullptr;
    br->result.step_results.resize(steps);
    br->result.step_errors.resize(steps);
    return br;
}

std::string excerpt(std::string_view body) {
    constexpr std::size_t max = 500;
    std::string s(body.substr(0, max));
    if (body.size() > max) s += "...";
    return s;
}

bool contains(std::string_view hay, std::string_view needle) noexcept { return hay.find(needle) != std::string_view::npos; }

/// tursodb reports SQLite failures as "... (19)": the primary code in parentheses at the end.
int trailing_code(std::string_view msg) noexcept {
    if (msg.empty() || msg.back() != ')') return -1;
    const auto open = msg.rfind('(');
    if (open == std::string_view::npos || open + 2 > msg.size() - 1) return -1;
    int v = 0;
    for (std::size_t i = open + 1; i + 1 < msg.size(); ++i) {
        if (std::isdigit(static_cast<unsigned char>(msg[i])) == 0 || v > 100000) return -1;
        v = v * 10 + (msg[i] - '0');
    }
    return v;
}

/// The extended code SQLite would have given a constraint failure with this message (Hrana servers send only the
/// primary code).
int constraint_kind(std::string_view msg) noexcept {
    if (contains(msg, "UNIQUE constraint failed")) return 2067;
    if (contains(msg, "NOT NULL constraint failed")) return 1299;
    if (contains(msg, "CHECK constraint failed")) return 275;
    if (contains(msg, "FOREIGN KEY constraint failed")) return 787;
    return 19;
}

hrana::stmt plain(std::string sql, bool want_rows) {
    hrana::stmt s;
    s.sql = std::move(sql);
    s.want_rows = want_rows;
    return s;
}

hrana::condition ok_of(std::uint32_t step) {
    hrana::condition c;
    c.type = hrana::condition::kind::ok;
    c.step = step;
    return c;
}

hrana::condition not_of(hrana::condition inner) {
    hrana::condition c;
    c.type = hrana::condition::kind::not_;
    c.conds.push_back(std::move(inner));
    return c;
}

std::optional<std::int64_t> integer_at(const hrana::stmt_result& r, std::size_t col) {
    if (r.rows.empty() || r.rows.front().size() <= col) return std::nullopt;
    const auto v = r.rows.front()[col].view();
    if (v.type() != value_type::integer) return std::nullopt;
    return v.as_integer();
}

bool opens(const txn_control& t) noexcept {
    return t.what == txn_control::kind::begin || t.what == txn_control::kind::savepoint;
}

const char* const changes_probe = "SELECT changes(), last_insert_rowid(), total_changes()";
const char* const total_probe = "SELECT total_changes()";


} // namespace

/// Rethrows a network-level failure of the HTTP layer (same class) with the SQL and, when a stream was open, what
/// became of it.
void rethrow_network_error(std::string_view sql, const libsql::source_location& where, libsql::transport t,
                                  bool lost_stream) {
    auto wrap = [&](const libsql::error& e) {
        std::string msg = e.what();
        if (lost_stream)
            msg += "; the connection's stream (its open transaction) is lost: the server rolls it back, and the "
                   "connection continues in autocommit mode";
        error_info i = e.info();
        i.sql = std::string(sql);
        i.transport = t;
        i.where = where;
        return std::make_pair(msg, i);
    };
    try {
        throw;
    } catch (const libsql::interrupted& e) {
        auto [m, i] = wrap(e);
        throw libsql::interrupted(m, std::move(i));
    } catch (const libsql::timeout& e) {
        auto [m, i] = wrap(e);
        throw libsql::timeout(m, std::move(i));
    } catch (const libsql::connection_error& e) {
        auto [m, i] = wrap(e);
        throw libsql::connection_error(m, std::move(i));
    }
}

// ================================================================================================== session
session::session(std::shared_ptr<remote_database> database)
    : db(std::move(database)), caps(db->caps()), http(db->http_settings()), ws(db->ws()) {
    if (ws) {
        ws = db->lease_ws();
        ws_leased = true;
    }
}

error_info session::info(std::string_view sql, const libsql::source_location& where) const {
    return error_info{0, {}, std::string(sql), db->transport(), where};
}

void session::check_open() const {
    if (closed.load(std::memory_order_relaxed)) throw usage_error("the connection is closed", info({}, {}));
}

void session::drop_stream() noexcept {
    if (ws_stream) {
        // The server frees it (rolling back what it holds) once the requests before it on the socket are done.
        const auto id = *std::exchange(ws_stream, std::nullopt);
        try {
            std::vector<hrana::ws_request> reqs;
            reqs.emplace_back(hrana::ws_close_stream{id});
            ws->send_only(ws_generation, std::move(reqs));
        } catch (...) {
        }
    }
    baton.reset();
    stream_url.clear();
    in_txn = false;
    txn_by_savepoint = false;
    savepoints.clear();
}

void session::throw_error(const hrana::error& e, std::string_view sql, const libsql::source_location& where) const {
    error_info i = info(sql, where);
    i.hrana_code = e.code;
    const std::string& code = e.code;
    int ext = -1;
    if (code.starts_with("SQLITE_")) {
        ext = result_code_from_name(code);
        if (ext < 0) ext = 1;  // an SQLite code this build does not know: a generic SQL error
    } else if (code == "PREPARE_ERROR" || code == "EXECUTE_ERROR" || code == "BATCH_STEP_ERROR" || code.empty()) {
        // tursodb (and servers without codes): the SQLite code, when any, is at the end of the message.
        ext = trailing_code(e.message);
        if (ext < 0 && contains(e.message, "constraint failed")) ext = 19;
        if (ext < 0 && (contains(e.message, "query_only") || contains(e.message, "readonly database"))) ext = 8;
        if (ext < 0) ext = 1;  // a generic SQL error
    }
    if (ext == 19) ext = constraint_kind(e.message);
    if (ext >= 0) throw_result_code(ext, e.message, std::move(i));

    std::string msg = e.message;
    if (!code.empty()) msg += " [" + code + "]";
    if (!sql.empty()) msg += " in: " + std::string(sql.substr(0, error::max_sql_length));
    if (code == "SQL_NO_STATEMENT" || code == "SQL_MANY_STATEMENTS" || code == "ARGS_INVALID" ||
        code == "ARGS_BOTH_POSITIONAL_AND_NAMED" || code == "SQL_STORE_TOO_MANY")
        throw usage_error(msg, std::move(i));
    if (code == "TRANSACTION_TIMEOUT" || code == "STREAM_EXPIRED") throw timeout(msg, std::move(i));
    if (code == "TRANSACTION_BUSY") throw busy(msg, std::move(i));
    if (code == "RESPONSE_TOO_LARGE" || code == "SQL_STORE_TOO_LARGE") throw too_big(msg, std::move(i));
    if (code == "BLOCKED") throw readonly(msg, std::move(i));
    if (code == "UNAUTHORIZED" || code == "AUTH_JWT_EXPIRED" || code == "AUTH_JWT_INVALID") throw auth_error(msg, std::move(i));
    if (code == "PROXY_ERROR") throw connection_error(msg, std::move(i));
    if (code == "STREAM_NOT_OPEN" || code == "CURSOR_NOT_OPEN") throw protocol_error(msg, std::move(i));
    throw sql_error(msg, std::move(i));
}

void session::throw_http(const http::response& r, const std::string& url, std::string_view sql,
                         const libsql::source_location& where) const {
    error_info i = info(sql, where);
    std::string msg = "HTTP " + std::to_string(r.status) + " from " + url;
    if (!r.body.empty()) msg += ": " + excerpt(r.body);
    if (r.content_type == "application/json") {
        try {
            const auto e = hrana::parse_error_body(r.body);
            i.hrana_code = e.code;
        } catch (const std::exception&) {
        }
    }
    switch (r.status) {
    case 401:
    case 403: throw auth_error(msg, std::move(i));
    case 408:
    case 504: throw timeout(msg, std::move(i));
    case 413: throw too_big(msg, std::move(i));
    case 502:
    case 503: throw connection_error(msg, std::move(i));
    default: throw protocol_error(msg, std::move(i));
    }
}

void session::free_http() {
    if (streaming != nullptr) {
        auto* st = std::exchange(streaming, nullptr);
        st->buffer_rest();
    }
}

void session::record(const hrana::stmt_result& r, std::string_view sql) {
    const bool changed = r.affected_row_count > 0;
    record(r, changed || is_dml(sql), changed && r.last_insert_rowid && is_insert(sql));
}

void session::record(const hrana::stmt_result& r, bool dml, bool insert) {
    const auto affected = static_cast<std::int64_t>(std::min<std::uint64_t>(r.affected_row_count, INT64_MAX));
    if (affected > 0 || dml) changes.store(affected);
    total_changes.fetch_add(affected);
    if (affected > 0 && r.last_insert_rowid && insert) last_insert_rowid.store(*r.last_insert_rowid);
}

void session::schema_changes() noexcept {
    db->forget_descriptions();
    schema_in_txn = true;
}

void session::track(std::string_view stmt_sql, bool succeeded) {
    if (!succeeded || (caps.get_autocommit && caps.streams)) return;
    using K = txn_control::kind;
    for (const auto one : split_statements(stmt_sql)) {
        const auto t = classify_transaction(one);
        switch (t.what) {
        case K::none: break;
        case K::begin:
            in_txn = true;
            txn_by_savepoint = false;
            savepoints.clear();
            break;
        case K::savepoint:
            if (!in_txn) {
                in_txn = true;
                txn_by_savepoint = true;
            }
            savepoints.push_back(t.name);
            break;
        case K::release:
        case K::rollback_to: {
            auto same = [&](const std::string& n) {
                return n.size() == t.name.size() && std::equal(n.begin(), n.end(), t.name.begin(), [](char a, char b) {
                           return std::toupper(static_cast<unsigned char>(a)) == std::toupper(static_cast<unsigned char>(b));
                       });
            };
            const auto it = std::find_if(savepoints.rbegin(), savepoints.rend(), same);
            if (it == savepoints.rend()) break;
            const auto keep = static_cast<std::size_t>(savepoints.rend() - it) - (t.what == K::release ? 1 : 0);
            savepoints.resize(keep);
            if (t.what == K::release && savepoints.empty() && txn_by_savepoint) in_txn = false;
            break;
        }
        case K::commit:
        case K::rollback:
            in_txn = false;
            txn_by_savepoint = false;
            savepoints.clear();
            break;
        }
    }
}

std::vector<hrana::stream_result> session::pipeline(std::vector<hrana::stream_request> reqs, const call& c) {
    if (ws) return ws_pipeline(std::move(reqs), c);
    return http_pipeline(std::move(reqs), c);
}

std::vector<hrana::stream_result> session::http_pipeline(std::vector<hrana::stream_request> reqs, const call& c) {
    check_open();
    free_http();
    const std::size_t n = reqs.size();
    for (int attempt = 0;; ++attempt) {
        const bool had_stream = caps.streams && baton.has_value();
        const bool keep = caps.streams && (in_txn || c.opens_stream);
        const bool ask_autocommit = keep && caps.get_autocommit;
        if (ask_autocommit) reqs.emplace_back(hrana::get_autocommit_req{});
        else if (caps.streams && caps.close && !keep) reqs.emplace_back(hrana::close_req{});
        const std::size_t sent = reqs.size();
        std::string body;
        {
            hrana::pipeline_request pr;
            pr.baton = had_stream ? baton : std::nullopt;
            pr.requests = std::move(reqs);
            hrana::serialize(pr, body);
            reqs = std::move(pr.requests);
        }
        reqs.resize(n);
        const std::string url = (had_stream && !stream_url.empty() ? stream_url : db->base_url()) +
                                (caps.version == 3 ? "v3/pipeline" : "v2/pipeline");
        const auto policy = !had_stream && c.readonly ? http::retry::idempotent : http::retry::if_unsent;
        http::response resp;
        try {
            resp = http.request("POST", url, body, policy);
        } catch (...) {
            // The stream's state is unknown now (the request may have run, and its new baton is lost).
            const bool lost = in_txn;
            drop_stream();
            rethrow_network_error(c.sql, c.where, db->transport(), lost);
        }
        if (resp.status != 200) {
            if (had_stream && resp.status == 400) {
                const bool lingering = !in_txn;
                drop_stream();
                std::string code;
                if (resp.content_type == "application/json") {
                    try {
                        code = hrana::parse_error_body(resp.body).code;
                    } catch (const std::exception&) {
                    }
                }
                // A stream we kept only to close it: the request did not run, so it can go on a new stream.
                if (lingering && attempt == 0) continue;
                error_info i = info(c.sql, c.where);
                i.hrana_code = code.empty() ? "STREAM_EXPIRED" : code;
                if (code == "STREAM_EXPIRED" || code.empty())
                    throw timeout("the server no longer has this connection's stream (interactive transaction): it "
                                  "expired after inactivity or its baton was refused, and the server rolled the "
                                  "transaction back (HTTP 400 from " + url + ": " + excerpt(resp.body) +
                                      "); the connection is usable again, in autocommit mode",
                                  std::move(i));
                throw_http(resp, url, c.sql, c.where);
            }
            if (had_stream) drop_stream();
            throw_http(resp, url, c.sql, c.where);
        }
        hrana::pipeline_response pr;
        try {
            pr = hrana::parse_pipeline_response(resp.body);
        } catch (const hrana::protocol_violation& e) {
            drop_stream();
            throw protocol_error(std::string("malformed pipeline response from ") + url + ": " + e.what(), info(c.sql, c.where));
        }
        if (pr.results.size() != sent) {
            drop_stream();
            throw protocol_error("the server answered " + std::to_string(pr.results.size()) + " results to " +
                                     std::to_string(sent) + " requests (" + url + ")",
                                 info(c.sql, c.where));
        }
        if (caps.streams) {
            if (!had_stream) stream_url.clear();
            baton = pr.baton;
            if (pr.base_url && !pr.base_url->empty()) {
                stream_url = *pr.base_url;
                if (stream_url.back() != '/') stream_url += '/';
            }
            if (!baton) {
                in_txn = false;
                savepoints.clear();
            }
            if (ask_autocommit) {
                if (const auto* ok = std::get_if<hrana::stream_response>(&pr.results.back())) {
                    if (const auto* ac = std::get_if<hrana::get_autocommit_resp>(ok)) in_txn = !ac->is_autocommit;
                }
            }
        }
        pr.results.resize(n);
        return std::move(pr.results);
    }
}

namespace {

/// A /v3/cursor response body, one JSON entry per line.
class http_cursor final : public cursor_source {
public:
    explicit http_cursor(std::unique_ptr<http::body_reader> r) : r_(std::move(r)) {}
    bool next(hrana::cursor_entry& e) override {
        for (;;) {
            if (!r_->next_line(line_)) return false;
            if (line_.empty()) continue;
            e = hrana::parse_cursor_entry(line_);
            return true;
        }
    }
    void finish() override {
        // Read to the end of the body, so that the HTTP connection can be reused.
        while (r_->next_line(line_)) {
        }
    }

private:
    std::unique_ptr<http::body_reader> r_;
    std::string line_;
};

} // namespace

std::unique_ptr<cursor_source> session::open_cursor(hrana::stmt s, const call& c) {
    if (ws) return ws_open_cursor(std::move(s), c);
    check_open();
    free_http();
    hrana::cursor_request cr;
    cr.batch.steps.push_back(hrana::batch_step{std::nullopt, std::move(s)});
    for (int attempt = 0;; ++attempt) {
        const bool had_stream = baton.has_value();
        cr.baton = had_stream ? baton : std::nullopt;
        std::string body;
        hrana::serialize(cr, body);
        const std::string url = (had_stream && !stream_url.empty() ? stream_url : db->base_url()) + "v3/cursor";
        const auto policy = !had_stream && c.readonly ? http::retry::idempotent : http::retry::if_unsent;
        std::unique_ptr<http::body_reader> reader;
        std::string head;
        try {
            reader = http.request_stream("POST", url, body, policy);
            if (reader->status() != 200) {
                http::response r;
                r.status = reader->status();
                r.content_type = reader->content_type();
                while (r.body.size() < 64 * 1024 && reader->read_some(r.body, 64 * 1024)) {
                }
                reader.reset();
                if (had_stream && r.status == 400) {
                    const bool lingering = !in_txn;
                    drop_stream();
                    if (lingering && attempt == 0) continue;
                    error_info i = info(c.sql, c.where);
                    i.hrana_code = "STREAM_EXPIRED";
                    throw timeout("the server no longer has this connection's stream (interactive transaction): it "
                                  "expired after inactivity or its baton was refused, and the server rolled the "
                                  "transaction back (HTTP 400 from " + url + ": " + excerpt(r.body) +
                                      "); the connection is usable again, in autocommit mode",
                                  std::move(i));
                }
                if (had_stream) drop_stream();
                throw_http(r, url, c.sql, c.where);
            }
            if (!reader->next_line(head)) throw protocol_error("empty cursor response from " + url, info(c.sql, c.where));
        } catch (const libsql::protocol_error&) {
            drop_stream();
            throw;
        } catch (const libsql::auth_error&) {
            drop_stream();
            throw;
        } catch (...) {
            const bool lost = in_txn;
            drop_stream();
            rethrow_network_error(c.sql, c.where, db->transport(), lost);
        }
        hrana::cursor_response_head h;
        try {
            h = hrana::parse_cursor_response_head(head);
        } catch (const hrana::protocol_violation& e) {
            drop_stream();
            throw protocol_error(std::string("malformed cursor response from ") + url + ": " + e.what(), info(c.sql, c.where));
        }
        if (!had_stream) stream_url.clear();
        baton = h.baton;
        if (h.base_url && !h.base_url->empty()) {
            stream_url = *h.base_url;
            if (stream_url.back() != '/') stream_url += '/';
        }
        if (!baton) in_txn = false;
        return std::make_unique<http_cursor>(std::move(reader));
    }
}

void session::close_stream(bool quiet) {
    if (ws) return ws_close_stream(quiet);
    if (caps.streams && baton) {
        free_http();
        hrana::pipeline_request pr;
        pr.baton = baton;
        pr.requests.emplace_back(hrana::close_req{});
        std::string body;
        hrana::serialize(pr, body);
        const std::string url = (!stream_url.empty() ? stream_url : db->base_url()) +
                                (caps.version == 3 ? "v3/pipeline" : "v2/pipeline");
        drop_stream();
        try {
            const auto r = http.request("POST", url, body, http::retry::if_unsent);
            // 400: the stream had expired, which rolled it back as well.
            if (r.status != 200 && r.status != 400 && !quiet) throw_http(r, url, {}, {});
        } catch (...) {
            if (!quiet) throw;
        }
        return;
    }
    if (!caps.streams && in_txn) {
        // One connection shared by every client: end what we began.
        drop_stream();
        hrana::pipeline_request pr;
        pr.requests.emplace_back(hrana::execute_req{plain("ROLLBACK", false)});
        std::string body;
        hrana::serialize(pr, body);
        try {
            (void)http.request("POST", db->base_url() + "v2/pipeline", body, http::retry::if_unsent);
        } catch (...) {
            if (!quiet) throw;
        }
        return;
    }
    drop_stream();
}

// ================================================================================================ connection
remote_connection::remote_connection(std::shared_ptr<remote_database> db) : s_(std::make_shared<session>(std::move(db))) {}

remote_connection::~remote_connection() { close(); }

std::shared_ptr<statement_backend> remote_connection::prepare(std::string_view sql, libsql::source_location where, bool single) {
    auto& s = *s_;
    std::lock_guard lk(s.m);
    s.check_open();
    if (sql.find('\0') != std::string_view::npos)
        throw usage_error("SQL text contains a NUL byte; the engine would ignore everything after it",
                          s.info(sql.substr(0, sql.find('\0')), where));
    if (single) {
        // A text described before was one statement then (only such texts are cached): no need to scan it again.
        if (auto known = s.db->find_description(sql))
            return std::make_shared<remote_statement>(s_, std::string(sql), std::move(known), where);
    }
    const auto stmts = split_statements(sql);
    if (stmts.empty()) throw usage_error("empty SQL: there is no statement to run", s.info(sql, where));
    if (single && stmts.size() > 1)
        throw usage_error("several statements given where one is expected (use execute_batch for several)", s.info(sql, where));
    std::string text(single ? sql : stmts.front());
    auto d = s.db->find_description(text);
    if (!d) {
        auto fresh = std::make_shared<description>();
        fresh->params = scan_parameters(text);
        if (s.caps.describe) {
            std::vector<hrana::stream_request> reqs;
            reqs.emplace_back(hrana::describe_req{text, std::nullopt});
            auto results = s.pipeline(std::move(reqs), session::call{text, where, false, true});
            if (const auto* e = std::get_if<hrana::error>(&results.front())) s.throw_error(*e, text, where);
            const auto* resp = std::get_if<hrana::describe_resp>(&std::get<hrana::stream_response>(results.front()));
            if (resp == nullptr) throw protocol_error("the server answered describe with another response", s.info(text, where));
            const auto& r = resp->result;
            fresh->params.count = static_cast<int>(r.params.size());
            fresh->params.names.assign(r.params.size(), std::string());
            for (std::size_t i = 0; i < r.params.size(); ++i)
                if (r.params[i].name) fresh->params.names[i] = *r.params[i].name;
            fresh->cols = r.cols;
            fresh->cols_known = true;
            fresh->is_explain = r.is_explain;
            fresh->is_readonly = r.is_readonly;
        } else {
            fresh->is_explain = first_keyword(text) == "EXPLAIN";
            fresh->is_readonly = looks_readonly(text);
            const std::string verb = first_keyword(text);
            if (verb == "SELECT" || verb == "VALUES" || (verb == "WITH" && fresh->is_readonly)) {
                // No describe: a query's columns (and whether it prepares at all) from running it with no rows.
                hrana::stmt probe = plain("SELECT * FROM (\n" + std::string(stmts.front()) + "\n) LIMIT 0", true);
                probe.args.resize(static_cast<std::size_t>(fresh->params.count));
                std::vector<hrana::stream_request> reqs;
                reqs.emplace_back(hrana::execute_req{std::move(probe)});
                auto results = s.pipeline(std::move(reqs), session::call{text, where, false, true});
                if (const auto* e = std::get_if<hrana::error>(&results.front())) s.throw_error(*e, text, where);
                if (const auto* er = std::get_if<hrana::execute_resp>(&std::get<hrana::stream_response>(results.front()))) {
                    fresh->cols = er->result.cols;
                    fresh->cols_known = true;
                }
            }
        }
        d = fresh;
        // Inside a transaction that changed the schema, the description may see uncommitted changes: keep it to
        // this statement. Otherwise it is the committed schema's, for every connection.
        if (!s.in_txn) s.schema_in_txn = false;
        if (!s.in_txn || !s.schema_in_txn) s.db->remember_description(text, d);
    }
    return std::make_shared<remote_statement>(s_, std::move(text), std::move(d), where);
}

void remote_connection::execute_batch(std::string_view sql, libsql::source_location where) {
    auto& s = *s_;
    std::lock_guard lk(s.m);
    s.check_open();
    if (sql.find('\0') != std::string_view::npos)
        throw usage_error("SQL text contains a NUL byte; the engine would ignore everything after it",
                          s.info(sql.substr(0, sql.find('\0')), where));
    const auto stmts = split_statements(sql);
    if (stmts.empty()) return;
    bool may_open = false;
    bool schema = false;
    for (const auto one : stmts) {
        may_open = may_open || opens(classify_transaction(one));
        schema = schema || is_schema_change(one);
    }
    if (schema) s.schema_changes();
    const session::call c{sql, where, may_open, false};

    if (s.caps.sequence) {
        // Before and after: the counters, so that changes() and friends follow the batch as they do locally.
        std::vector<hrana::stream_request> reqs;
        reqs.emplace_back(hrana::execute_req{plain(total_probe, true)});
        reqs.emplace_back(hrana::sequence_req{std::string(sql), std::nullopt});
        reqs.emplace_back(hrana::execute_req{plain(changes_probe, true)});
        auto results = s.pipeline(std::move(reqs), c);
        if (results.size() != 3) throw protocol_error("the server answered a pipeline with a result missing", s.info(sql, where));
        const hrana::error* err = nullptr;
        const hrana::stream_response* before = nullptr;
        const hrana::stream_response* after = nullptr;
        for (std::size_t i = 0; i < results.size(); ++i) {
            if (i == 1) err = std::get_if<hrana::error>(&results[i]);
            else if (i == 0) before = std::get_if<hrana::stream_response>(&results[i]);
            else after = std::get_if<hrana::stream_response>(&results[i]);
        }
        s.track(sql, err == nullptr);
        if (before && after) {
            const auto* b = std::get_if<hrana::execute_resp>(before);
            const auto* a = std::get_if<hrana::execute_resp>(after);
            if (b && a) {
                const auto tb = integer_at(b->result, 0), ch = integer_at(a->result, 0), id = integer_at(a->result, 1),
                           ta = integer_at(a->result, 2);
                if (tb && ta && ch && *ta != *tb) {
                    s.changes.store(*ch);
                    s.total_changes.fetch_add(*ta - *tb);
                    bool inserted = false;
                    for (const auto one : stmts) inserted = inserted || is_insert(one);
                    if (id && inserted) s.last_insert_rowid.store(*id);
                }
            }
        }
        if (err) s.throw_error(*err, sql, where);
        return;
    }

    // Limited servers: the statements as one batch, each step run only when the one before succeeded.
    hrana::batch b;
    b.steps.push_back(hrana::batch_step{std::nullopt, plain(total_probe, true)});
    for (std::size_t i = 0; i < stmts.size(); ++i)
        b.steps.push_back(hrana::batch_step{ok_of(static_cast<std::uint32_t>(i)), plain(std::string(stmts[i]), false)});
    b.steps.push_back(hrana::batch_step{ok_of(static_cast<std::uint32_t>(stmts.size())), plain(changes_probe, true)});
    std::vector<hrana::stream_request> reqs;
    reqs.emplace_back(hrana::batch_req{std::move(b)});
    auto results = s.pipeline(std::move(reqs), c);
    if (const auto* e = std::get_if<hrana::error>(&results.front())) s.throw_error(*e, sql, where);
    const auto* br = batch_of(results.front(), stmts.size() + 2);
    if (br == nullptr) throw protocol_error("the server answered a batch with a malformed result", s.info(sql, where));
    const auto& r = br->result;
    for (std::size_t i = 0; i < stmts.size(); ++i) {
        if (const auto& e = r.step_errors[i + 1]) s.throw_error(*e, stmts[i], where);
        s.track(stmts[i], true);
    }
    if (r.step_results.front() && r.step_results.back()) {
        const auto tb = integer_at(*r.step_results.front(), 0), ch = integer_at(*r.step_results.back(), 0),
                   id = integer_at(*r.step_results.back(), 1), ta = integer_at(*r.step_results.back(), 2);
        if (tb && ta && ch && *ta != *tb) {
            s.changes.store(*ch);
            s.total_changes.fetch_add(*ta - *tb);
            if (id) s.last_insert_rowid.store(*id);
        }
    }
}

bool remote_connection::try_execute_transactional_batch(std::string_view sql, libsql::source_location where) {
    auto& s = *s_;
    std::lock_guard lk(s.m);
    s.check_open();
    if (sql.find('\0') != std::string_view::npos)
        throw usage_error("SQL text contains a NUL byte; the engine would ignore everything after it",
                          s.info(sql.substr(0, sql.find('\0')), where));
    const auto stmts = split_statements(sql);
    if (stmts.empty()) return true;
    std::vector<statement_kind> kinds;
    kinds.reserve(stmts.size());
    bool schema = false;
    for (const auto one : stmts) {
        kinds.push_back(classify_statement(one));
        schema = schema || kinds.back().schema;
    }
    if (schema) s.schema_changes();
    // One batch: [total_changes] [BEGIN IMMEDIATE | SAVEPOINT sp] stmts... [COMMIT | RELEASE sp], then, when that
    // did not succeed, [ROLLBACK | ROLLBACK TO sp, RELEASE sp]; last the counters. Each statement runs only when the
    // step before it succeeded, so the first failure skips the rest and the end rolls everything back.
    const bool nested = s.in_txn;
    const std::string sp = "libsql_batch_" + std::to_string(++next_savepoint);
    hrana::batch b;
    auto add = [&](std::optional<hrana::condition> cond, std::string text, bool rows) {
        b.steps.push_back(hrana::batch_step{std::move(cond), plain(std::move(text), rows)});
        return static_cast<std::uint32_t>(b.steps.size() - 1);
    };
    // A server that reports affected_row_count and last_insert_rowid per step (Hrana 2 and 3) needs no counter
    // probes: the counters follow from the statements' own results.
    const bool probes = !s.caps.reports_changes;
    if (probes) add(std::nullopt, total_probe, true);
    b.steps.reserve(stmts.size() + 5);
    std::uint32_t prev = add(std::nullopt, nested ? "SAVEPOINT " + sp : "BEGIN IMMEDIATE", false);
    const std::uint32_t first = prev + 1;
    for (const auto one : stmts) prev = add(ok_of(prev), std::string(one), false);
    const std::uint32_t end = add(ok_of(prev), nested ? "RELEASE " + sp : "COMMIT", false);
    if (nested) {
        add(not_of(ok_of(end)), "ROLLBACK TO " + sp, false);
        add(not_of(ok_of(end)), "RELEASE " + sp, false);
    } else {
        add(not_of(ok_of(end)), "ROLLBACK", false);
    }
    if (probes) add(std::nullopt, changes_probe, true);
    const std::size_t steps = b.steps.size();
    std::vector<hrana::stream_request> reqs;
    reqs.emplace_back(hrana::batch_req{std::move(b)});
    auto results = s.pipeline(std::move(reqs), session::call{sql, where, false, false});
    if (const auto* e = std::get_if<hrana::error>(&results.front())) s.throw_error(*e, sql, where);
    const auto* br = batch_of(results.front(), steps);
    if (br == nullptr) throw protocol_error("the server answered a batch with a malformed result", s.info(sql, where));
    const auto& r = br->result;
    if (const auto& e = r.step_errors[first - 1]) s.throw_error(*e, sql, where);  // BEGIN / SAVEPOINT
    for (std::size_t i = 0; i < stmts.size(); ++i)
        if (const auto& e = r.step_errors[first + i]) s.throw_error(*e, stmts[i], where);
    if (const auto& e = r.step_errors[end]) s.throw_error(*e, sql, where);
    if (!probes) {
        for (std::size_t i = 0; i < stmts.size(); ++i)
            if (const auto& res = r.step_results[first + i]) s.record(*res, kinds[i].dml, kinds[i].insert);
        return true;
    }
    if (r.step_results.front() && r.step_results.back()) {
        const auto tb = integer_at(*r.step_results.front(), 0), ch = integer_at(*r.step_results.back(), 0),
                   id = integer_at(*r.step_results.back(), 1), ta = integer_at(*r.step_results.back(), 2);
        if (tb && ta && ch && *ta != *tb) {
            s.changes.store(*ch);
            s.total_changes.fetch_add(*ta - *tb);
            bool inserted = false;
            for (const auto& k : kinds) inserted = inserted || k.insert;
            if (id && inserted) s.last_insert_rowid.store(*id);
        }
    }
    return true;
}

std::int64_t remote_connection::changes() const {
    s_->check_open();
    return s_->changes.load();
}
std::int64_t remote_connection::total_changes() const {
    s_->check_open();
    return s_->total_changes.load();
}
std::int64_t remote_connection::last_insert_rowid() const {
    s_->check_open();
    return s_->last_insert_rowid.load();
}

bool remote_connection::is_autocommit() const {
    std::lock_guard lk(s_->m);
    s_->check_open();
    return !s_->in_txn;
}

void remote_connection::busy_timeout(std::chrono::milliseconds ms) {
    s_->check_open();
    // The server decides how long a statement waits for a lock (libsql serve: 10 s); accepted for the API's sake.
    if (ms.count() < 0 || ms.count() > INT32_MAX) throw usage_error("busy_timeout must be between 0 and 2^31-1 ms");
}

void remote_connection::interrupt() noexcept {
    s_->http.interrupt();
    std::lock_guard lk(s_->ws_m);
    if (s_->ws) s_->ws->interrupt(s_->waiter);
}

void remote_connection::reset() {
    auto& s = *s_;
    std::lock_guard lk(s.m);
    s.check_open();
    {
        std::lock_guard rl(s.registry_m);
        for (auto* st : s.statements) st->abandon();
    }
    s.streaming = nullptr;
    // A stream kept only to be closed by the next request holds nothing: leave it to that request.
    if (s.in_txn) s.close_stream(false);
}

void remote_connection::close() noexcept {
    auto& s = *s_;
    if (s.closed.exchange(true)) return;
    try {
        std::lock_guard lk(s.m);
        {
            std::lock_guard rl(s.registry_m);
            for (auto* st : s.statements) st->abandon();
        }
        s.streaming = nullptr;
        s.close_stream(true);
        s.ws_release_leased();
    } catch (...) {
    }
}

void remote_connection::unsupported_call(std::string_view what) const {
    s_->check_open();
    throw unsupported(std::string(what) + " is not available over the remote transport: the database engine runs on "
                          "the server (" + s_->db->base_url() + ")",
                      s_->info({}, {}));
}

void remote_connection::set_authorizer(authorizer_callback cb) {
    if (!cb) return;
    unsupported_call("authorizer");
}
void remote_connection::set_update_hook(update_callback cb) {
    if (!cb) return;
    unsupported_call("update_hook");
}
void remote_connection::set_commit_hook(commit_callback cb) {
    if (!cb) return;
    unsupported_call("commit_hook");
}
void remote_connection::set_rollback_hook(rollback_callback cb) {
    if (!cb) return;
    unsupported_call("rollback_hook");
}
void remote_connection::enable_load_extension(bool on) {
    if (!on) {
        s_->check_open();
        return;
    }
    unsupported_call("enable_load_extension");
}
void remote_connection::load_extension(const std::string&, const std::optional<std::string>&) { unsupported_call("load_extension"); }
int remote_connection::set_limit(libsql::limit, int) { unsupported_call("set_limit"); }

// ================================================================================================= statement
remote_statement::remote_statement(std::shared_ptr<session> s, std::string sql, std::shared_ptr<const description> d,
                                   libsql::source_location w)
    : s_(std::move(s)), sql_(std::move(sql)), d_(std::move(d)), txn_(classify_transaction(sql_)),
      kind_(classify_statement(sql_)) {
    where = w;
    binds_.resize(static_cast<std::size_t>(d_->params.count));
    limited_changes_ = !s_->caps.reports_changes;
    columns_deferred = !d_->cols_known;
    if (d_->cols_known) set_columns(d_->cols);
    std::lock_guard lk(s_->registry_m);
    s_->statements.push_back(this);
}

remote_statement::~remote_statement() {
    try {
        std::lock_guard lk(s_->m);
        if (s_->streaming == this) s_->streaming = nullptr;
        cursor_.reset();
    } catch (...) {
    }
    std::lock_guard lk(s_->registry_m);
    auto& v = s_->statements;
    if (auto it = std::find(v.begin(), v.end(), this); it != v.end()) {
        *it = v.back();
        v.pop_back();
    }
}

std::string_view remote_statement::parameter_name(int index) const {
    if (index < 1 || index > d_->params.count)
        throw_usage("parameter index " + std::to_string(index) + " is out of range: the statement has " +
                    std::to_string(d_->params.count) + " parameter(s)");
    return d_->params.names[static_cast<std::size_t>(index - 1)];
}

int remote_statement::parameter_index(std::string_view name) const {
    if (name.empty()) return 0;
    const auto& names = d_->params.names;
    auto find = [&](std::string_view n) {
        for (std::size_t i = 0; i < names.size(); ++i)
            if (names[i] == n) return static_cast<int>(i) + 1;
        return 0;
    };
    const char c = name.front();
    if (c == ':' || c == '@' || c == '$' || c == '?') return find(name);
    std::string key;
    for (const char prefix : {':', '@', '$'}) {
        key.assign(1, prefix);
        key.append(name);
        if (const int i = find(key); i > 0) return i;
    }
    return 0;
}

void remote_statement::bind_value(int index, value v) {
    s_->check_open();
    if (index < 1 || index > d_->params.count)
        throw_usage("parameter index " + std::to_string(index) + " is out of range: the statement has " +
                    std::to_string(d_->params.count) + " parameter(s), numbered from 1");
    if (started_) reset();
    binds_[static_cast<std::size_t>(index - 1)] = std::move(v);
}

void remote_statement::bind_null(int index) { bind_value(index, value()); }
void remote_statement::bind_integer(int index, std::int64_t v) { bind_value(index, value(value_view::integer(v))); }
void remote_statement::bind_real(int index, double v) { bind_value(index, value(value_view::real(v))); }
void remote_statement::bind_text(int index, const char* data, std::size_t size, bool) {
    bind_value(index, value(value_view::text(std::string_view(data ? data : "", size))));
}
void remote_statement::bind_blob(int index, const std::byte* data, std::size_t size, bool) {
    bind_value(index, value(value_view::blob(blob_view(data, data ? size : 0))));
}

void remote_statement::clear_bindings() {
    if (started_) reset();
    for (auto& b : binds_) b = value();
}

void remote_statement::finish_cursor() noexcept {
    if (!cursor_) return;
    try {
        std::lock_guard lk(s_->m);
        if (s_->streaming == this) s_->streaming = nullptr;
        cursor_.reset();
    } catch (...) {
        cursor_.reset();
    }
}

void remote_statement::abandon() noexcept {
    // Called with the session locked (connection reset/close).
    cursor_.reset();
    rows_.clear();
    current_.clear();
    pending_ = nullptr;
    started_ = false;
    has_row = false;
    ++generation;
}

void remote_statement::reset() noexcept {
    try {
        std::lock_guard lk(s_->m);
        if (s_->streaming == this) s_->streaming = nullptr;
        abandon();
    } catch (...) {
        abandon();  // only if the lock itself failed
    }
}

hrana::stmt remote_statement::make_stmt(bool want_rows) const {
    hrana::stmt s;
    s.sql = sql_;
    s.args = binds_;
    s.want_rows = want_rows;
    return s;
}

void remote_statement::set_columns(const std::vector<hrana::column>& cols) {
    if (cols != cols_ || names_ == nullptr) {
        cols_ = cols;
        names_.reset();
    }
    column_count = static_cast<int>(cols_.size());
    columns_deferred = false;
}

void remote_statement::execute_pipeline(bool want_rows) {
    auto& s = *s_;
    std::lock_guard lk(s.m);
    s.check_open();
    const bool read = d_->is_readonly && txn_.what == txn_control::kind::none;
    const session::call c{sql_, where, opens(txn_), read};
    if (kind_.schema) s.schema_changes();
    if (limited_changes_ && !read) {
        // No affected_row_count nor last_insert_rowid from this server: ask for them in the same batch.
        hrana::batch b;
        b.steps.push_back(hrana::batch_step{std::nullopt, plain(total_probe, true)});
        b.steps.push_back(hrana::batch_step{ok_of(0), make_stmt(want_rows)});
        b.steps.push_back(hrana::batch_step{ok_of(1), plain(changes_probe, true)});
        std::vector<hrana::stream_request> reqs;
        reqs.emplace_back(hrana::batch_req{std::move(b)});
        auto results = s.pipeline(std::move(reqs), c);
        if (const auto* e = std::get_if<hrana::error>(&results.front())) s.throw_error(*e, sql_, where);
        const auto* br = batch_of(results.front(), 3);
        if (br == nullptr) throw protocol_error("the server answered a batch with a malformed result", s.info(sql_, where));
        const auto& r = br->result;
        if (const auto& e = r.step_errors[0]) s.throw_error(*e, total_probe, where);
        if (const auto& e = r.step_errors[1]) {
            s.track(sql_, false);
            s.throw_error(*e, sql_, where);
        }
        s.track(sql_, true);
        hrana::stmt_result res = r.step_results[1] ? std::move(*r.step_results[1]) : hrana::stmt_result{};
        if (r.step_results[0] && r.step_results[2]) {
            const auto tb = integer_at(*r.step_results[0], 0), ch = integer_at(*r.step_results[2], 0),
                       id = integer_at(*r.step_results[2], 1), ta = integer_at(*r.step_results[2], 2);
            res.affected_row_count = tb && ta && ch && *ta != *tb ? static_cast<std::uint64_t>(std::max<std::int64_t>(*ch, 0)) : 0;
            res.last_insert_rowid = id;
        }
        set_columns(res.cols);
        s.record(res, kind_.dml, kind_.insert);
        last_affected_ = static_cast<std::int64_t>(res.affected_row_count);
        for (auto& row : res.rows) rows_.push_back(std::move(row));
        return;
    }
    std::vector<hrana::stream_request> reqs;
    reqs.emplace_back(hrana::execute_req{make_stmt(want_rows)});
    auto results = s.pipeline(std::move(reqs), c);
    if (const auto* e = std::get_if<hrana::error>(&results.front())) {
        s.track(sql_, false);
        s.throw_error(*e, sql_, where);
    }
    s.track(sql_, true);
    auto* er = std::get_if<hrana::execute_resp>(&std::get<hrana::stream_response>(results.front()));
    if (er == nullptr) throw protocol_error("the server answered execute with another response", s.info(sql_, where));
    set_columns(er->result.cols);
    s.record(er->result, kind_.dml, kind_.insert);
    last_affected_ = static_cast<std::int64_t>(std::min<std::uint64_t>(er->result.affected_row_count, INT64_MAX));
    for (auto& row : er->result.rows) rows_.push_back(std::move(row));
}

void remote_statement::start_cursor() {
    auto& s = *s_;
    std::lock_guard lk(s.m);
    s.check_open();
    const bool read = d_->is_readonly;
    cursor_ = s.open_cursor(make_stmt(true), session::call{sql_, where, false, read});
    s.streaming = this;
}

bool remote_statement::next_cursor_row(std::vector<value>& row) {
    for (;;) {
        hrana::cursor_entry e;
        try {
            if (!cursor_->next(e)) {
                finish_cursor();
                s_->drop_stream();
                throw protocol_error("the cursor response ended before its last entry", s_->info(sql_, where));
            }
        } catch (const hrana::protocol_violation& v) {
            finish_cursor();
            throw protocol_error(std::string("malformed cursor entry: ") + v.what(), s_->info(sql_, where));
        }
        if (auto* r = std::get_if<hrana::row_entry>(&e)) {
            row = std::move(r->row);
            return true;
        }
        if (auto* b = std::get_if<hrana::step_begin_entry>(&e)) {
            set_columns(b->cols);
            continue;
        }
        if (auto* end = std::get_if<hrana::step_end_entry>(&e)) {
            record_cursor_end(*end);
            cursor_->finish();
            finish_cursor();
            return false;
        }
        if (auto* se = std::get_if<hrana::step_error_entry>(&e)) {
            const hrana::error err = se->error;
            finish_cursor();
            s_->throw_error(err, sql_, where);
        }
        if (auto* ee = std::get_if<hrana::error_entry>(&e)) {
            const hrana::error err = ee->error;
            finish_cursor();
            s_->throw_error(err, sql_, where);
        }
    }
}

void remote_statement::record_cursor_end(const hrana::step_end_entry& e) {
    hrana::stmt_result r;
    r.affected_row_count = e.affected_row_count;
    r.last_insert_rowid = e.last_insert_rowid;
    s_->record(r, kind_.dml, kind_.insert);
}

void remote_statement::buffer_rest() {
    // Called with the session locked, by a request that needs the HTTP connection.
    if (!cursor_) return;
    try {
        std::vector<value> row;
        while (cursor_ && next_cursor_row(row)) rows_.push_back(std::move(row));
    } catch (...) {
        pending_ = std::current_exception();
        cursor_.reset();
    }
}

bool remote_statement::step() {
    // Locked: another statement of this connection, on another thread, may buffer this one's cursor meanwhile.
    std::lock_guard lk(s_->m);
    s_->check_open();
    if (!started_) {
        started_ = true;
        rows_.clear();
        try {
            if (s_->caps.cursor && txn_.what == txn_control::kind::none && !kind_.schema) start_cursor();
            else execute_pipeline(true);
        } catch (...) {
            has_row = false;
            ++generation;
            throw;
        }
    }
    bool row = false;
    if (!rows_.empty()) {
        current_ = std::move(rows_.front());
        rows_.pop_front();
        row = true;
    } else if (cursor_) {
        try {
            row = cursor_ && next_cursor_row(current_);
        } catch (...) {
            has_row = false;
            ++generation;
            throw;
        }
    } else if (pending_) {
        has_row = false;
        ++generation;
        std::rethrow_exception(std::exchange(pending_, nullptr));
    }
    if (row && static_cast<int>(current_.size()) != column_count) {
        has_row = false;
        ++generation;
        throw protocol_error("a row has " + std::to_string(current_.size()) + " values for " +
                                 std::to_string(column_count) + " columns",
                             s_->info(sql_, where));
    }
    has_row = row;
    ++generation;
    return row;
}

std::int64_t remote_statement::run() {
    std::lock_guard lk(s_->m);
    s_->check_open();
    reset();
    started_ = true;
    try {
        execute_pipeline(false);
    } catch (...) {
        has_row = false;
        ++generation;
        throw;
    }
    rows_.clear();
    has_row = false;
    ++generation;
    return last_affected_;
}

std::shared_ptr<const std::vector<std::string>> remote_statement::column_names() const {
    if (!names_ || static_cast<int>(names_->size()) != column_count) {
        auto names = std::make_shared<std::vector<std::string>>();
        names->reserve(cols_.size());
        for (const auto& c : cols_) names->push_back(c.name);
        names_ = std::move(names);
    }
    return names_;
}

std::string_view remote_statement::column_name(int index) const {
    if (index < 0 || index >= column_count) throw_column_range(index);
    return cols_[static_cast<std::size_t>(index)].name;
}

int remote_statement::column_index(std::string_view name) const {
    for (std::size_t i = 0; i < cols_.size(); ++i)
        if (cols_[i].name == name) return static_cast<int>(i);
    for (std::size_t i = 0; i < cols_.size(); ++i) {
        const auto& n = cols_[i].name;
        if (n.size() == name.size() && std::equal(n.begin(), n.end(), name.begin(), [](char a, char b) {
                return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
            }))
            return static_cast<int>(i);
    }
    return -1;
}

value_view remote_statement::column(int index) const { return current_[static_cast<std::size_t>(index)].view(); }

std::vector<column_info> remote_statement::columns() const {
    std::vector<column_info> out;
    out.reserve(cols_.size());
    for (const auto& c : cols_) out.push_back(column_info{c.name, c.decltype_.value_or(""), {}, {}, {}});
    return out;
}

std::string remote_statement::expanded_sql() const {
    std::string out;
    std::size_t at = 0;
    for (const auto& p : d_->params.tokens) {
        if (p.begin < at || p.end > sql_.size()) continue;
        out.append(sql_, at, p.begin - at);
        const auto i = static_cast<std::size_t>(p.index - 1);
        out += i < binds_.size() ? sql_literal(binds_[i].view()) : std::string("NULL");
        at = p.end;
    }
    out.append(sql_, at, std::string::npos);
    return out;
}

} // namespace libsql::detail::remote
