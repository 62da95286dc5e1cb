// Tests for libsql/hooks.hpp and the connection's hook setters: the authorizer, the update, commit and rollback
// hooks, and what happens when a hook throws.
#include "libsql/hooks.hpp"

#include "libsql/database.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

using namespace std::string_literals;

namespace {

/// A user exception type the library has never heard of: it must reach the caller as itself.
class hook_failure : public std::runtime_error {
public:
    explicit hook_failure(const std::string& what, int t = 0) : std::runtime_error(what), tag(t) {}
    int tag;
};

struct recorded_request {
    libsql::authorizer_action action;
    std::optional<std::string> arg1, arg2, database, trigger_or_view;
};

std::optional<std::string> copy(std::optional<std::string_view> v) {
    return v ? std::optional<std::string>(std::string(*v)) : std::nullopt;
}

class hooks_db : public ::testing::Test {
protected:
    void SetUp() override {
        conn.execute_batch(
            "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT, secret TEXT);"
            "INSERT INTO t VALUES (1, 'one', 's1'), (2, 'two', 's2');");
    }
    int count() { return conn.query_value<int>("SELECT count(*) FROM t"); }
    libsql::database db{":memory:"};
    libsql::connection conn = db.connect();
};

} // namespace

// --- authorizer

TEST_F(hooks_db, authorizer_allow_deny_ignore) {
    conn.authorizer([](const libsql::authorizer_request& r) {
        if (r.action == libsql::authorizer_action::read && r.arg2 == "secret") return libsql::authorizer_result::ignore;
        if (r.action == libsql::authorizer_action::delete_) return libsql::authorizer_result::deny;
        return libsql::authorizer_result::allow;
    });
    // Ignored column reads come back as NULL.
    const auto r = conn.query_row("SELECT v, secret FROM t WHERE id = 1");
    EXPECT_EQ(r.get<std::string>(0), "one");
    EXPECT_TRUE(r.is_null(1));
    // Denied actions fail when the statement is prepared.
    try {
        (void)conn.prepare("DELETE FROM t");
        FAIL() << "no throw";
    } catch (const libsql::auth_error& e) {
        EXPECT_EQ(e.code(), 23);  // SQLITE_AUTH
        EXPECT_EQ(e.sql(), "DELETE FROM t");
    }
    EXPECT_THROW(conn.execute("DELETE FROM t WHERE id = 1"), libsql::auth_error);
    EXPECT_EQ(count(), 2);
    // Allowed actions go ahead.
    EXPECT_EQ(conn.execute("INSERT INTO t(v) VALUES ('three')"), 1);
}

TEST_F(hooks_db, authorizer_ignore_on_delete_still_deletes) {
    // SQLite's rule: IGNORE for SQLITE_DELETE only turns the truncate optimisation off; the rows still go.
    conn.authorizer([](const libsql::authorizer_request& r) {
        return r.action == libsql::authorizer_action::delete_ ? libsql::authorizer_result::ignore
                                                              : libsql::authorizer_result::allow;
    });
    EXPECT_EQ(conn.execute("DELETE FROM t"), 2);
    conn.authorizer(nullptr);
    EXPECT_EQ(count(), 0);
}

TEST_F(hooks_db, authorizer_request_fields) {
    std::vector<recorded_request> seen;
    conn.authorizer([&](const libsql::authorizer_request& r) {
        seen.push_back({r.action, copy(r.arg1), copy(r.arg2), copy(r.database), copy(r.trigger_or_view)});
        return libsql::authorizer_result::allow;
    });
    (void)conn.prepare("SELECT v FROM t");
    conn.authorizer(nullptr);

    ASSERT_FALSE(seen.empty());
    EXPECT_EQ(seen[0].action, libsql::authorizer_action::select);
    EXPECT_FALSE(seen[0].arg1.has_value());
    bool saw_read = false;
    for (const auto& s : seen) {
        if (s.action != libsql::authorizer_action::read) continue;
        saw_read = true;
        EXPECT_EQ(s.arg1, "t");
        EXPECT_EQ(s.arg2, "v");
        EXPECT_EQ(s.database, "main");
        EXPECT_FALSE(s.trigger_or_view.has_value());
    }
    EXPECT_TRUE(saw_read);

    // Actions inside a view name the view.
    conn.execute("CREATE VIEW vw AS SELECT v FROM t");
    seen.clear();
    conn.authorizer([&](const libsql::authorizer_request& r) {
        seen.push_back({r.action, copy(r.arg1), copy(r.arg2), copy(r.database), copy(r.trigger_or_view)});
        return libsql::authorizer_result::allow;
    });
    (void)conn.prepare("SELECT * FROM vw");
    conn.authorizer(nullptr);
    bool saw_view_read = false;
    for (const auto& s : seen)
        if (s.action == libsql::authorizer_action::read && s.arg1 == "t" && s.trigger_or_view == "vw") saw_view_read = true;
    EXPECT_TRUE(saw_view_read);

    // Inserts and pragmas.
    seen.clear();
    conn.authorizer([&](const libsql::authorizer_request& r) {
        seen.push_back({r.action, copy(r.arg1), copy(r.arg2), copy(r.database), copy(r.trigger_or_view)});
        return libsql::authorizer_result::allow;
    });
    (void)conn.prepare("INSERT INTO t(v) VALUES ('x')");
    (void)conn.prepare("PRAGMA user_version = 5");
    conn.authorizer(nullptr);
    bool saw_insert = false, saw_pragma = false;
    for (const auto& s : seen) {
        if (s.action == libsql::authorizer_action::insert && s.arg1 == "t" && s.database == "main") saw_insert = true;
        if (s.action == libsql::authorizer_action::pragma && s.arg1 == "user_version" && s.arg2 == "5") saw_pragma = true;
    }
    EXPECT_TRUE(saw_insert);
    EXPECT_TRUE(saw_pragma);
}

TEST_F(hooks_db, authorizer_replace_and_remove) {
    int first = 0, second = 0;
    conn.authorizer([&](const libsql::authorizer_request&) {
        ++first;
        return libsql::authorizer_result::deny;
    });
    EXPECT_THROW((void)conn.prepare("SELECT 1"), libsql::auth_error);
    EXPECT_GT(first, 0);

    conn.authorizer([&](const libsql::authorizer_request&) {
        ++second;
        return libsql::authorizer_result::allow;
    });
    const int first_before = first;
    EXPECT_EQ(conn.query_value<int>("SELECT 1"), 1);
    EXPECT_EQ(first, first_before);  // replaced: the old one is not called
    EXPECT_GT(second, 0);

    conn.authorizer(nullptr);
    const int second_before = second;
    EXPECT_EQ(conn.query_value<int>("SELECT 2"), 2);
    EXPECT_EQ(second, second_before);  // removed
}

TEST_F(hooks_db, action_names) {
    EXPECT_EQ(libsql::to_string(libsql::authorizer_action::read), "read");
    EXPECT_EQ(libsql::to_string(libsql::authorizer_action::delete_), "delete");
    EXPECT_EQ(libsql::to_string(libsql::authorizer_action::create_index), "create_index");
    EXPECT_EQ(libsql::to_string(libsql::authorizer_action::recursive), "recursive");
    EXPECT_EQ(libsql::to_string(static_cast<libsql::authorizer_action>(999)), "unknown");
    EXPECT_EQ(libsql::to_string(libsql::update_kind::insert), "insert");
    EXPECT_EQ(libsql::to_string(libsql::update_kind::update), "update");
    EXPECT_EQ(libsql::to_string(libsql::update_kind::delete_), "delete");
}

// --- update hook

TEST_F(hooks_db, update_hook_sees_each_change) {
    std::vector<std::tuple<libsql::update_kind, std::string, std::string, std::int64_t>> seen;
    conn.update_hook([&](libsql::update_kind k, std::string_view database, std::string_view table, std::int64_t rowid) {
        seen.emplace_back(k, std::string(database), std::string(table), rowid);
    });
    conn.execute("INSERT INTO t(id, v) VALUES (10, 'ten')");
    conn.execute("UPDATE t SET v = 'TEN' WHERE id = 10");
    conn.execute("DELETE FROM t WHERE id IN (1, 10)");
    ASSERT_EQ(seen.size(), 4u);
    EXPECT_EQ(seen[0], std::make_tuple(libsql::update_kind::insert, "main"s, "t"s, std::int64_t{10}));
    EXPECT_EQ(seen[1], std::make_tuple(libsql::update_kind::update, "main"s, "t"s, std::int64_t{10}));
    EXPECT_EQ(std::get<0>(seen[2]), libsql::update_kind::delete_);
    EXPECT_EQ(std::get<0>(seen[3]), libsql::update_kind::delete_);
    EXPECT_EQ(std::get<3>(seen[2]) + std::get<3>(seen[3]), 11);

    // Replacing: only the new hook runs. Removing: none.
    int replaced = 0;
    conn.update_hook([&](libsql::update_kind, std::string_view, std::string_view, std::int64_t) { ++replaced; });
    conn.execute("INSERT INTO t(v) VALUES ('x')");
    EXPECT_EQ(replaced, 1);
    EXPECT_EQ(seen.size(), 4u);
    conn.update_hook(nullptr);
    conn.execute("INSERT INTO t(v) VALUES ('y')");
    EXPECT_EQ(replaced, 1);
}

TEST_F(hooks_db, throwing_update_hook_in_autocommit) {
    conn.update_hook([](libsql::update_kind, std::string_view, std::string_view, std::int64_t rowid) {
        throw hook_failure("update hook refused", static_cast<int>(rowid));
    });
    try {
        conn.execute("INSERT INTO t(id, v) VALUES (50, 'fifty')");
        FAIL() << "no throw";
    } catch (const hook_failure& e) {
        EXPECT_STREQ(e.what(), "update hook refused");
        EXPECT_EQ(e.tag, 50);
    }
    conn.update_hook(nullptr);
    // The statement's change was rolled back with its autocommit transaction.
    EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM t WHERE id = 50"), 0);
    EXPECT_TRUE(conn.is_autocommit());
    // And the connection still works.
    EXPECT_EQ(conn.execute("INSERT INTO t(id, v) VALUES (50, 'fifty')"), 1);
    EXPECT_EQ(count(), 3);
}

TEST_F(hooks_db, throwing_update_hook_through_a_prepared_statement_and_a_batch) {
    conn.update_hook([](libsql::update_kind, std::string_view, std::string_view, std::int64_t) {
        throw hook_failure("no");
    });
    auto st = conn.prepare("INSERT INTO t(v) VALUES (?)");
    EXPECT_THROW(st.execute("a"), hook_failure);
    EXPECT_THROW(conn.execute_batch("INSERT INTO t(v) VALUES ('b'); INSERT INTO t(v) VALUES ('c');"), hook_failure);
    EXPECT_THROW((void)conn.query_row("INSERT INTO t(v) VALUES ('d') RETURNING id"), hook_failure);
    conn.update_hook(nullptr);
    EXPECT_EQ(count(), 2);
    EXPECT_EQ(st.execute("e"), 1);  // the same statement runs once the hook is gone
}

TEST_F(hooks_db, throwing_update_hook_inside_a_transaction) {
    auto tx = conn.transaction();
    conn.update_hook([](libsql::update_kind, std::string_view, std::string_view, std::int64_t) {
        throw hook_failure("inside");
    });
    EXPECT_THROW(conn.execute("INSERT INTO t(v) VALUES ('x')"), hook_failure);
    conn.update_hook(nullptr);
    // The transaction is still there for the caller to decide.
    EXPECT_FALSE(conn.is_autocommit());
    tx.rollback();
    EXPECT_EQ(count(), 2);
}

// --- commit and rollback hooks

TEST_F(hooks_db, commit_hook_can_veto) {
    int commits = 0;
    conn.commit_hook([&] {
        ++commits;
        return true;
    });
    conn.execute("INSERT INTO t(v) VALUES ('ok')");
    EXPECT_EQ(commits, 1);

    conn.commit_hook([] { return false; });
    try {
        conn.execute("INSERT INTO t(v) VALUES ('vetoed')");
        FAIL() << "no throw";
    } catch (const libsql::constraint_violation& e) {
        EXPECT_EQ(e.extended_code(), 531);  // SQLITE_CONSTRAINT_COMMITHOOK
    }
    EXPECT_TRUE(conn.is_autocommit());

    // An explicit transaction's commit is vetoed the same way, and its work is gone.
    auto tx = conn.transaction();
    conn.execute("INSERT INTO t(v) VALUES ('in tx')");
    EXPECT_THROW(tx.commit(), libsql::constraint_violation);
    EXPECT_TRUE(conn.is_autocommit());

    conn.commit_hook(nullptr);
    EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM t WHERE v IN ('vetoed', 'in tx')"), 0);
    EXPECT_EQ(count(), 3);
    EXPECT_EQ(commits, 1);  // replaced, then removed
}

TEST_F(hooks_db, rollback_hook) {
    int rollbacks = 0;
    conn.rollback_hook([&] { ++rollbacks; });
    {
        auto tx = conn.transaction();
        conn.execute("INSERT INTO t(v) VALUES ('x')");
    }
    EXPECT_EQ(rollbacks, 1);
    {
        auto tx = conn.transaction();
        conn.execute("INSERT INTO t(v) VALUES ('y')");
        tx.commit();
    }
    EXPECT_EQ(rollbacks, 1);  // a commit is not a rollback

    // A vetoed commit is a rollback.
    conn.commit_hook([] { return false; });
    EXPECT_THROW(conn.execute("INSERT INTO t(v) VALUES ('z')"), libsql::constraint_violation);
    conn.commit_hook(nullptr);
    EXPECT_EQ(rollbacks, 2);

    int replaced = 0;
    conn.rollback_hook([&] { ++replaced; });
    conn.execute("BEGIN");
    conn.execute("ROLLBACK");
    EXPECT_EQ(replaced, 1);
    EXPECT_EQ(rollbacks, 2);
    conn.rollback_hook(nullptr);
    conn.execute("BEGIN");
    conn.execute("ROLLBACK");
    EXPECT_EQ(replaced, 1);
    EXPECT_EQ(count(), 3);
}

// --- hooks that throw

TEST_F(hooks_db, throwing_authorizer_reaches_the_caller) {
    conn.authorizer([](const libsql::authorizer_request& r) -> libsql::authorizer_result {
        if (r.action == libsql::authorizer_action::insert) throw hook_failure("authorizer says no", 7);
        return libsql::authorizer_result::allow;
    });
    try {
        (void)conn.prepare("INSERT INTO t(v) VALUES ('x')");
        FAIL() << "no throw";
    } catch (const hook_failure& e) {
        EXPECT_EQ(e.tag, 7);
    }
    EXPECT_THROW(conn.execute("INSERT INTO t(v) VALUES ('x')"), hook_failure);
    EXPECT_THROW(conn.execute_batch("SELECT 1; INSERT INTO t(v) VALUES ('x');"), hook_failure);
    EXPECT_THROW(conn.execute_transactional_batch("INSERT INTO t(v) VALUES ('x');"), hook_failure);
    EXPECT_TRUE(conn.is_autocommit());
    // Reads are still authorised and work; nothing was inserted.
    EXPECT_EQ(count(), 2);
    conn.authorizer(nullptr);
    EXPECT_EQ(conn.execute("INSERT INTO t(v) VALUES ('x')"), 1);
}

TEST_F(hooks_db, throwing_commit_hook_reaches_the_caller) {
    conn.commit_hook([]() -> bool { throw hook_failure("commit hook exploded", 3); });
    try {
        conn.execute("INSERT INTO t(v) VALUES ('x')");
        FAIL() << "no throw";
    } catch (const hook_failure& e) {
        EXPECT_EQ(e.tag, 3);
    }
    EXPECT_TRUE(conn.is_autocommit());

    auto tx = conn.transaction();
    conn.execute("INSERT INTO t(v) VALUES ('y')");
    EXPECT_THROW(tx.commit(), hook_failure);
    EXPECT_TRUE(conn.is_autocommit());  // the commit became a rollback

    conn.commit_hook(nullptr);
    EXPECT_EQ(count(), 2);  // neither insert stayed
    EXPECT_EQ(conn.execute("INSERT INTO t(v) VALUES ('z')"), 1);
    EXPECT_EQ(count(), 3);
}

TEST_F(hooks_db, throwing_rollback_hook_reaches_the_caller) {
    conn.rollback_hook([] { throw hook_failure("rollback hook exploded"); });
    auto tx = conn.transaction();
    conn.execute("INSERT INTO t(v) VALUES ('x')");
    EXPECT_THROW(tx.rollback(), hook_failure);
    conn.rollback_hook(nullptr);
    // The rollback itself happened.
    EXPECT_TRUE(conn.is_autocommit());
    EXPECT_EQ(count(), 2);
    EXPECT_EQ(conn.execute("INSERT INTO t(v) VALUES ('y')"), 1);
}

TEST_F(hooks_db, hooks_are_per_connection) {
    int calls = 0;
    conn.update_hook([&](libsql::update_kind, std::string_view, std::string_view, std::int64_t) { ++calls; });
    auto other = db.connect();
    other.execute("INSERT INTO t(v) VALUES ('other')");
    EXPECT_EQ(calls, 0);
    conn.execute("INSERT INTO t(v) VALUES ('mine')");
    EXPECT_EQ(calls, 1);
}
