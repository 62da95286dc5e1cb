// libsql/connection.hpp: one connection to a database, whatever the transport.
//
// Threads: a connection is used by one thread at a time. Calls that do reach it from two threads at once are
// serialised by the engine's connection lock (they wait), never undefined behaviour; interrupt() is the one call
// meant to come from another thread, and it stops whatever statement is running now. Statements, rows and
// transactions belong to the thread that uses them, like any standard container.
#pragma once

#include "libsql/detail/backend.hpp"
#include "libsql/hooks.hpp"
#include "libsql/params.hpp"
#include "libsql/rows.hpp"
#include "libsql/statement.hpp"
#include "libsql/transaction.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include "libsql/source_location.hpp"
#include <string>
#include <string_view>

namespace libsql {

/// SQL text plus the caller's source line, captured implicitly so that errors can name the user's line.
struct sql_text {
    std::string_view text;
    libsql::source_location where;
    sql_text(const char* s, libsql::source_location w = libsql::source_location::current()) noexcept : text(s ? s : ""), where(w) {}
    sql_text(std::string_view s, libsql::source_location w = libsql::source_location::current()) noexcept : text(s), where(w) {}
    sql_text(const std::string& s, libsql::source_location w = libsql::source_location::current()) noexcept : text(s), where(w) {}
};

/// Run-time limits (sqlite3_limit): the largest string or blob, the longest SQL, and so on.
enum class limit : int {
    length = 0, sql_length = 1, column = 2, expr_depth = 3, compound_select = 4, vdbe_op = 5, function_arg = 6,
    attached = 7, like_pattern_length = 8, variable_number = 9, trigger_depth = 10, worker_threads = 11,
};

class connection {
public:
    connection() = default;
    explicit connection(std::shared_ptr<detail::connection_backend> c) noexcept : c_(std::move(c)) {}
    connection(connection&&) noexcept = default;
    connection& operator=(connection&&) noexcept = default;
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;
    ~connection() = default;

    // --- running SQL. Each takes one statement; several are a usage_error (use execute_batch).
    /// Runs a statement; returns the rows it changed.
    template <class... Args> std::int64_t execute(sql_text sql, const Args&... args) {
        return prepare_one(sql).execute_args(args...);
    }
    /// A cursor over the results.
    template <class... Args> [[nodiscard]] rows query(sql_text sql, const Args&... args) {
        return prepare_one(sql).query_args(args...);
    }
    /// The first row, copied out; no_rows when there is none.
    template <class... Args> [[nodiscard]] row query_row(sql_text sql, const Args&... args) {
        return prepare_one(sql).query_row_args(args...);
    }
    /// The single value of a one-row, one-column result.
    template <owning_readable T, class... Args> [[nodiscard]] T query_value(sql_text sql, const Args&... args) {
        return prepare_one(sql).query_args(args...).template one_value<T>();
    }
    [[nodiscard]] statement prepare(sql_text sql) { return prepare_one(sql); }
    /// Runs every statement in the text, in order; stops at the first failure (earlier ones stay done).
    void execute_batch(sql_text sql) { backend().execute_batch(sql.text, sql.where); }
    /// Runs every statement in the text or none: inside a transaction (or a savepoint, if one is open already).
    void execute_transactional_batch(sql_text sql);

    // --- transactions
    [[nodiscard]] libsql::transaction transaction(transaction_behavior b = transaction_behavior::deferred) {
        return libsql::transaction(checked(), b);
    }
    [[nodiscard]] libsql::savepoint savepoint() { return libsql::savepoint(checked()); }
    [[nodiscard]] bool is_autocommit() const { return backend().is_autocommit(); }

    // --- state
    [[nodiscard]] std::int64_t changes() const { return backend().changes(); }
    [[nodiscard]] std::int64_t total_changes() const { return backend().total_changes(); }
    [[nodiscard]] std::int64_t last_insert_rowid() const { return backend().last_insert_rowid(); }
    void busy_timeout(std::chrono::milliseconds ms) { backend().busy_timeout(ms); }
    /// Back to a clean state: rolls back an open transaction and resets every statement of this connection.
    void reset() { backend().reset(); }
    /// Stops the statement running now (from any thread); it fails with libsql::interrupted. No effect when
    /// nothing runs.
    void interrupt() noexcept { if (c_) c_->interrupt(); }
    /// Closes now: an open transaction rolls back, statements are reset, and every later use (of the connection,
    /// its statements or rows) is a usage_error. The engine handle is freed once this object and its statements
    /// are gone, which makes close() safe even while another thread is inside a call.
    void close() noexcept { if (c_) c_->close(); }
    [[nodiscard]] bool is_open() const noexcept { return c_ && !c_->is_closed(); }
    /// Changes a run-time limit; returns the previous value.
    int set_limit(libsql::limit which, int value) { return backend().set_limit(which, value); }

    // --- hooks: set, replace, or remove with an empty function (nullptr).
    void authorizer(authorizer_callback cb) { backend().set_authorizer(std::move(cb)); }
    void update_hook(update_callback cb) { backend().set_update_hook(std::move(cb)); }
    /// Called as a transaction commits; return false to turn the commit into a rollback.
    void commit_hook(commit_callback cb) { backend().set_commit_hook(std::move(cb)); }
    void rollback_hook(rollback_callback cb) { backend().set_rollback_hook(std::move(cb)); }

    // --- extensions (local only)
    void enable_load_extension(bool on) { backend().enable_load_extension(on); }
    /// Loads a SQLite extension. Refused (usage_error) unless enable_load_extension(true) was called.
    void load_extension(const std::string& path, const std::optional<std::string>& entry_point = std::nullopt) {
        backend().load_extension(path, entry_point);
    }

    [[nodiscard]] libsql::transport transport() const { return backend().transport(); }
    /// The engine's handle for local connections, nullptr for others.
    [[nodiscard]] sqlite3* native_handle() const noexcept { return c_ ? c_->native_handle() : nullptr; }
    /// The transport behind this connection (for the layers built on it).
    [[nodiscard]] const std::shared_ptr<detail::connection_backend>& backend_ptr() const noexcept { return c_; }

private:
    detail::connection_backend& backend() const;
    std::shared_ptr<detail::connection_backend> checked() const { (void)backend(); return c_; }
    statement prepare_one(const sql_text& sql) { return statement(backend().prepare(sql.text, sql.where, true)); }

    std::shared_ptr<detail::connection_backend> c_;
};

} // namespace libsql
