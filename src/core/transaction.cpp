#include "libsql/transaction.hpp"

#include <utility>

namespace libsql {

namespace {
void run_sql(detail::connection_backend& c, const std::string& sql) {
    c.execute_batch(sql, libsql::source_location::current());
}
} // namespace

void transaction_base::check_active(const char* what) const {
    switch (state_) {
    case state::active: return;
    case state::committed: throw usage_error(std::string("cannot ") + what + ": already committed");
    case state::rolled_back: throw usage_error(std::string("cannot ") + what + ": already rolled back");
    case state::empty: throw usage_error(std::string("cannot ") + what + ": no transaction (empty or moved from)");
    }
}

void transaction_base::run(const std::string& sql) const { run_sql(*conn_, sql); }

libsql::savepoint transaction_base::savepoint() {
    check_active("open a savepoint");
    return libsql::savepoint(conn_);
}

libsql::savepoint transaction_base::nested() { return savepoint(); }

namespace {
const char* begin_sql(transaction_behavior b) {
    switch (b) {
    case transaction_behavior::immediate: return "BEGIN IMMEDIATE";
    case transaction_behavior::exclusive: return "BEGIN EXCLUSIVE";
    default: return "BEGIN DEFERRED";
    }
}
} // namespace

transaction::transaction(std::shared_ptr<detail::connection_backend> c, transaction_behavior b)
    : transaction_base(std::move(c)), behavior_(b) {
    bool begun = false;
    try {
        run(begin_sql(b));
        begun = true;
        if (b == transaction_behavior::read_only) run("PRAGMA query_only = 1");
    } catch (...) {
        // Only a transaction this constructor began is ours to roll back: when BEGIN itself failed (one is open
        // already, say), the open one belongs to someone else.
        if (begun && !conn_->is_autocommit()) {
            try { run("ROLLBACK"); } catch (...) {}
        }
        state_ = state::empty;
        throw;
    }
}

transaction& transaction::operator=(transaction&& o) noexcept {
    if (this != &o) {
        abandon();
        conn_ = std::move(o.conn_);
        state_ = std::exchange(o.state_, state::empty);
        behavior_ = o.behavior_;
    }
    return *this;
}

void transaction::end_read_only() noexcept {
    if (behavior_ == transaction_behavior::read_only && conn_ && !conn_->is_closed()) {
        try { run("PRAGMA query_only = 0"); } catch (...) {}
    }
}

transaction::~transaction() { abandon(); }

void transaction::abandon() noexcept {
    if (state_ == state::active && conn_ && !conn_->is_closed()) {
        try {
            if (!conn_->is_autocommit()) run("ROLLBACK");
        } catch (...) {
            // A destructor cannot report; the engine rolls back on close at the latest.
        }
        end_read_only();
    }
}

void transaction::commit() {
    check_active("commit");
    run("COMMIT");
    state_ = state::committed;
    end_read_only();
}

void transaction::rollback() {
    check_active("roll back");
    state_ = state::rolled_back;
    struct restore { transaction* t; ~restore() { t->end_read_only(); } } guard{this};
    if (!conn_->is_autocommit()) run("ROLLBACK");
}

savepoint::savepoint(std::shared_ptr<detail::connection_backend> c)
    : transaction_base(std::move(c)), name_("libsql_sp_" + std::to_string(++conn_->next_savepoint)) {
    try {
        run("SAVEPOINT " + name_);
    } catch (...) {
        state_ = state::empty;
        throw;
    }
}

savepoint& savepoint::operator=(savepoint&& o) noexcept {
    if (this != &o) {
        abandon();
        conn_ = std::move(o.conn_);
        state_ = std::exchange(o.state_, state::empty);
        name_ = std::move(o.name_);
    }
    return *this;
}

savepoint::~savepoint() { abandon(); }

void savepoint::abandon() noexcept {
    if (state_ == state::active && conn_ && !conn_->is_closed()) {
        try {
            run("ROLLBACK TO " + name_ + "; RELEASE " + name_);
        } catch (...) {
        }
    }
}

void savepoint::commit() {
    check_active("release a savepoint");
    run("RELEASE " + name_);
    state_ = state::committed;
}

void savepoint::rollback() {
    check_active("roll back a savepoint");
    state_ = state::rolled_back;
    run("ROLLBACK TO " + name_ + "; RELEASE " + name_);
}

} // namespace libsql
