#include "libsql/migrations.hpp"

#include "libsql/database.hpp"
#include "support/temp_files.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using versions = std::vector<std::int64_t>;

libsql::migration make(std::int64_t v, std::string name, std::string up, std::string down) {
    libsql::migration m;
    m.version = v;
    m.name = std::move(name);
    m.up = std::move(up);
    m.down = std::move(down);
    return m;
}

libsql::migrator three() {
    return libsql::migrator({
        make(3, "add_email", "ALTER TABLE users ADD COLUMN email TEXT", "ALTER TABLE users DROP COLUMN email"),
        make(1, "create_users", "CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT NOT NULL)", "DROP TABLE users"),
        make(2, "create_posts", "CREATE TABLE posts(id INTEGER PRIMARY KEY, user_id INTEGER); CREATE INDEX posts_user ON posts(user_id);",
             "DROP TABLE posts"),
    });
}

bool has_table(libsql::connection& c, const std::string& name) {
    return c.query_value<int>("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?", name) > 0;
}

void write(const libsql::test::temp_dir& dir, const std::string& name, const std::string& text) {
    std::ofstream(dir.file(name)) << text;
}

class migrations_db : public ::testing::Test {
protected:
    libsql::database db{":memory:"};
    libsql::connection conn = db.connect();
};

TEST_F(migrations_db, registered_in_code_are_sorted_and_applied_in_order) {
    const auto m = three();
    ASSERT_EQ(m.migrations().size(), 3u);
    EXPECT_EQ(m.migrations()[0].name, "create_users");
    EXPECT_EQ(m.migrations()[2].version, 3);

    EXPECT_FALSE(m.current_version(conn));
    EXPECT_EQ(m.up(conn), (versions{1, 2, 3}));
    EXPECT_TRUE(has_table(conn, "users"));
    EXPECT_TRUE(has_table(conn, "posts"));
    conn.execute("INSERT INTO users(name, email) VALUES ('a', 'a@example.com')");
    EXPECT_EQ(m.current_version(conn), 3);
    EXPECT_EQ(m.up(conn), versions{});  // nothing pending
    EXPECT_EQ(conn.query_value<std::string>("SELECT group_concat(name, ',') FROM (SELECT name FROM schema_migrations ORDER BY version)"),
              "create_users,create_posts,add_email");
}

TEST_F(migrations_db, up_to_down_and_down_to) {
    const auto m = three();
    EXPECT_EQ(m.up_to(conn, 2), (versions{1, 2}));
    EXPECT_EQ(m.current_version(conn), 2);
    EXPECT_EQ(m.up_to(conn, 2), versions{});
    EXPECT_EQ(m.up(conn), versions{3});

    EXPECT_EQ(m.down(conn), 3);  // the last one
    EXPECT_EQ(m.current_version(conn), 2);
    EXPECT_TRUE(has_table(conn, "posts"));

    EXPECT_EQ(m.down_to(conn, 0), (versions{2, 1}));  // highest first
    EXPECT_FALSE(has_table(conn, "users"));
    EXPECT_FALSE(has_table(conn, "posts"));
    EXPECT_FALSE(m.current_version(conn));
    EXPECT_FALSE(m.down(conn));  // nothing left to revert
    EXPECT_EQ(m.down_to(conn, 0), versions{});

    EXPECT_EQ(m.up(conn), (versions{1, 2, 3}));
    EXPECT_EQ(m.down_to(conn, 1), (versions{3, 2}));
    EXPECT_EQ(m.current_version(conn), 1);
}

TEST_F(migrations_db, status_lists_applied_and_pending) {
    const auto m = three();
    auto s = m.status(conn);  // no table yet, and status() does not create it
    ASSERT_EQ(s.size(), 3u);
    EXPECT_TRUE(std::none_of(s.begin(), s.end(), [](const auto& x) { return x.applied; }));
    EXPECT_FALSE(has_table(conn, "schema_migrations"));

    (void)m.up_to(conn, 2);
    s = m.status(conn);
    ASSERT_EQ(s.size(), 3u);
    EXPECT_EQ(s[0].version, 1);
    EXPECT_EQ(s[0].name, "create_users");
    EXPECT_TRUE(s[0].applied);
    ASSERT_TRUE(s[0].applied_at);
    EXPECT_EQ(s[0].applied_at->size(), 24u) << *s[0].applied_at;  // 2026-11-26T16:47:31.123Z
    EXPECT_EQ(s[0].applied_at->back(), 'Z');
    EXPECT_TRUE(s[1].applied);
    EXPECT_FALSE(s[2].applied);
    EXPECT_FALSE(s[2].applied_at);
    EXPECT_TRUE(s[2].known);

    // A version recorded by someone else's migrator shows up as unknown, and cannot be reverted from here.
    conn.execute("INSERT INTO schema_migrations VALUES (99, 'elsewhere', '2020-01-01T00:00:00.000Z')");
    s = m.status(conn);
    ASSERT_EQ(s.size(), 4u);
    EXPECT_EQ(s[3].version, 99);
    EXPECT_FALSE(s[3].known);
    EXPECT_TRUE(s[3].applied);
    EXPECT_EQ(s[3].name, "elsewhere");
    EXPECT_THROW((void)m.down(conn), libsql::usage_error);
    EXPECT_EQ(m.current_version(conn), 99);
}

TEST_F(migrations_db, a_failing_migration_leaves_no_trace_and_stops_the_run) {
    const libsql::migrator m({
        make(1, "ok", "CREATE TABLE a(x)", "DROP TABLE a"),
        make(2, "broken", "CREATE TABLE b(x); INSERT INTO b VALUES (1); INSERT INTO nowhere VALUES (1);", "DROP TABLE b"),
        make(3, "later", "CREATE TABLE c(x)", "DROP TABLE c"),
    });
    EXPECT_THROW((void)m.up(conn), libsql::sql_error);
    EXPECT_TRUE(conn.is_autocommit());
    EXPECT_TRUE(has_table(conn, "a"));
    EXPECT_FALSE(has_table(conn, "b"));  // its first statements were undone too
    EXPECT_FALSE(has_table(conn, "c"));  // later ones did not run
    EXPECT_EQ(m.current_version(conn), 1);
    EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM schema_migrations"), 1);

    // A failing down leaves the migration applied.
    const libsql::migrator bad_down({make(1, "ok", "CREATE TABLE a(x)", "DROP TABLE a; DROP TABLE nowhere;")});
    EXPECT_THROW((void)bad_down.down(conn), libsql::sql_error);
    EXPECT_TRUE(has_table(conn, "a"));
    EXPECT_EQ(m.current_version(conn), 1);
}

TEST_F(migrations_db, irreversible_and_misuse_are_usage_errors) {
    const libsql::migrator m({make(1, "one_way", "CREATE TABLE a(x)", "")});
    (void)m.up(conn);
    EXPECT_THROW((void)m.down(conn), libsql::usage_error);
    EXPECT_EQ(m.current_version(conn), 1);

    auto tx = conn.transaction();
    EXPECT_THROW((void)m.up(conn), libsql::usage_error);  // each step needs BEGIN IMMEDIATE of its own
    EXPECT_THROW((void)m.down_to(conn, 0), libsql::usage_error);
}

TEST(migrations, duplicate_or_bad_versions_are_rejected) {
    EXPECT_THROW(libsql::migrator({make(1, "a", "", ""), make(1, "b", "", "")}), libsql::usage_error);
    libsql::migrator m;
    m.add(make(5, "a", "SELECT 1", ""));
    EXPECT_THROW(m.add(make(5, "b", "SELECT 1", "")), libsql::usage_error);
    EXPECT_THROW(m.add(make(0, "zero", "SELECT 1", "")), libsql::usage_error);
    EXPECT_THROW(m.add(make(-3, "negative", "SELECT 1", "")), libsql::usage_error);
    EXPECT_EQ(m.migrations().size(), 1u);
    try {
        m.add(make(5, "again", "", ""));
        FAIL();
    } catch (const libsql::usage_error& e) {
        EXPECT_NE(std::string(e.what()).find("duplicate version 5"), std::string::npos) << e.what();
    }
}

TEST(migrations, loaded_from_a_folder) {
    libsql::test::temp_dir dir("migrations");
    write(dir, "0002_posts.up.sql", "CREATE TABLE posts(id INTEGER PRIMARY KEY, user_id INTEGER);\n");
    write(dir, "0002_posts.down.sql", "DROP TABLE posts;\n");
    write(dir, "0001_users.up.sql", "-- the users\nCREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT);\n"
                                    "INSERT INTO users(name) VALUES ('root');\n");
    write(dir, "0001_users.down.sql", "DROP TABLE users;\n");
    write(dir, "0010_seed.up.sql", "INSERT INTO users(name) VALUES ('guest');\n");  // no down: irreversible
    write(dir, "README.md", "not a migration\n");

    const auto m = libsql::migrator::from_directory(dir.path());
    ASSERT_EQ(m.migrations().size(), 3u);
    EXPECT_EQ(m.migrations()[0].version, 1);
    EXPECT_EQ(m.migrations()[0].name, "users");
    EXPECT_EQ(m.migrations()[0].down, "DROP TABLE users;\n");
    EXPECT_EQ(m.migrations()[1].name, "posts");
    EXPECT_EQ(m.migrations()[2].version, 10);
    EXPECT_TRUE(m.migrations()[2].down.empty());

    libsql::database db(":memory:");
    auto conn = db.connect();
    EXPECT_EQ(m.up(conn), (versions{1, 2, 10}));
    EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM users"), 2);
    EXPECT_THROW((void)m.down(conn), libsql::usage_error);  // 10 has no down file
    EXPECT_EQ(m.status(conn).size(), 3u);
}

TEST(migrations, malformed_folders_are_usage_errors) {
    {
        libsql::test::temp_dir dir("migrations-dup");
        write(dir, "0001_a.up.sql", "SELECT 1;");
        write(dir, "0001_b.up.sql", "SELECT 2;");
        EXPECT_THROW((void)libsql::migrator::from_directory(dir.path()), libsql::usage_error);
    }
    {
        libsql::test::temp_dir dir("migrations-dup-num");
        write(dir, "1_a.up.sql", "SELECT 1;");
        write(dir, "0001_a.up.sql", "SELECT 2;");  // the same version, written differently
        EXPECT_THROW((void)libsql::migrator::from_directory(dir.path()), libsql::usage_error);
    }
    {
        libsql::test::temp_dir dir("migrations-no-up");
        write(dir, "0001_a.up.sql", "SELECT 1;");
        write(dir, "0002_b.down.sql", "SELECT 2;");
        try {
            (void)libsql::migrator::from_directory(dir.path());
            FAIL();
        } catch (const libsql::usage_error& e) {
            EXPECT_NE(std::string(e.what()).find("missing up file for version 2"), std::string::npos) << e.what();
        }
    }
    {
        libsql::test::temp_dir dir("migrations-bad-name");
        write(dir, "first.up.sql", "SELECT 1;");
        EXPECT_THROW((void)libsql::migrator::from_directory(dir.path()), libsql::usage_error);
    }
    EXPECT_THROW((void)libsql::migrator::from_directory("/nonexistent/libsql/migrations"), libsql::usage_error);
}

TEST(migrations, concurrent_migrators_apply_each_migration_exactly_once) {
    // Every migration logs itself into a table: applying one twice would log it twice (or fail on CREATE TABLE).
    std::vector<libsql::migration> list{make(1, "log", "CREATE TABLE log(version INTEGER)", "DROP TABLE log")};
    for (std::int64_t v = 2; v <= 8; ++v)
        list.push_back(make(v, "step" + std::to_string(v),
                            "CREATE TABLE t" + std::to_string(v) + "(x); INSERT INTO log VALUES (" + std::to_string(v) + ");",
                            "DROP TABLE t" + std::to_string(v)));
    const libsql::migrator m(list);

    for (int round = 0; round < 4; ++round) {
        libsql::test::temp_db_file file("migrations-race");
        {
            libsql::database setup(file.path());
            setup.connect().execute("PRAGMA journal_mode = " + std::string(round % 2 == 0 ? "WAL" : "DELETE"));
        }
        versions applied[2];
        std::string failure[2];
        std::vector<std::thread> threads;
        for (int i = 0; i < 2; ++i) {
            threads.emplace_back([&, i] {
                try {
                    libsql::database db(file.path());  // each its own database and connection, like two processes
                    auto conn = db.connect();
                    applied[i] = m.up(conn);
                } catch (const std::exception& e) {
                    failure[i] = e.what();
                }
            });
        }
        for (auto& t : threads) t.join();
        ASSERT_EQ(failure[0], "");
        ASSERT_EQ(failure[1], "");
        versions all = applied[0];
        all.insert(all.end(), applied[1].begin(), applied[1].end());
        std::sort(all.begin(), all.end());
        EXPECT_EQ(all, (versions{1, 2, 3, 4, 5, 6, 7, 8}));

        libsql::database db(file.path());
        auto conn = db.connect();
        EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM log"), 7);
        EXPECT_EQ(conn.query_value<int>("SELECT count(DISTINCT version) FROM log"), 7);
        EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM schema_migrations"), 8);

        // And back down at once: each version reverted exactly once (a second DROP TABLE would fail).
        for (int i = 0; i < 2; ++i) {
            threads[static_cast<std::size_t>(i)] = std::thread([&, i] {
                try {
                    libsql::database db2(file.path());
                    auto c = db2.connect();
                    applied[i] = m.down_to(c, 0);
                } catch (const std::exception& e) {
                    failure[i] = e.what();
                }
            });
        }
        for (auto& t : threads) t.join();
        ASSERT_EQ(failure[0], "");
        ASSERT_EQ(failure[1], "");
        all = applied[0];
        all.insert(all.end(), applied[1].begin(), applied[1].end());
        std::sort(all.begin(), all.end());
        EXPECT_EQ(all, (versions{1, 2, 3, 4, 5, 6, 7, 8}));
        EXPECT_FALSE(m.current_version(conn));
        EXPECT_FALSE(has_table(conn, "log"));
    }
}

} // namespace
