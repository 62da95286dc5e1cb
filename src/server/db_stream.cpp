// A Hrana stream's statements over its connection: see db_stream.hpp.
#include "server/db_stream.hpp"

#include "remote/remote.hpp"  // the SQL keyword scanner: which statements are INSERTs
#include "server/auth.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>

namespace libsql::server::detail {

namespace {

/// About the bytes a row takes in a JSON response ({"type":"text","value":"…"} per value), for the response limit.
/// Escapes are not counted: it may fall short of the real size, never far above it.
std::size_t approx_json_size(const std::vector<libsql::value>& row) {
    std::size_t n = 2;
    for (const auto& v : row) {
        const auto view = v.view();
        switch (view.type()) {
        case value_type::null: n += 16; break;
        case value_type::integer: n += 32; break;
        case value_type::real: n += 48; break;
        case value_type::text: n += 28 + view.as_text().size(); break;
        case value_type::blob: n += 29 + (view.as_blob().size() + 2) / 3 * 4; break;
        }
    }
    return n;
}

std::string upper_word(std::string_view& text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())) != 0) text.remove_prefix(1);
    std::string word;
    while (!text.empty() && std::isalpha(static_cast<unsigned char>(text.front())) != 0) {
        word += static_cast<char>(std::toupper(static_cast<unsigned char>(text.front())));
        text.remove_prefix(1);
    }
    return word;
}

/// BEGIN [TRANSACTION] READONLY [;], any case, any whitespace.
bool is_begin_readonly(std::string_view sql) {
    if (upper_word(sql) != "BEGIN") return false;
    std::string w = upper_word(sql);
    if (w == "TRANSACTION") w = upper_word(sql);
    if (w != "READONLY") return false;
    for (const char c : sql)
        if (!(std::isspace(static_cast<unsigned char>(c)) != 0 || c == ';')) return false;
    return true;
}

/// Checks one condition of step `step` (and the conditions inside it).
void validate_condition(const hrana::condition& c, std::size_t step, int version) {
    using K = hrana::condition::kind;
    switch (c.type) {
    case K::ok:
    case K::error:
        if (c.step >= step)
            throw hrana::protocol_violation("batch step " + std::to_string(step) + " has a condition on step " +
                                            std::to_string(c.step) + ", which is not an earlier step");
        break;
    case K::not_:
        if (c.conds.size() != 1) throw hrana::protocol_violation("a \"not\" condition needs exactly one condition");
        [[fallthrough]];
    case K::and_:
    case K::or_:
        for (const auto& x : c.conds) validate_condition(x, step, version);
        break;
    case K::is_autocommit:
        if (version < 3) throw hrana::protocol_violation("the is_autocommit condition needs Hrana 3 (use /v3)");
        break;
    }
}

} // namespace

db_stream::~db_stream() {
    {
        std::lock_guard lk(c_->streams_m);
        c_->live_streams.erase(this);
        if (const auto it = c_->owner_streams.find(owner_); it != c_->owner_streams.end() && --it->second == 0)
            c_->owner_streams.erase(it);
    }
    if (readonly_txn_ || query_only_token_) internal_sql("PRAGMA query_only=0");
    c_->release(std::move(p_));
}

bool db_stream::quiet() const noexcept {
    try {
        return !p_.conn.is_open() || p_.conn.is_autocommit();
    } catch (...) {
        return false;
    }
}

void db_stream::set_access(access a) noexcept {
    const bool ro = a == access::read_only;
    p_.guard->read_only = ro;
    if (ro == query_only_token_) return;
    query_only_token_ = ro;
    if (ro) internal_sql("PRAGMA query_only=1");
    else if (!readonly_txn_) internal_sql("PRAGMA query_only=0");
}

hrana::stmt_result db_stream::execute(const sql_store& store, const hrana::stmt& s, std::size_t* budget) {
    std::vector<hrana::column> cols;
    running_stmt run = start(store, s, cols);
    hrana::stmt_result r;
    std::vector<libsql::value> row;
    while (next_row(run, row)) {
        if (budget != nullptr) {
            const std::size_t size = approx_json_size(row);
            if (size > *budget) {
                run = {};
                after_statement();
                fail("RESPONSE_TOO_LARGE", "Response is too large: the result exceeds the server's limit of " +
                                               std::to_string(c_->opts.max_response_bytes) +
                                               " bytes (--max-response-bytes); select fewer rows or use a cursor");
            }
            *budget -= size;
        }
        r.rows.push_back(std::move(row));
        row = {};
    }
    auto end = finish(run);
    r.cols = std::move(cols);
    r.affected_row_count = end.affected_row_count;
    r.last_insert_rowid = end.last_insert_rowid;
    r.replication_index = end.replication_index;
    return r;
}

db_stream::running_stmt db_stream::start(const sql_store& store, const hrana::stmt& s, std::vector<hrana::column>& cols) {
    const std::string& sql = store.resolve(s.sql, s.sql_id);
    check_stop();
    p_.guard->denial.clear();
    fresh_schema();
    running_stmt run;
    try {
        if (is_begin_readonly(sql)) {
            begin_readonly();
            after_statement();
            return run;
        }
        auto& conn = p_.conn;
        run.st = prepare_current(sql);
        run.prepared = true;
        run.insert = libsql::detail::remote::classify_statement(sql).insert;
        bind(run.st, s);
        cols = columns_of(run.st);
        run.before = conn.total_changes();
        if (s.want_rows) {
            run.rows = run.st.query();
            run.has_rows = true;
        } else {
            (void)run.st.execute();
        }
        return run;
    } catch (const libsql::error& e) {
        run = {};
        after_statement();
        throw stmt_failure{described(e)};
    } catch (stmt_failure&) {
        run = {};
        after_statement();
        throw;
    }
}

bool db_stream::next_row(running_stmt& run, std::vector<libsql::value>& out) {
    if (!run.has_rows) return false;
    try {
        if (!run.rows.next()) {
            run.has_rows = false;
            return false;
        }
        const auto row = run.rows.current();
        const int n = run.rows.column_count();
        out.clear();
        out.reserve(static_cast<std::size_t>(n));
        for (int i = 0; i < n; ++i) out.emplace_back(row.at(i));
        return true;
    } catch (const libsql::error& e) {
        run = {};
        after_statement();
        throw stmt_failure{described(e)};
    }
}

db_stream::stmt_end db_stream::finish(running_stmt& run) {
    auto& conn = p_.conn;
    stmt_end r;
    try {
        if (!run.prepared) {
            after_statement();
            return r;
        }
        const bool changed_rows = conn.total_changes() != run.before;
        const auto changed = changed_rows ? conn.changes() : 0;
        r.affected_row_count = static_cast<std::uint64_t>(std::max<std::int64_t>(changed, 0));
        // As sqld: an INSERT (or REPLACE, also after WITH) reports the connection's last_insert_rowid, any other
        // statement none. The connection may have served other streams before: an INSERT that inserted nothing
        // reports what this stream's own inserts left (0 on a new stream), as sqld's connection per stream would.
        if (run.insert) {
            if (changed_rows) rowid_ = conn.last_insert_rowid();
            r.last_insert_rowid = rowid_;
        }
        // Once a write is committed: the last committed frame of the current generation (at least this write's).
        if (!run.st.readonly()) wrote_ = true;
        run = {};
        if (wrote_ && c_->repl && conn.is_autocommit()) {
            wrote_ = false;
            try {
                r.replication_index = c_->repl->committed_frames();
            } catch (const std::exception&) {
                // Optional information: a WAL that cannot be read shows up on /sync instead.
            }
        }
    } catch (const libsql::error& e) {
        run = {};
        after_statement();
        throw stmt_failure{described(e)};
    }
    after_statement();
    return r;
}

void db_stream::sequence(const sql_store& store, const std::optional<std::string>& sql_text, const std::optional<std::int32_t>& id) {
    const std::string& sql = store.resolve(sql_text, id);
    check_stop();
    p_.guard->denial.clear();
    fresh_schema();
    try {
        if (is_begin_readonly(sql)) begin_readonly();
        else p_.conn.execute_batch(sql);
        after_statement();
    } catch (const libsql::error& e) {
        after_statement();
        throw stmt_failure{described(e)};
    }
}

hrana::describe_result db_stream::describe(const sql_store& store, const std::optional<std::string>& sql_text, const std::optional<std::int32_t>& id) {
    const std::string& sql = store.resolve(sql_text, id);
    const std::string_view text = is_begin_readonly(sql) ? std::string_view("BEGIN DEFERRED") : std::string_view(sql);
    hrana::describe_result r;
    fresh_schema();
    try {
        // Describing prepares without running: nothing to deny, nothing the connection keeps.
        p_.guard->internal = true;
        auto st = p_.conn.prepare(text);
        p_.guard->internal = false;
        for (int i = 1; i <= st.parameter_count(); ++i) {
            const auto name = st.parameter_name(i);
            r.params.push_back({name.empty() ? std::nullopt : std::optional<std::string>(name)});
        }
        r.cols = columns_of(st);
        r.is_explain = st.is_explain();
        r.is_readonly = st.readonly();
    } catch (const libsql::error& e) {
        p_.guard->internal = false;
        throw stmt_failure{described(e)};
    }
    return r;
}

bool db_stream::is_autocommit() {
    try {
        return p_.conn.is_autocommit();
    } catch (const libsql::error& e) {
        throw stmt_failure{to_hrana(e)};
    }
}

bool db_stream::eval(const hrana::condition& c, const std::vector<std::optional<bool>>& ok) {
    using K = hrana::condition::kind;
    switch (c.type) {
    case K::ok: return c.step < ok.size() && ok[c.step] == true;
    case K::error: return c.step < ok.size() && ok[c.step] == false;
    case K::not_: return !c.conds.empty() && !eval(c.conds.front(), ok);
    case K::and_:
        return std::all_of(c.conds.begin(), c.conds.end(), [&](const hrana::condition& x) { return eval(x, ok); });
    case K::or_:
        return std::any_of(c.conds.begin(), c.conds.end(), [&](const hrana::condition& x) { return eval(x, ok); });
    case K::is_autocommit:
        try {
            return p_.conn.is_autocommit();
        } catch (const libsql::error&) {
            return false;
        }
    }
    return false;
}

hrana::error db_stream::described(const libsql::error& e) const {
    auto err = to_hrana(e);
    auto& denial = p_.guard->denial;
    if (!denial.empty() && (err.code == "SQLITE_AUTH" || contains(err.message, "not authorized"))) {
        // A refused function fails its prepare with SQLITE_ERROR: report every refusal alike.
        err.code = "SQLITE_AUTH";
        err.message = denial + " (" + err.message + ")";
    } else if (err.code == "SQLITE_AUTH" && p_.guard->read_only) {
        err.message = "this token grants read-only access; the statement would write (" + err.message + ")";
    } else if (err.code == "SQLITE_READONLY" && query_only_token_) {
        // query_only stopped a write lock (BEGIN IMMEDIATE/EXCLUSIVE) or a write: the token's doing.
        err.code = "SQLITE_AUTH";
        err.message = "this token grants read-only access; the statement would take the write lock (" + err.message + ")";
    }
    denial.clear();
    return err;
}

std::vector<hrana::column> db_stream::columns_of(const libsql::statement& st) {
    std::vector<hrana::column> cols;
    for (auto& c : st.columns())
        cols.push_back({std::move(c.name), c.declared_type.empty() ? std::nullopt : std::optional<std::string>(std::move(c.declared_type))});
    return cols;
}

void db_stream::bind(libsql::statement& st, const hrana::stmt& s) {
    const int count = st.parameter_count();
    if (s.args.size() > static_cast<std::size_t>(count))
        fail("ARGS_INVALID", "the statement has " + std::to_string(count) + " parameters but " +
                                 std::to_string(s.args.size()) + " positional arguments were given");
    for (int i = 1; i <= count; ++i) {
        const std::string_view name = st.parameter_name(i);
        const libsql::value* v = nullptr;
        if (!name.empty() && name.front() != '?') {
            // As sqld: the full name (":a") first, then the name without its prefix ("a").
            for (const auto& a : s.named_args)
                if (a.name == name) { v = &a.value; break; }
            if (v == nullptr)
                for (const auto& a : s.named_args)
                    if (a.name == name.substr(1)) { v = &a.value; break; }
        }
        const auto at = static_cast<std::size_t>(i - 1);
        if (v == nullptr && at < s.args.size()) v = &s.args[at];
        if (v == nullptr) {
            if (st.is_explain()) continue;
            fail("ARGS_INVALID", name.empty() || name.front() == '?'
                                     ? "missing value for parameter " + std::to_string(i)
                                     : "missing value for parameter " + std::string(name));
        }
        st.bind(i, *v);
    }
}

libsql::statement db_stream::prepare_current(const std::string& sql) {
    if (c_->opts.attach_namespace) {
        if (auto rewritten = namespace_attach(sql)) {
            struct clear {
                guard_state& g;
                ~clear() { g.namespace_attach.clear(); }
            } clearing{*p_.guard};
            p_.guard->namespace_attach = rewritten->second;
            return p_.conn.prepare(rewritten->first);
        }
    }
    try {
        return p_.conn.prepare(sql);
    } catch (const libsql::error& e) {
        if (e.code() != 1 /* SQLITE_ERROR */ || !reload_schema()) throw;
    }
    return p_.conn.prepare(sql);
}

std::optional<std::pair<std::string, std::string>> db_stream::namespace_attach(std::string_view sql) const {
    std::size_t i = 0;
    auto skip_space = [&] {
        while (i < sql.size() && std::isspace(static_cast<unsigned char>(sql[i])) != 0) ++i;
    };
    auto word = [&]() -> std::string_view {
        skip_space();
        const std::size_t start = i;
        while (i < sql.size() && (std::isalnum(static_cast<unsigned char>(sql[i])) != 0 || sql[i] == '_' || sql[i] == '-')) ++i;
        return sql.substr(start, i - start);
    };
    auto name = [&]() -> std::optional<std::string_view> {
        skip_space();
        if (i < sql.size() && (sql[i] == '\'' || sql[i] == '"' || sql[i] == '`')) {
            const char q = sql[i++];
            const std::size_t start = i;
            while (i < sql.size() && sql[i] != q) ++i;
            if (i >= sql.size()) return std::nullopt;
            return sql.substr(start, i++ - start);
        }
        auto w = word();
        if (w.empty()) return std::nullopt;
        return w;
    };
    if (!iequal(word(), "attach")) return std::nullopt;
    const std::size_t after_attach = i;
    if (!iequal(word(), "database")) i = after_attach;
    const auto ns = name();
    if (!ns || !iequal(word(), "as")) return std::nullopt;
    const auto alias = name();
    skip_space();
    if (i < sql.size() && sql[i] == ';') ++i;
    skip_space();
    if (!alias || i != sql.size() || alias->find('"') != std::string_view::npos) return std::nullopt;
    const auto path = c_->opts.attach_namespace(*ns);
    if (!path) return std::nullopt;
    // Only where the token may read (the stream's token: owner_, the JWT with auth on).
    if (c_->opts.jwt_public_key &&
        detail::verify_jwt(owner_, *c_->opts.jwt_public_key, std::chrono::system_clock::now(), *ns).granted ==
            access::denied)
        fail("SQLITE_AUTH", "ATTACH of namespace `" + std::string(*ns) + "` refused: this token may not read it");
    std::string uri = "file:";
    static constexpr char hex[] = "0123456789ABCDEF";
    for (const char ch : std::filesystem::absolute(*path).string()) {
        const auto u = static_cast<unsigned char>(ch);
        if (std::isalnum(u) != 0 || ch == '/' || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
            uri += ch;
        } else {
            uri += '%';
            uri += hex[u >> 4];
            uri += hex[u & 15];
        }
    }
    uri += "?mode=ro";
    return std::make_pair("ATTACH DATABASE '" + uri + "' AS \"" + std::string(*alias) + "\"", uri);
}

bool db_stream::reload_schema() noexcept {
    p_.guard->internal = true;
    bool ok = true;
    try {
        (void)p_.conn.query_value<std::int64_t>("SELECT count(*) FROM sqlite_schema WHERE 0");
    } catch (...) {
        ok = false;
    }
    p_.guard->internal = false;
    return ok;
}

void db_stream::after_statement() noexcept {
    try {
        in_txn_.store(!p_.conn.is_autocommit(), std::memory_order_relaxed);
    } catch (...) {
        in_txn_.store(true, std::memory_order_relaxed);
    }
    // A schema change counts once committed (or rolled back: a needless reload elsewhere, nothing worse). This
    // connection's own epoch stays behind: another change may have committed between, unseen by it.
    if (p_.guard->schema_write) {
        schema_pending_ = true;
        p_.guard->schema_write = false;
    }
    if (schema_pending_ && !in_txn_.load(std::memory_order_relaxed)) {
        schema_pending_ = false;
        c_->schema_epoch.fetch_add(1, std::memory_order_acq_rel);
    }
    if (!readonly_txn_) return;
    try {
        if (!p_.conn.is_autocommit()) return;
    } catch (...) {
    }
    if (!query_only_token_) internal_sql("PRAGMA query_only=0");
    readonly_txn_ = false;
}

void db_stream::internal_sql(const char* sql) noexcept {
    p_.guard->internal = true;
    try {
        p_.conn.execute_batch(sql);
    } catch (...) {
        p_.guard->dirty = true;  // could not restore: never pool it
    }
    p_.guard->internal = false;
}

bool core::any_stream_in_transaction() {
    std::lock_guard lk(streams_m);
    return std::any_of(live_streams.begin(), live_streams.end(), [](const db_stream* s) { return s->maybe_in_transaction(); });
}

void core::interrupt_all() noexcept {
    halting.store(true);
    // A stream erases itself under this lock before its connection goes: every one seen here is alive.
    std::lock_guard lk(streams_m);
    for (auto* s : live_streams) s->conn().interrupt();
}

bool core::all_streams_quiet() {
    return std::all_of(live_streams.begin(), live_streams.end(), [](const db_stream* s) { return s->quiet(); });
}


void validate_batch(const hrana::batch& b, int version) {
    for (std::size_t i = 0; i < b.steps.size(); ++i)
        if (b.steps[i].condition) validate_condition(*b.steps[i].condition, i, version);
}

hrana::batch_result run_batch(db_stream& s, const sql_store& store, const hrana::batch& b, std::size_t* budget) {
    hrana::batch_result r;
    r.step_results.resize(b.steps.size());
    r.step_errors.resize(b.steps.size());
    s.batch(store, b, overloaded{
        [&](std::size_t i, hrana::stmt_result&& x) { r.step_results[i] = std::move(x); },
        [&](std::size_t i, hrana::error&& e) { r.step_errors[i] = std::move(e); },
    }, budget);
    return r;
}


std::optional<hrana::cursor_entry> batch_cursor::next() {
    for (;;) {
        if (cur_) {
            const auto step = static_cast<std::uint32_t>(i_);
            try {
                std::vector<libsql::value> row;
                if (s_.next_row(*cur_, row)) return hrana::row_entry{std::move(row)};
                const auto end = s_.finish(*cur_);
                cur_.reset();
                ok_[i_++] = true;
                return hrana::step_end_entry{end.affected_row_count, end.last_insert_rowid};
            } catch (stmt_failure& f) {
                cur_.reset();
                ok_[i_++] = false;
                return hrana::step_error_entry{step, std::move(f.err)};
            }
        }
        if (i_ >= b_.steps.size()) return std::nullopt;
        const auto& step = b_.steps[i_];
        if (step.condition && !s_.condition_holds(*step.condition, ok_)) {
            ++i_;
            continue;
        }
        try {
            std::vector<hrana::column> cols;
            cur_.emplace(s_.start(store_, step.stmt, cols));
            return hrana::step_begin_entry{static_cast<std::uint32_t>(i_), std::move(cols)};
        } catch (stmt_failure& f) {
            ok_[i_] = false;
            return hrana::step_error_entry{static_cast<std::uint32_t>(i_++), std::move(f.err)};
        }
    }
}

} // namespace libsql::server::detail
