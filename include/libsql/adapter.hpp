// libsql/adapter.hpp: helpers an application adapter (an ORM, a repository layer) builds on.
//
//   // Commits when the function returns, rolls back (and rethrows) when it throws; nested calls become savepoints.
//   libsql::transaction_options opts;
//   opts.behavior = libsql::transaction_behavior::immediate;
//   opts.retry.max_attempts = 5;           // on libsql::busy, back off and run the whole transaction again
//   auto id = libsql::in_transaction(conn, [&](libsql::connection& c) {
//       c.execute("INSERT INTO users(name) VALUES (?)", name);
//       return c.last_insert_rowid();
//   }, opts);
//
//   std::cout << libsql::explain_query_plan(conn, "SELECT … JOIN …").to_string();
//
// Only the public connection API is used, so both work on every transport.
#pragma once

#include "libsql/connection.hpp"
#include "libsql/error.hpp"
#include "libsql/transaction.hpp"

#include <chrono>
#include <concepts>
#include <functional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace libsql {

/// Retrying a whole transaction when the database is busy (another connection holds the write lock beyond the
/// connection's busy timeout). The delay doubles (times multiplier) after each failed attempt, up to max_delay.
struct retry_policy {
    int max_attempts = 1;                          ///< 1: no retry
    std::chrono::milliseconds initial_delay{10};   ///< the wait after the first busy attempt
    double multiplier = 2.0;
    std::chrono::milliseconds max_delay{1000};
};

struct transaction_options {
    transaction_behavior behavior = transaction_behavior::deferred;
    retry_policy retry{};
};

namespace detail {
/// The wait before attempt number `attempt + 1` (attempt counts from 1).
[[nodiscard]] std::chrono::milliseconds retry_delay(const retry_policy& p, int attempt) noexcept;
void sleep_for(std::chrono::milliseconds d);

template <class Fn> decltype(auto) invoke_with(Fn& fn, connection& conn) {
    if constexpr (std::is_invocable_v<Fn&, connection&>) return std::invoke(fn, conn);
    else return std::invoke(fn);
}

/// Runs fn inside an open transaction-like guard (transaction or savepoint); commits it when fn returns.
template <class Guard, class Fn>
auto run_guarded(Guard& guard, Fn& fn, connection& conn) -> decltype(invoke_with(fn, conn)) {
    using result = decltype(invoke_with(fn, conn));
    if constexpr (std::is_void_v<result>) {
        invoke_with(fn, conn);
        guard.commit();
    } else {
        result r = invoke_with(fn, conn);
        guard.commit();
        // result may be a reference type; forwarding keeps it one, and moves a value out.
        return std::forward<result>(r);
    }
}
} // namespace detail

/// Runs fn (callable as fn(connection&) or fn()) inside a transaction and returns what it returns.
///
/// - fn returns: the transaction commits. fn throws: it rolls back and the exception propagates unchanged.
/// - The connection already in a transaction (!is_autocommit()): the call becomes a savepoint inside it, released
///   on return and rolled back on throw; the behaviour and the retry policy are the outermost call's business and
///   are ignored here (a busy error inside an open transaction can only be cured by ending that transaction).
/// - Outermost: the behaviour picks the BEGIN (deferred, immediate, exclusive, read_only). On libsql::busy, from
///   BEGIN, from fn or from COMMIT, the transaction is rolled back and the whole call, fn included, is retried
///   after a back-off, up to retry.max_attempts; so fn must be safe to run again (no side effects outside the
///   database, or idempotent ones). The last busy error propagates.
template <class Fn> decltype(auto) in_transaction(connection& conn, Fn&& fn, transaction_options options = {}) {
    if (!conn.is_autocommit()) {
        auto sp = conn.savepoint();
        return detail::run_guarded(sp, fn, conn);
    }
    const int attempts = options.retry.max_attempts < 1 ? 1 : options.retry.max_attempts;
    for (int attempt = 1;; ++attempt) {
        try {
            auto tx = conn.transaction(options.behavior);
            return detail::run_guarded(tx, fn, conn);
        } catch (const busy&) {
            // The transaction object has rolled back by now (its destructor ran), so the lock is released.
            if (attempt >= attempts) throw;
        }
        detail::sleep_for(detail::retry_delay(options.retry, attempt));
    }
}

/// The same with only a behaviour (no retry).
template <class Fn> decltype(auto) in_transaction(connection& conn, Fn&& fn, transaction_behavior behavior) {
    return in_transaction(conn, std::forward<Fn>(fn), transaction_options{behavior, retry_policy{}});
}

/// One step of a query plan, as EXPLAIN QUERY PLAN reports it.
struct query_plan_node {
    int id = 0;
    int parent = 0;  ///< 0 for a top-level step
    std::string detail;
    std::vector<query_plan_node> children;
    friend bool operator==(const query_plan_node&, const query_plan_node&) = default;
};

/// A query plan as a tree (EXPLAIN QUERY PLAN's rows linked by their parent ids, in the engine's order).
struct query_plan {
    std::vector<query_plan_node> nodes;  ///< the top-level steps

    /// Rendered the way the sqlite3 shell prints it (".eqp on"):
    ///   QUERY PLAN
    ///   |--SCAN a
    ///   `--SEARCH b USING INTEGER PRIMARY KEY (rowid=?)
    [[nodiscard]] std::string to_string() const;
    friend bool operator==(const query_plan&, const query_plan&) = default;
};

/// The plan of one statement. Parameters in sql may stay unbound (they are NULL while planning).
[[nodiscard]] query_plan explain_query_plan(connection& conn, std::string_view sql);

} // namespace libsql
