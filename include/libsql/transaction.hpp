// libsql/transaction.hpp: RAII transactions and savepoints.
//
//   auto tx = conn.transaction(libsql::transaction_behavior::immediate);
//   conn.execute("INSERT …");
//   { auto sp = tx.savepoint(); conn.execute("…"); }   // rolled back: not released
//   tx.commit();                                        // without this, the destructor rolls back
#pragma once

#include "libsql/detail/backend.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace libsql {

enum class transaction_behavior : std::uint8_t {
    deferred,   ///< BEGIN DEFERRED: locks are taken when first needed
    immediate,  ///< BEGIN IMMEDIATE: the write lock now (no SQLITE_BUSY on the first write later)
    exclusive,  ///< BEGIN EXCLUSIVE
    read_only,  ///< BEGIN DEFERRED with writes refused (PRAGMA query_only) until the transaction ends
};

class savepoint;

/// Common to transaction and savepoint: commit once, or roll back; the destructor rolls back what is still open.
class transaction_base {
public:
    transaction_base(const transaction_base&) = delete;
    transaction_base& operator=(const transaction_base&) = delete;

    [[nodiscard]] bool is_active() const noexcept { return state_ == state::active; }
    /// A savepoint nested inside this one; savepoints nest to any depth.
    [[nodiscard]] libsql::savepoint savepoint();
    /// The same as savepoint(), under a name a savepoint object can use too (inside class savepoint the name
    /// savepoint means the class): auto inner = outer_savepoint.nested();
    [[nodiscard]] libsql::savepoint nested();

protected:
    enum class state : std::uint8_t { empty, active, committed, rolled_back };
    transaction_base() = default;
    explicit transaction_base(std::shared_ptr<detail::connection_backend> c) noexcept : conn_(std::move(c)), state_(state::active) {}
    transaction_base(transaction_base&& o) noexcept : conn_(std::move(o.conn_)), state_(o.state_) { o.state_ = state::empty; }
    ~transaction_base() = default;
    void check_active(const char* what) const;
    void run(const std::string& sql) const;

    std::shared_ptr<detail::connection_backend> conn_;
    state state_ = state::empty;
};

class transaction : public transaction_base {
public:
    transaction() = default;
    transaction(std::shared_ptr<detail::connection_backend> c, transaction_behavior b);
    transaction(transaction&& o) noexcept : transaction_base(std::move(o)), behavior_(o.behavior_) {}
    transaction& operator=(transaction&& o) noexcept;
    ~transaction();

    /// Commits. A second commit, or a commit after rollback, is a usage_error.
    void commit();
    /// Rolls back. After a commit, or a second time, a usage_error.
    void rollback();
    [[nodiscard]] transaction_behavior behavior() const noexcept { return behavior_; }

private:
    void end_read_only() noexcept;
    void abandon() noexcept;
    transaction_behavior behavior_ = transaction_behavior::deferred;
};

class savepoint : public transaction_base {
public:
    savepoint() = default;
    explicit savepoint(std::shared_ptr<detail::connection_backend> c);
    savepoint(savepoint&& o) noexcept : transaction_base(std::move(o)), name_(std::move(o.name_)) {}
    savepoint& operator=(savepoint&& o) noexcept;
    ~savepoint();

    /// RELEASE: the savepoint's changes join the enclosing transaction (or commit, if there is none).
    void commit();
    /// ROLLBACK TO and RELEASE: undoes the savepoint's changes.
    void rollback();
    [[nodiscard]] const std::string& name() const noexcept { return name_; }

private:
    void abandon() noexcept;
    std::string name_;
};

} // namespace libsql
