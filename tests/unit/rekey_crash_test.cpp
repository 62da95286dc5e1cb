// database::rekey() killed at random moments (SIGKILL of a child process that rekeys in a loop): afterwards the
// file always opens with the old key or the new one, whole (integrity_check, every row). Runs under ASan too.
#include "libsql/database.hpp"

#include "support/processes.hpp"
#include "support/temp_files.hpp"
#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <string>
#include <thread>

namespace {

using libsql::test::child_process;
using libsql::test::temp_dir;

/// Which key opens the file (0: A, 1: B), checking it whole; -1 when neither does.
int open_whole(const std::string& path, const std::string& a, const std::string& b, int rows) {
    for (int i = 0; i < 2; ++i) {
        libsql::connect_options o;
        o.encryption_key = i == 0 ? a : b;
        try {
            libsql::database db(path, o);
            auto c = db.connect();
            EXPECT_EQ(c.query_value<std::string>("PRAGMA integrity_check"), "ok");
            EXPECT_EQ(c.query_value<int>("SELECT count(*) FROM t"), rows);
            return i;
        } catch (const libsql::encryption_error&) {
        }
    }
    return -1;
}

TEST(rekey_crash, a_killed_rekey_leaves_the_file_under_the_old_or_the_new_key) {
    const temp_dir dir;
    const std::string path = dir.file("rekey.db");
    const std::string a = "key-A", b = "key-B";
    constexpr int rows = 400;
    {
        libsql::connect_options o;
        o.encryption_key = a;
        libsql::database db(path, o);
        auto c = db.connect();
        c.execute("PRAGMA journal_mode = WAL");
        c.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
        c.execute("BEGIN");
        for (int i = 0; i < rows; ++i) c.execute("INSERT INTO t(v) VALUES (?)", std::string(200, static_cast<char>('a' + i % 26)));
        c.execute("COMMIT");
    }
    std::mt19937 rng(std::random_device{}());
    int seen[2] = {0, 0};
    for (int round = 0; round < 12; ++round) {
        child_process child({LIBSQL_REKEY_CHILD_PATH, path, a, b}, true);
        // Sometimes only after a first complete rekey (which proves the child really rekeys).
        if (round % 3 == 0) {
            ASSERT_EQ(child.read_line().rfind("rekeyed ", 0), 0u) << "the child did not rekey";
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 60)(rng)));
        child.kill_now();
        const int which = open_whole(path, a, b, rows);
        ASSERT_NE(which, -1) << "round " << round << ": neither key opens the file";
        ++seen[which];
    }
    RecordProperty("opened_with_a", seen[0]);
    RecordProperty("opened_with_b", seen[1]);
}

} // namespace
