#include "local/local.hpp"
#include "local/vector/vector_functions.hpp"

#include "libsql/hooks.hpp"

#include <cstring>
#include <utility>

namespace libsql::detail {

namespace {

/// True when the text holds nothing but whitespace and semicolons (a cheap check before preparing a tail).
bool blank(const char* p, const char* end) noexcept {
    for (; p < end; ++p)
        if (!(*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f' || *p == '\v' || *p == ';')) return false;
    return true;
}

void check_sql_text(std::string_view sql, libsql::source_location where) {
    if (sql.find('\0') != std::string_view::npos)
        throw usage_error("SQL text contains a NUL byte; the engine would ignore everything after it",
                          error_info{0, {}, std::string(sql.substr(0, sql.find('\0'))), transport::local, where});
    if (sql.size() > static_cast<std::size_t>(INT32_MAX))
        throw too_big("SQL text is larger than 2 GiB", error_info{0, {}, std::string(sql.substr(0, 64)), transport::local, where});
}

int authorizer_trampoline(void* ctx, int action, const char* a1, const char* a2, const char* dbname, const char* trigger) noexcept {
    auto* h = static_cast<db_handle*>(ctx);
    if (h->pending) return SQLITE_DENY;
    auto opt = [](const char* p) { return p ? std::optional<std::string_view>(p) : std::nullopt; };
    try {
        const auto r = h->authorizer(authorizer_request{static_cast<authorizer_action>(action), opt(a1), opt(a2), opt(dbname), opt(trigger)});
        switch (r) {
        case authorizer_result::allow: return SQLITE_OK;
        case authorizer_result::ignore: return SQLITE_IGNORE;
        default: return SQLITE_DENY;
        }
    } catch (...) {
        h->pending = std::current_exception();
        return SQLITE_DENY;
    }
}

void update_trampoline(void* ctx, int op, const char* dbname, const char* table, sqlite3_int64 rowid) noexcept {
    auto* h = static_cast<db_handle*>(ctx);
    if (h->pending || !h->update) return;
    try {
        h->update(static_cast<update_kind>(op), dbname ? dbname : "", table ? table : "", rowid);
    } catch (...) {
        // The statement cannot be stopped from here: the exception is rethrown when it returns, and the commit
        // hook below turns an autocommit statement's commit into a rollback.
        h->pending = std::current_exception();
    }
}

int commit_trampoline(void* ctx) noexcept {
    auto* h = static_cast<db_handle*>(ctx);
    if (h->pending) return 1;
    if (!h->commit) return 0;
    try {
        return h->commit() ? 0 : 1;
    } catch (...) {
        h->pending = std::current_exception();
        return 1;
    }
}

void rollback_trampoline(void* ctx) noexcept {
    auto* h = static_cast<db_handle*>(ctx);
    if (h->pending || !h->rollback) return;
    try {
        h->rollback();
    } catch (...) {
        h->pending = std::current_exception();
    }
}

} // namespace

db_handle::~db_handle() {
    if (db) sqlite3_close_v2(db);
}

void db_handle::free_if_unused() noexcept {
    sqlite3* to_close = nullptr;
    {
        std::lock_guard lk(life);
        if (closed.load() && statements.empty() && active_calls.load() == 0) to_close = std::exchange(db, nullptr);
    }
    // Outside the statement-list lock: closing takes the engine lock, which is always taken before that one.
    if (to_close) sqlite3_close_v2(to_close);
}

void db_handle::throw_closed() { throw usage_error("the connection is closed"); }

void db_handle::fail(int rc, std::string_view sql, const libsql::source_location& where) {
    rethrow_pending();
    const int ext = sqlite3_extended_errcode(db);
    if ((rc & 0xff) == SQLITE_NOTADB) throw_not_a_database(db, name, encrypted, sql, where);
    // The engine's message belongs to the latest failure, which is this one unless rc came from elsewhere.
    const char* msg = (ext & 0xff) == (rc & 0xff) ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    throw_result_code((ext & 0xff) == (rc & 0xff) ? ext : rc, msg ? msg : "", error_info{0, {}, std::string(sql), transport::local, where});
}

local_connection::local_connection(const std::string& path, const connect_options& options)
    : h_(std::make_shared<db_handle>()) {
    int flags = SQLITE_OPEN_URI | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_EXRESCODE;
    switch (options.mode) {
    case open_mode::read_only: flags |= SQLITE_OPEN_READONLY; break;
    case open_mode::read_write: flags |= SQLITE_OPEN_READWRITE; break;
    case open_mode::read_write_create: flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE; break;
    }
    h_->name = path;
    sqlite3* db = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
    if (rc != SQLITE_OK) {
        const std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
        const int ext = db ? sqlite3_extended_errcode(db) : rc;
        sqlite3_close_v2(db);
        throw_result_code(ext, msg + " (opening '" + path + "')", error_info{});
    }
    h_->db = db;
    h_->db_mutex = sqlite3_db_mutex(db);
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, static_cast<int>(options.busy_timeout.count()));
    if (!options.encryption_key.empty()) {
        h_->encrypted = true;
        apply_encryption(db, options);  // before anything reads the file
        verify_encryption(db, path);
    }
    sqlite3_commit_hook(db, commit_trampoline, h_.get());
    sqlite3_rollback_hook(db, rollback_trampoline, h_.get());
    // libSQL's vector functions (docs/VECTOR.md), on every connection: local, the server's and replicas'.
    if (const int vrc = vec::register_vector_functions(db); vrc != SQLITE_OK)
        throw_result_code(vrc, std::string("registering the vector functions: ") + sqlite3_errmsg(db) + " (opening '" + path + "')", error_info{});
    if (options.enable_load_extension) enable_load_extension(true);
}

local_connection::~local_connection() { close(); }

std::shared_ptr<statement_backend> local_connection::prepare(std::string_view sql, libsql::source_location where, bool single) {
    const auto guard = db();
    sqlite3* d = guard;
    check_sql_text(sql, where);
    engine_lock lock(h_->db_mutex);
    sqlite3_stmt* st = nullptr;
    const char* tail = nullptr;
    const int rc = sqlite3_prepare_v3(d, sql.data(), static_cast<int>(sql.size()), 0, &st, &tail);
    if (rc != SQLITE_OK) {
        sqlite3_finalize(st);
        h_->fail(rc, sql, where);
    }
    if (h_->pending) {
        sqlite3_finalize(st);
        h_->rethrow_pending();
    }
    if (!st) throw usage_error("empty SQL: there is no statement to run", error_info{0, {}, std::string(sql), transport::local, where});
    auto out = std::make_shared<local_statement>(h_, st, where);
    const char* end = sql.data() + sql.size();
    if (single && tail && !blank(tail, end)) {
        // Something follows: only comments may.
        sqlite3_stmt* next = nullptr;
        const int rc2 = sqlite3_prepare_v3(d, tail, static_cast<int>(end - tail), 0, &next, nullptr);
        sqlite3_finalize(next);
        if (rc2 != SQLITE_OK || next)
            throw usage_error("several statements given where one is expected (use execute_batch for several)",
                              error_info{0, {}, std::string(sql), transport::local, where});
    }
    return out;
}

void local_connection::execute_batch(std::string_view sql, libsql::source_location where) {
    const auto guard = db();
    sqlite3* d = guard;
    check_sql_text(sql, where);
    engine_lock lock(h_->db_mutex);
    const char* p = sql.data();
    const char* end = p + sql.size();
    while (p < end && !blank(p, end)) {
        sqlite3_stmt* st = nullptr;
        const char* tail = nullptr;
        int rc = sqlite3_prepare_v3(d, p, static_cast<int>(end - p), 0, &st, &tail);
        const std::string_view this_sql(p, static_cast<std::size_t>((tail ? tail : end) - p));
        if (rc != SQLITE_OK) {
            sqlite3_finalize(st);
            h_->fail(rc, this_sql, where);
        }
        if (h_->pending) {
            sqlite3_finalize(st);
            h_->rethrow_pending();
        }
        p = tail ? tail : end;
        if (!st) continue;  // a comment
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        }
        if (rc != SQLITE_DONE || h_->pending) {
            try {
                h_->fail(rc == SQLITE_DONE ? SQLITE_ABORT : rc, this_sql, where);
            } catch (...) {
                sqlite3_finalize(st);
                throw;
            }
        }
        sqlite3_finalize(st);
    }
}

std::int64_t local_connection::changes() const { return sqlite3_changes64(db()); }
std::int64_t local_connection::total_changes() const { return sqlite3_total_changes64(db()); }
std::int64_t local_connection::last_insert_rowid() const { return sqlite3_last_insert_rowid(db()); }
bool local_connection::is_autocommit() const { return sqlite3_get_autocommit(db()) != 0; }

void local_connection::busy_timeout(std::chrono::milliseconds ms) {
    if (ms.count() < 0 || ms.count() > INT32_MAX) throw usage_error("busy_timeout must be between 0 and 2^31-1 ms");
    sqlite3_busy_timeout(db(), static_cast<int>(ms.count()));
}

void local_connection::interrupt() noexcept {
    try {
        const auto guard = db();
        sqlite3_interrupt(guard);
    } catch (const usage_error&) {
        // Closed: nothing runs, nothing to stop.
    }
}

void local_connection::reset() {
    const auto guard = db();
    sqlite3* d = guard;
    // The engine lock before the statement list, the order prepare() takes them in (a new statement registers
    // while the engine lock is held); the other order could deadlock against a prepare on another thread.
    engine_lock lock(h_->db_mutex);
    {
        std::lock_guard lk(h_->life);
        for (auto* st : h_->statements) st->reset();
    }
    h_->pending = nullptr;
    if (!sqlite3_get_autocommit(d)) {
        const int rc = sqlite3_exec(d, "ROLLBACK", nullptr, nullptr, nullptr);
        if (rc != SQLITE_OK) h_->fail(rc, "ROLLBACK", libsql::source_location::current());
    }
}

void local_connection::close() noexcept {
    if (h_->closed.exchange(true)) return;
    // End what is open now: every statement reset (releasing its read lock), an open transaction rolled back. This
    // counts as a call in progress, so the handle cannot be freed under it.
    h_->active_calls.fetch_add(1);
    {
        engine_lock lock(h_->db_mutex);
        {
            std::lock_guard lk(h_->life);
            for (auto* st : h_->statements) st->reset();
        }
        if (!sqlite3_get_autocommit(h_->db)) sqlite3_exec(h_->db, "ROLLBACK", nullptr, nullptr, nullptr);
    }
    h_->active_calls.fetch_sub(1);
    // Freed now unless a statement is still alive or another thread is inside a call; then the last of those frees it.
    h_->free_if_unused();
}

void local_connection::set_authorizer(authorizer_callback cb) {
    const auto guard = db();
    sqlite3* d = guard;
    engine_lock lock(h_->db_mutex);
    std::swap(h_->authorizer, cb);
    sqlite3_set_authorizer(d, h_->authorizer ? authorizer_trampoline : nullptr, h_.get());
    h_->user_callbacks_changed();
}

void local_connection::set_update_hook(update_callback cb) {
    const auto guard = db();
    sqlite3* d = guard;
    engine_lock lock(h_->db_mutex);
    std::swap(h_->update, cb);
    sqlite3_update_hook(d, h_->update ? update_trampoline : nullptr, h_.get());
    h_->user_callbacks_changed();
}

void local_connection::set_commit_hook(commit_callback cb) {
    const auto guard = db();
    engine_lock lock(h_->db_mutex);
    std::swap(h_->commit, cb);
    h_->user_callbacks_changed();
}

void local_connection::set_rollback_hook(rollback_callback cb) {
    const auto guard = db();
    engine_lock lock(h_->db_mutex);
    std::swap(h_->rollback, cb);
    h_->user_callbacks_changed();
}

void local_connection::enable_load_extension(bool on) {
    int now = 0;
    const int rc = sqlite3_db_config(db(), SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, on ? 1 : 0, &now);
    if (rc != SQLITE_OK) h_->fail(rc, {}, libsql::source_location::current());
    h_->load_extension_enabled = now != 0;
}

void local_connection::load_extension(const std::string& path, const std::optional<std::string>& entry_point) {
    const auto guard = db();
    sqlite3* d = guard;
    if (!h_->load_extension_enabled)
        throw usage_error("load_extension is disabled on this connection: call enable_load_extension(true) first, "
                          "or open the database with connect_options::enable_load_extension");
    if (path.find('\0') != std::string::npos || (entry_point && entry_point->find('\0') != std::string::npos))
        throw usage_error("extension path or entry point contains a NUL byte");
    char* err = nullptr;
    const int rc = sqlite3_load_extension(d, path.c_str(), entry_point ? entry_point->c_str() : nullptr, &err);
    if (rc != SQLITE_OK) {
        std::string msg = err ? err : sqlite3_errstr(rc);
        sqlite3_free(err);
        throw_result_code(rc, "cannot load extension '" + path + "': " + msg, error_info{});
    }
}

int local_connection::set_limit(libsql::limit which, int value) {
    const int id = static_cast<int>(which);
    if (id < 0 || id > SQLITE_LIMIT_WORKER_THREADS) throw usage_error("unknown limit " + std::to_string(id));
    if (value < 0) throw usage_error("a limit cannot be negative");
    return sqlite3_limit(db(), id, value);
}

} // namespace libsql::detail
