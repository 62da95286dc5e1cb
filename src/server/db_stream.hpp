// One Hrana stream of libsql serve: a pooled connection and the state around it (access, read-only transactions,
// the schema epoch, the interrupt it obeys), and what runs on it: statements whole or step by step, sequences,
// descriptions, batches and the cursors that step a batch one entry at a time. Used by the HTTP streams
// (service.cpp) and the WebSocket sessions (ws_session.cpp). Not a public header.
#pragma once

#include "server/service_core.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace libsql::server::detail {

/// One Hrana stream's connection and the state kept around it.
class db_stream {
public:
    /// owner: the token that opened the stream (service_options::max_streams_per_token).
    db_stream(std::shared_ptr<core> c, std::string owner)
        : c_(std::move(c)), p_(c_->acquire()), owner_(std::move(owner)) {
        std::lock_guard lk(c_->streams_m);
        c_->live_streams.insert(this);
        ++c_->owner_streams[owner_];
    }
    ~db_stream();

    /// Whether the last statement left a transaction open (a hint any thread may read; quiet() is the truth).
    [[nodiscard]] bool maybe_in_transaction() const noexcept { return in_txn_.load(std::memory_order_relaxed); }

    /// No transaction open (called only while no request runs).
    [[nodiscard]] bool quiet() const noexcept;
    db_stream(const db_stream&) = delete;
    db_stream& operator=(const db_stream&) = delete;

    /// The access of the request about to run. A read-only token's requests run with query_only on, so that
    /// BEGIN IMMEDIATE/EXCLUSIVE cannot take the write lock (the authorizer cannot tell them from BEGIN).
    void set_access(access a) noexcept;
    libsql::connection& conn() noexcept { return p_.conn; }
    /// The interrupt the current request (HTTP) or the whole session (WebSocket) obeys; nullptr: none.
    void set_stop(const request_interrupt* stop) noexcept { stop_ = stop; }

    // -------------------------------------------------------------------------------------------- requests
    /// Runs a statement whole. budget: the bytes of rows the response may still take (a pipeline's limit, see
    /// service_options::max_response_bytes); rows beyond it fail the statement with RESPONSE_TOO_LARGE.
    hrana::stmt_result execute(const sql_store& store, const hrana::stmt& s, std::size_t* budget = nullptr);

    /// A statement being stepped (one cursor step, or execute()).
    struct running_stmt {
        libsql::statement st;
        libsql::rows rows;
        bool has_rows = false;    ///< rows are being read (want_rows and a prepared statement)
        bool prepared = false;    ///< false: BEGIN READONLY, already done
        bool insert = false;      ///< an INSERT/REPLACE: reports last_insert_rowid
        std::int64_t before = 0;  ///< total_changes() before it ran
    };

    /// Prepares, binds and starts a statement; cols gets its columns. Throws stmt_failure.
    running_stmt start(const sql_store& store, const hrana::stmt& s, std::vector<hrana::column>& cols);

    /// The next row into out; false at the end. Throws stmt_failure (the statement is then over).
    bool next_row(running_stmt& run, std::vector<libsql::value>& out);

    struct stmt_end {
        std::uint64_t affected_row_count = 0;
        std::optional<std::int64_t> last_insert_rowid;
        std::optional<std::uint64_t> replication_index;
    };

    /// Ends a statement whose rows were all read (or not wanted).
    stmt_end finish(running_stmt& run);

    void sequence(const sql_store& store, const std::optional<std::string>& sql_text, const std::optional<std::int32_t>& id);

    hrana::describe_result describe(const sql_store& store, const std::optional<std::string>& sql_text, const std::optional<std::int32_t>& id);

    [[nodiscard]] bool is_autocommit();

    /// Whether a step's condition holds, given the outcomes of the earlier steps.
    bool condition_holds(const hrana::condition& c, const std::vector<std::optional<bool>>& ok) { return eval(c, ok); }

    /// Runs a batch, calling out(step, result-or-error) for every step that ran (skipped steps are not reported).
    template <class Out> void batch(const sql_store& store, const hrana::batch& b, Out&& out, std::size_t* budget = nullptr) {
        std::vector<std::optional<bool>> ok(b.steps.size());
        for (std::size_t i = 0; i < b.steps.size(); ++i) {
            const auto& step = b.steps[i];
            if (step.condition && !eval(*step.condition, ok)) continue;
            try {
                auto r = execute(store, step.stmt, budget);
                ok[i] = true;
                out(i, std::move(r));
            } catch (stmt_failure& f) {
                ok[i] = false;
                out(i, std::move(f.err));
            }
        }
    }

private:
    /// Statements of an interrupted request (or of a stopping server) fail before they start: an interrupt only
    /// reaches the statement running at that instant.
    void check_stop() const {
        if (c_->halting.load()) fail_interrupted(true);
        if (stop_ != nullptr && stop_->interrupted()) fail_interrupted(false);
    }

    bool eval(const hrana::condition& c, const std::vector<std::optional<bool>>& ok);

    /// The Hrana error of a failed statement; a refusal by the authorizer says what was refused and why.
    hrana::error described(const libsql::error& e) const;

    static std::vector<hrana::column> columns_of(const libsql::statement& st);

    static void bind(libsql::statement& st, const hrana::stmt& s);

    /// Prepares with a current schema: when preparing fails with SQLITE_ERROR (a schema changed by another process
    /// can make it fail, and SQLite retries only some errors itself), reloads the schema and tries once more.
    libsql::statement prepare_current(const std::string& sql);

    /// `ATTACH [DATABASE] 'ns' AS alias` (the name quoted or not) naming an existing namespace becomes, as in sqld,
    /// `ATTACH DATABASE 'file:<its file>?mode=ro' AS "alias"`; returns that SQL and the URI the authorizer is to let
    /// through. Anything else (files, unknown namespaces) is left to the authorizer, which refuses it.
    [[nodiscard]] std::optional<std::pair<std::string, std::string>> namespace_attach(std::string_view sql) const;

    /// Reloads the connection's schema if a schema change was committed through the service since it last looked.
    void fresh_schema() noexcept {
        const std::uint64_t epoch = c_->schema_epoch.load(std::memory_order_acquire);
        if (p_.schema_epoch == epoch) return;
        if (reload_schema()) p_.schema_epoch = epoch;
    }

    /// Runs a statement that checks the schema cookie (OP_Transaction), which makes SQLite drop a stale schema;
    /// the next prepare loads the current one. Whether it ran.
    bool reload_schema() noexcept;

    void begin_readonly() {
        p_.conn.execute("BEGIN DEFERRED");
        internal_sql("PRAGMA query_only=1");
        readonly_txn_ = true;
    }

    /// A read-only transaction ends when the connection is back in autocommit mode, however it got there.
    void after_statement() noexcept;

    void internal_sql(const char* sql) noexcept;

    std::shared_ptr<core> c_;
    pooled p_;
    std::string owner_;
    bool readonly_txn_ = false;
    bool query_only_token_ = false;  ///< query_only is on because the request's token is read-only
    bool wrote_ = false;  ///< a statement that may write ran since the connection was last in autocommit mode
    bool schema_pending_ = false;  ///< a schema change ran in the open transaction: count it once committed
    std::int64_t rowid_ = 0;       ///< the last rowid this stream's own INSERTs produced
    const request_interrupt* stop_ = nullptr;
    std::atomic<bool> in_txn_{false};
};

/// Checks a batch's conditions before anything runs: referenced steps must be earlier, is_autocommit needs v3.
void validate_batch(const hrana::batch& b, int version);

/// Runs a batch whole on a stream. budget: as db_stream::execute.
hrana::batch_result run_batch(db_stream& s, const sql_store& store, const hrana::batch& b, std::size_t* budget = nullptr);

class batch_cursor {
public:
    batch_cursor(db_stream& s, const sql_store& store, hrana::batch b)
        : s_(s), store_(store), b_(std::move(b)), ok_(b_.steps.size()) {}

    /// The next entry; nullopt once the batch is done. Never throws stmt_failure: failures are entries.
    std::optional<hrana::cursor_entry> next();

    /// Whether a statement is being stepped (it holds the stream's connection).
    [[nodiscard]] bool running() const noexcept { return cur_.has_value(); }

private:
    db_stream& s_;
    const sql_store& store_;
    hrana::batch b_;
    std::vector<std::optional<bool>> ok_;
    std::size_t i_ = 0;
    std::optional<db_stream::running_stmt> cur_;
};

} // namespace libsql::server::detail
