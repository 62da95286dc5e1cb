// Tests for libsql/database.hpp: opening files, in-memory databases and URIs, open modes, options, and the
// transports this build refuses.
#include "libsql/database.hpp"

#include "support/temp_files.hpp"
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <unistd.h>

using namespace std::chrono_literals;
using namespace std::string_literals;

namespace {

using libsql::test::temp_db_file;
using libsql::test::temp_dir;

libsql::connect_options with_mode(libsql::open_mode m) {
    libsql::connect_options o;
    o.mode = m;
    return o;
}

template <class E> E caught(auto&& f) {
    try {
        f();
    } catch (const E& e) {
        return e;
    }
    throw std::logic_error("expected an exception");
}

} // namespace

TEST(database_file, creates_and_reopens_a_file) {
    const temp_dir dir;
    const std::string path = dir.file("app.db");
    ASSERT_FALSE(std::filesystem::exists(path));
    {
        libsql::database db(path);
        EXPECT_EQ(db.path(), path);
        EXPECT_TRUE(std::filesystem::exists(path));  // created at open
        auto conn = db.connect();
        conn.execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES ('kept');");
    }
    libsql::database again(path);
    EXPECT_EQ(again.connect().query_value<std::string>("SELECT x FROM t"), "kept");
}

TEST(database_file, connections_of_one_file_share_data) {
    const temp_dir dir;
    libsql::database db(dir.file("shared.db"));
    auto a = db.connect();
    auto b = db.connect();
    a.execute("CREATE TABLE t(x)");
    a.execute("INSERT INTO t VALUES (1)");
    EXPECT_EQ(b.query_value<int>("SELECT count(*) FROM t"), 1);
    // Two database objects on the same file see the same data too.
    libsql::database db2(dir.file("shared.db"));
    EXPECT_EQ(db2.connect().query_value<int>("SELECT count(*) FROM t"), 1);
}

TEST(database_file, missing_directory_cannot_open) {
    const temp_dir dir;
    EXPECT_THROW(libsql::database(dir.file("no/such/dir/app.db")), libsql::cant_open);
}

TEST(database_file, not_a_database) {
    const temp_dir dir;
    const std::string path = dir.file("garbage.db");
    {
        std::ofstream out(path, std::ios::binary);
        out << std::string(4096, 'G');
    }
    libsql::database db(path);  // the header is read lazily
    auto conn = db.connect();
    const auto e = caught<libsql::corrupt>([&] { (void)conn.query_value<int>("SELECT count(*) FROM sqlite_schema"); });
    EXPECT_EQ(e.code(), 26);  // SQLITE_NOTADB
}

TEST(database_memory, shared_by_the_connections_of_one_object) {
    libsql::database db(":memory:");
    EXPECT_EQ(db.path(), ":memory:");
    auto a = db.connect();
    auto b = db.connect();
    a.execute("CREATE TABLE t(x)");
    a.execute("INSERT INTO t VALUES (1)");
    EXPECT_EQ(b.query_value<int>("SELECT count(*) FROM t"), 1);

    // The data lives as long as the database object, not just while a connection is open.
    a.close();
    b.close();
    EXPECT_EQ(db.connect().query_value<int>("SELECT count(*) FROM t"), 1);
}

TEST(database_memory, not_shared_between_objects) {
    libsql::database one(":memory:");
    libsql::database two(":memory:");
    one.connect().execute("CREATE TABLE t(x)");
    auto c2 = two.connect();
    EXPECT_EQ(c2.query_value<int>("SELECT count(*) FROM sqlite_schema"), 0);
    EXPECT_THROW((void)c2.query("SELECT * FROM t"), libsql::sql_error);
    c2.execute("CREATE TABLE t(y)");  // no clash
    EXPECT_EQ(one.connect().query_value<std::string>("SELECT name FROM pragma_table_info('t')"), "x");
}

TEST(database_memory, empty_path_is_in_memory) {
    libsql::database db("");
    auto a = db.connect();
    a.execute("CREATE TABLE t(x)");
    EXPECT_EQ(db.connect().query_value<int>("SELECT count(*) FROM sqlite_schema"), 1);
}

TEST(database_memory, connection_outlives_its_database_object) {
    libsql::connection conn;
    {
        libsql::database db(":memory:");
        conn = db.connect();
        conn.execute("CREATE TABLE t(x)");
    }
    conn.execute("INSERT INTO t VALUES (1)");
    EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM t"), 1);
}

TEST(database_uri, read_only_uri) {
    const temp_dir dir;
    const std::string path = dir.file("uri.db");
    {
        libsql::database db(path);
        db.connect().execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1);");
    }
    libsql::database ro("file:" + path + "?mode=ro");
    auto conn = ro.connect();
    EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM t"), 1);
    EXPECT_THROW(conn.execute("INSERT INTO t VALUES (2)"), libsql::readonly);
    EXPECT_THROW(conn.execute("CREATE TABLE u(y)"), libsql::readonly);
    EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM t"), 1);

    // mode=ro on a missing file cannot create it.
    EXPECT_THROW(libsql::database("file:" + dir.file("absent.db") + "?mode=ro"), libsql::cant_open);
    EXPECT_FALSE(std::filesystem::exists(dir.file("absent.db")));
}

TEST(database_uri, named_memory_uri) {
    // A URI with its own in-memory VFS name works too.
    libsql::database db("file:uri-test-mem?mode=memory&cache=shared");
    auto a = db.connect();
    auto b = db.connect();
    a.execute("CREATE TABLE t(x)");
    EXPECT_EQ(b.query_value<int>("SELECT count(*) FROM sqlite_schema WHERE name = 't'"), 1);
}

TEST(database_modes, read_only_refuses_writes) {
    const temp_dir dir;
    const std::string path = dir.file("ro.db");
    libsql::database(path).connect().execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1);");

    libsql::database ro(path, with_mode(libsql::open_mode::read_only));
    EXPECT_EQ(ro.options().mode, libsql::open_mode::read_only);
    auto conn = ro.connect();
    EXPECT_EQ(conn.query_value<int>("SELECT x FROM t"), 1);
    const auto e = caught<libsql::readonly>([&] { conn.execute("UPDATE t SET x = 2"); });
    EXPECT_EQ(e.code(), 8);  // SQLITE_READONLY
    EXPECT_EQ(conn.query_value<int>("SELECT x FROM t"), 1);

    EXPECT_THROW(libsql::database(dir.file("missing.db"), with_mode(libsql::open_mode::read_only)), libsql::cant_open);
}

TEST(database_modes, read_write_needs_an_existing_file) {
    const temp_dir dir;
    const std::string missing = dir.file("missing.db");
    EXPECT_THROW(libsql::database(missing, with_mode(libsql::open_mode::read_write)), libsql::cant_open);
    EXPECT_FALSE(std::filesystem::exists(missing));

    const std::string existing = dir.file("existing.db");
    libsql::database(existing).connect().execute("CREATE TABLE t(x)");
    libsql::database rw(existing, with_mode(libsql::open_mode::read_write));
    EXPECT_EQ(rw.connect().execute("INSERT INTO t VALUES (1)"), 1);
}

TEST(database_remote, an_unreachable_server_fails_at_open) {
    // Remote databases probe their server when they open (tests/unit/remote_test.cpp covers real servers); nothing
    // listens on 127.0.0.1:9.
    for (const char* url : {"http://127.0.0.1:9", "ws://127.0.0.1:9/db", "libsql://127.0.0.1:9?tls=0"}) {
        const auto e = caught<libsql::connection_error>([&] { libsql::database db(url); });
        EXPECT_EQ(e.transport(), libsql::transport::remote) << url;
    }
    libsql::connect_options o;
    o.url = "http://127.0.0.1:9";
    EXPECT_THROW(libsql::database(":memory:", o), libsql::connection_error);
    // Options a remote database cannot honour are refused before any request.
    libsql::connect_options local_only;
    local_only.encryption_key = "secret";
    const auto e = caught<libsql::unsupported>([&] { libsql::database db("http://127.0.0.1:9", local_only); });
    EXPECT_EQ(e.transport(), libsql::transport::remote);
}

TEST(database_file, an_encryption_key_creates_an_encrypted_file) {
    // Encryption at rest itself: tests/unit/encryption_test.cpp.
    const temp_dir dir;
    libsql::connect_options encrypted;
    encrypted.encryption_key = "secret";
    libsql::database db(dir.file("enc.db"), encrypted);
    db.connect().execute("CREATE TABLE t(x)");
    std::ifstream in(dir.file("enc.db"), std::ios::binary);
    char head[16] = {};
    ASSERT_TRUE(in.read(head, sizeof head));
    EXPECT_NE(std::string(head, 16), std::string("SQLite format 3\0", 16));
}

TEST(database_replica, an_unreachable_primary_fails_at_open_and_creates_nothing) {
    const temp_dir dir;
    libsql::connect_options replica;
    replica.sync_url = "http://127.0.0.1:1";  // nothing listens on port 1
    replica.connect_timeout = std::chrono::milliseconds(2000);
    const auto e = caught<libsql::connection_error>([&] { libsql::database db(dir.file("replica.db"), replica); });
    EXPECT_EQ(e.transport(), libsql::transport::replica);
    EXPECT_FALSE(std::filesystem::exists(dir.file("replica.db")));  // no bootstrap, no half-written file
}

TEST(database_options, are_kept_and_applied) {
    libsql::database defaults(":memory:");
    EXPECT_EQ(defaults.options().busy_timeout, 5000ms);
    EXPECT_EQ(defaults.options().mode, libsql::open_mode::read_write_create);
    EXPECT_FALSE(defaults.options().enable_load_extension);

    libsql::connect_options o;
    o.busy_timeout = 1234ms;
    o.auth_token = "not used locally";
    libsql::database db(":memory:", o);
    EXPECT_EQ(db.options().busy_timeout, 1234ms);
    EXPECT_EQ(db.options().auth_token, "not used locally");
    EXPECT_EQ(db.connect().query_value<int>("PRAGMA busy_timeout"), 1234);

    o.busy_timeout = -1ms;
    EXPECT_THROW(libsql::database(":memory:", o), libsql::usage_error);
}

TEST(database_options, path_with_nul_is_refused) {
    EXPECT_THROW(libsql::database("bad\0name.db"s), libsql::usage_error);
}

TEST(database_move, moved_from_refuses_connect) {
    libsql::database a(":memory:");
    a.connect().execute("CREATE TABLE t(x)");
    libsql::database b(std::move(a));
    EXPECT_THROW((void)a.connect(), libsql::usage_error);  // NOLINT(bugprone-use-after-move)
    EXPECT_EQ(a.path(), "");
    EXPECT_EQ(a.options().busy_timeout, 5000ms);
    EXPECT_EQ(b.connect().query_value<int>("SELECT count(*) FROM sqlite_schema"), 1);

    libsql::database c(":memory:");
    c = std::move(b);
    EXPECT_EQ(c.connect().query_value<int>("SELECT count(*) FROM sqlite_schema"), 1);
}
