// The pool and the migrator over the network (issue 6, "Load and safety" and "works against local, remote and
// replica"): a pool of 4 remote connections shared by 16 threads against `libsql serve`, oversubscribed callers that
// may only see typed time-outs, migrations applied, reverted and raced on a remote database, and migrations on an
// embedded replica (whose writes go to the primary). Peers are real: `libsql serve` started per test on 127.0.0.1.
#include "libsql/libsql.hpp"

#include "support/processes.hpp"
#include "support/temp_files.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

using libsql::test::libsql_server;
using versions = std::vector<std::int64_t>;

/// Operations per thread in the load test. LIBSQL_LOAD_OPS lowers it for slow builds (scripts/test's TSan pass).
int load_ops(int fallback) {
    if (const char* e = std::getenv("LIBSQL_LOAD_OPS")) {
        const int n = std::atoi(e);
        if (n >= 4) return n - n % 4;
    }
    return fallback;
}

/// Records the first failure of several threads and how many there were.
struct failures {
    std::atomic<int> count{0};
    std::mutex m;
    std::string first;
    void add(const std::string& what) {
        ++count;
        std::lock_guard lk(m);
        if (first.empty()) first = what;
    }
};

/// Lets N threads start their work at the same moment.
class start_line {
public:
    explicit start_line(int n) : left_(n) {}
    void arrive_and_wait() {
        std::unique_lock lk(m_);
        if (--left_ == 0) cv_.notify_all();
        else cv_.wait(lk, [&] { return left_ == 0; });
    }

private:
    std::mutex m_;
    std::condition_variable cv_;
    int left_;
};

/// A directory of the test's own, in memory (/dev/shm) where there is one: the server then commits without waiting
/// for the disk (fsync costs ~5 ms a commit on the CI disk, which would make the load test measure the disk rather
/// than the pool). Removed with everything in it.
class memory_dir {
public:
    memory_dir() {
        const auto name = libsql::test::unique_temp_path("pool-remote").filename();
        std::error_code ec;
        const std::filesystem::path shm = "/dev/shm";
        path_ = (std::filesystem::is_directory(shm, ec) && ::access("/dev/shm", W_OK) == 0 ? shm
                                                                                          : std::filesystem::temp_directory_path()) /
                name;
        std::filesystem::remove_all(path_, ec);
        std::filesystem::create_directories(path_);
    }
    ~memory_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    memory_dir(const memory_dir&) = delete;
    memory_dir& operator=(const memory_dir&) = delete;
    [[nodiscard]] std::string file(const std::string& name) const { return (path_ / name).string(); }

private:
    std::filesystem::path path_;
};

/// A fresh `libsql serve` on a file of this test's own.
class pool_remote : public ::testing::Test {
protected:
    memory_dir dir;  // first: removed after the server stops
    libsql_server server{dir.file("primary.db"), {"--log-level", "error"}};
};
using migrations_remote = pool_remote;

// --- load: 16 threads, a pool of 4 remote connections

TEST_F(pool_remote, load_sixteen_threads_through_four_connections) {
    {
        libsql::database setup(server.url());
        auto c = setup.connect();
        c.execute("CREATE TABLE items(thread INTEGER NOT NULL, n INTEGER NOT NULL)");
        c.execute("CREATE TABLE totals(thread INTEGER PRIMARY KEY, n INTEGER NOT NULL)");
    }
    libsql::pool_options o;
    o.max_size = 4;
    o.checkout_timeout = 30s;  // generous: this case wants no time-out at all
    libsql::pool p(libsql::database(server.url()), o);
    ASSERT_EQ(p.checkout()->transport(), libsql::transport::remote);

    constexpr int threads = 16;
    const int ops = load_ops(1000);
    failures errors;
    std::vector<std::thread> workers;
    const auto started = std::chrono::steady_clock::now();
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            try {
                {
                    auto c = p.checkout();
                    c.cached("INSERT INTO totals(thread, n) VALUES (?, 0)").execute(t);
                }
                std::int64_t seen_all = 0;  // every thread's rows: never fewer than an earlier read saw
                std::int64_t done = 0;      // rows this thread committed so far
                for (int i = 0; i < ops; ++i) {
                    auto c = p.checkout();
                    switch (i % 4) {
                    case 0: {  // an interactive transaction: two inserts and a read-modify-write, all or nothing
                        auto tx = c->transaction(libsql::transaction_behavior::immediate);
                        auto ins = c.cached("INSERT INTO items(thread, n) VALUES (?, ?)");
                        ins.execute(t, i);
                        ins.execute(t, i + 1);
                        const auto before = c.cached("SELECT n FROM totals WHERE thread = ?").query_row(t).get<std::int64_t>(0);
                        if (before != done)
                            throw std::runtime_error("thread " + std::to_string(t) + ": total " + std::to_string(before) +
                                                     " inside its transaction, expected " + std::to_string(done));
                        c.cached("UPDATE totals SET n = ? WHERE thread = ?").execute(before + 2, t);
                        tx.commit();
                        done += 2;
                        break;
                    }
                    case 1:  // one autocommit insert, and the total by an atomic update
                        c.cached("INSERT INTO items(thread, n) VALUES (?, ?)").execute(t, i);
                        c.cached("UPDATE totals SET n = n + 1 WHERE thread = ?").execute(t);
                        done += 1;
                        break;
                    case 2: {  // own rows: exactly what this thread committed, whichever connection it gets
                        const auto mine = c.cached("SELECT count(*) FROM items WHERE thread = ?").query_row(t).get<std::int64_t>(0);
                        if (mine != done)
                            throw std::runtime_error("thread " + std::to_string(t) + " saw " + std::to_string(mine) +
                                                     " rows, expected " + std::to_string(done));
                        break;
                    }
                    default: {  // own latest rows streamed, and everyone's count: never fewer than seen before
                        std::int64_t streamed = 0, last = -1;
                        for (auto r : c.cached("SELECT n FROM items WHERE thread = ? ORDER BY rowid DESC LIMIT 8").query(t)) {
                            if (last < 0) last = r.get<std::int64_t>(0);
                            ++streamed;
                        }
                        if (streamed != std::min<std::int64_t>(8, done) || last != i - 2)
                            throw std::runtime_error("thread " + std::to_string(t) + " streamed " + std::to_string(streamed) +
                                                     " rows, the latest " + std::to_string(last) + ", at operation " +
                                                     std::to_string(i));
                        const auto all = c.cached("SELECT count(*) FROM items").query_row().get<std::int64_t>(0);
                        if (all < seen_all)
                            throw std::runtime_error("thread " + std::to_string(t) + " saw " + std::to_string(all) +
                                                     " rows in all after " + std::to_string(seen_all));
                        seen_all = all;
                        break;
                    }
                    }
                }
            } catch (const std::exception& e) {
                errors.add(e.what());
            }
        });
    }
    for (auto& w : workers) w.join();
    const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    EXPECT_EQ(errors.count.load(), 0) << errors.first;

    // Nothing lost, nothing doubled: counted through a connection outside the pool.
    libsql::database check(server.url());
    auto c = check.connect();
    const std::int64_t per_thread = static_cast<std::int64_t>(ops / 4) * 3;
    EXPECT_EQ(c.query_value<std::int64_t>("SELECT count(*) FROM items"), threads * per_thread);
    EXPECT_EQ(c.query_value<std::int64_t>("SELECT count(*) FROM (SELECT thread FROM items GROUP BY thread HAVING count(*) = ?)",
                                          per_thread),
              threads);
    EXPECT_EQ(c.query_value<std::int64_t>("SELECT count(*) FROM totals WHERE n = ?", per_thread), threads);
    const auto s = p.stats();
    EXPECT_EQ(s.checkouts, static_cast<std::uint64_t>(threads * (ops + 1) + 1));
    EXPECT_EQ(s.timeouts, 0u);
    EXPECT_EQ(s.replaced, 0u);  // check-in must not break remote connections
    EXPECT_EQ(s.in_use, 0u);
    EXPECT_LE(s.idle, 4u);
    EXPECT_GE(s.cache_hits + s.cache_misses, static_cast<std::uint64_t>(threads * ops));
    EXPECT_LE(s.cache_misses, 8u * 4u);  // eight cached statements per pooled connection, at most four connections
    std::printf("[ info ] %d threads x %d operations through a pool of 4 remote connections: %.2f s\n", threads, ops,
                seconds);
}

TEST_F(pool_remote, oversubscribed_callers_get_typed_timeouts_only) {
    {
        libsql::database setup(server.url());
        setup.connect().execute("CREATE TABLE hits(n)");
    }
    libsql::pool_options o;
    o.max_size = 2;
    o.checkout_timeout = 1ms;
    libsql::pool p(libsql::database(server.url()), o);
    constexpr int threads = 8;
    const int ops = std::max(20, load_ops(100) / 2);
    std::atomic<int> timeouts{0};
    std::atomic<int> done{0};
    failures other;
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&] {
            for (int i = 0; i < ops; ++i) {
                try {
                    auto c = p.checkout();
                    c.cached("INSERT INTO hits VALUES (1)").execute();  // a round trip: others queue meanwhile
                    std::this_thread::sleep_for(2ms);  // and hold it longer than the checkout timeout
                    ++done;
                } catch (const libsql::timeout& e) {
                    const std::string what = e.what();
                    if (what.find("connections busy") == std::string::npos) other.add("untyped message: " + what);
                    ++timeouts;
                } catch (const std::exception& e) {
                    other.add(e.what());
                }
            }
        });
    }
    for (auto& w : workers) w.join();
    EXPECT_EQ(other.count.load(), 0) << other.first;
    EXPECT_EQ(done.load() + timeouts.load(), threads * ops);
    std::printf("[ info ] %d of %d checkouts timed out\n", timeouts.load(), threads * ops);
    // However the threads were scheduled (on a loaded machine they may never overlap): with both connections held,
    // a third caller times out, typed.
    {
        auto a = p.checkout();
        auto b = p.checkout();
        EXPECT_THROW((void)p.checkout(), libsql::timeout);
        ++timeouts;
    }
    EXPECT_GT(done.load(), 0);
    const auto s = p.stats();
    EXPECT_EQ(s.timeouts, static_cast<std::uint64_t>(timeouts.load()));
    EXPECT_EQ(s.in_use, 0u);
    EXPECT_EQ(s.waiting, 0u);
    EXPECT_EQ(s.replaced, 0u);
    // Every insert that reported success is there, and no other.
    auto c = p.checkout(10s);
    EXPECT_EQ(c->query_value<std::int64_t>("SELECT count(*) FROM hits"), done.load());
}

TEST_F(pool_remote, checkin_leaves_the_connection_clean_and_reusable) {
    libsql::pool_options o;
    o.max_size = 1;
    libsql::pool p(libsql::database(server.url()), o);
    {
        auto c = p.checkout();
        c->execute("CREATE TABLE t(x)");
        c->execute("BEGIN IMMEDIATE");  // left open (no transaction object): check-in must roll it back
        c->execute("INSERT INTO t VALUES (1)");
        EXPECT_FALSE(c->is_autocommit());
    }
    {
        auto c = p.checkout();
        EXPECT_TRUE(c->is_autocommit());
        EXPECT_EQ(c->query_value<int>("SELECT count(*) FROM t"), 0);
        c->execute("INSERT INTO t VALUES (2)");
    }
    // The abandoned transaction no longer holds the write lock: another client writes at once.
    libsql::database other(server.url());
    auto oc = other.connect();
    oc.execute("INSERT INTO t VALUES (3)");
    EXPECT_EQ(oc.query_value<int>("SELECT count(*) FROM t"), 2);
    const auto s = p.stats();
    EXPECT_EQ(s.replaced, 0u);
    EXPECT_EQ(s.checkouts, 2u);
}

TEST_F(pool_remote, ping_health_check_over_the_network) {
    libsql::pool_options o;
    o.max_size = 2;
    o.health_check = libsql::health_check::ping;
    libsql::pool p(libsql::database(server.url()), o);
    for (int i = 0; i < 5; ++i) EXPECT_EQ(p.checkout()->query_value<int>("SELECT 40 + 2"), 42);
    EXPECT_EQ(p.stats().replaced, 0u);
    EXPECT_EQ(p.stats().checkouts, 5u);
}

// --- migrations on a remote database

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
        make(1, "create_users", "CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT NOT NULL)", "DROP TABLE users"),
        make(2, "create_posts", "CREATE TABLE posts(id INTEGER PRIMARY KEY, user_id INTEGER); CREATE INDEX posts_user ON posts(user_id);",
             "DROP TABLE posts"),
        make(3, "add_email", "ALTER TABLE users ADD COLUMN email TEXT", "ALTER TABLE users DROP COLUMN email"),
    });
}

bool has_table(libsql::connection& c, const std::string& name) {
    return c.query_value<int>("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?", name) > 0;
}

TEST_F(migrations_remote, up_status_down) {
    libsql::database db(server.url());
    auto conn = db.connect();
    const auto m = three();
    EXPECT_FALSE(m.current_version(conn));
    EXPECT_EQ(m.up_to(conn, 2), (versions{1, 2}));
    EXPECT_EQ(m.up(conn), (versions{3}));
    EXPECT_EQ(m.up(conn), versions{});
    EXPECT_EQ(m.current_version(conn), 3);
    const auto st = m.status(conn);
    ASSERT_EQ(st.size(), 3u);
    for (const auto& s : st) {
        EXPECT_TRUE(s.applied) << s.version;
        EXPECT_TRUE(s.applied_at.has_value()) << s.version;
        EXPECT_TRUE(s.known);
    }
    conn.execute("INSERT INTO users(name, email) VALUES ('ann', 'ann@example.com')");

    // Another client of the server sees the same schema and bookkeeping.
    libsql::database other(server.url());
    auto oc = other.connect();
    EXPECT_TRUE(has_table(oc, "posts"));
    EXPECT_EQ(oc.query_value<std::string>("SELECT email FROM users"), "ann@example.com");
    EXPECT_EQ(oc.query_value<std::int64_t>("SELECT count(*) FROM schema_migrations"), 3);

    EXPECT_EQ(m.down(conn), 3);
    EXPECT_EQ(m.down_to(conn, 0), (versions{2, 1}));
    EXPECT_FALSE(m.current_version(conn));
    EXPECT_FALSE(has_table(oc, "users"));
    EXPECT_FALSE(has_table(oc, "posts"));
}

TEST_F(migrations_remote, a_failing_migration_leaves_no_trace) {
    libsql::database db(server.url());
    auto conn = db.connect();
    auto m = three();
    // Its first statement succeeds, its second fails: neither may stay, nor the bookkeeping row.
    m.add(make(4, "broken", "CREATE TABLE half(x); INSERT INTO no_such_table VALUES (1);", "DROP TABLE half"));
    m.add(make(5, "never", "CREATE TABLE never(x)", ""));
    EXPECT_THROW((void)m.up(conn), libsql::sql_error);
    EXPECT_TRUE(conn.is_autocommit());
    EXPECT_EQ(m.current_version(conn), 3);
    libsql::database other(server.url());
    auto oc = other.connect();
    EXPECT_FALSE(has_table(oc, "half"));
    EXPECT_FALSE(has_table(oc, "never"));
    EXPECT_EQ(oc.query_value<std::int64_t>("SELECT count(*) FROM schema_migrations WHERE version >= 4"), 0);
    // The connection still works, and the lock was released: another client migrates down at once.
    EXPECT_EQ(m.down_to(oc, 1), (versions{3, 2}));
    EXPECT_EQ(m.current_version(conn), 1);
}

TEST_F(migrations_remote, racing_migrators_apply_and_revert_each_version_once) {
    // Every migration logs itself: applying one twice would log it twice (or fail on its CREATE TABLE).
    std::vector<libsql::migration> list{make(1, "log", "CREATE TABLE log(version INTEGER)", "DROP TABLE log")};
    for (std::int64_t v = 2; v <= 12; ++v)
        list.push_back(make(v, "step" + std::to_string(v),
                            "CREATE TABLE t" + std::to_string(v) + "(x); INSERT INTO log VALUES (" + std::to_string(v) + ");",
                            "DROP TABLE t" + std::to_string(v) + "; DELETE FROM log WHERE version = " + std::to_string(v)));
    const libsql::migrator m(list);
    versions expected;
    for (std::int64_t v = 1; v <= 12; ++v) expected.push_back(v);

    constexpr int racers = 4;
    for (const bool going_up : {true, false}) {
        std::vector<versions> done(racers);
        failures errors;
        start_line line(racers);
        std::vector<std::thread> threads;
        for (int i = 0; i < racers; ++i) {
            threads.emplace_back([&, i] {
                try {
                    libsql::database db(server.url());  // each its own client, like separate processes
                    auto conn = db.connect();
                    line.arrive_and_wait();
                    done[static_cast<std::size_t>(i)] = going_up ? m.up(conn) : m.down_to(conn, 0);
                } catch (const std::exception& e) {
                    errors.add(e.what());
                }
            });
        }
        for (auto& t : threads) t.join();
        ASSERT_EQ(errors.count.load(), 0) << errors.first;
        versions all;
        for (const auto& d : done) all.insert(all.end(), d.begin(), d.end());
        std::sort(all.begin(), all.end());
        EXPECT_EQ(all, expected) << (going_up ? "up" : "down");

        libsql::database db(server.url());
        auto conn = db.connect();
        if (going_up) {
            EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM log"), 11);
            EXPECT_EQ(conn.query_value<int>("SELECT count(DISTINCT version) FROM log"), 11);
            EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM schema_migrations"), 12);
        } else {
            EXPECT_FALSE(m.current_version(conn));
            EXPECT_FALSE(has_table(conn, "log"));
            EXPECT_FALSE(has_table(conn, "t12"));
        }
    }
}

// --- an embedded replica of the server: reads local, writes (and so migrations) go to the primary

class pool_replica : public pool_remote {
protected:
    /// A replica of the server in a file of its own. The one place that tolerates a replica transport not built
    /// yet (libsql::unsupported at open): the tests skip instead of failing.
    std::optional<libsql::database> open_replica(const std::string& name) {
        libsql::connect_options o;
        o.sync_url = server.url();
        try {
            return libsql::database(dir.file(name), o);
        } catch (const libsql::unsupported& e) {
            skip_reason = e.what();
            return std::nullopt;
        }
    }
    std::string skip_reason;
};
using migrations_replica = pool_replica;

TEST_F(migrations_replica, applied_through_a_replica_reach_the_primary) {
    auto replica = open_replica("replica.db");
    if (!replica) GTEST_SKIP() << "replica transport not built yet: " << skip_reason;
    ASSERT_EQ(replica->transport(), libsql::transport::replica);
    auto rc = replica->connect();
    const auto m = three();
    EXPECT_EQ(m.up(rc), (versions{1, 2, 3}));
    EXPECT_EQ(m.up(rc), versions{});  // the replica sees what it wrote (read_your_writes)
    EXPECT_EQ(m.current_version(rc), 3);
    EXPECT_TRUE(has_table(rc, "posts"));

    // The writes went to the primary.
    libsql::database primary(server.url());
    auto pc = primary.connect();
    EXPECT_EQ(pc.query_value<std::int64_t>("SELECT count(*) FROM schema_migrations"), 3);
    EXPECT_TRUE(has_table(pc, "users"));
    // The primary's view of the status agrees with the replica's.
    EXPECT_EQ(m.status(pc), m.status(rc));

    // A migrator on the primary and one on a second replica do not both apply a version.
    auto second = open_replica("replica2.db");
    ASSERT_TRUE(second.has_value());
    auto sc = second->connect();
    auto more = three();
    more.add(make(4, "tags", "CREATE TABLE tags(name TEXT)", "DROP TABLE tags"));
    versions a, b;
    std::thread t1([&] { a = more.up(pc); });
    std::thread t2([&] {
        try {
            b = more.up(sc);
        } catch (const std::exception& e) {
            ADD_FAILURE() << e.what();
        }
    });
    t1.join();
    t2.join();
    versions all = a;
    all.insert(all.end(), b.begin(), b.end());
    EXPECT_EQ(all, versions{4});
    EXPECT_EQ(pc.query_value<std::int64_t>("SELECT count(*) FROM schema_migrations"), 4);

    // Back down through the replica, each version once; `m` does not know version 4 and refuses to pass it.
    EXPECT_THROW((void)m.down_to(rc, 0), libsql::usage_error);
    EXPECT_EQ(more.down_to(rc, 0), (versions{4, 3, 2, 1}));
    EXPECT_FALSE(has_table(pc, "users"));
    EXPECT_FALSE(more.current_version(pc));
}

TEST_F(pool_replica, threads_writing_and_reading_through_a_pool) {
    auto replica = open_replica("pooled.db");
    if (!replica) GTEST_SKIP() << "replica transport not built yet: " << skip_reason;
    {
        libsql::database primary(server.url());
        primary.connect().execute("CREATE TABLE items(thread INTEGER NOT NULL, n INTEGER NOT NULL)");
    }
    libsql::pool_options o;
    o.max_size = 4;
    o.checkout_timeout = 30s;
    libsql::pool p(std::move(*replica), o);
    constexpr int threads = 8;
    const int ops = std::max(8, load_ops(100) / 4);
    failures errors;
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            try {
                for (int i = 0; i < ops; ++i) {
                    auto c = p.checkout();
                    if (i % 2 == 0) {
                        c.cached("INSERT INTO items(thread, n) VALUES (?, ?)").execute(t, i);
                    } else {
                        // read_your_writes: this thread's write is visible locally, through any pooled connection
                        const auto mine = c.cached("SELECT count(*) FROM items WHERE thread = ?").query_row(t).get<std::int64_t>(0);
                        if (mine < (i + 1) / 2)
                            throw std::runtime_error("thread " + std::to_string(t) + " saw " + std::to_string(mine) +
                                                     " of its rows, expected at least " + std::to_string((i + 1) / 2));
                    }
                }
            } catch (const std::exception& e) {
                errors.add(e.what());
            }
        });
    }
    for (auto& w : workers) w.join();
    EXPECT_EQ(errors.count.load(), 0) << errors.first;
    EXPECT_EQ(p.stats().replaced, 0u);
    libsql::database primary(server.url());
    EXPECT_EQ(primary.connect().query_value<std::int64_t>("SELECT count(*) FROM items"),
              static_cast<std::int64_t>(threads) * ((ops + 1) / 2));
}

} // namespace
