// Encryption at rest on local files (connect_options::encryption_key and cipher, database::rekey()): round trips,
// every connection keyed, the typed errors for wrong, missing and misplaced keys with the file left unchanged, the
// ciphers, rekeying. The interop tests with npm libsql are tests/interop/encryption_test.mjs; the SIGKILL test of
// rekey is tests/unit/rekey_crash_test.cpp.
#include "libsql/database.hpp"

#include "support/temp_files.hpp"
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace {

using libsql::test::temp_dir;

std::string slurp(const std::string& path) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (ec) return {};
    std::string out(size, '\0');
    std::ifstream in(path, std::ios::binary);
    in.read(out.data(), static_cast<std::streamsize>(size));
    return out;
}

libsql::connect_options keyed(std::string key, libsql::encryption_cipher c = libsql::encryption_cipher::aes256cbc) {
    libsql::connect_options o;
    o.encryption_key = std::move(key);
    o.cipher = c;
    return o;
}

/// A WAL-mode file encrypted with key, holding t(x) with n rows of a recognisable text, checkpointed and closed.
void make_encrypted(const std::string& path, const std::string& key, int n = 50,
                    libsql::encryption_cipher c = libsql::encryption_cipher::aes256cbc) {
    libsql::database db(path, keyed(key, c));
    auto conn = db.connect();
    conn.execute("PRAGMA journal_mode = WAL");
    conn.execute("CREATE TABLE t(x TEXT)");
    for (int i = 0; i < n; ++i) conn.execute("INSERT INTO t VALUES ('plaintext-marker-' || ?)", i);
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)");
}

template <class E> E caught(auto&& f) {
    try {
        f();
    } catch (const E& e) {
        return e;
    }
    ADD_FAILURE() << "expected an exception";
    return E("none");
}

TEST(encryption, a_keyed_file_round_trips_and_holds_no_plaintext) {
    const temp_dir dir;
    const auto path = dir.file("enc.db");
    make_encrypted(path, "secret-1");
    const auto bytes = slurp(path);
    ASSERT_GT(bytes.size(), 4096u);
    EXPECT_NE(bytes.substr(0, 16), std::string("SQLite format 3\0", 16));
    EXPECT_EQ(bytes.find("plaintext-marker"), std::string::npos);
    EXPECT_EQ(bytes.find("CREATE TABLE"), std::string::npos);
    libsql::database db(path, keyed("secret-1"));
    auto conn = db.connect();
    EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM t"), 50);
    EXPECT_EQ(conn.query_value<std::string>("PRAGMA integrity_check"), "ok");
    EXPECT_EQ(conn.query_value<std::string>("PRAGMA journal_mode"), "wal");
}

TEST(encryption, every_connection_of_the_database_is_keyed) {
    const temp_dir dir;
    const auto path = dir.file("enc.db");
    make_encrypted(path, "k");
    libsql::database db(path, keyed("k"));
    auto a = db.connect();
    auto b = db.connect();
    a.execute("INSERT INTO t VALUES ('from a')");
    EXPECT_EQ(b.query_value<int>("SELECT count(*) FROM t"), 51);
    b.execute("INSERT INTO t VALUES ('from b')");
    EXPECT_EQ(a.query_value<int>("SELECT count(*) FROM t WHERE x LIKE 'from %'"), 2);
    // The WAL is encrypted too.
    EXPECT_EQ(slurp(path + "-wal").find("from a"), std::string::npos);
}

TEST(encryption, a_wrong_key_fails_at_open_and_changes_nothing) {
    const temp_dir dir;
    const auto path = dir.file("enc.db");
    make_encrypted(path, "right");
    const auto before = slurp(path);
    const auto e = caught<libsql::encryption_error>([&] { libsql::database db(path, keyed("wrong")); });
    EXPECT_EQ(e.code(), 26);  // SQLITE_NOTADB
    EXPECT_NE(std::string(e.what()).find("wrong encryption key"), std::string::npos) << e.what();
    // Also a catch for corrupt sees it (the class is a corrupt subclass).
    EXPECT_THROW(libsql::database(path, keyed("wrong too")), libsql::corrupt);
    EXPECT_EQ(slurp(path), before);
}

TEST(encryption, a_missing_or_empty_key_fails_at_the_first_statement_and_changes_nothing) {
    const temp_dir dir;
    const auto path = dir.file("enc.db");
    make_encrypted(path, "right");
    const auto before = slurp(path);
    for (const auto& o : {libsql::connect_options{}, keyed("")}) {
        libsql::database db(path, o);
        auto conn = db.connect();
        const auto e = caught<libsql::encryption_error>([&] { (void)conn.query_value<int>("SELECT count(*) FROM t"); });
        EXPECT_EQ(e.code(), 26);
        EXPECT_NE(std::string(e.what()).find("no encryption key was given"), std::string::npos) << e.what();
        EXPECT_THROW(conn.execute("INSERT INTO t VALUES (1)"), libsql::encryption_error);
    }
    EXPECT_EQ(slurp(path), before);
}

TEST(encryption, a_key_for_a_plain_file_fails_at_open_and_changes_nothing) {
    const temp_dir dir;
    const auto path = dir.file("plain.db");
    {
        libsql::database db(path);
        db.connect().execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1)");
    }
    const auto before = slurp(path);
    const auto e = caught<libsql::encryption_error>([&] { libsql::database db(path, keyed("k")); });
    EXPECT_NE(std::string(e.what()).find("is not encrypted"), std::string::npos) << e.what();
    EXPECT_EQ(slurp(path), before);
    libsql::database plain(path);
    EXPECT_EQ(plain.connect().query_value<int>("SELECT x FROM t"), 1);
}

TEST(encryption, an_in_memory_database_refuses_a_key) {
    EXPECT_THROW(libsql::database(":memory:", keyed("k")), libsql::usage_error);
    libsql::database mem(":memory:");
    EXPECT_THROW(mem.rekey("k"), libsql::usage_error);
}

TEST(encryption, other_ciphers_are_selectable_and_only_open_with_their_cipher) {
    using c = libsql::encryption_cipher;
    const temp_dir dir;
    for (const auto cipher : {c::chacha20, c::sqlcipher, c::aes128cbc, c::ascon128}) {
        const auto path = dir.file(std::string(libsql::to_string(cipher)) + ".db");
        make_encrypted(path, "k", 10, cipher);
        libsql::database db(path, keyed("k", cipher));
        EXPECT_EQ(db.connect().query_value<int>("SELECT count(*) FROM t"), 10) << libsql::to_string(cipher);
        EXPECT_EQ(db.connect().query_value<std::string>("PRAGMA integrity_check"), "ok");
        const auto before = slurp(path);
        EXPECT_THROW(libsql::database(path, keyed("k", c::aes256cbc)), libsql::encryption_error) << libsql::to_string(cipher);
        EXPECT_EQ(slurp(path), before);
    }
}

TEST(encryption, cipher_names_round_trip) {
    using c = libsql::encryption_cipher;
    for (const auto cipher : {c::aes256cbc, c::aes128cbc, c::chacha20, c::sqlcipher, c::rc4, c::ascon128, c::aegis})
        EXPECT_EQ(libsql::encryption_cipher_from_name(libsql::to_string(cipher)), cipher);
    EXPECT_EQ(libsql::encryption_cipher_from_name("AES256CBC"), c::aes256cbc);
    EXPECT_EQ(libsql::encryption_cipher_from_name("aes-256"), std::nullopt);
    EXPECT_EQ(libsql::encryption_cipher_from_name(""), std::nullopt);
    EXPECT_EQ(libsql::connect_options{}.cipher, c::aes256cbc);  // libSQL's default
}

TEST(encryption, rekey_changes_the_key_decrypts_and_encrypts) {
    const temp_dir dir;
    const auto path = dir.file("enc.db");
    make_encrypted(path, "old");
    {
        libsql::database db(path, keyed("old"));
        db.rekey("new");
        EXPECT_EQ(db.options().encryption_key, "new");
        auto conn = db.connect();  // connections opened afterwards use the new key
        EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM t"), 50);
        EXPECT_EQ(conn.query_value<std::string>("PRAGMA journal_mode"), "wal");  // the journal mode is kept
    }
    EXPECT_THROW(libsql::database(path, keyed("old")), libsql::encryption_error);
    {
        libsql::database db(path, keyed("new"));
        db.rekey("");  // decrypt
    }
    EXPECT_EQ(slurp(path).substr(0, 16), std::string("SQLite format 3\0", 16));
    {
        libsql::database plain(path);
        EXPECT_EQ(plain.connect().query_value<std::string>("PRAGMA integrity_check"), "ok");
        plain.rekey("again");  // a plain WAL file gets encrypted
    }
    const auto bytes = slurp(path);
    EXPECT_EQ(bytes.find("plaintext-marker"), std::string::npos);
    libsql::database db(path, keyed("again"));
    EXPECT_EQ(db.connect().query_value<int>("SELECT count(*) FROM t"), 50);
    EXPECT_FALSE(std::filesystem::exists(path + ".libsql-rekey"));
}

TEST(encryption, rekey_to_another_cipher_layout) {
    const temp_dir dir;
    const auto path = dir.file("enc.db");
    make_encrypted(path, "k", 20, libsql::encryption_cipher::chacha20);
    {
        libsql::database db(path, keyed("k", libsql::encryption_cipher::chacha20));
        db.rekey("");
    }
    libsql::database plain(path);
    EXPECT_EQ(plain.connect().query_value<int>("SELECT count(*) FROM t"), 20);
    EXPECT_EQ(plain.connect().query_value<std::string>("PRAGMA integrity_check"), "ok");
}

TEST(encryption, rekey_refuses_while_a_connection_is_open_and_changes_nothing) {
    const temp_dir dir;
    const auto path = dir.file("enc.db");
    make_encrypted(path, "old");
    libsql::database db(path, keyed("old"));
    auto conn = db.connect();
    EXPECT_THROW(db.rekey("new"), libsql::usage_error);
    EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM t"), 50);
    conn.close();
    db.rekey("new");
    EXPECT_EQ(db.connect().query_value<int>("SELECT count(*) FROM t"), 50);
    libsql::connect_options ro = keyed("new");
    ro.mode = libsql::open_mode::read_only;
    libsql::database read_only(path, ro);
    EXPECT_THROW(read_only.rekey("x"), libsql::readonly);
}

} // namespace
