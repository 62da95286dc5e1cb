// A replica's connection: every statement is prepared on the local file first. Read-only statements outside a
// transaction run locally; everything else (writes, transaction control, and every statement while a transaction
// is open on the primary) runs on the primary through a remote connection. With read_your_writes, a write that
// leaves the primary in autocommit (a plain write, or COMMIT) is followed by a sync before the call returns.
#include "replica/replica.hpp"

#include "libsql/rows.hpp"
#include "local/local.hpp"
#include "remote/remote.hpp"

#include <cctype>
#include <atomic>
#include <mutex>
#include <string>
#include <vector>

namespace libsql::detail::replica {

namespace {

enum class keyword : std::uint8_t { none, begin, commit, rollback, savepoint, release, remote_pragma };

/// Skips whitespace and comments.
const char* skip_space(const char* p, const char* end) {
    for (;;) {
        while (p < end && std::isspace(static_cast<unsigned char>(*p))) ++p;
        if (end - p >= 2 && p[0] == '-' && p[1] == '-') {
            while (p < end && *p != '\n') ++p;
        } else if (end - p >= 2 && p[0] == '/' && p[1] == '*') {
            p += 2;
            while (end - p >= 2 && !(p[0] == '*' && p[1] == '/')) ++p;
            p = end - p >= 2 ? p + 2 : end;
        } else {
            return p;
        }
    }
}

keyword first_keyword(std::string_view sql) {
    const std::string w = remote::first_keyword(sql);
    if (w == "BEGIN") return keyword::begin;
    if (w == "COMMIT" || w == "END") return keyword::commit;
    if (w == "ROLLBACK") return keyword::rollback;
    if (w == "SAVEPOINT") return keyword::savepoint;
    if (w == "RELEASE") return keyword::release;
    if (w == "PRAGMA") {
        // Connection settings (foreign_keys, query_only, ...) belong to the session that runs the writes: the
        // primary's. Only these inspect or configure the local file and connection.
        const char* end = sql.data() + sql.size();
        const char* p = skip_space(skip_space(sql.data(), end) + w.size(), end);
        std::string name;
        while (p < end && (std::isalnum(static_cast<unsigned char>(*p)) || *p == '_' || *p == '.'))
            name.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(*p++))));
        if (name.starts_with("main.")) name.erase(0, 5);
        if (name == "busy_timeout" || name == "integrity_check" || name == "quick_check" || name == "data_version")
            return keyword::none;
        return keyword::remote_pragma;
    }
    return keyword::none;
}

/// Rethrows an engine error (local or from the primary) as the replica transport's: the same class, code, message
/// and SQL. Errors that are not the engine's (network, protocol, usage) keep what they say.
[[noreturn]] void retag(const libsql::error& e) {
    if (e.extended_code() == 0 || e.transport() == transport::replica) throw;
    std::string msg = e.what();
    const std::string suffix = " [" + std::string(e.code_name()) + "]";
    if (const auto at = msg.rfind(suffix); at != std::string::npos) msg.erase(at);
    error_info info = e.info();
    info.transport = transport::replica;
    throw_result_code(e.extended_code(), msg, std::move(info));
}

class replica_connection;

class replica_statement final : public statement_backend {
public:
    replica_statement(std::shared_ptr<replica_connection> conn, std::string sql, libsql::source_location at,
                      std::shared_ptr<statement_backend> local, bool local_readonly);
    ~replica_statement() override;

    int parameter_count() const noexcept override { return any().parameter_count(); }
    std::string_view parameter_name(int index) const override { return any().parameter_name(index); }
    int parameter_index(std::string_view name) const override { return any().parameter_index(name); }
    // The local statement checks the index first (and raises the engine's error); the value is kept for a run on
    // the primary.
    void bind_null(int index) override {
        if (local_) local_->bind_null(index);
        record(index, value());
    }
    void bind_integer(int index, std::int64_t v) override {
        if (local_) local_->bind_integer(index, v);
        record(index, value(v));
    }
    void bind_real(int index, double v) override {
        if (local_) local_->bind_real(index, v);
        record(index, value(v));
    }
    void bind_text(int index, const char* data, std::size_t size, bool copy) override {
        if (local_) local_->bind_text(index, data, size, copy);
        record(index, value(value_view::text(std::string_view(data, size))));
    }
    void bind_blob(int index, const std::byte* data, std::size_t size, bool copy) override {
        if (local_) local_->bind_blob(index, data, size, copy);
        record(index, value(value_view::blob(blob_view(data, size))));
    }
    void clear_bindings() override {
        binds_.clear();
        if (local_) local_->clear_bindings();
        if (remote_) remote_->clear_bindings();
    }
    void reset() noexcept override {
        if (active_) active_->reset();
        close_local_cursor();
        local_active_ = false;
        active_ = nullptr;
        has_row = false;
        ++generation;
    }
    bool step() override {
        // A local read under way (past its first row) continues on the local statement: the same work per row as
        // on a local connection, plus the generation. Routing was decided at its first step and holds until it
        // ends or resets (its snapshot is the local file's).
        if (local_active_) [[likely]] {
            bool more;
            try {
                more = local_fast_->step();  // local_statement is final: a direct call
            } catch (const libsql::error& e) {
                retag(e);
            }
            has_row = more;
            ++generation;
            if (more) [[likely]] return true;
            end_local_run();
            return false;
        }
        try {
            return step_here();
        } catch (const libsql::error& e) {
            retag(e);
        }
    }
    std::int64_t run() override;

    std::string_view column_name(int index) const override { return current().column_name(index); }
    int column_index(std::string_view name) const override { return current().column_index(name); }
    value_view column(int index) const override {
        if (local_active_) [[likely]] return local_column(index);
        return active_->column(index);
    }
    std::shared_ptr<const std::vector<std::string>> column_names() const override { return current().column_names(); }
    std::vector<column_info> columns() const override { return current().columns(); }
    bool readonly() const override { return local_ ? local_readonly_ : remote_->readonly(); }
    bool is_explain() const override { return any().is_explain(); }
    std::string_view sql() const override { return sql_; }
    libsql::transport transport() const noexcept override { return libsql::transport::replica; }
    std::string expanded_sql() const override { return current().expanded_sql(); }

    void prepare_remote();

private:
    void record(int index, value v) {
        if (index < 1) return;  // the local statement reports the error; without one the remote does
        const auto i = static_cast<std::size_t>(index);
        if (binds_.size() < i) binds_.resize(i);
        binds_[i - 1] = std::move(v);
    }
    const statement_backend& any() const { return local_ ? *local_ : *remote_; }
    const statement_backend& current() const { return active_ ? *active_ : any(); }
    statement_backend& start();
    void after_remote(bool ok);
    bool step_here();
    std::int64_t run_here();
    void close_local_cursor() noexcept;
    void end_local_run() noexcept {
        close_local_cursor();
        local_active_ = false;
        active_ = nullptr;
    }
    /// local_statement::column() for a local read under way, inline (the local file's statement handle and lock).
    value_view local_column(int index) const { return read_column(local_raw_, local_mutex_, index); }

    std::shared_ptr<replica_connection> conn_;
    std::string sql_;
    std::shared_ptr<statement_backend> local_;
    std::shared_ptr<statement_backend> remote_;
    statement_backend* active_ = nullptr;
    // The local statement as what it is (the fast path of a local read) and its engine handle and lock.
    local_statement* local_fast_ = nullptr;
    sqlite3_stmt* local_raw_ = nullptr;
    sqlite3_mutex* local_mutex_ = nullptr;
    /// A local read is under way past its first row: active_ == local_, local_open_. step() and column() then go
    /// straight to the local statement. Relaxed, as generation: connection::reset() from another thread clears it.
    relaxed<bool> local_active_;
    bool local_readonly_ = false;
    bool active_remote_ = false;
    bool remote_started_ = false;
    bool local_open_ = false;  // a local read is under way (its snapshot pins the connection's view)
    keyword keyword_;
    std::vector<value> binds_;
};

class replica_connection final : public connection_backend, public std::enable_shared_from_this<replica_connection> {
public:
    explicit replica_connection(std::shared_ptr<replica_core> core)
        : core_(std::move(core)), local_(std::make_shared<local_connection>(core_->path(), core_->local_options())) {}
    ~replica_connection() override { close(); }

    std::shared_ptr<statement_backend> prepare(std::string_view sql, libsql::source_location where, bool single) override {
        try {
            return prepare_here(sql, where, single);
        } catch (const libsql::error& e) {
            retag(e);
        }
    }

    std::shared_ptr<statement_backend> prepare_here(std::string_view sql, libsql::source_location where, bool single) {
        std::shared_ptr<statement_backend> local;
        try {
            local = local_->prepare(sql, where, single);
        } catch (const sql_error&) {
            // Not preparable here (a table the replica does not have yet, syntax only the primary knows): the
            // primary decides. A frozen replica has no primary.
            if (core_->frozen()) throw;
        }
        const bool have_local = local != nullptr;
        const bool ro = have_local && local->readonly();
        auto st = std::make_shared<replica_statement>(shared_from_this(), std::string(sql), where, std::move(local), ro);
        if (!have_local) st->prepare_remote();  // its errors surface now, as a local prepare's would
        return st;
    }

    void execute_batch(std::string_view sql, libsql::source_location where) override {
        try {
            if (core_->frozen() && !in_remote_txn) {
                local_->execute_batch(sql, where);
                return;
            }
            if (!in_remote_txn && !stale_snapshot && all_local(sql, where)) {
                local_->execute_batch(sql, where);
                return;
            }
            // Anything for the primary: the whole text goes there as one batch, so that what one statement sets
            // (a PRAGMA, a temporary table) holds for the next even where the primary keeps no state between
            // requests.
            auto& r = remote();
            try {
                r.execute_batch(sql, where);
            } catch (...) {
                after_remote_batch(false);
                throw;
            }
            after_remote_batch(true);
        } catch (const libsql::error& e) {
            retag(e);
        }
    }

    bool try_execute_transactional_batch(std::string_view sql, libsql::source_location where) override {
        // All of it on the primary in one round trip when the transport can (a frozen replica or an open remote
        // transaction leaves it to the generic wrapping).
        if (core_->frozen() || in_remote_txn) return false;
        auto& r = remote();
        if (!r.try_execute_transactional_batch(sql, where)) return false;
        wrote_remotely();
        in_remote_txn = !r.is_autocommit();
        if (!in_remote_txn && core_->options().read_your_writes) (void)core_->sync();
        return true;
    }

    std::int64_t changes() const override { return last_write_remote && remote_ ? remote_->changes() : local_->changes(); }
    std::int64_t total_changes() const override { return local_->total_changes() + (remote_ ? remote_->total_changes() : 0); }
    std::int64_t last_insert_rowid() const override {
        return last_write_remote && remote_ ? remote_->last_insert_rowid() : local_->last_insert_rowid();
    }
    bool is_autocommit() const override { return !in_remote_txn && local_->is_autocommit(); }
    void busy_timeout(std::chrono::milliseconds ms) override {
        local_->busy_timeout(ms);
        if (remote_) {
            try { remote_->busy_timeout(ms); } catch (const unsupported&) {}
        }
    }
    void interrupt() noexcept override {
        local_->interrupt();
        if (remote_) remote_->interrupt();
    }
    void reset() override {
        reset_statements();
        local_->reset();
        if (remote_) remote_->reset();
        in_remote_txn = false;
    }
    void add(replica_statement* st) {
        std::lock_guard lk(statements_mu_);
        statements_.push_back(st);
    }
    void remove(replica_statement* st) noexcept {
        std::lock_guard lk(statements_mu_);
        std::erase(statements_, st);
    }
    void close() noexcept override {
        reset_statements();
        local_->close();
        if (remote_) remote_->close();
        in_remote_txn = false;
    }
    bool is_closed() const noexcept override { return local_->is_closed(); }
    // Hooks, extensions and limits would act on the local engine only, which never sees the writes (they run on the
    // primary): refused rather than half-working, as on a remote connection.
    void set_authorizer(authorizer_callback) override { refuse("authorizer"); }
    void set_update_hook(update_callback) override { refuse("update_hook"); }
    void set_commit_hook(commit_callback) override { refuse("commit_hook"); }
    void set_rollback_hook(rollback_callback) override { refuse("rollback_hook"); }
    void enable_load_extension(bool) override { refuse("enable_load_extension"); }
    void load_extension(const std::string&, const std::optional<std::string>&) override { refuse("load_extension"); }
    int set_limit(libsql::limit, int) override { refuse("set_limit"); }
    libsql::transport transport() const noexcept override { return libsql::transport::replica; }

    connection_backend& remote() {
        if (!remote_) remote_ = core_->remote_database()->connect();
        return *remote_;
    }
    replica_core& core() noexcept { return *core_; }

    [[noreturn]] static void refuse(const char* what) {
        throw unsupported(std::string(what) + ": not available on an embedded replica's connections (writes run on the "
                                              "primary, out of this engine's reach)",
                          error_info{0, {}, {}, transport::replica, {}});
    }

    bool in_remote_txn = false;
    bool last_write_remote = false;
    /// Local reads under way on this connection. While one is, the local connection keeps its snapshot, so after a
    /// write on the primary (synced or not) later reads go to the primary until those cursors end.
    std::atomic<int> local_cursors{0};
    std::atomic<bool> stale_snapshot{false};
    void wrote_remotely() noexcept {
        last_write_remote = true;
        if (local_cursors.load() > 0) stale_snapshot = true;
    }

private:
    void reset_statements() noexcept;

    /// Every statement of the text is a read the local file can answer.
    bool all_local(std::string_view sql, libsql::source_location where) {
        for (const auto piece : remote::split_statements(sql)) {
            if (first_keyword(piece) != keyword::none) return false;
            try {
                if (!local_->prepare(piece, where, false)->readonly()) return false;
            } catch (const sql_error&) {
                return false;
            }
        }
        return true;
    }

    void after_remote_batch(bool ok) {
        try {
            in_remote_txn = !remote_->is_autocommit();
        } catch (...) {
            if (ok) throw;
        }
        wrote_remotely();
        // Statements before a failing one stay done: sync them too, but let the batch's own error win.
        if (!in_remote_txn && core_->options().read_your_writes && !core_->frozen()) {
            if (ok) {
                (void)core_->sync();
            } else {
                try { (void)core_->sync(); } catch (...) {}
            }
        }
    }

    std::shared_ptr<replica_core> core_;
    std::shared_ptr<local_connection> local_;
    std::shared_ptr<connection_backend> remote_;
    std::mutex statements_mu_;
    std::vector<replica_statement*> statements_;
};

void replica_connection::reset_statements() noexcept {
    std::lock_guard lk(statements_mu_);
    for (auto* st : statements_) st->reset();
}

replica_statement::replica_statement(std::shared_ptr<replica_connection> conn, std::string sql, libsql::source_location at,
                                     std::shared_ptr<statement_backend> local, bool local_readonly)
    : conn_(std::move(conn)), sql_(std::move(sql)), local_(std::move(local)), local_readonly_(local_readonly),
      keyword_(first_keyword(sql_)) {
    where = at;
    if (local_) {
        column_count = local_->column_count;
        local_fast_ = dynamic_cast<local_statement*>(local_.get());
        if (local_fast_) {
            local_raw_ = local_fast_->native_handle();  // stable for the statement's life (re-prepares keep it)
            local_mutex_ = sqlite3_db_mutex(sqlite3_db_handle(local_raw_));
        }
    }
    conn_->add(this);
}

replica_statement::~replica_statement() {
    close_local_cursor();
    conn_->remove(this);
}

void replica_statement::close_local_cursor() noexcept {
    if (!local_open_) return;
    local_open_ = false;
    if (conn_->local_cursors.fetch_sub(1) == 1) conn_->stale_snapshot = false;
}

void replica_statement::prepare_remote() {
    if (remote_) return;
    remote_ = conn_->remote().prepare(sql_, where, true);
    if (!local_) column_count = remote_->column_count;
}

statement_backend& replica_statement::start() {
    local_active_ = false;
    const bool frozen = conn_->core().frozen();
    bool go_local;
    if (conn_->in_remote_txn) go_local = false;
    else if (frozen) go_local = true;
    else go_local = local_ && local_readonly_ && keyword_ == keyword::none && !conn_->stale_snapshot;
    if (go_local) {
        if (!local_)
            throw usage_error("this statement was prepared for the primary before the replica was frozen; prepare it again",
                              error_info{0, {}, sql_, transport::replica, where});
        active_ = local_.get();
        active_remote_ = false;
    } else {
        prepare_remote();
        remote_->reset();
        remote_->clear_bindings();
        for (std::size_t i = 0; i < binds_.size(); ++i) remote_->bind(static_cast<int>(i + 1), binds_[i].view(), false);
        active_ = remote_.get();
        active_remote_ = true;
        remote_started_ = false;
    }
    column_count = active_->column_count;
    return *active_;
}

void replica_statement::after_remote(bool ok) {
    auto& c = *conn_;
    try {
        c.in_remote_txn = !c.remote().is_autocommit();
    } catch (...) {
        if (ok) throw;
    }
    const bool writes = !readonly() || keyword_ == keyword::commit || keyword_ == keyword::release;
    if (writes) c.wrote_remotely();
    if (ok && writes && !c.in_remote_txn && c.core().options().read_your_writes && !c.core().frozen()) (void)c.core().sync();
}

std::int64_t replica_statement::run() {
    try {
        return run_here();
    } catch (const libsql::error& e) {
        retag(e);
    }
}

bool replica_statement::step_here() {
    if (!active_) start();
    bool more;
    try {
        more = active_->step();
    } catch (...) {
        if (active_remote_ && !remote_started_) {
            remote_started_ = true;
            after_remote(false);
        }
        throw;
    }
    has_row = more;
    ++generation;
    if (!active_remote_) {
        if (more && !local_open_) {
            local_open_ = true;
            conn_->local_cursors.fetch_add(1);
        } else if (!more) {
            close_local_cursor();
        }
        // The next steps and this row's columns take the fast path. The local statement may have re-prepared on
        // this first step (a schema change): its column count is the current one.
        if (more && local_fast_ && active_ == local_fast_) {
            column_count = local_fast_->column_count;
            local_active_ = true;
        }
    }
    if (active_remote_ && !remote_started_) {
        remote_started_ = true;
        after_remote(true);
    }
    if (!more) active_ = nullptr;
    return more;
}

std::int64_t replica_statement::run_here() {
    auto& st = start();
    std::int64_t n;
    try {
        n = st.run();
    } catch (...) {
        const bool remote = active_remote_;
        local_active_ = false;
        active_ = nullptr;
        has_row = false;
        ++generation;
        if (remote) after_remote(false);
        throw;
    }
    const bool remote = active_remote_;
    active_ = nullptr;
    has_row = false;
    ++generation;
    if (!remote && !local_readonly_) conn_->last_write_remote = false;  // a local write (frozen replica)
    if (remote) after_remote(true);
    return n;
}

} // namespace

std::shared_ptr<connection_backend> make_replica_connection(std::shared_ptr<replica_core> core) {
    return std::make_shared<replica_connection>(std::move(core));
}

} // namespace libsql::detail::replica
