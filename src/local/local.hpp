// The local engine: connection and statement backends over SQLite's C API. Nothing outside src/local includes
// sqlite3.h except tests and benchmarks that compare against the C API.
#pragma once

#include "libsql/connection.hpp"
#include "libsql/options.hpp"

#include <atomic>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <sqlite3.h>

namespace libsql::detail {

class local_statement;

/// What a connection and its statements share: the engine handle, the hooks, and the statements alive.
/// The engine handle closes when the connection is closed and no statement is left, or when this goes.
struct db_handle {
    sqlite3* db = nullptr;
    sqlite3_mutex* db_mutex = nullptr;  // the engine's own (recursive) connection lock
    std::atomic<bool> closed{false};
    std::mutex life;                    // guards db's lifetime (close, interrupt) and the statement list
    std::vector<local_statement*> statements;
    std::string name;                   // the path, for messages

    authorizer_callback authorizer;
    update_callback update;
    commit_callback commit;
    rollback_callback rollback;
    std::exception_ptr pending;         // thrown by a user callback inside the engine, rethrown to the caller
    /// Whether a user callback is installed (so pending may be set). Written under db_mutex; read without it by
    /// local_statement::step(), which holds db_mutex across the engine call only when this is true. Whatever installs
    /// a callback that can leave `pending` must keep it up to date (user_callbacks_changed()).
    std::atomic<bool> has_user_callbacks{false};
    void user_callbacks_changed() noexcept {
        has_user_callbacks.store(authorizer || update || commit || rollback, std::memory_order_release);
    }
    bool load_extension_enabled = false;
    bool encrypted = false;             // opened with an encryption key (for the message of SQLITE_NOTADB)

    db_handle() = default;
    db_handle(const db_handle&) = delete;
    db_handle& operator=(const db_handle&) = delete;
    ~db_handle();

    /// Rethrows (and clears) an exception a callback left. Call with db_mutex held.
    void rethrow_pending() {
        if (pending) [[unlikely]] {
            auto e = std::exchange(pending, nullptr);
            std::rethrow_exception(e);
        }
    }
    /// Throws the error the engine reports for rc (a callback's exception first, when there is one).
    [[noreturn]] void fail(int rc, std::string_view sql, const libsql::source_location& where);
    void check_open() const {
        if (closed.load(std::memory_order_relaxed)) [[unlikely]] throw_closed();
    }
    [[noreturn]] static void throw_closed();

    /// Frees the engine handle once the connection is closed and nothing uses it: no statement left, no call in
    /// progress. Whoever sees that last (close(), a call ending, a statement going) frees it.
    void free_if_unused() noexcept;
    std::atomic<int> active_calls{0};
};

// --- encryption at rest (src/local/encryption.cpp)
/// Sets the options' cipher and key on a connection just opened (nothing when the key is empty).
void apply_encryption(sqlite3* db, const connect_options& options);
/// Reads the schema once so that a wrong key fails now: raises encryption_error for SQLITE_NOTADB.
void verify_encryption(sqlite3* db, const std::string& name);
/// The encryption_error for SQLITE_NOTADB: which of wrong key, missing key, key on a plain file it is.
[[noreturn]] void throw_not_a_database(sqlite3* db, const std::string& name, bool key_given, std::string_view sql,
                                       const libsql::source_location& where);
/// database::rekey() on a local file (docs/ENCRYPTION.md): a copy under the new key renamed over the file.
void rekey_file(const std::string& path, const connect_options& current, std::string_view new_key);

/// Marks a connection-level call in progress for its lifetime, so that close() on another thread cannot free the
/// engine handle under it; refuses to start on a closed connection. Converts to the engine handle.
class using_db {
public:
    explicit using_db(db_handle& h) : h_(h) {
        h_.active_calls.fetch_add(1);
        if (h_.closed.load()) [[unlikely]] {
            release();
            db_handle::throw_closed();
        }
    }
    ~using_db() { release(); }
    using_db(const using_db&) = delete;
    using_db& operator=(const using_db&) = delete;
    operator sqlite3*() const noexcept { return h_.db; }

private:
    void release() noexcept {
        if (h_.active_calls.fetch_sub(1) == 1 && h_.closed.load()) [[unlikely]] h_.free_if_unused();
    }
    db_handle& h_;
};

/// Holds the engine's connection lock for a scope. The engine's own calls inside re-enter it cheaply.
class engine_lock {
public:
    explicit engine_lock(sqlite3_mutex* m) noexcept : m_(m) { sqlite3_mutex_enter(m_); }
    ~engine_lock() { sqlite3_mutex_leave(m_); }
    engine_lock(const engine_lock&) = delete;
    engine_lock& operator=(const engine_lock&) = delete;
private:
    sqlite3_mutex* m_;
};

/// The current row's column `index` of a statement stepped by the local engine. sqlite3_column_value() takes the
/// connection lock itself. The type, an integer or a real are then plain reads of the statement's own result cell (no
/// conversion, no allocation), which no other thread touches: a statement belongs to one thread. Text and blobs are
/// read under the lock `m`: the engine may convert or expand them in place, allocating from the connection. (Taking
/// the lock for every column cost a lock round trip per column.) Inline: the replica's local reads use it too.
inline value_view read_column(sqlite3_stmt* st, sqlite3_mutex* m, int index) {
    sqlite3_value* v = sqlite3_column_value(st, index);
    switch (sqlite3_value_type(v)) {
    case SQLITE_INTEGER: return value_view::integer(sqlite3_value_int64(v));
    case SQLITE_FLOAT: return value_view::real(sqlite3_value_double(v));
    case SQLITE_TEXT: {
        engine_lock lock(m);
        const auto* p = reinterpret_cast<const char*>(sqlite3_value_text(v));
        const auto n = static_cast<std::size_t>(sqlite3_value_bytes(v));
        return value_view::text(std::string_view(p ? p : "", n));
    }
    case SQLITE_BLOB: {
        engine_lock lock(m);
        const auto* p = static_cast<const std::byte*>(sqlite3_value_blob(v));
        const auto n = static_cast<std::size_t>(sqlite3_value_bytes(v));
        return value_view::blob(blob_view(p, p ? n : 0));
    }
    default: return value_view::null();
    }
}

class local_statement final : public statement_backend {
public:
    local_statement(std::shared_ptr<db_handle> h, sqlite3_stmt* st, libsql::source_location where);
    ~local_statement() override;

    int parameter_count() const noexcept override { return parameter_count_; }
    std::string_view parameter_name(int index) const override;
    int parameter_index(std::string_view name) const override;
    void bind_null(int index) override;
    void bind_integer(int index, std::int64_t v) override;
    void bind_real(int index, double v) override;
    void bind_text(int index, const char* data, std::size_t size, bool copy) override;
    void bind_blob(int index, const std::byte* data, std::size_t size, bool copy) override;
    void clear_bindings() override;
    void reset() noexcept override;
    bool step() override;
    std::int64_t run() override;
    std::string_view column_name(int index) const override;
    int column_index(std::string_view name) const override;
    value_view column(int index) const override;
    std::shared_ptr<const std::vector<std::string>> column_names() const override;
    std::vector<column_info> columns() const override;
    bool readonly() const override { return sqlite3_stmt_readonly(st_) != 0; }
    bool is_explain() const override { return sqlite3_stmt_isexplain(st_) != 0; }
    std::string_view sql() const override;
    std::string expanded_sql() const override;
    sqlite3_stmt* native_handle() const noexcept override { settle_bindings(); return st_; }

private:
    [[noreturn]] void fail(int rc);
    [[noreturn, gnu::cold, gnu::noinline]] void bind_failed(int rc, int index) const;
    void before_bind() {
        h_->check_open();
        if (needs_reset_) reset();
    }
    void after_bind(int rc, int index) {
        if (rc != SQLITE_OK) [[unlikely]] bind_failed(rc, index);
        if (clear_pending_) rebound_ |= std::uint64_t{1} << (index - 1);
    }
    bool step_locked();
    void refresh_names() const;
    /// Carries out a deferred clear_bindings(); called before anything reads the bindings.
    void settle_bindings() const noexcept {
        if (clear_pending_) [[unlikely]] clear_unbound();
    }
    void clear_unbound() const noexcept;

    std::shared_ptr<db_handle> h_;
    sqlite3_stmt* st_;
    int parameter_count_;  // fixed for the statement's life: SQLite re-prepares only the same text
    relaxed<bool> needs_reset_;
    // clear_bindings() is deferred until the bindings are next read (a run, expanded_sql(), native_handle()), and
    // then clears only the parameters not bound again since. A run with borrowed arguments ends with
    // clear_bindings() and the next run's arguments rebind every parameter, so a loop of execute(args...) clears
    // nothing (sqlite3_clear_bindings() per run cost as much as the four bindings of a row). Statements with more
    // than 64 parameters clear at once.
    mutable bool clear_pending_ = false;
    std::uint64_t rebound_ = 0;  // while clear_pending_: the parameters bound since, bit i-1 for ?i
    mutable std::shared_ptr<const std::vector<std::string>> names_;
};

class local_connection final : public connection_backend {
public:
    local_connection(const std::string& path, const connect_options& options);
    ~local_connection() override;

    std::shared_ptr<statement_backend> prepare(std::string_view sql, libsql::source_location where, bool single) override;
    void execute_batch(std::string_view sql, libsql::source_location where) override;
    std::int64_t changes() const override;
    std::int64_t total_changes() const override;
    std::int64_t last_insert_rowid() const override;
    bool is_autocommit() const override;
    void busy_timeout(std::chrono::milliseconds ms) override;
    void interrupt() noexcept override;
    void reset() override;
    void close() noexcept override;
    bool is_closed() const noexcept override { return h_->closed.load(std::memory_order_relaxed); }
    void set_authorizer(authorizer_callback cb) override;
    void set_update_hook(update_callback cb) override;
    void set_commit_hook(commit_callback cb) override;
    void set_rollback_hook(rollback_callback cb) override;
    void enable_load_extension(bool on) override;
    void load_extension(const std::string& path, const std::optional<std::string>& entry_point) override;
    int set_limit(libsql::limit which, int value) override;
    libsql::transport transport() const noexcept override { return libsql::transport::local; }
    sqlite3* native_handle() const noexcept override { return h_->closed ? nullptr : h_->db; }

private:
    [[nodiscard]] using_db db() const { return using_db(*h_); }
    std::shared_ptr<db_handle> h_;
};

} // namespace libsql::detail
