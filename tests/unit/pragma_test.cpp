// Tests for libsql/pragma.hpp: the typed PRAGMA helpers and the generic pragma query.
#include "libsql/pragma.hpp"

#include "support/temp_files.hpp"
#include "libsql/database.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <optional>
#include <string>
#include <unistd.h>
#include <vector>

namespace pragma = libsql::pragma;

namespace {

using libsql::test::temp_db_file;
using libsql::test::temp_dir;

class pragma_db : public ::testing::Test {
protected:
    libsql::database db{":memory:"};
    libsql::connection conn = db.connect();
};

const pragma::table_description* find_table(const std::vector<pragma::table_description>& list, const std::string& name) {
    const auto it = std::find_if(list.begin(), list.end(), [&](const auto& t) { return t.name == name; });
    return it == list.end() ? nullptr : &*it;
}

} // namespace

TEST_F(pragma_db, foreign_keys_on_and_off) {
    conn.execute_batch(
        "CREATE TABLE parent(id INTEGER PRIMARY KEY);"
        "CREATE TABLE child(pid INTEGER REFERENCES parent(id));");
    EXPECT_FALSE(pragma::foreign_keys(conn));  // SQLite's default
    pragma::enable_foreign_keys(conn);
    EXPECT_TRUE(pragma::foreign_keys(conn));
    EXPECT_THROW(conn.execute("INSERT INTO child VALUES (1)"), libsql::foreign_key_violation);
    pragma::disable_foreign_keys(conn);
    EXPECT_FALSE(pragma::foreign_keys(conn));
    EXPECT_EQ(conn.execute("INSERT INTO child VALUES (1)"), 1);  // not checked any more

    // The setting is per connection.
    pragma::enable_foreign_keys(conn);
    auto other = db.connect();
    EXPECT_FALSE(pragma::foreign_keys(other));
}

TEST(pragma_file, journal_mode_on_a_file) {
    const temp_dir dir;
    libsql::database db(dir.file("journal.db"));
    auto conn = db.connect();
    EXPECT_EQ(pragma::get_journal_mode(conn), pragma::journal_mode::delete_);
    EXPECT_EQ(pragma::set_journal_mode(conn, pragma::journal_mode::wal), pragma::journal_mode::wal);
    EXPECT_EQ(pragma::get_journal_mode(conn), pragma::journal_mode::wal);
    // WAL is a property of the file: a new connection sees it.
    auto other = db.connect();
    EXPECT_EQ(pragma::get_journal_mode(other), pragma::journal_mode::wal);
    other.execute("CREATE TABLE t(x)");
    EXPECT_TRUE(std::filesystem::exists(dir.file("journal.db-wal")));
    other.close();

    EXPECT_EQ(pragma::set_journal_mode(conn, pragma::journal_mode::truncate), pragma::journal_mode::truncate);
    EXPECT_EQ(pragma::set_journal_mode(conn, pragma::journal_mode::persist), pragma::journal_mode::persist);
    EXPECT_EQ(pragma::set_journal_mode(conn, pragma::journal_mode::memory), pragma::journal_mode::memory);
    EXPECT_EQ(pragma::set_journal_mode(conn, pragma::journal_mode::delete_), pragma::journal_mode::delete_);
    EXPECT_EQ(pragma::get_journal_mode(conn), pragma::journal_mode::delete_);
}

TEST_F(pragma_db, journal_mode_in_memory_stays_memory) {
    EXPECT_EQ(pragma::get_journal_mode(conn), pragma::journal_mode::memory);
    // An in-memory database cannot use WAL: the mode in effect stays memory.
    EXPECT_EQ(pragma::set_journal_mode(conn, pragma::journal_mode::wal), pragma::journal_mode::memory);
    EXPECT_EQ(pragma::get_journal_mode(conn), pragma::journal_mode::memory);
    auto other = db.connect();
    EXPECT_EQ(pragma::get_journal_mode(other), pragma::journal_mode::memory);
    // Still a working database, whose transactions roll back.
    conn.execute("CREATE TABLE t(x)");
    {
        auto tx = conn.transaction();
        conn.execute("INSERT INTO t VALUES (1)");
    }
    EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM t"), 0);
    EXPECT_EQ(other.query_value<int>("SELECT count(*) FROM t"), 0);
}

TEST_F(pragma_db, in_memory_rollback_journal_modes_keep_working) {
    // The in-memory database lives in SQLite's memdb VFS, which (unlike a plain ":memory:") accepts the rollback
    // journal modes, keeping the journal in memory too. Whatever the mode, rollback must still work.
    conn.execute("CREATE TABLE t(x)");
    conn.execute("INSERT INTO t VALUES (0)");
    for (const auto m : {pragma::journal_mode::delete_, pragma::journal_mode::truncate, pragma::journal_mode::persist,
                         pragma::journal_mode::memory}) {
        const auto in_effect = pragma::set_journal_mode(conn, m);
        EXPECT_TRUE(in_effect == m || in_effect == pragma::journal_mode::memory) << pragma::to_string(m);
        {
            auto tx = conn.transaction();
            conn.execute("UPDATE t SET x = x + 1");
            conn.execute("INSERT INTO t VALUES (100)");
        }
        EXPECT_EQ(conn.query_value<std::string>("SELECT group_concat(x) FROM t"), "0") << pragma::to_string(m);
        conn.execute("UPDATE t SET x = x + 1");
        conn.execute("UPDATE t SET x = x - 1");
        EXPECT_EQ(db.connect().query_value<int>("SELECT x FROM t"), 0) << pragma::to_string(m);
    }
}

TEST_F(pragma_db, synchronous_levels) {
    for (const auto s : {pragma::synchronous::off, pragma::synchronous::normal, pragma::synchronous::full,
                         pragma::synchronous::extra}) {
        pragma::set_synchronous(conn, s);
        EXPECT_EQ(pragma::get_synchronous(conn), s) << pragma::to_string(s);
    }
    EXPECT_EQ(pragma::to_string(pragma::synchronous::off), "off");
    EXPECT_EQ(pragma::to_string(pragma::synchronous::normal), "normal");
    EXPECT_EQ(pragma::to_string(pragma::synchronous::full), "full");
    EXPECT_EQ(pragma::to_string(pragma::synchronous::extra), "extra");
}

TEST(pragma_names, journal_modes) {
    EXPECT_EQ(pragma::to_string(pragma::journal_mode::delete_), "delete");
    EXPECT_EQ(pragma::to_string(pragma::journal_mode::truncate), "truncate");
    EXPECT_EQ(pragma::to_string(pragma::journal_mode::persist), "persist");
    EXPECT_EQ(pragma::to_string(pragma::journal_mode::memory), "memory");
    EXPECT_EQ(pragma::to_string(pragma::journal_mode::wal), "wal");
    EXPECT_EQ(pragma::to_string(pragma::journal_mode::off), "off");
}

TEST_F(pragma_db, table_info_describes_columns) {
    conn.execute(
        "CREATE TABLE people(id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT 'anon', score REAL DEFAULT 1.5, "
        "joined TEXT DEFAULT CURRENT_TIMESTAMP, tag)");
    const auto cols = pragma::table_info(conn, "people");
    ASSERT_EQ(cols.size(), 5u);
    EXPECT_EQ(cols[0], (pragma::column_description{0, "id", "INTEGER", false, std::nullopt, 1}));
    EXPECT_EQ(cols[1], (pragma::column_description{1, "name", "TEXT", true, "'anon'", 0}));
    EXPECT_EQ(cols[2], (pragma::column_description{2, "score", "REAL", false, "1.5", 0}));
    EXPECT_EQ(cols[3], (pragma::column_description{3, "joined", "TEXT", false, "CURRENT_TIMESTAMP", 0}));
    EXPECT_EQ(cols[4], (pragma::column_description{4, "tag", "", false, std::nullopt, 0}));

    EXPECT_TRUE(pragma::table_info(conn, "no_such_table").empty());
}

TEST_F(pragma_db, table_info_composite_key_and_odd_names) {
    conn.execute("CREATE TABLE \"we'ird \"\"t\"\"\"(a INT, b TEXT, PRIMARY KEY (b, a))");
    const auto cols = pragma::table_info(conn, "we'ird \"t\"");
    ASSERT_EQ(cols.size(), 2u);
    EXPECT_EQ(cols[0].name, "a");
    EXPECT_EQ(cols[0].primary_key, 2);
    EXPECT_EQ(cols[1].name, "b");
    EXPECT_EQ(cols[1].primary_key, 1);
    // A name is a value, never SQL.
    EXPECT_TRUE(pragma::table_info(conn, "x'); DROP TABLE t; --").empty());
}

TEST_F(pragma_db, table_list) {
    conn.execute_batch(
        "CREATE TABLE plain(a, b);"
        "CREATE TABLE nr(k TEXT PRIMARY KEY, v) WITHOUT ROWID;"
        "CREATE TABLE st(x INTEGER, y TEXT) STRICT;"
        "CREATE VIEW vw AS SELECT a FROM plain;");
    const auto list = pragma::table_list(conn);

    const auto* plain = find_table(list, "plain");
    ASSERT_NE(plain, nullptr);
    EXPECT_EQ(plain->schema, "main");
    EXPECT_EQ(plain->type, "table");
    EXPECT_EQ(plain->column_count, 2);
    EXPECT_FALSE(plain->without_rowid);
    EXPECT_FALSE(plain->strict);

    const auto* nr = find_table(list, "nr");
    ASSERT_NE(nr, nullptr);
    EXPECT_TRUE(nr->without_rowid);
    EXPECT_FALSE(nr->strict);

    const auto* st = find_table(list, "st");
    ASSERT_NE(st, nullptr);
    EXPECT_TRUE(st->strict);
    EXPECT_FALSE(st->without_rowid);

    const auto* vw = find_table(list, "vw");
    ASSERT_NE(vw, nullptr);
    EXPECT_EQ(vw->type, "view");
    EXPECT_EQ(vw->column_count, 1);

    EXPECT_NE(find_table(list, "sqlite_schema"), nullptr);
    EXPECT_EQ(find_table(list, "nothing"), nullptr);
}

TEST_F(pragma_db, user_version) {
    EXPECT_EQ(pragma::user_version(conn), 0);
    pragma::set_user_version(conn, 42);
    EXPECT_EQ(pragma::user_version(conn), 42);
    pragma::set_user_version(conn, -7);
    EXPECT_EQ(pragma::user_version(conn), -7);
    pragma::set_user_version(conn, 2147483647);
    EXPECT_EQ(pragma::user_version(conn), 2147483647);
    EXPECT_THROW(pragma::set_user_version(conn, 2147483648LL), libsql::usage_error);
    EXPECT_THROW(pragma::set_user_version(conn, -2147483649LL), libsql::usage_error);
    EXPECT_EQ(pragma::user_version(conn), 2147483647);
    // Stored in the database: another connection sees it.
    auto other = db.connect();
    EXPECT_EQ(pragma::user_version(other), 2147483647);
}

TEST_F(pragma_db, cache_size) {
    EXPECT_EQ(pragma::cache_size(conn), -2000);  // SQLite's default: 2000 KiB
    pragma::set_cache_size(conn, 500);
    EXPECT_EQ(pragma::cache_size(conn), 500);
    pragma::set_cache_size(conn, -4096);
    EXPECT_EQ(pragma::cache_size(conn), -4096);
}

TEST_F(pragma_db, generic_query) {
    conn.execute("CREATE TABLE t(a INTEGER, b TEXT)");
    for (const char* text : {"table_info(t)", "PRAGMA table_info(t)", "  pragma table_info('t')", "\nPrAgMa\ttable_info(t);"}) {
        auto rows = pragma::query(conn, text);
        EXPECT_EQ(rows.column_names(), (std::vector<std::string>{"cid", "name", "type", "notnull", "dflt_value", "pk"}))
            << text;
        std::vector<std::string> names;
        for (auto r : rows) names.push_back(r.get<std::string>("name"));
        EXPECT_EQ(names, (std::vector<std::string>{"a", "b"})) << text;
    }
    EXPECT_EQ(pragma::query(conn, "user_version").one_value<int>(), 0);
    EXPECT_EQ(pragma::query(conn, "integrity_check").one_value<std::string>(), "ok");
    // A setting pragma returns no rows.
    EXPECT_EQ(pragma::query(conn, "PRAGMA user_version = 3").skip_all(), 0u);
    EXPECT_EQ(pragma::user_version(conn), 3);
    // SQLite ignores unknown pragmas; a name that only starts with "pragma" is one of those, not the keyword
    // (run as it stands, "pragmatic" would be a syntax error).
    EXPECT_EQ(pragma::query(conn, "no_such_pragma").skip_all(), 0u);
    EXPECT_EQ(pragma::query(conn, "pragmatic").skip_all(), 0u);
    EXPECT_THROW((void)conn.query("pragmatic"), libsql::sql_error);
}
