#include "libsql/schema.hpp"

#include "libsql/database.hpp"
#include "libsql/error.hpp"
#include "libsql/migrations.hpp"
#include "support/temp_files.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace {

namespace fs = std::filesystem;

using schema_rows = std::vector<std::tuple<std::string, std::string, std::string, std::string>>;

/// sqlite_schema of the main database, by type and name (type, name, tbl_name, sql).
schema_rows schema_of(libsql::connection& c) {
    schema_rows out;
    for (auto r : c.query("SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_schema ORDER BY type, name")) {
        out.emplace_back(r.get<std::string>(0), r.get<std::string>(1), r.get<std::string>(2), r.get<std::string>(3));
    }
    return out;
}

struct migration_row {
    std::int64_t version;
    std::optional<std::string> name, applied_at;
    bool operator==(const migration_row&) const = default;
};

std::vector<migration_row> migrations_of(libsql::connection& c) {
    std::vector<migration_row> out;
    for (auto r : c.query("SELECT version, name, applied_at FROM schema_migrations ORDER BY version")) {
        out.push_back({r.get<std::int64_t>(0), r.get<std::optional<std::string>>(1), r.get<std::optional<std::string>>(2)});
    }
    return out;
}

libsql::migration make(std::int64_t v, std::string name, std::string up) {
    libsql::migration m;
    m.version = v;
    m.name = std::move(name);
    m.up = std::move(up);
    return m;
}

/// A schema with every kind of object, made through migrations (one with a quote in its name).
void build_schema(libsql::connection& c) {
    libsql::migrator m({
        make(1, "users", "CREATE TABLE users(id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, email TEXT)"),
        make(2, "posts", "CREATE TABLE posts(id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id), title TEXT);"
                         "CREATE INDEX posts_user ON posts(user_id)"),
        make(3, "it's views", "CREATE VIEW user_posts AS SELECT u.name, p.title FROM users u JOIN posts p ON p.user_id = u.id;"
                              "CREATE VIEW named_posts AS SELECT name FROM user_posts"),
        make(4, "trigger", "CREATE TABLE audit(what TEXT);"
                           "CREATE TRIGGER users_audit AFTER INSERT ON users BEGIN INSERT INTO audit VALUES (new.name); END;"
                           "CREATE TRIGGER user_posts_insert INSTEAD OF INSERT ON user_posts BEGIN SELECT 1; END"),
    });
    m.up(c);
    c.execute("INSERT INTO users(name) VALUES ('alice')");  // rows are not dumped (except schema_migrations)
}

TEST(schema, dump_then_load_reproduces_schema_and_migrations) {
    libsql::database src(":memory:");
    auto a = src.connect();
    build_schema(a);
    const std::string dump = libsql::dump_schema(a);

    EXPECT_EQ(dump.rfind("-- libsql schema dump\n", 0), 0u);
    EXPECT_EQ(dump.find("sqlite_sequence"), std::string::npos) << dump;
    EXPECT_EQ(dump.find("sqlite_autoindex"), std::string::npos) << dump;
    // Dependency-safe order: tables, indexes, views (in creation order), triggers.
    const auto pos = [&](const char* s) { return dump.find(s); };
    EXPECT_LT(pos("CREATE TABLE audit"), pos("CREATE INDEX posts_user"));
    EXPECT_LT(pos("CREATE INDEX posts_user"), pos("CREATE VIEW user_posts"));
    EXPECT_LT(pos("CREATE VIEW user_posts"), pos("CREATE VIEW named_posts"));
    EXPECT_LT(pos("CREATE VIEW named_posts"), pos("CREATE TRIGGER users_audit"));
    EXPECT_NE(pos("'it''s views'"), std::string::npos) << dump;

    libsql::database dst(":memory:");
    auto b = dst.connect();
    libsql::load_schema(b, dump);
    EXPECT_EQ(schema_of(b), schema_of(a));
    EXPECT_EQ(migrations_of(b), migrations_of(a));
    EXPECT_EQ(migrations_of(b).size(), 4u);
    EXPECT_EQ(b.query_value<std::int64_t>("SELECT count(*) FROM users"), 0);
    // The loaded database is usable and the migrator sees every migration applied.
    b.execute("INSERT INTO users(name) VALUES ('bob')");
    EXPECT_EQ(b.query_value<std::string>("SELECT what FROM audit"), "bob");
    EXPECT_EQ(libsql::migrator().current_version(b), std::optional<std::int64_t>(4));
    // Dumping the loaded database gives the same text.
    EXPECT_EQ(libsql::dump_schema(b), dump);
}

TEST(schema, dump_without_migrations_table_has_no_inserts) {
    libsql::database db(":memory:");
    auto c = db.connect();
    c.execute_batch("CREATE TABLE t(x); CREATE INDEX t_x ON t(x);");
    const std::string dump = libsql::dump_schema(c);
    EXPECT_EQ(dump, "-- libsql schema dump\nCREATE TABLE t(x);\nCREATE INDEX t_x ON t(x);\n");
    libsql::database empty(":memory:");
    auto e = empty.connect();
    EXPECT_EQ(libsql::dump_schema(e), "-- libsql schema dump\n");
}

TEST(schema, dump_skips_virtual_table_shadow_tables) {
    libsql::database db(":memory:");
    auto c = db.connect();
    try {
        c.execute("CREATE VIRTUAL TABLE docs USING fts5(body)");
    } catch (const libsql::error&) {
        GTEST_SKIP() << "fts5 not compiled in";
    }
    const std::string dump = libsql::dump_schema(c);
    EXPECT_EQ(dump.find("docs_data"), std::string::npos) << dump;
    libsql::database dst(":memory:");
    auto d = dst.connect();
    libsql::load_schema(d, dump);
    EXPECT_EQ(schema_of(d), schema_of(c));
}

TEST(schema, failed_load_leaves_nothing) {
    libsql::database db(":memory:");
    auto c = db.connect();
    EXPECT_THROW(libsql::load_schema(c, "CREATE TABLE a(x); CREATE TABLE a(y);"), libsql::error);
    EXPECT_TRUE(schema_of(c).empty());
    EXPECT_TRUE(c.is_autocommit());
}

TEST(schema, create_and_drop_database) {
    libsql::test::temp_dir dir;
    const fs::path file = dir.path() / "sub" / "app.db";
    EXPECT_TRUE(libsql::create_database(file));
    ASSERT_TRUE(fs::exists(file));
    EXPECT_GT(fs::file_size(file), 0u);
    EXPECT_FALSE(libsql::create_database(file));  // exists already: untouched
    {
        libsql::database db(file.string());
        auto c = db.connect();
        c.execute_batch("PRAGMA journal_mode=WAL; CREATE TABLE t(x); INSERT INTO t VALUES (1);");
        EXPECT_EQ(c.query_value<std::int64_t>("SELECT count(*) FROM t"), 1);
    }
    for (const char* suffix : {"-wal", "-shm", "-journal"}) std::ofstream(file.string() + suffix) << "x";
    EXPECT_TRUE(libsql::drop_database(file));
    EXPECT_FALSE(fs::exists(file));
    for (const char* suffix : {"-wal", "-shm", "-journal"}) EXPECT_FALSE(fs::exists(file.string() + suffix)) << suffix;
    EXPECT_FALSE(libsql::drop_database(file));
    // Recreated, it is empty.
    EXPECT_TRUE(libsql::create_database(file));
    libsql::database db(file.string());
    auto c = db.connect();
    EXPECT_TRUE(schema_of(c).empty());
}

TEST(schema, create_and_drop_refuse_memory_and_uris) {
    EXPECT_THROW((void)libsql::drop_database(":memory:"), libsql::usage_error);
    EXPECT_THROW((void)libsql::create_database(":memory:"), libsql::usage_error);
    EXPECT_THROW((void)libsql::drop_database(""), libsql::usage_error);
    EXPECT_THROW((void)libsql::drop_database("file:app.db?mode=rwc"), libsql::usage_error);
}

} // namespace
