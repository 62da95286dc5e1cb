// The conformance suite: one set of cases, run against every transport (a local file, `libsql serve` over Hrana on HTTP and on WebSocket,
// `tursodb --sync-server` over Hrana, an embedded replica of a `libsql serve` primary). Each transport is a context
// that declares what it can do (as SOCI's per-backend test contexts do). A case that needs a capability the
// context lacks asserts the documented behaviour instead (libsql::unsupported, say) where there is one, and skips
// with the reason otherwise. The point: the same program gives the same results, whatever the URL.
//
// Every case gets a fresh database (and a fresh server process for the server transports), so cases are
// independent; ctest runs each case in its own process anyway.
#include "libsql/adapter.hpp"
#include "libsql/database.hpp"
#include "libsql/pool.hpp"
#include "libsql/pragma.hpp"
#include "libsql/types.hpp"
#include "libsql/vector.hpp"

#include "support/processes.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <vector>

#include <unistd.h>

using namespace std::chrono_literals;
using namespace std::string_literals;
using namespace std::string_view_literals;

namespace {

/// A directory of its own for one case, removed with everything in it. (temp_files.hpp's temp_dir names itself after
/// the test, and a parameterised test's name holds a '/', which would nest the directory and leave its parent
/// behind.)
class scratch_dir {
public:
    scratch_dir() {
        static std::atomic<int> counter{0};
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        std::string name = info ? std::string(info->test_suite_name()) + "." + info->name() : "x";
        for (auto& ch : name)
            if (ch == '/') ch = '_';
        path_ = std::filesystem::temp_directory_path() /
                ("libsql-conformance-" + name + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        std::filesystem::remove_all(path_);
        std::filesystem::create_directories(path_);
    }
    ~scratch_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    scratch_dir(const scratch_dir&) = delete;
    scratch_dir& operator=(const scratch_dir&) = delete;
    [[nodiscard]] std::string file(const std::string& name) const { return (path_ / name).string(); }

private:
    std::filesystem::path path_;
};

enum class kind { local, remote, remote_ws, tursodb, replica };

std::string kind_name(kind k) {
    switch (k) {
    case kind::local: return "local";
    case kind::remote: return "remote";
    case kind::remote_ws: return "remote_ws";
    case kind::tursodb: return "tursodb";
    case kind::replica: return "replica";
    }
    return "unknown";
}

void PrintTo(kind k, std::ostream* os) { *os << kind_name(k); }

/// What a transport can do. A missing capability is either a documented refusal (asserted by the cases) or a
/// limit of the peer (the cases that need it skip, naming the capability).
struct capabilities {
    /// BEGIN ... COMMIT over several calls (transaction(), is_autocommit() tracking, reset() rolling back).
    bool interactive_transactions = true;
    /// savepoint() objects, nested (needs interactive transactions).
    bool savepoints = true;
    /// is_autocommit() follows a failed statement that rolled the transaction back (ON CONFLICT ROLLBACK); without:
    /// the client tracks transactions by keyword and cannot see that (tursodb has no get_autocommit).
    bool autocommit_after_failures = true;
    /// :name, @name, $name parameters bound by name (on tursodb the client turns them into positional ones).
    bool named_parameters = true;
    /// A prepared statement knows its result columns before it runs.
    bool describe = true;
    /// readonly() answers for a prepared statement (on tursodb the client judges by the leading keywords).
    bool readonly_flag = true;
    /// parameter_count(), parameter_name(), parameter_index() (and so binding by index is range-checked).
    bool parameter_introspection = true;
    /// columns() reports the origin database, table and column, not only name and declared type.
    bool column_origin = true;
    /// execute() and changes() report the rows changed; total_changes() counts them.
    bool affected_rows = true;
    bool last_insert_rowid = true;
    /// authorizer, update, commit and rollback hooks; without: each setter raises libsql::unsupported.
    bool hooks = true;
    /// enable_load_extension/load_extension; without: libsql::unsupported.
    bool extensions = true;
    /// interrupt() from another thread stops a running statement with libsql::interrupted.
    bool interrupt = true;
    /// busy_timeout() sets the connection's wait (PRAGMA busy_timeout reads it back); without: accepted and without
    /// effect, the server decides how long to wait (docs/REMOTE.md; the pool resets it at every check-in).
    bool busy_timeout = true;
    /// set_limit(); without: libsql::unsupported.
    bool set_limit = true;
    /// native_handle() is the engine's handle; without: nullptr (connection and statement).
    bool native_handle = true;
    /// expanded_sql() substitutes the bindings.
    bool expanded_sql = true;
    /// Two connections of one database are separate sessions: one's open transaction is invisible to the other.
    bool multiple_connections_isolated = true;
    /// Constraint failures raise the precise subclass (unique_violation, not_null_violation, ...) with the
    /// extended code; without: at least libsql::constraint_violation.
    bool typed_constraint_errors = true;
    /// A primary-key conflict is a primary_key_violation (1555); without: the unique_violation (2067) its message
    /// also fits (Hrana servers send only the primary code: docs/REMOTE.md).
    bool primary_key_errors = true;
    /// Connection state (PRAGMA foreign_keys, temporary tables) set by one statement holds for the next ones;
    /// without: only within one execute_batch() or one transaction (docs/REMOTE.md, "per-statement state").
    bool connection_state = true;
    /// sync(), sync_until(), replication_index(), flush_replicator(); without: libsql::unsupported.
    bool replication = false;
    /// The peer keeps every bit of a double (17 significant digits); without: within 4 ULPs (a peer's limit).
    bool exact_doubles = true;
    /// libSQL's SQL dialect: CREATE TABLE ... RANDOM ROWID, ALTER TABLE ... ALTER COLUMN ... TO (docs/ENGINE.md).
    bool libsql_dialect = true;
    /// connect_options::encryption_key encrypts the local file (docs/ENCRYPTION.md); without: libsql::unsupported at
    /// open (a server's encryption is its own: remote_encryption_key).
    bool encryption_at_rest = true;
    /// libSQL's vector functions (vector32, vector_distance_cos, ...) with libSQL's bytes and errors.
    bool libsql_vectors = true;
};

capabilities capabilities_of(kind k) {
    capabilities c;
    switch (k) {
    case kind::local:
        break;
    case kind::remote:  // `libsql serve`: Hrana v3 with real streams; nothing of the engine's C API crosses HTTP
        c.column_origin = false;  // Hrana columns carry a name and a decltype only
        c.hooks = false;
        c.extensions = false;
        c.busy_timeout = false;
        c.set_limit = false;
        c.native_handle = false;
        c.primary_key_errors = false;
        c.connection_state = false;
        c.encryption_at_rest = false;
        break;
    case kind::remote_ws:  // `libsql serve` over WebSocket (hrana3): as over HTTP, but each connection keeps its
        c = capabilities_of(kind::remote);  // stream (one server connection) between statements
        c.connection_state = true;
        break;
    case kind::tursodb:  // execute and batch only, one shared server connection (protocols.md §5.3, §7)
        c = capabilities_of(kind::remote);
        // Transactions work on the server's one shared connection (the client tracks BEGIN/SAVEPOINT by keyword),
        // so they are not isolated from other clients.
        c.describe = false;                   // no `describe` request
        c.interrupt = false;                  // single-threaded server: an abandoned query still runs to the end
        c.multiple_connections_isolated = false;
        c.autocommit_after_failures = false;  // no get_autocommit: keyword tracking only
        c.connection_state = true;            // the one shared connection keeps it (for every client)
        c.exact_doubles = false;              // tursodb 0.6.0 answers 123456789.12345679 as 123456789.1234568
        c.libsql_dialect = false;             // tursodb's own parser: neither RANDOM ROWID nor ALTER COLUMN ... TO
        c.libsql_vectors = false;             // tursodb has its own vector engine; not held to libSQL's bytes here
        break;
    case kind::replica:  // reads on a local file, writes to the primary over Hrana
        // Writes bypass the local engine, so hooks, extensions and limits set on it would silently not apply to
        // them: refused like on remote connections; native_handle() is nullptr as for every non-local connection.
        c.native_handle = false;
        c.hooks = false;
        c.extensions = false;
        c.set_limit = false;
        c.replication = true;
        c.primary_key_errors = false;  // writes go through the remote transport
        c.connection_state = false;
        break;
    }
    return c;
}

libsql::transport transport_of(kind k) {
    switch (k) {
    case kind::local: return libsql::transport::local;
    case kind::remote:
    case kind::remote_ws:
    case kind::tursodb: return libsql::transport::remote;
    case kind::replica: return libsql::transport::replica;
    }
    return libsql::transport::local;
}

/// One transport's world for one case: its files, its server process, and how to open the database.
struct context {
    kind k = kind::local;
    capabilities caps;
    std::unique_ptr<scratch_dir> dir;  // declared first: removed after the servers stop
    std::unique_ptr<libsql::test::libsql_server> server;
    std::unique_ptr<libsql::test::tursodb_server> turso;
    int opened = 0;
    /// A new database object for this context's target (replicas: a new replica file of the same primary).
    std::function<libsql::database()> open;
    /// The case's database when making the context already had to open it.
    std::optional<libsql::database> first;
};

/// Makes the context; on a reason to skip, returns nullptr and fills `skip`.
std::unique_ptr<context> make_context(kind k, std::string& skip) {
    auto ctx = std::make_unique<context>();
    ctx->k = k;
    ctx->caps = capabilities_of(k);
    ctx->dir = std::make_unique<scratch_dir>();
    context* c = ctx.get();
    switch (k) {
    case kind::local: {
        const std::string path = c->dir->file("local.db");
        c->open = [path] { return libsql::database(path); };
        break;
    }
    case kind::remote: {
        c->server = std::make_unique<libsql::test::libsql_server>(c->dir->file("served.db"));
        const std::string url = c->server->url();
        c->open = [url] { return libsql::database(url); };
        break;
    }
    case kind::remote_ws: {
        c->server = std::make_unique<libsql::test::libsql_server>(c->dir->file("served.db"));
        const std::string url = "ws://127.0.0.1:" + std::to_string(c->server->port());
        c->open = [url] { return libsql::database(url); };
        break;
    }
    case kind::tursodb: {
        if (!libsql::test::tursodb_available()) {
            skip = "tursodb not installed at " + libsql::test::tursodb_path() + " (scripts/setup installs npm turso@0.6.0)";
            return nullptr;
        }
        c->turso = std::make_unique<libsql::test::tursodb_server>(c->dir->file("turso.db"));  // a fresh file
        const std::string url = c->turso->url();
        c->open = [url] { return libsql::database(url); };
        break;
    }
    case kind::replica: {
        c->server = std::make_unique<libsql::test::libsql_server>(c->dir->file("primary.db"));
        const std::string url = c->server->url();
        c->open = [c, url] {
            libsql::connect_options o;
            o.sync_url = url;
            return libsql::database(c->dir->file("replica-" + std::to_string(c->opened++) + ".db"), o);
        };
        // The one allowance for a transport still being written; the coordinator removes it once replicas land.
        try {
            c->first.emplace(c->open());
        } catch (const libsql::unsupported&) {
            skip = "replica transport not built yet";
            return nullptr;
        }
        break;
    }
    }
    return ctx;
}

/// Ten rows, 0..9, for building larger results by cross joins (tursodb has no recursive CTEs).
constexpr const char* digits = "WITH d(x) AS (VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9)) ";

class conformance : public ::testing::TestWithParam<kind> {
protected:
    void SetUp() override {
        std::string skip;
        ctx_ = make_context(GetParam(), skip);
        if (!ctx_) GTEST_SKIP() << skip;
        db_ = std::make_unique<libsql::database>(ctx_->first ? std::move(*ctx_->first) : ctx_->open());
        conn = db_->connect();
    }
    void TearDown() override {
        conn = libsql::connection();
        db_.reset();
        ctx_.reset();  // stops the server, then removes the files
    }

    [[nodiscard]] const capabilities& caps() const { return ctx_->caps; }
    [[nodiscard]] kind k() const { return ctx_->k; }
    libsql::database& db() { return *db_; }
    std::int64_t count(const std::string& table) { return conn.query_value<std::int64_t>("SELECT count(*) FROM " + table); }
    /// The x column of a table, ordered, comma-separated ("" when empty).
    std::string contents(libsql::connection& c, const std::string& table) {
        return c.query_value<std::optional<std::string>>("SELECT group_concat(x, ',') FROM (SELECT x FROM " + table +
                                                         " ORDER BY x)")
            .value_or("");
    }
    std::string contents(const std::string& table) { return contents(conn, table); }

    std::unique_ptr<context> ctx_;
    std::unique_ptr<libsql::database> db_;
    libsql::connection conn;
};

#define REQUIRE_CAPABILITY(cap)                                                                                  \
    do {                                                                                                         \
        if (!caps().cap) GTEST_SKIP() << kind_name(k()) << " lacks the capability " #cap;                       \
    } while (0)

using sys_clock = std::chrono::system_clock;

sys_clock::time_point make_time(std::chrono::year_month_day ymd, std::chrono::nanoseconds tod) {
    return sys_clock::time_point(
        std::chrono::duration_cast<sys_clock::duration>((std::chrono::sys_days{ymd} + tod).time_since_epoch()));
}

// ================================================================================================================
// The context itself

TEST_P(conformance, transport_is_reported) {
    EXPECT_EQ(libsql::to_string(db().transport()), libsql::to_string(transport_of(k())));
    EXPECT_EQ(libsql::to_string(conn.transport()), libsql::to_string(transport_of(k())));
    EXPECT_TRUE(conn.is_open());
    EXPECT_FALSE(db().path().empty());
    EXPECT_EQ(conn.query_value<int>("SELECT 1"), 1);
}

// ================================================================================================================
// Values: every type the API maps, bound and read back through SELECT ? and through a table

TEST_P(conformance, null_round_trips) {
    EXPECT_EQ(conn.query_value<std::string>("SELECT typeof(?)", nullptr), "null");
    EXPECT_EQ(conn.query_value<std::string>("SELECT typeof(?)", std::nullopt), "null");
    EXPECT_EQ(conn.query_value<std::optional<int>>("SELECT ?", nullptr), std::nullopt);
    EXPECT_TRUE(conn.query_row("SELECT NULL").is_null(0));
    EXPECT_EQ(conn.query_row("SELECT NULL").at(0).type(), libsql::value_type::null);
    EXPECT_THROW((void)conn.query_value<int>("SELECT NULL"), libsql::unexpected_null);
    EXPECT_THROW((void)conn.query_value<std::string>("SELECT ?", nullptr), libsql::unexpected_null);
}

TEST_P(conformance, integers_round_trip_at_their_limits) {
    constexpr auto min = std::numeric_limits<std::int64_t>::min();
    constexpr auto max = std::numeric_limits<std::int64_t>::max();
    for (const std::int64_t v : {min, min + 1, std::int64_t{-1}, std::int64_t{0}, std::int64_t{1},
                                 (std::int64_t{1} << 53) + 1, max - 1, max}) {
        const auto r = conn.query_row("SELECT ?, typeof(?1)", v);
        EXPECT_EQ(r.get<std::int64_t>(0), v);
        EXPECT_EQ(r.at(0).type(), libsql::value_type::integer) << v;
        EXPECT_EQ(r.get<std::string>(1), "integer") << v;
    }
    EXPECT_EQ(conn.query_value<std::int64_t>("SELECT 9223372036854775807"), max);
    EXPECT_EQ(conn.query_value<std::int64_t>("SELECT -9223372036854775807 - 1"), min);
    EXPECT_EQ(conn.query_value<std::uint64_t>("SELECT ?", std::uint64_t{1} << 62), std::uint64_t{1} << 62);
    EXPECT_EQ(conn.query_value<std::int8_t>("SELECT ?", std::int8_t{-5}), -5);
    EXPECT_EQ(conn.query_value<std::uint16_t>("SELECT ?", std::uint16_t{65535}), 65535);
    // Integers read as doubles.
    EXPECT_EQ(conn.query_value<double>("SELECT 41 + 1"), 42.0);
}

TEST_P(conformance, doubles_round_trip_exactly_and_stay_real) {
    for (const double v : {0.1, -1e300, 1e308, std::numeric_limits<double>::max(), std::numeric_limits<double>::lowest(),
                           std::numeric_limits<double>::min(), std::numeric_limits<double>::denorm_min(), 1.0, 2.5,
                           9007199254740993.0, 123456789.123456789}) {
        const auto r = conn.query_row("SELECT ?, typeof(?1)", v);
        if (caps().exact_doubles) {
            EXPECT_EQ(r.get<double>(0), v);
        } else {
            EXPECT_DOUBLE_EQ(r.get<double>(0), v);
        }
        EXPECT_EQ(r.at(0).type(), libsql::value_type::real) << v;  // 1.0 stays a REAL, not an integer
        EXPECT_EQ(r.get<std::string>(1), "real") << v;
    }
    const double negative_zero = conn.query_value<double>("SELECT ?", -0.0);
    EXPECT_EQ(negative_zero, 0.0);
    EXPECT_TRUE(std::signbit(negative_zero));
    EXPECT_EQ(conn.query_value<float>("SELECT ?", 1.25f), 1.25f);
    EXPECT_EQ(conn.query_value<double>("SELECT 1.0 / 4"), 0.25);
    EXPECT_EQ(conn.query_row("SELECT 2.0").at(0).type(), libsql::value_type::real);
}

TEST_P(conformance, text_round_trips_with_unicode_and_nul) {
    for (const std::string& s : {"hello"s, ""s, "h\xC3\xA9llo \xF0\x9D\x84\x9E \xE2\x82\xAC"s, "quote ' and \" and \\"s,
                                 "line\nbreak\ttab\r"s, "a\0b\0c"s, std::string(100000, 'z')}) {
        const auto r = conn.query_row("SELECT ?, typeof(?1), length(CAST(?1 AS BLOB))", s);
        EXPECT_EQ(r.get<std::string>(0), s);
        EXPECT_EQ(r.get<std::string>(1), "text");  // "" is text, not NULL
        EXPECT_EQ(r.get<std::int64_t>(2), static_cast<std::int64_t>(s.size()));
    }
    EXPECT_EQ(conn.query_value<std::string>("SELECT ?", "literal"), "literal");
    EXPECT_EQ(conn.query_value<std::string>("SELECT 'x' || char(233)"), "x\xC3\xA9");
    // Invalid UTF-8 is refused before anything is sent.
    EXPECT_THROW((void)conn.query_value<std::string>("SELECT ?", "bad \xFF"s), libsql::conversion_error);
    EXPECT_EQ(conn.query_value<int>("SELECT 3"), 3);
}

TEST_P(conformance, blobs_round_trip_including_empty) {
    libsql::blob all_bytes;
    for (int i = 0; i < 256; ++i) all_bytes.push_back(static_cast<std::byte>(i));
    const auto r = conn.query_row("SELECT ?, typeof(?1), length(?1)", all_bytes);
    EXPECT_EQ(r.get<libsql::blob>(0), all_bytes);
    EXPECT_EQ(r.get<std::string>(1), "blob");
    EXPECT_EQ(r.get<int>(2), 256);

    const libsql::blob empty;
    const auto e = conn.query_row("SELECT ?, typeof(?1), length(?1)", empty);
    EXPECT_EQ(e.at(0).type(), libsql::value_type::blob);  // an empty blob is a blob, not NULL
    EXPECT_EQ(e.get<libsql::blob>(0), empty);
    EXPECT_EQ(e.get<std::string>(1), "blob");
    EXPECT_EQ(e.get<int>(2), 0);
    EXPECT_EQ(conn.query_row("SELECT x''").at(0).type(), libsql::value_type::blob);

    for (const std::vector<std::uint8_t>& u8 : {std::vector<std::uint8_t>{1}, std::vector<std::uint8_t>{1, 2},
                                                std::vector<std::uint8_t>{1, 2, 3}, std::vector<std::uint8_t>{0xFF, 0xC0, 0x80, 0}}) {
        EXPECT_EQ(conn.query_value<std::vector<std::uint8_t>>("SELECT ?", u8), u8);  // every base64 padding length
    }
    EXPECT_EQ(conn.query_value<libsql::blob>("SELECT x'CAFE'"), (libsql::blob{std::byte{0xCA}, std::byte{0xFE}}));
    EXPECT_THROW((void)conn.query_value<libsql::blob>("SELECT 'text'"), libsql::conversion_error);
}

TEST_P(conformance, bools_and_optionals) {
    EXPECT_TRUE(conn.query_value<bool>("SELECT ?", true));
    EXPECT_FALSE(conn.query_value<bool>("SELECT ?", false));
    EXPECT_EQ(conn.query_value<std::string>("SELECT typeof(?)", true), "integer");
    EXPECT_TRUE(conn.query_value<bool>("SELECT 1 = 1"));
    EXPECT_THROW((void)conn.query_value<bool>("SELECT 5"), libsql::conversion_error);

    EXPECT_EQ(conn.query_value<std::optional<int>>("SELECT ?", std::optional<int>{}), std::nullopt);
    EXPECT_EQ(conn.query_value<std::optional<int>>("SELECT ?", std::optional<int>{9}), 9);
    EXPECT_EQ(conn.query_value<std::optional<std::string>>("SELECT ?", std::optional<std::string>{"y"}), "y");
    EXPECT_EQ(conn.query_value<std::string>("SELECT typeof(?)", std::optional<double>{1.5}), "real");
    EXPECT_EQ(conn.query_value<std::string>("SELECT typeof(?)", std::optional<double>{}), "null");
}

TEST_P(conformance, time_points_round_trip_as_iso_text) {
    using namespace std::chrono;
    const auto tp = make_time(2026y / 11 / 26, 15h + 4min + 5s + 123456789ns);
    EXPECT_EQ(conn.query_value<sys_clock::time_point>("SELECT ?", tp), tp);
    EXPECT_EQ(conn.query_value<std::string>("SELECT ?", tp), "2026-11-26T15:04:05.123456789Z");
    EXPECT_EQ(conn.query_value<std::optional<sys_clock::time_point>>("SELECT ?", std::optional<sys_clock::time_point>{}),
              std::nullopt);
    EXPECT_EQ(conn.query_value<sys_clock::time_point>("SELECT 1700000000"), sys_clock::time_point(1700000000s));
    EXPECT_EQ(conn.query_value<sys_clock::time_point>("SELECT '2023-11-14 22:13:20'"), sys_clock::time_point(1700000000s));
    EXPECT_THROW((void)conn.query_value<sys_clock::time_point>("SELECT 'yesterday'"), libsql::conversion_error);
}

TEST_P(conformance, dates_uuids_and_decimals_round_trip) {
    using namespace std::chrono;
    const year_month_day day = 2024y / 2 / 29;
    EXPECT_EQ(conn.query_value<std::string>("SELECT ?", day), "2024-02-29");
    EXPECT_EQ(conn.query_value<year_month_day>("SELECT ?", day), day);
    EXPECT_EQ(conn.query_value<year_month_day>("SELECT date('2024-02-28', '+1 day')"), day);
    const hh_mm_ss<milliseconds> tod{13h + 14min + 15s + 16ms};
    EXPECT_EQ(conn.query_value<std::string>("SELECT ?", tod), "13:14:15.016");
    EXPECT_EQ(conn.query_value<hh_mm_ss<milliseconds>>("SELECT ?", tod).to_duration(), tod.to_duration());

    const auto id = libsql::uuid::parse("0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0");
    EXPECT_EQ(conn.query_value<std::string>("SELECT ?", id), "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");
    EXPECT_EQ(conn.query_value<libsql::uuid>("SELECT ?", id), id);
    const auto as_blob = conn.query_row("SELECT ?, typeof(?1), length(?1)", libsql::uuid_blob{id});
    EXPECT_EQ(as_blob.get<libsql::uuid>(0), id);
    EXPECT_EQ(as_blob.get<std::string>(1), "blob");
    EXPECT_EQ(as_blob.get<int>(2), 16);

    const libsql::decimal price("12345678901234567890.000000000000000001");
    conn.execute("CREATE TABLE prices(p TEXT)");
    conn.execute("INSERT INTO prices VALUES (?)", price);
    EXPECT_EQ(conn.query_value<libsql::decimal>("SELECT p FROM prices").text(), price.text());
    EXPECT_EQ(conn.query_value<libsql::decimal>("SELECT 42").text(), "42");
    EXPECT_THROW((void)conn.query_value<libsql::decimal>("SELECT 0.5"), libsql::conversion_error);
}

TEST_P(conformance, every_type_stored_in_a_table_reads_back) {
    using namespace std::chrono;
    conn.execute("CREATE TABLE vals(id INTEGER PRIMARY KEY, v)");  // no affinity: values keep their type
    const auto tp = make_time(2001y / 2 / 3, 4h);
    const libsql::blob b{std::byte{0}, std::byte{1}, std::byte{0xFF}};
    auto insert = conn.prepare("INSERT INTO vals(id, v) VALUES (?, ?)");
    insert.execute(1, nullptr);
    insert.execute(2, std::numeric_limits<std::int64_t>::min());
    insert.execute(3, -0.5);
    insert.execute(4, "t\xC3\xA9xt");
    insert.execute(5, b);
    insert.execute(6, true);
    insert.execute(7, tp);
    insert.execute(8, std::optional<int>{});
    insert.execute(9, libsql::blob{});
    insert.execute(10, 1e300);

    std::vector<std::string> types;
    for (auto r : conn.query("SELECT typeof(v) FROM vals ORDER BY id")) types.push_back(r.get<std::string>(0));
    EXPECT_EQ(types, (std::vector<std::string>{"null", "integer", "real", "text", "blob", "integer", "text", "null",
                                               "blob", "real"}));
    auto get = [&](int id) { return conn.query_row("SELECT v FROM vals WHERE id = ?", id); };
    EXPECT_TRUE(get(1).is_null(0));
    EXPECT_EQ(get(2).get<std::int64_t>(0), std::numeric_limits<std::int64_t>::min());
    EXPECT_EQ(get(3).get<double>(0), -0.5);
    EXPECT_EQ(get(4).get<std::string>(0), "t\xC3\xA9xt");
    EXPECT_EQ(get(5).get<libsql::blob>(0), b);
    EXPECT_TRUE(get(6).get<bool>(0));
    EXPECT_EQ(get(7).get<sys_clock::time_point>(0), tp);
    EXPECT_EQ(get(8).get<std::optional<int>>(0), std::nullopt);
    EXPECT_EQ(get(9).get<libsql::blob>(0), libsql::blob{});
    EXPECT_EQ(get(10).get<double>(0), 1e300);
    // A REAL column's affinity applies as in SQLite: an integral value is read back as REAL.
    conn.execute("CREATE TABLE reals(r REAL)");
    conn.execute("INSERT INTO reals VALUES (?)", 3);
    EXPECT_EQ(conn.query_row("SELECT r FROM reals").at(0).type(), libsql::value_type::real);
}

TEST_P(conformance, conversion_errors_on_read_and_bind) {
    EXPECT_THROW((void)conn.query_value<std::int8_t>("SELECT 300"), libsql::conversion_error);
    EXPECT_THROW((void)conn.query_value<std::int8_t>("SELECT ?", 300), libsql::conversion_error);
    EXPECT_THROW((void)conn.query_value<int>("SELECT 'text'"), libsql::conversion_error);
    EXPECT_THROW((void)conn.query_value<int>("SELECT 1.5"), libsql::conversion_error);
    EXPECT_THROW((void)conn.query_value<std::string>("SELECT 1"), libsql::conversion_error);
    EXPECT_THROW((void)conn.query_value<double>("SELECT x'00'"), libsql::conversion_error);
    const std::uint64_t too_big = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) + 1;
    EXPECT_THROW((void)conn.query_value<std::int64_t>("SELECT ?", too_big), libsql::conversion_error);
    // The error names the column.
    try {
        (void)conn.query_row("SELECT 'x' AS label").get<int>("label");
        FAIL() << "no throw";
    } catch (const libsql::conversion_error& e) {
        EXPECT_NE(std::string(e.what()).find("label"), std::string::npos) << e.what();
    }
    EXPECT_EQ(conn.query_value<int>("SELECT 4"), 4);  // usable afterwards
}

TEST_P(conformance, a_one_megabyte_blob_round_trips) {
    libsql::blob big(1 << 20);
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::byte>((i * 131 + 7) & 0xFF);
    conn.execute("CREATE TABLE big(id INTEGER PRIMARY KEY, b BLOB)");
    EXPECT_EQ(conn.execute("INSERT INTO big(id, b) VALUES (1, ?)", big), 1);
    EXPECT_EQ(conn.query_value<std::int64_t>("SELECT length(b) FROM big WHERE id = 1"), 1 << 20);
    EXPECT_EQ(conn.query_value<libsql::blob>("SELECT b FROM big WHERE id = 1"), big);
    // And a megabyte of text the other way: produced by the engine.
    EXPECT_EQ(conn.query_value<std::string>("SELECT hex(substr(b, 1, 4)) FROM big"), "078A0D90");
    EXPECT_EQ(conn.query_value<std::int64_t>("SELECT length(zeroblob(1048576))"), 1 << 20);
    EXPECT_EQ(conn.query_value<libsql::blob>("SELECT zeroblob(1048576)"), libsql::blob(1 << 20));
}

TEST_P(conformance, a_hundred_thousand_row_query_streams) {
    auto rs = conn.query(std::string(digits) +
                         "SELECT a.x + 10*b.x + 100*c.x + 1000*e.x + 10000*f.x AS n, 'row' AS label "
                         "FROM d a, d b, d c, d e, d f");
    std::int64_t rows = 0;
    std::int64_t sum = 0;
    for (auto r : rs) {
        ++rows;
        sum += r.get<std::int64_t>(0);
        if (r.get<std::string_view>("label") != "row") ADD_FAILURE() << "bad label at row " << rows;
    }
    EXPECT_EQ(rows, 100000);
    EXPECT_EQ(sum, std::int64_t{99999} * 100000 / 2);
}

// ================================================================================================================
// Parameters

TEST_P(conformance, positional_parameters) {
    const auto r = conn.query_row("SELECT ?, ?, ?", 1, "two", 3.5);
    EXPECT_EQ(r.get<int>(0), 1);
    EXPECT_EQ(r.get<std::string>(1), "two");
    EXPECT_EQ(r.get<double>(2), 3.5);
    libsql::params p;
    p.add(1).add("two").add(3.5);
    const auto q = conn.query_row("SELECT ?, ?, ?", p);
    EXPECT_EQ(q.get<int>(0), 1);
    EXPECT_EQ(q.get<std::string>(1), "two");
    EXPECT_EQ(q.get<double>(2), 3.5);
    EXPECT_EQ(conn.query_value<int>("SELECT 5", libsql::params{}), 5);
}

TEST_P(conformance, numbered_parameters) {
    const auto r = conn.query_row("SELECT ?2, ?1, ?2", "first", "second");
    EXPECT_EQ(r.get<std::string>(0), "second");
    EXPECT_EQ(r.get<std::string>(1), "first");
    EXPECT_EQ(r.get<std::string>(2), "second");
    libsql::params p;
    p.add(1).add(2).add(3);
    EXPECT_EQ(conn.query_value<int>("SELECT ?3", p), 3);
    EXPECT_EQ(conn.query_value<int>("SELECT ?1 * 10 + ?2", libsql::named("?2", 4), libsql::named("?1", 3)), 34);
}

TEST_P(conformance, named_parameters_with_every_prefix) {
    REQUIRE_CAPABILITY(named_parameters);
    for (const char* sql : {"SELECT :a", "SELECT @a", "SELECT $a"}) {
        for (const char* name : {"a", ":a", "@a", "$a"}) {
            const std::string_view given(name);
            const std::string_view in_sql = std::string_view(sql).substr(7, 1);
            libsql::params p;
            p.add(name, 42);
            // A name with a prefix must match the prefix in the SQL; without one it matches any.
            if (given.size() == 2 && given.substr(0, 1) != in_sql) {
                EXPECT_THROW((void)conn.query_value<int>(sql, p), libsql::usage_error) << sql << " " << name;
                EXPECT_THROW((void)conn.query_value<int>(sql, libsql::named(name, 42)), libsql::usage_error) << sql << " " << name;
            } else {
                EXPECT_EQ(conn.query_value<int>(sql, p), 42) << sql << " " << name;
                EXPECT_EQ(conn.query_value<int>(sql, libsql::named(name, 42)), 42) << sql << " " << name;
            }
        }
    }
}

TEST_P(conformance, named_parameters_bind_by_name_not_position) {
    REQUIRE_CAPABILITY(named_parameters);
    const auto r = conn.query_row("SELECT :b, :a, @c, $d", libsql::named("a", "A"), libsql::named("d", 4),
                                  libsql::named("b", "B"), libsql::named("c", 3.5));
    EXPECT_EQ(r.get<std::string>(0), "B");
    EXPECT_EQ(r.get<std::string>(1), "A");
    EXPECT_EQ(r.get<double>(2), 3.5);
    EXPECT_EQ(r.get<int>(3), 4);
    // Used twice, bound once.
    EXPECT_EQ(conn.query_value<int>("SELECT :x + :x", libsql::params{{"x", 21}}), 42);
    EXPECT_EQ(conn.query_value<int>("SELECT :x + :x", libsql::named("x", 21)), 42);
    // Mixed with positional ones: "?" is parameter 1, ":b" parameter 2.
    const auto m = conn.query_row("SELECT ?, :b", libsql::named(":b", 200), 100);
    EXPECT_EQ(m.get<int>(0), 100);
    EXPECT_EQ(m.get<int>(1), 200);
    // A map, and NULLs by name.
    const std::map<std::string, libsql::value, std::less<>> values{{"id", libsql::value(7)}, {":name", libsql::value("seven"sv)}};
    const auto mm = conn.query_row("SELECT :name, :id", libsql::params(values));
    EXPECT_EQ(mm.get<std::string>(0), "seven");
    EXPECT_EQ(mm.get<int>(1), 7);
    EXPECT_TRUE(conn.query_row("SELECT :n", libsql::named("n", nullptr)).is_null(0));
    // Writes by name.
    conn.execute("CREATE TABLE people(id INTEGER PRIMARY KEY, name TEXT)");
    for (int i = 0; i < 3; ++i) {
        libsql::params p;
        p.add("name", "n" + std::to_string(i)).add("id", i);
        EXPECT_EQ(conn.execute("INSERT INTO people VALUES (:id, :name)", p), caps().affected_rows ? 1 : 0);
    }
    EXPECT_EQ(conn.query_value<std::string>("SELECT group_concat(name, ',') FROM (SELECT name FROM people ORDER BY id)"),
              "n0,n1,n2");
}

TEST_P(conformance, wrong_arguments_are_usage_errors) {
    EXPECT_THROW((void)conn.query_row("SELECT ?, ?", 1), libsql::usage_error);
    EXPECT_THROW((void)conn.query_row("SELECT ?, ?", 1, 2, 3), libsql::usage_error);
    EXPECT_THROW((void)conn.query_row("SELECT ?"), libsql::usage_error);
    EXPECT_THROW((void)conn.query_row("SELECT 1", 1), libsql::usage_error);
    EXPECT_THROW((void)conn.execute("SELECT ?, ?", 1), libsql::usage_error);
    libsql::params one;
    one.add(1);
    EXPECT_THROW((void)conn.query_row("SELECT ?, ?", one), libsql::usage_error);
    if (caps().named_parameters) {
        EXPECT_THROW((void)conn.query_row("SELECT :a", libsql::named("zzz", 1)), libsql::usage_error);
        EXPECT_THROW((void)conn.query_row("SELECT :a, :b", libsql::named("a", 1)), libsql::usage_error);
        EXPECT_THROW((void)conn.query_row("SELECT :a", libsql::params{{"a", 1}, {"nope", 2}}), libsql::usage_error);
    }
    EXPECT_EQ(conn.query_value<int>("SELECT ? + ?", 1, 2), 3);  // usable afterwards
}

// ================================================================================================================
// Queries and rows

class conformance_people : public conformance {
protected:
    void SetUp() override {
        conformance::SetUp();
        if (IsSkipped()) return;
        conn.execute_batch(
            "CREATE TABLE people(id INTEGER PRIMARY KEY, name TEXT NOT NULL, age INTEGER, score REAL);"
            "INSERT INTO people VALUES (1, 'ada', 36, 9.5), (2, 'bob', NULL, 7.0), (3, 'cy', 20, NULL);");
    }
};

TEST_P(conformance_people, query_row_query_value_and_their_errors) {
    const auto row = conn.query_row("SELECT id, name FROM people WHERE name = ?", "bob");
    EXPECT_EQ(row.get<int>("id"), 2);
    EXPECT_EQ(row.get<std::string>(1), "bob");
    EXPECT_EQ(conn.query_row("SELECT id FROM people ORDER BY id").get<int>(0), 1);  // the first of several
    try {
        (void)conn.query_row("SELECT id FROM people WHERE name = ?", "zzz");
        FAIL() << "no throw";
    } catch (const libsql::no_rows& e) {
        EXPECT_EQ(e.sql(), "SELECT id FROM people WHERE name = ?");
        EXPECT_EQ(libsql::to_string(e.transport()), libsql::to_string(transport_of(k())));
    }
    EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM people"), 3);
    EXPECT_EQ(conn.query_value<std::string>("SELECT name FROM people WHERE id = ?", 1), "ada");
    EXPECT_THROW((void)conn.query_value<int>("SELECT id FROM people"), libsql::unexpected_rows);
    EXPECT_THROW((void)conn.query_value<int>("SELECT 1, 2"), libsql::unexpected_rows);
    EXPECT_THROW((void)conn.query_value<int>("SELECT id FROM people WHERE 0"), libsql::no_rows);
    try {
        (void)conn.query("SELECT id FROM people").one_row();
        FAIL() << "no throw";
    } catch (const libsql::unexpected_rows& e) {
        EXPECT_EQ(dynamic_cast<const libsql::no_rows*>(&e), nullptr);
        EXPECT_EQ(e.sql(), "SELECT id FROM people");
    }
}

TEST_P(conformance_people, one_row_opt_row_values_all_and_skip_all) {
    const libsql::row r = conn.query("SELECT id, name FROM people WHERE id = 3").one_row();
    EXPECT_EQ(r.size(), 2);
    EXPECT_EQ(r.get<int>("id"), 3);
    EXPECT_EQ(r.column_name(1), "name");
    EXPECT_THROW((void)conn.query("SELECT id FROM people WHERE id = 99").one_row(), libsql::no_rows);
    EXPECT_EQ(conn.query("SELECT id FROM people WHERE id = 99").opt_row(), std::nullopt);
    EXPECT_EQ(conn.query("SELECT id FROM people WHERE id = 2").opt_row()->get<int>(0), 2);
    EXPECT_THROW((void)conn.query("SELECT id FROM people").opt_row(), libsql::unexpected_rows);

    EXPECT_EQ(conn.query("SELECT age FROM people WHERE id = 2").one_value<std::optional<int>>(), std::nullopt);
    EXPECT_THROW((void)conn.query("SELECT age FROM people WHERE id = 2").one_value<int>(), libsql::unexpected_null);
    EXPECT_EQ(conn.query("SELECT id FROM people WHERE id = 99").opt_value<int>(), std::nullopt);
    EXPECT_EQ(conn.query("SELECT id FROM people WHERE id = 3").opt_value<int>(), 3);
    EXPECT_THROW((void)conn.query("SELECT id, name FROM people WHERE id = 1").one_value<int>(), libsql::unexpected_rows);

    const auto all = conn.query("SELECT id, name, age FROM people ORDER BY id").all<int, std::string, std::optional<int>>();
    ASSERT_EQ(all.size(), 3u);
    EXPECT_EQ(all[1], std::make_tuple(2, "bob"s, std::optional<int>()));
    EXPECT_TRUE(conn.query("SELECT id FROM people WHERE 0").all<int>().empty());
    auto rs = conn.query("SELECT id FROM people ORDER BY id");
    ASSERT_TRUE(rs.next());
    EXPECT_EQ(rs.skip_all(), 2u);
    EXPECT_EQ(rs.skip_all(), 0u);
    EXPECT_EQ(conn.query("SELECT id FROM people").skip_all(), 3u);
}

TEST_P(conformance_people, iteration_and_typed_access_by_index_and_name) {
    std::vector<std::tuple<int, std::string, std::optional<int>, std::optional<double>>> seen;
    for (auto r : conn.query("SELECT id, name, age, score FROM people ORDER BY id")) {
        EXPECT_EQ(r.size(), 4);
        seen.emplace_back(r.get<int>(0), r.get<std::string>("name"), r.get<std::optional<int>>("AGE"),
                          r.get<std::optional<double>>(3));
    }
    ASSERT_EQ(seen.size(), 3u);
    EXPECT_EQ(seen[0], std::make_tuple(1, "ada"s, std::optional<int>(36), std::optional<double>(9.5)));
    EXPECT_EQ(seen[1], std::make_tuple(2, "bob"s, std::optional<int>(), std::optional<double>(7.0)));
    EXPECT_EQ(seen[2], std::make_tuple(3, "cy"s, std::optional<int>(20), std::optional<double>()));

    auto rs = conn.query("SELECT id AS ident, name FROM people ORDER BY id");
    EXPECT_THROW((void)rs.current(), libsql::usage_error);  // before the first next()
    ASSERT_TRUE(rs.next());
    const auto v = rs.current();
    EXPECT_EQ(v.get<int>("ident"), 1);
    EXPECT_EQ(v.column_index("name"), 1);
    EXPECT_EQ(v.column_name(0), "ident");
    EXPECT_EQ(v.at(1).as_text(), "ada");
    EXPECT_THROW((void)v.get<int>("id"), libsql::usage_error);
    EXPECT_THROW((void)v.get<int>(2), libsql::usage_error);
    EXPECT_EQ(rs.column_names(), (std::vector<std::string>{"ident", "name"}));
    auto [id, name] = v.as<int, std::string>();
    EXPECT_EQ(id, 1);
    EXPECT_EQ(name, "ada");
    const auto owned = v.to_row();
    ASSERT_TRUE(rs.next());
    EXPECT_THROW((void)v.get<int>(0), libsql::usage_error);  // a stale view
    EXPECT_EQ(owned.get<std::string>(1), "ada");             // the copy stays
    std::vector<int> rest;
    for (auto r : rs) rest.push_back(r.get<int>(0));  // begin() continues from the current row
    EXPECT_EQ(rest, (std::vector<int>{2, 3}));
    EXPECT_FALSE(rs.next());

    int n = 0;
    for (auto r : conn.query("SELECT id FROM people WHERE id > 100")) {
        (void)r;
        ++n;
    }
    EXPECT_EQ(n, 0);
}

TEST_P(conformance_people, statements_run_while_a_cursor_is_open) {
    // Local SQLite lets a connection run other statements while it reads a result; so must every transport.
    conn.execute("CREATE TABLE seen(id INTEGER, name TEXT)");
    auto insert = conn.prepare("INSERT INTO seen VALUES (?, ?)");
    int n = 0;
    for (auto r : conn.query("SELECT id, name FROM people ORDER BY id")) {
        insert.execute(r.get<int>(0), r.get<std::string>(1));
        EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM seen"), ++n);
    }
    EXPECT_EQ(n, 3);
    EXPECT_EQ(conn.query_value<std::string>("SELECT group_concat(name, ',') FROM (SELECT name FROM seen ORDER BY id)"),
              "ada,bob,cy");
    // Two cursors on one connection, read in turns.
    auto a = conn.query("SELECT id FROM people ORDER BY id");
    auto b = conn.query("SELECT id FROM people ORDER BY id DESC");
    std::vector<std::pair<int, int>> pairs;
    while (a.next() && b.next()) pairs.emplace_back(a.current().get<int>(0), b.current().get<int>(0));
    EXPECT_EQ(pairs, (std::vector<std::pair<int, int>>{{1, 3}, {2, 2}, {3, 1}}));
}

TEST_P(conformance, abandoning_a_large_result_frees_the_connection) {
    const std::string big = std::string(digits) + "SELECT a.x + 10*b.x + 100*c.x + 1000*e.x + 10000*f.x FROM d a, d b, d c, d e, d f";
    {
        auto rs = conn.query(big);
        ASSERT_TRUE(rs.next());
        ASSERT_TRUE(rs.next());
    }  // dropped after two of 100000 rows
    conn.execute("CREATE TABLE after(x)");
    conn.execute("INSERT INTO after VALUES (1)");
    auto other = db().connect();
    other.execute("INSERT INTO after VALUES (2)");
    EXPECT_EQ(contents(conn, "after"), "1,2");
    auto st = conn.prepare(big);
    {
        auto rs = st.query();
        ASSERT_TRUE(rs.next());
    }
    EXPECT_EQ(st.query().skip_all(), 100000u);  // the statement runs again from the start
}

TEST_P(conformance_people, column_names_of_results) {
    auto rs = conn.query("SELECT id, name AS who, 1 + 1, score * 2 AS doubled FROM people");
    ASSERT_TRUE(rs.next());
    EXPECT_EQ(rs.column_count(), 4);
    EXPECT_EQ(rs.column_names(), (std::vector<std::string>{"id", "who", "1 + 1", "doubled"}));
    EXPECT_EQ(rs.column_name(1), "who");
    const auto r = conn.query_row("SELECT name AS who FROM people WHERE id = 1");
    EXPECT_EQ(r.column_name(0), "who");
    EXPECT_EQ(r.column_index("who"), 0);
}

// ================================================================================================================
// Statements

TEST_P(conformance_people, statement_reuse_with_rebinding) {
    auto insert = conn.prepare("INSERT INTO people(name, age) VALUES (?, ?)");
    for (int i = 0; i < 20; ++i) EXPECT_EQ(insert.execute("p" + std::to_string(i), i), caps().affected_rows ? 1 : 0);
    EXPECT_EQ(count("people"), 23);

    auto select = conn.prepare("SELECT name FROM people WHERE age = ?");
    for (int i = 0; i < 20; ++i) EXPECT_EQ(select.query_row(i).get<std::string>(0), "p" + std::to_string(i));
    std::vector<std::string> names;
    for (auto r : select.query(36)) names.push_back(r.get<std::string>(0));
    EXPECT_EQ(names, (std::vector<std::string>{"ada"}));
    EXPECT_THROW((void)select.query_row(1000), libsql::no_rows);
    EXPECT_EQ(select.query_row(3).get<std::string>(0), "p3");  // reusable after no_rows

    // Running it again while a cursor is open makes the old cursor stale.
    auto all = conn.prepare("SELECT id FROM people ORDER BY id");
    auto first = all.query();
    ASSERT_TRUE(first.next());
    auto second = all.query();
    EXPECT_THROW((void)first.next(), libsql::usage_error);
    EXPECT_EQ(second.skip_all(), 23u);
}

TEST_P(conformance_people, bind_reset_and_clear_bindings) {
    auto st = conn.prepare("SELECT ?, ?");
    st.bind(1, 7).bind(2, "seven");
    EXPECT_EQ(st.query_row().get<int>(0), 7);
    st.reset();
    const auto again = st.query_row();  // reset keeps the bindings
    EXPECT_EQ(again.get<int>(0), 7);
    EXPECT_EQ(again.get<std::string>(1), "seven");
    st.clear_bindings();
    const auto cleared = st.query_row();
    EXPECT_TRUE(cleared.is_null(0));
    EXPECT_TRUE(cleared.is_null(1));
    st.bind_all(2, 3);
    EXPECT_EQ(st.query_row().get<int>(0), 2);
    EXPECT_TRUE(conn.prepare("SELECT ?").query_row().is_null(0));  // unbound parameters are NULL

    if (caps().named_parameters) {
        auto named_st = conn.prepare("SELECT :a || :b");
        named_st.bind(":a", "x").bind("b", "y");
        EXPECT_EQ(named_st.query_row().get<std::string>(0), "xy");
        named_st.bind_all(libsql::named("b", "B"), libsql::named("a", "A"));
        EXPECT_EQ(named_st.query_row().get<std::string>(0), "AB");
        named_st.bind(libsql::params{{"a", "1"}, {"b", "2"}});
        EXPECT_EQ(named_st.query_row().get<std::string>(0), "12");
        EXPECT_THROW(named_st.bind("missing", 1), libsql::usage_error);
    }
    if (caps().parameter_introspection) {
        EXPECT_THROW(st.bind(0, 1), libsql::usage_error);
        EXPECT_THROW(st.bind(3, 1), libsql::usage_error);
    }
    // Statement execute() with current bindings; a failing run leaves the statement usable.
    auto ins = conn.prepare("INSERT INTO people(name) VALUES (?)");
    ins.bind(1, "bound");
    ins.execute();
    ins.execute();
    EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM people WHERE name = 'bound'"), 2);
    ins.clear_bindings();
    EXPECT_THROW(ins.execute(), libsql::constraint_violation);
    ins.execute("ok");
    EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM people WHERE name = 'ok'"), 1);
}

TEST_P(conformance_people, columns_before_running) {
    REQUIRE_CAPABILITY(describe);
    auto st = conn.prepare("SELECT p.id, p.name AS label, score * 2 AS doubled, 'lit' FROM people AS p");
    ASSERT_EQ(st.column_count(), 4);
    EXPECT_EQ(st.column_name(1), "label");
    const auto cols = st.columns();
    ASSERT_EQ(cols.size(), 4u);
    EXPECT_EQ(cols[0].name, "id");
    EXPECT_EQ(cols[0].declared_type, "INTEGER");
    EXPECT_EQ(cols[1].name, "label");
    EXPECT_EQ(cols[1].declared_type, "TEXT");
    EXPECT_EQ(cols[2], (libsql::column_info{"doubled", "", "", "", ""}));
    EXPECT_EQ(cols[3], (libsql::column_info{"'lit'", "", "", "", ""}));
    if (caps().column_origin) {
        EXPECT_EQ(cols[0], (libsql::column_info{"id", "INTEGER", "main", "people", "id"}));
        EXPECT_EQ(cols[1], (libsql::column_info{"label", "TEXT", "main", "people", "name"}));
    }
    EXPECT_THROW((void)st.column_name(4), libsql::usage_error);
    EXPECT_TRUE(conn.prepare("UPDATE people SET age = 0").columns().empty());
    EXPECT_EQ(conn.prepare("UPDATE people SET age = 0").column_count(), 0);
    EXPECT_EQ(count("people"), 3);  // describing ran nothing
    EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM people WHERE age = 0"), 0);
}

TEST_P(conformance_people, readonly_flag) {
    REQUIRE_CAPABILITY(readonly_flag);
    EXPECT_TRUE(conn.prepare("SELECT * FROM people").readonly());
    EXPECT_FALSE(conn.prepare("INSERT INTO people(name) VALUES ('x')").readonly());
    EXPECT_FALSE(conn.prepare("CREATE TABLE t2(x)").readonly());
    EXPECT_FALSE(conn.prepare("DELETE FROM people").readonly());
    EXPECT_EQ(count("people"), 3);
}

TEST_P(conformance, parameter_introspection) {
    REQUIRE_CAPABILITY(parameter_introspection);
    auto st = conn.prepare("SELECT :alpha, ?, @beta, $gamma, ?7");
    EXPECT_EQ(st.parameter_count(), 7);
    EXPECT_EQ(st.parameter_name(1), ":alpha");
    EXPECT_EQ(st.parameter_name(2), "");
    EXPECT_EQ(st.parameter_name(3), "@beta");
    EXPECT_EQ(st.parameter_name(4), "$gamma");
    EXPECT_EQ(st.parameter_name(5), "");
    EXPECT_EQ(st.parameter_name(7), "?7");
    EXPECT_THROW((void)st.parameter_name(0), libsql::usage_error);
    EXPECT_THROW((void)st.parameter_name(8), libsql::usage_error);
    EXPECT_EQ(st.parameter_index("alpha"), 1);
    EXPECT_EQ(st.parameter_index(":alpha"), 1);
    EXPECT_EQ(st.parameter_index("@beta"), 3);
    EXPECT_EQ(st.parameter_index("gamma"), 4);
    EXPECT_EQ(st.parameter_index("?7"), 7);
    EXPECT_EQ(st.parameter_index("delta"), std::nullopt);
    EXPECT_EQ(st.parameter_index(":beta"), std::nullopt);
    EXPECT_EQ(conn.prepare("SELECT 1").parameter_count(), 0);
    // Parameters inside strings, comments and quoted names are not parameters.
    auto tricky = conn.prepare("SELECT ':no' AS \"?no\", ? /* :no */, :yes -- ?no\n");
    EXPECT_EQ(tricky.parameter_count(), 2);
    EXPECT_EQ(tricky.parameter_name(2), ":yes");
}

TEST_P(conformance, sql_text_and_expanded_sql) {
    auto st = conn.prepare("SELECT ? AS a, ? AS b");
    EXPECT_EQ(st.sql(), "SELECT ? AS a, ? AS b");
    EXPECT_FALSE(st.is_explain());
    REQUIRE_CAPABILITY(expanded_sql);
    st.bind(1, "it's").bind(2, 5);
    EXPECT_EQ(st.expanded_sql(), "SELECT 'it''s' AS a, 5 AS b");
}

TEST_P(conformance, one_statement_per_call) {
    conn.execute("CREATE TABLE t(x)");
    EXPECT_THROW(conn.execute("INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)"), libsql::usage_error);
    EXPECT_EQ(count("t"), 0);  // not even the first ran
    EXPECT_THROW((void)conn.query("SELECT 1; SELECT 2"), libsql::usage_error);
    EXPECT_THROW((void)conn.prepare("SELECT 1; SELECT 2"), libsql::usage_error);
    EXPECT_THROW((void)conn.prepare(""), libsql::usage_error);
    EXPECT_THROW((void)conn.prepare("  -- only a comment"), libsql::usage_error);
    // Trailing semicolons, spaces and comments are fine; a ';' inside a string is not a separator.
    EXPECT_EQ(conn.query_value<int>("SELECT 1;  ; -- done\n /* really */"), 1);
    EXPECT_EQ(conn.query_value<std::string>("SELECT 'a;b'"), "a;b");
    EXPECT_EQ(count("t"), 0);
}

TEST_P(conformance, native_handles) {
    auto st = conn.prepare("SELECT 1");
    if (caps().native_handle) {
        EXPECT_NE(conn.native_handle(), nullptr);
        EXPECT_NE(st.native_handle(), nullptr);
    } else {
        EXPECT_EQ(conn.native_handle(), nullptr);
        EXPECT_EQ(st.native_handle(), nullptr);
    }
}

// ================================================================================================================
// Changes, rowids, batches

TEST_P(conformance, execute_returns_changes) {
    REQUIRE_CAPABILITY(affected_rows);
    conn.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT UNIQUE)");
    const auto before = conn.total_changes();
    EXPECT_EQ(conn.execute("INSERT INTO t(v) VALUES (?), (?)", "a", "b"), 2);
    EXPECT_EQ(conn.changes(), 2);
    EXPECT_EQ(conn.execute("UPDATE t SET v = v || '!'"), 2);
    EXPECT_EQ(conn.execute("UPDATE t SET v = 'x' WHERE 0"), 0);
    EXPECT_EQ(conn.execute("SELECT * FROM t"), 0);  // statements that change nothing report 0
    EXPECT_EQ(conn.execute("CREATE TABLE other(x)"), 0);
    EXPECT_EQ(conn.execute("DELETE FROM t WHERE v = 'a!'"), 1);
    EXPECT_EQ(conn.changes(), 1);
    EXPECT_EQ(conn.total_changes() - before, 5);
    auto del = conn.prepare("DELETE FROM t");
    EXPECT_EQ(del.execute(), 1);
}

TEST_P(conformance, last_insert_rowid) {
    REQUIRE_CAPABILITY(last_insert_rowid);
    conn.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
    conn.execute("INSERT INTO t(v) VALUES ('a')");
    EXPECT_EQ(conn.last_insert_rowid(), 1);
    conn.execute("INSERT INTO t(id, v) VALUES (42, 'b')");
    EXPECT_EQ(conn.last_insert_rowid(), 42);
    auto ins = conn.prepare("INSERT INTO t(v) VALUES (?)");
    ins.execute("c");
    EXPECT_EQ(conn.last_insert_rowid(), 43);
    conn.execute("UPDATE t SET v = 'z'");  // not an insert: the rowid stays
    EXPECT_EQ(conn.last_insert_rowid(), 43);
    const auto big = std::numeric_limits<std::int64_t>::max() - 1;
    conn.execute("INSERT INTO t(id, v) VALUES (?, 'big')", big);
    EXPECT_EQ(conn.last_insert_rowid(), big);
}

TEST_P(conformance, execute_batch_runs_all_and_stops_at_the_first_failure) {
    conn.execute_batch(
        "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT UNIQUE);\n"
        "INSERT INTO t(v) VALUES ('a');\n"
        "-- a comment between statements\n"
        "INSERT INTO t(v) VALUES ('b;c'); SELECT * FROM t;;\n"
        "/* trailing comment */");
    EXPECT_EQ(count("t"), 2);
    conn.execute_batch("");
    conn.execute_batch("  ;  -- nothing\n");
    EXPECT_THROW(conn.execute_batch("INSERT INTO t(v) VALUES ('c'); INSERT INTO t(v) VALUES ('a'); "
                                    "INSERT INTO t(v) VALUES ('d');"),
                 libsql::constraint_violation);
    // The statement before the failure stays done, the one after never ran.
    EXPECT_EQ(conn.query_value<std::string>("SELECT group_concat(v, ' ') FROM (SELECT v FROM t ORDER BY id)"), "a b;c c");
    EXPECT_THROW(conn.execute_batch("INSERT INTO t(v) VALUES ('e'); SELEC 1; INSERT INTO t(v) VALUES ('f');"),
                 libsql::sql_error);
    EXPECT_EQ(count("t"), 4);
    EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM t WHERE v = 'f'"), 0);

    // A trigger body's semicolons do not end its CREATE TRIGGER.
    conn.execute_batch(
        "CREATE TABLE log(y TEXT);\n"
        "CREATE TRIGGER t_log AFTER INSERT ON t BEGIN\n"
        "  INSERT INTO log VALUES (new.v);\n"
        "  INSERT INTO log VALUES (new.v || '!');\n"
        "END;\n"
        "INSERT INTO t(v) VALUES ('g');");
    EXPECT_EQ(conn.query_value<std::string>("SELECT group_concat(y, ' ') FROM (SELECT y FROM log ORDER BY rowid)"), "g g!");
}

TEST_P(conformance, transactional_batch_is_all_or_nothing) {
    conn.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT UNIQUE)");
    conn.execute_transactional_batch("INSERT INTO t(v) VALUES ('a'); INSERT INTO t(v) VALUES ('b');");
    EXPECT_EQ(count("t"), 2);
    EXPECT_TRUE(conn.is_autocommit());
    // A failing last statement (a constraint, at run time) leaves no trace of the earlier ones, DDL included.
    EXPECT_THROW(conn.execute_transactional_batch(
                     "INSERT INTO t(v) VALUES ('c'); CREATE TABLE u(x); INSERT INTO t(v) VALUES ('a');"),
                 libsql::constraint_violation);
    EXPECT_EQ(count("t"), 2);
    EXPECT_TRUE(conn.is_autocommit());
    EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM sqlite_schema WHERE name = 'u'"), 0);
    // The same for a statement that does not even prepare.
    EXPECT_THROW(conn.execute_transactional_batch("INSERT INTO t(v) VALUES ('d'); INSERT INTO nowhere VALUES (1);"),
                 libsql::sql_error);
    EXPECT_EQ(count("t"), 2);
    EXPECT_TRUE(conn.is_autocommit());
    conn.execute_transactional_batch("INSERT INTO t(v) VALUES ('e');");
    EXPECT_EQ(conn.query_value<std::string>("SELECT group_concat(v, ',') FROM (SELECT v FROM t ORDER BY id)"), "a,b,e");
}

TEST_P(conformance, transactional_batch_inside_a_transaction_uses_a_savepoint) {
    REQUIRE_CAPABILITY(savepoints);
    conn.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT UNIQUE)");
    auto tx = conn.transaction();
    conn.execute("INSERT INTO t(v) VALUES ('outer')");
    EXPECT_THROW(conn.execute_transactional_batch("INSERT INTO t(v) VALUES ('inner'); INSERT INTO t(v) VALUES ('outer');"),
                 libsql::constraint_violation);
    EXPECT_FALSE(conn.is_autocommit());  // only the batch was undone
    EXPECT_EQ(conn.query_value<std::string>("SELECT group_concat(v, ',') FROM t"), "outer");
    conn.execute_transactional_batch("INSERT INTO t(v) VALUES ('batch');");
    EXPECT_FALSE(conn.is_autocommit());
    tx.commit();
    EXPECT_TRUE(conn.is_autocommit());
    EXPECT_EQ(conn.query_value<std::string>("SELECT group_concat(v, ',') FROM (SELECT v FROM t ORDER BY id)"),
              "outer,batch");
}

// ================================================================================================================
// Transactions and savepoints

class conformance_tx : public conformance {
protected:
    void SetUp() override {
        conformance::SetUp();
        if (IsSkipped()) return;
        conn.execute("CREATE TABLE t(x INTEGER)");
    }
    void insert(int x) { conn.execute("INSERT INTO t VALUES (?)", x); }
    std::string contents() { return conformance::contents("t"); }
};

TEST_P(conformance_tx, commit_keeps_the_work) {
    REQUIRE_CAPABILITY(interactive_transactions);
    auto tx = conn.transaction();
    EXPECT_TRUE(tx.is_active());
    EXPECT_EQ(tx.behavior(), libsql::transaction_behavior::deferred);
    EXPECT_FALSE(conn.is_autocommit());
    insert(1);
    insert(2);
    EXPECT_EQ(count("t"), 2);  // visible inside
    tx.commit();
    EXPECT_FALSE(tx.is_active());
    EXPECT_TRUE(conn.is_autocommit());
    EXPECT_EQ(contents(), "1,2");
}

TEST_P(conformance_tx, destructor_and_rollback_undo_the_work) {
    REQUIRE_CAPABILITY(interactive_transactions);
    insert(1);
    {
        auto tx = conn.transaction();
        insert(2);
        EXPECT_EQ(count("t"), 2);
    }
    EXPECT_TRUE(conn.is_autocommit());
    EXPECT_EQ(contents(), "1");
    auto tx = conn.transaction(libsql::transaction_behavior::immediate);
    insert(3);
    tx.rollback();
    EXPECT_FALSE(tx.is_active());
    EXPECT_TRUE(conn.is_autocommit());
    EXPECT_EQ(contents(), "1");
}

TEST_P(conformance_tx, every_behavior_begins_and_commits) {
    REQUIRE_CAPABILITY(interactive_transactions);
    int x = 0;
    for (const auto b : {libsql::transaction_behavior::deferred, libsql::transaction_behavior::immediate,
                         libsql::transaction_behavior::exclusive}) {
        auto tx = conn.transaction(b);
        EXPECT_EQ(tx.behavior(), b);
        EXPECT_FALSE(conn.is_autocommit());
        insert(++x);
        tx.commit();
        EXPECT_TRUE(conn.is_autocommit());
    }
    EXPECT_EQ(contents(), "1,2,3");
}

TEST_P(conformance_tx, read_only_refuses_writes_until_it_ends) {
    REQUIRE_CAPABILITY(interactive_transactions);
    insert(1);
    {
        auto tx = conn.transaction(libsql::transaction_behavior::read_only);
        EXPECT_EQ(tx.behavior(), libsql::transaction_behavior::read_only);
        EXPECT_EQ(count("t"), 1);
        EXPECT_THROW(insert(2), libsql::readonly);
        EXPECT_THROW(conn.execute("CREATE TABLE u(y)"), libsql::readonly);
        tx.commit();
    }
    insert(2);
    {
        auto tx = conn.transaction(libsql::transaction_behavior::read_only);
        EXPECT_THROW(insert(3), libsql::readonly);
        tx.rollback();
    }
    insert(3);
    {
        auto tx = conn.transaction(libsql::transaction_behavior::read_only);
        EXPECT_THROW(insert(4), libsql::readonly);
    }
    insert(4);
    EXPECT_EQ(contents(), "1,2,3,4");
}

TEST_P(conformance_tx, commit_and_rollback_rules) {
    REQUIRE_CAPABILITY(interactive_transactions);
    auto tx = conn.transaction();
    tx.commit();
    EXPECT_THROW(tx.commit(), libsql::usage_error);
    EXPECT_THROW(tx.rollback(), libsql::usage_error);
    auto tx2 = conn.transaction();
    tx2.rollback();
    EXPECT_THROW(tx2.commit(), libsql::usage_error);
    libsql::transaction moved_to = conn.transaction();
    insert(5);
    libsql::transaction target = std::move(moved_to);
    EXPECT_FALSE(moved_to.is_active());  // NOLINT(bugprone-use-after-move)
    EXPECT_FALSE(conn.is_autocommit());  // the move did not end it
    target.commit();
    EXPECT_EQ(contents(), "5");
}

TEST_P(conformance_tx, nested_begin_fails_without_harming_the_outer_transaction) {
    REQUIRE_CAPABILITY(interactive_transactions);
    auto outer = conn.transaction();
    insert(1);
    EXPECT_THROW((void)conn.transaction(), libsql::sql_error);
    EXPECT_FALSE(conn.is_autocommit());
    EXPECT_EQ(count("t"), 1);
    outer.commit();
    EXPECT_EQ(contents(), "1");
}

TEST_P(conformance_tx, a_failed_statement_leaves_the_transaction_open) {
    REQUIRE_CAPABILITY(interactive_transactions);
    conn.execute("CREATE TABLE u(id INTEGER PRIMARY KEY)");
    auto tx = conn.transaction();
    insert(1);
    conn.execute("INSERT INTO u VALUES (1)");
    EXPECT_THROW(conn.execute("INSERT INTO u VALUES (1)"), libsql::constraint_violation);
    EXPECT_THROW(conn.execute("SELEC 1"), libsql::sql_error);
    EXPECT_FALSE(conn.is_autocommit());
    insert(2);
    tx.commit();
    EXPECT_EQ(contents(), "1,2");
}

TEST_P(conformance_tx, failed_commit_leaves_the_transaction_open) {
    REQUIRE_CAPABILITY(interactive_transactions);
    REQUIRE_CAPABILITY(connection_state);  // foreign keys turned on before the transaction
    conn.execute_batch(
        "CREATE TABLE parent(id INTEGER PRIMARY KEY);"
        "CREATE TABLE child(pid INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED);");
    libsql::pragma::enable_foreign_keys(conn);
    auto tx = conn.transaction();
    conn.execute("INSERT INTO child VALUES (5)");
    EXPECT_THROW(tx.commit(), libsql::constraint_violation);
    EXPECT_TRUE(tx.is_active());
    EXPECT_FALSE(conn.is_autocommit());
    conn.execute("INSERT INTO parent VALUES (5)");
    tx.commit();
    EXPECT_EQ(count("child"), 1);
}

TEST_P(conformance_tx, savepoints_nest_ten_deep) {
    REQUIRE_CAPABILITY(savepoints);
    auto tx = conn.transaction();
    std::vector<libsql::savepoint> levels;
    levels.reserve(10);
    for (int i = 0; i < 10; ++i) {
        levels.push_back(i == 0 ? tx.savepoint() : levels.back().nested());
        insert(i);
    }
    EXPECT_EQ(count("t"), 10);
    for (int i = 9; i >= 7; --i) levels[static_cast<std::size_t>(i)].rollback();
    EXPECT_EQ(count("t"), 7);
    for (int i = 6; i >= 0; --i) levels[static_cast<std::size_t>(i)].commit();
    EXPECT_FALSE(conn.is_autocommit());
    tx.commit();
    EXPECT_EQ(contents(), "0,1,2,3,4,5,6");
}

TEST_P(conformance_tx, savepoint_rules_and_savepoints_without_a_transaction) {
    REQUIRE_CAPABILITY(savepoints);
    {
        auto tx = conn.transaction();
        auto a = tx.savepoint();
        auto b = tx.savepoint();
        EXPECT_NE(a.name(), b.name());
        b.commit();
        EXPECT_THROW(b.commit(), libsql::usage_error);
        a.rollback();
        EXPECT_THROW(a.rollback(), libsql::usage_error);
        tx.commit();
    }
    {
        auto sp = conn.savepoint();
        EXPECT_FALSE(conn.is_autocommit());  // a savepoint outside a transaction starts one
        insert(1);
        sp.commit();
    }
    EXPECT_TRUE(conn.is_autocommit());
    {
        auto sp = conn.savepoint();
        insert(2);
        auto nested = sp.nested();
        insert(3);
        nested.commit();
    }  // the outer savepoint was not released: everything in it goes
    EXPECT_TRUE(conn.is_autocommit());
    EXPECT_EQ(contents(), "1");
}

TEST_P(conformance_tx, autocommit_follows_begin_and_rollback_statements) {
    REQUIRE_CAPABILITY(interactive_transactions);
    EXPECT_TRUE(conn.is_autocommit());
    conn.execute("BEGIN");
    EXPECT_FALSE(conn.is_autocommit());
    insert(1);
    conn.execute("ROLLBACK");
    EXPECT_TRUE(conn.is_autocommit());
    EXPECT_EQ(count("t"), 0);
}

TEST_P(conformance_tx, autocommit_follows_a_failed_statement) {
    REQUIRE_CAPABILITY(interactive_transactions);
    conn.execute("CREATE TABLE u(k INTEGER PRIMARY KEY)");
    conn.execute("BEGIN");
    insert(1);
    conn.execute("INSERT INTO u VALUES (1)");
    // A failure that leaves the transaction open...
    EXPECT_THROW(conn.execute("INSERT INTO u VALUES (1)"), libsql::constraint_violation);
    EXPECT_FALSE(conn.is_autocommit());
    insert(2);
    if (!caps().autocommit_after_failures) {
        conn.execute("ROLLBACK");
        return;
    }
    // ...and one that rolls it back (ON CONFLICT ROLLBACK): the connection is back in autocommit mode.
    EXPECT_THROW(conn.execute("INSERT OR ROLLBACK INTO u VALUES (1)"), libsql::constraint_violation);
    EXPECT_TRUE(conn.is_autocommit());
    EXPECT_EQ(contents(), "");
    insert(3);  // autocommit: kept
    EXPECT_TRUE(conn.is_autocommit());
    EXPECT_EQ(contents(), "3");
}

TEST_P(conformance_tx, statements_prepared_in_a_transaction_see_its_schema_only_there) {
    REQUIRE_CAPABILITY(interactive_transactions);
    conn.execute("BEGIN");
    conn.execute("CREATE TABLE fresh(a, b)");
    for (int i = 0; i < 3; ++i) {  // the same text again: a description kept, if any, must be this one
        auto st = conn.prepare("SELECT * FROM fresh");
        EXPECT_EQ(st.column_count(), 2);
        EXPECT_EQ(st.query().skip_all(), 0u);
    }
    insert(1);
    EXPECT_EQ(contents(), "1");
    conn.execute("ROLLBACK");
    // Rolled back: the table is gone for this connection and any other, whatever was described inside (prepare
    // itself fails: no description of it was kept).
    EXPECT_THROW((void)conn.prepare("SELECT * FROM fresh"), libsql::error);
    auto other = db().connect();
    EXPECT_THROW((void)other.prepare("SELECT * FROM fresh"), libsql::error);
    // A statement of the committed schema, prepared inside a transaction, stays right after it.
    conn.execute("BEGIN");
    for (int i = 0; i < 3; ++i) EXPECT_EQ(conn.prepare("SELECT x FROM t").column_count(), 1);
    conn.execute("COMMIT");
    EXPECT_EQ(other.prepare("SELECT x FROM t").column_count(), 1);
}

TEST_P(conformance_tx, reset_rolls_back_and_makes_cursors_stale) {
    REQUIRE_CAPABILITY(interactive_transactions);
    insert(1);
    insert(2);
    auto st = conn.prepare("SELECT x FROM t");
    auto cursor = st.query();
    ASSERT_TRUE(cursor.next());
    conn.execute("BEGIN");
    insert(3);
    conn.reset();
    EXPECT_TRUE(conn.is_autocommit());
    EXPECT_EQ(contents(), "1,2");
    EXPECT_THROW((void)cursor.next(), libsql::usage_error);
    EXPECT_EQ(st.query().skip_all(), 2u);
    conn.reset();  // harmless on a clean connection
    EXPECT_EQ(count("t"), 2);
}

TEST_P(conformance_tx, in_transaction_commits_rolls_back_and_nests) {
    REQUIRE_CAPABILITY(interactive_transactions);
    const auto n = libsql::in_transaction(conn, [](libsql::connection& c) {
        c.execute("INSERT INTO t VALUES (7)");
        return c.query_value<int>("SELECT count(*) FROM t");
    });
    EXPECT_EQ(n, 1);
    EXPECT_TRUE(conn.is_autocommit());
    EXPECT_THROW(libsql::in_transaction(conn, [&] {
                     insert(8);
                     throw std::runtime_error("boom");
                 }),
                 std::runtime_error);
    EXPECT_TRUE(conn.is_autocommit());
    EXPECT_EQ(contents(), "7");
    if (caps().savepoints) {
        libsql::in_transaction(conn, [&](libsql::connection& c) {
            insert(9);
            try {
                libsql::in_transaction(c, [&] {
                    insert(10);
                    throw std::runtime_error("inner");
                });
            } catch (const std::runtime_error&) {
            }
            EXPECT_FALSE(c.is_autocommit());
        });
        EXPECT_EQ(contents(), "7,9");
    }
    libsql::in_transaction(conn, [&] { EXPECT_EQ(count("t"), caps().savepoints ? 2 : 1); },
                           libsql::transaction_behavior::read_only);
}

// ================================================================================================================
// Two connections

TEST_P(conformance, changes_are_visible_to_another_connection) {
    auto other = db().connect();
    conn.execute("CREATE TABLE t(x INTEGER)");
    conn.execute("INSERT INTO t VALUES (1)");
    EXPECT_EQ(contents(other, "t"), "1");
    other.execute("INSERT INTO t VALUES (2)");
    EXPECT_EQ(contents(conn, "t"), "1,2");
    conn.execute_transactional_batch("INSERT INTO t VALUES (3); INSERT INTO t VALUES (4);");
    EXPECT_EQ(contents(other, "t"), "1,2,3,4");
    conn.close();
    EXPECT_EQ(contents(other, "t"), "1,2,3,4");  // closing one keeps the database for the other
}

TEST_P(conformance, an_open_transaction_is_invisible_to_another_connection) {
    REQUIRE_CAPABILITY(interactive_transactions);
    REQUIRE_CAPABILITY(multiple_connections_isolated);
    auto other = db().connect();
    conn.execute("CREATE TABLE t(x INTEGER)");
    conn.execute("INSERT INTO t VALUES (1)");
    {
        auto tx = conn.transaction();
        conn.execute("INSERT INTO t VALUES (2)");
        EXPECT_EQ(contents(conn, "t"), "1,2");
        EXPECT_EQ(contents(other, "t"), "1");
        EXPECT_TRUE(other.is_autocommit());
        tx.commit();
    }
    EXPECT_EQ(contents(other, "t"), "1,2");
    {
        auto tx = conn.transaction();
        conn.execute("INSERT INTO t VALUES (3)");
    }
    EXPECT_EQ(contents(other, "t"), "1,2");
}

TEST_P(conformance, connection_settings_persist_between_statements) {
    REQUIRE_CAPABILITY(connection_state);
    // Per-connection state (PRAGMAs, temporary tables) lasts as long as the connection, transaction or not.
    conn.execute("PRAGMA foreign_keys = ON");
    EXPECT_EQ(conn.query_value<int>("PRAGMA foreign_keys"), 1);
    conn.execute("CREATE TEMP TABLE scratch(x)");
    conn.execute("INSERT INTO scratch VALUES (1)");
    EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM temp.scratch"), 1);
    if (caps().multiple_connections_isolated) {
        auto other = db().connect();
        EXPECT_EQ(other.query_value<int>("PRAGMA foreign_keys"), 0);  // it belongs to the one connection
        EXPECT_THROW((void)other.query_value<int>("SELECT count(*) FROM temp.scratch"), libsql::sql_error);
    }
}

// ================================================================================================================
// Errors

TEST_P(conformance, sql_errors_are_typed_and_carry_the_sql) {
    const std::uint_least32_t line = __LINE__ + 2;
    try {
        (void)conn.query("SELEC 1").skip_all();
        FAIL() << "no throw";
    } catch (const libsql::sql_error& e) {
        EXPECT_EQ(e.sql(), "SELEC 1");
        EXPECT_EQ(libsql::to_string(e.transport()), libsql::to_string(transport_of(k())));
        EXPECT_NE(std::string(e.what()).find("syntax error"), std::string::npos) << e.what();
        EXPECT_EQ(e.where().line(), line);
    }
    try {
        conn.execute("INSERT INTO nowhere VALUES (1)");
        FAIL() << "no throw";
    } catch (const libsql::sql_error& e) {
        EXPECT_EQ(e.sql(), "INSERT INTO nowhere VALUES (1)");
        EXPECT_NE(std::string(e.what()).find("nowhere"), std::string::npos) << e.what();
    }
    EXPECT_THROW((void)conn.query_value<int>("SELECT * FROM nowhere"), libsql::sql_error);
    EXPECT_THROW(conn.execute("CREATE TABLE t(x"), libsql::sql_error);
    EXPECT_EQ(conn.query_value<int>("SELECT 2"), 2);  // usable afterwards
}

TEST_P(conformance, constraint_failures_raise_their_kind) {
    conn.execute_batch(
        "CREATE TABLE parent(id INTEGER PRIMARY KEY);"
        "CREATE TABLE c(id INTEGER PRIMARY KEY, u TEXT UNIQUE, n TEXT NOT NULL DEFAULT 'n', "
        "               k INTEGER CHECK (k > 0), p INTEGER REFERENCES parent(id));"
        "INSERT INTO parent VALUES (1);"
        "INSERT INTO c(id, u, k, p) VALUES (1, 'dup', 1, 1);");
    if (caps().connection_state) libsql::pragma::enable_foreign_keys(conn);
    struct expectation {
        const char* sql;
        int extended;
        const char* message;
    };
    const expectation cases[] = {
        {"INSERT INTO c(id, u) VALUES (2, 'dup')", 2067, "UNIQUE constraint failed: c.u"},
        {"INSERT INTO c(id) VALUES (1)", 1555, "UNIQUE constraint failed: c.id"},
        {"INSERT INTO c(id, n) VALUES (3, NULL)", 1299, "NOT NULL constraint failed: c.n"},
        {"INSERT INTO c(id, k) VALUES (4, 0)", 275, "CHECK constraint failed"},
    };
    for (const auto& c : cases) {
        try {
            conn.execute(c.sql);
            ADD_FAILURE() << "no throw: " << c.sql;
        } catch (const libsql::constraint_violation& e) {
            EXPECT_NE(std::string(e.what()).find(c.message), std::string::npos) << e.what();
            EXPECT_EQ(e.sql(), c.sql);
            if (caps().typed_constraint_errors && (c.extended != 1555 || caps().primary_key_errors)) {
                EXPECT_EQ(e.extended_code(), c.extended) << c.sql;
            }
        }
    }
    EXPECT_THROW(conn.execute(cases[1].sql), libsql::unique_violation);  // on every transport
    if (caps().primary_key_errors) {
        EXPECT_THROW(conn.execute(cases[1].sql), libsql::primary_key_violation);
    }
    if (caps().typed_constraint_errors) {
        EXPECT_THROW(conn.execute(cases[0].sql), libsql::unique_violation);
        EXPECT_THROW(conn.execute(cases[2].sql), libsql::not_null_violation);
        EXPECT_THROW(conn.execute(cases[3].sql), libsql::check_violation);
    }
    // Foreign keys are enforced once the connection turns them on: within one batch on every transport, and from
    // then on where connection state lasts.
    const auto fk_batch = "PRAGMA foreign_keys = ON; INSERT INTO c(id, p) VALUES (5, 99);";
    if (caps().typed_constraint_errors) {
        EXPECT_THROW(conn.execute_batch(fk_batch), libsql::foreign_key_violation);
    } else {
        EXPECT_THROW(conn.execute_batch(fk_batch), libsql::constraint_violation);
    }
    if (caps().connection_state) {
        try {
            conn.execute("INSERT INTO c(id, p) VALUES (6, 98)");
            ADD_FAILURE() << "no throw";
        } catch (const libsql::foreign_key_violation& e) {
            EXPECT_EQ(e.extended_code(), 787);
            EXPECT_NE(std::string(e.what()).find("FOREIGN KEY constraint failed"), std::string::npos) << e.what();
        }
    }
    EXPECT_EQ(count("c"), 1);
}

TEST_P(conformance, closed_connections_refuse_use) {
    auto st = conn.prepare("SELECT 1");
    conn.close();
    EXPECT_FALSE(conn.is_open());
    EXPECT_EQ(conn.native_handle(), nullptr);
    EXPECT_THROW(conn.execute("SELECT 1"), libsql::usage_error);
    EXPECT_THROW((void)conn.query("SELECT 1"), libsql::usage_error);
    EXPECT_THROW((void)conn.prepare("SELECT 1"), libsql::usage_error);
    EXPECT_THROW(conn.execute_batch("SELECT 1"), libsql::usage_error);
    EXPECT_THROW((void)conn.transaction(), libsql::usage_error);
    EXPECT_THROW((void)conn.is_autocommit(), libsql::usage_error);
    EXPECT_THROW((void)st.query_row(), libsql::usage_error);
    conn.close();      // twice is fine
    conn.interrupt();  // and so is interrupting a closed connection
    auto again = db().connect();
    EXPECT_EQ(again.query_value<int>("SELECT 1"), 1);
}

// ================================================================================================================
// What only some transports do: asserted as the documented refusal elsewhere

TEST_P(conformance, hooks_or_unsupported) {
    if (!caps().hooks) {
        EXPECT_THROW(conn.update_hook([](libsql::update_kind, std::string_view, std::string_view, std::int64_t) {}),
                     libsql::unsupported);
        EXPECT_THROW(conn.commit_hook([] { return true; }), libsql::unsupported);
        EXPECT_THROW(conn.rollback_hook([] {}), libsql::unsupported);
        EXPECT_THROW(conn.authorizer([](const libsql::authorizer_request&) { return libsql::authorizer_result::allow; }),
                     libsql::unsupported);
        EXPECT_EQ(conn.query_value<int>("SELECT 1"), 1);
        return;
    }
    conn.execute("CREATE TABLE t(x)");
    std::vector<std::string> seen;
    conn.update_hook([&](libsql::update_kind kind_, std::string_view, std::string_view table, std::int64_t rowid) {
        seen.push_back(std::string(libsql::to_string(kind_)) + " " + std::string(table) + " " + std::to_string(rowid));
    });
    int commits = 0;
    conn.commit_hook([&] { return ++commits < 2; });  // the second commit is vetoed
    conn.execute("INSERT INTO t VALUES (1)");
    EXPECT_EQ(seen, (std::vector<std::string>{"insert t 1"}));
    EXPECT_THROW(conn.execute("INSERT INTO t VALUES (2)"), libsql::constraint_violation);
    conn.commit_hook(nullptr);
    conn.update_hook(nullptr);
    EXPECT_EQ(count("t"), 1);
}

TEST_P(conformance, extensions_or_unsupported) {
    if (!caps().extensions) {
        EXPECT_THROW(conn.enable_load_extension(true), libsql::unsupported);
        EXPECT_THROW(conn.load_extension("/nonexistent/ext.so"), libsql::unsupported);
        return;
    }
    EXPECT_THROW(conn.load_extension("/nonexistent/ext.so"), libsql::usage_error);  // not enabled
    conn.enable_load_extension(true);
    EXPECT_THROW(conn.load_extension("/nonexistent/ext.so"), libsql::error);
    conn.enable_load_extension(false);
}

TEST_P(conformance, limits_or_unsupported) {
    if (!caps().set_limit) {
        EXPECT_THROW(conn.set_limit(libsql::limit::length, 40), libsql::unsupported);
        EXPECT_EQ(conn.query_value<std::string>("SELECT ?", std::string(100, 'x')), std::string(100, 'x'));
        return;
    }
    const int old = conn.set_limit(libsql::limit::length, 40);
    EXPECT_GT(old, 40);
    EXPECT_THROW((void)conn.query_value<std::string>("SELECT ?", std::string(41, 'x')), libsql::too_big);
    EXPECT_EQ(conn.set_limit(libsql::limit::length, old), 40);
    EXPECT_EQ(conn.query_value<std::string>("SELECT ?", std::string(41, 'x')), std::string(41, 'x'));
}

TEST_P(conformance, busy_timeout_or_accepted) {
    if (!caps().busy_timeout) {
        EXPECT_NO_THROW(conn.busy_timeout(250ms));
        EXPECT_NO_THROW(conn.busy_timeout(0ms));
        EXPECT_THROW(conn.busy_timeout(-1ms), libsql::usage_error);
        EXPECT_EQ(conn.query_value<int>("SELECT 1"), 1);
        return;
    }
    EXPECT_EQ(conn.query_value<int>("PRAGMA busy_timeout"), 5000);  // connect_options' default
    conn.busy_timeout(250ms);
    EXPECT_EQ(conn.query_value<int>("PRAGMA busy_timeout"), 250);
    EXPECT_THROW(conn.busy_timeout(-1ms), libsql::usage_error);
}

TEST_P(conformance, replication_control_or_unsupported) {
    if (!caps().replication) {
        EXPECT_THROW((void)db().sync(), libsql::unsupported);
        EXPECT_THROW((void)db().sync_until(1), libsql::unsupported);
        EXPECT_THROW((void)db().replication_index(), libsql::unsupported);
        EXPECT_THROW((void)db().flush_replicator(), libsql::unsupported);
        return;
    }
    conn.execute("CREATE TABLE t(x)");
    conn.execute("INSERT INTO t VALUES (1)");
    const auto index = db().replication_index();
    ASSERT_TRUE(index.has_value());
    const auto r = db().sync();
    EXPECT_GE(r.replication_index, *index);
    EXPECT_GE(db().flush_replicator(), *index);
    EXPECT_EQ(count("t"), 1);
}

TEST_P(conformance, encryption_at_rest_or_unsupported) {
    libsql::connect_options o;
    o.encryption_key = "conformance-key";
    std::string file;
    std::string url;
    switch (k()) {
    case kind::local: file = ctx_->dir->file("encrypted.db"); break;
    case kind::replica:
        file = ctx_->dir->file("encrypted-replica.db");
        o.sync_url = ctx_->server->url();
        break;
    case kind::remote: url = ctx_->server->url(); break;
    case kind::remote_ws: url = "ws://127.0.0.1:" + std::to_string(ctx_->server->port()); break;
    case kind::tursodb: url = ctx_->turso->url(); break;
    }
    if (!caps().encryption_at_rest) {
        EXPECT_THROW(libsql::database(url, o), libsql::unsupported);
        return;
    }
    {
        libsql::database enc(file, o);
        auto c = enc.connect();
        c.execute("CREATE TABLE secret(x TEXT)");
        c.execute("INSERT INTO secret VALUES ('conformance-plaintext')");
        EXPECT_EQ(c.query_value<std::string>("SELECT x FROM secret"), "conformance-plaintext");
        EXPECT_EQ(c.query_value<std::string>("PRAGMA integrity_check"), "ok");
    }
    for (const auto& f : {file, file + "-wal"}) {
        std::error_code ec;
        const auto size = std::filesystem::file_size(f, ec);
        std::string bytes(ec ? 0 : size, '\0');
        std::ifstream in(f, std::ios::binary);
        in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        EXPECT_EQ(bytes.find("conformance-plaintext"), std::string::npos) << f;
    }
    auto wrong = o;
    wrong.encryption_key = "not-the-key";
    EXPECT_THROW(libsql::database(file, wrong), libsql::encryption_error);
    libsql::database again(file, o);
    EXPECT_EQ(again.connect().query_value<int>("SELECT count(*) FROM secret"), 1);
}

TEST_P(conformance, interrupt_stops_a_running_statement) {
    REQUIRE_CAPABILITY(interrupt);
    conn.interrupt();  // nothing running: no effect on what comes next
    EXPECT_EQ(conn.query_value<int>("SELECT 1"), 1);
    std::atomic<bool> done{false};
    std::exception_ptr caught;
    std::thread runner([&] {
        try {
            // 10^8 rows: seconds of work, far longer than the interrupt takes to land.
            (void)conn.query_value<std::int64_t>(std::string(digits) +
                                                 "SELECT count(*) FROM d a, d b, d c, d e, d f, d g, d h, d i");
        } catch (...) {
            caught = std::current_exception();
        }
        done = true;
    });
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!done && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(5ms);
        conn.interrupt();
    }
    runner.join();
    ASSERT_TRUE(caught) << "the statement ran to completion";
    EXPECT_THROW(std::rethrow_exception(caught), libsql::interrupted);
    EXPECT_EQ(conn.query_value<int>("SELECT 2"), 2);  // usable afterwards
}

// ================================================================================================================
// Helpers built on the connection: pragmas, adapters, the pool

TEST_P(conformance, pragma_helpers) {
    namespace pragma = libsql::pragma;
    conn.execute("CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT 'x', price REAL)");
    const auto cols = pragma::table_info(conn, "items");
    ASSERT_EQ(cols.size(), 3u);
    EXPECT_EQ(cols[0].name, "id");
    EXPECT_EQ(cols[0].type, "INTEGER");
    EXPECT_EQ(cols[0].primary_key, 1);
    EXPECT_EQ(cols[1].name, "name");
    EXPECT_TRUE(cols[1].not_null);
    EXPECT_EQ(cols[1].default_value, "'x'");
    EXPECT_EQ(cols[2].type, "REAL");
    EXPECT_TRUE(pragma::table_info(conn, "missing").empty());

    bool found = false;
    for (const auto& t : pragma::table_list(conn))
        if (t.name == "items") {
            found = true;
            EXPECT_EQ(t.type, "table");
            EXPECT_EQ(t.column_count, 3);
        }
    EXPECT_TRUE(found);

    EXPECT_EQ(pragma::user_version(conn), 0);
    pragma::set_user_version(conn, 42);
    EXPECT_EQ(pragma::user_version(conn), 42);
    auto other = db().connect();
    EXPECT_EQ(pragma::user_version(other), 42);  // database-wide

    if (caps().connection_state) {
        pragma::enable_foreign_keys(conn);
        EXPECT_TRUE(pragma::foreign_keys(conn));
        pragma::disable_foreign_keys(conn);
        EXPECT_FALSE(pragma::foreign_keys(conn));
    }
    EXPECT_EQ(pragma::query(conn, "integrity_check").one_value<std::string>(), "ok");
}

TEST_P(conformance, explain_query_plan) {
    conn.execute_batch("CREATE TABLE a(id INTEGER PRIMARY KEY, b_id INTEGER, name TEXT);"
                       "CREATE TABLE b(id INTEGER PRIMARY KEY, label TEXT);");
    const auto plan = libsql::explain_query_plan(conn, "SELECT a.name, b.label FROM a JOIN b ON b.id = a.b_id");
    ASSERT_EQ(plan.nodes.size(), 2u);
    EXPECT_EQ(plan.nodes[0].detail, "SCAN a");
    EXPECT_NE(plan.nodes[1].detail.find("SEARCH b USING INTEGER PRIMARY KEY"), std::string::npos) << plan.to_string();
    EXPECT_EQ(plan.to_string().substr(0, 11), "QUERY PLAN\n");
    EXPECT_NE(libsql::explain_query_plan(conn, "SELECT * FROM a WHERE name = ?").to_string().find("SCAN a"),
              std::string::npos);
    EXPECT_THROW((void)libsql::explain_query_plan(conn, "SELECT * FROM nowhere"), libsql::sql_error);
}

TEST_P(conformance, pool_lease_and_query) {
    conn.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
    conn.execute("INSERT INTO t(v) VALUES ('one'), ('two')");
    libsql::pool_options o;
    o.max_size = 2;
    o.checkout_timeout = 2s;
    libsql::pool pool(ctx_->open(), o);
    {
        auto a = pool.checkout();
        ASSERT_TRUE(a);
        EXPECT_EQ(libsql::to_string(a->transport()), libsql::to_string(transport_of(k())));
        EXPECT_EQ(a->query_value<std::string>("SELECT v FROM t WHERE id = ?", 2), "two");
        auto st = a.cached("SELECT v FROM t WHERE id = ?");
        EXPECT_EQ(st.query_row(1).get<std::string>(0), "one");
        auto b = pool.checkout();
        b->execute("INSERT INTO t(v) VALUES ('three')");
        EXPECT_EQ(a->query_value<int>("SELECT count(*) FROM t"), 3);
        EXPECT_EQ(pool.stats().in_use, 2u);
        EXPECT_THROW((void)pool.checkout(50ms), libsql::timeout);
    }
    EXPECT_EQ(pool.stats().idle, 2u);
    auto again = pool.checkout();
    auto st = again.cached("SELECT v FROM t WHERE id = ?");
    EXPECT_EQ(st.query_row(3).get<std::string>(0), "three");
    EXPECT_GE(pool.stats().cache_hits, 1u);
    if (caps().replication) db().sync();  // the pool's database is another replica of the same primary
    EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM t"), 3);
}

TEST_P(conformance, libsql_random_rowid_tables) {
    REQUIRE_CAPABILITY(libsql_dialect);
    conn.execute("CREATE TABLE r(a INTEGER) RANDOM ROWID");
    auto st = conn.prepare("INSERT INTO r(a) VALUES (?)");
    for (int i = 0; i < 20; ++i) {
        st.execute(i);
        if (caps().last_insert_rowid) {
            EXPECT_GE(conn.last_insert_rowid(), std::int64_t{1} << 32);
        }
    }
    conn.execute("INSERT INTO r(rowid, a) VALUES (7, 100)");
    const auto e = [&]() -> std::string {
        try {
            conn.execute("CREATE TABLE bad(a INTEGER PRIMARY KEY AUTOINCREMENT) RANDOM ROWID");
        } catch (const libsql::error& x) {
            return x.what();
        }
        return "accepted";
    }();
    EXPECT_NE(e.find("AUTOINCREMENT not allowed on RANDOM ROWID tables"), std::string::npos) << e;
    if (caps().replication) db().sync();  // the replica's file now holds the RANDOM ROWID schema: it must parse
    EXPECT_EQ(conn.query_value<std::string>("SELECT sql FROM sqlite_schema WHERE name = 'r'"),
              "CREATE TABLE r(a INTEGER) RANDOM ROWID");
    EXPECT_EQ(conn.query_value<std::int64_t>("SELECT count(DISTINCT rowid) FROM r WHERE a < 20"), 20);
    EXPECT_EQ(conn.query_value<std::int64_t>("SELECT count(*) FROM r WHERE a < 20 AND rowid < 4294967296"), 0);
    EXPECT_EQ(conn.query_value<std::int64_t>("SELECT a FROM r WHERE rowid = 7"), 100);
    EXPECT_EQ(conn.query_value<std::string>("PRAGMA integrity_check"), "ok");
}

TEST_P(conformance, libsql_alter_column_to) {
    REQUIRE_CAPABILITY(libsql_dialect);
    conn.execute("CREATE TABLE u(id INTEGER PRIMARY KEY, n INTEGER, m TEXT)");
    conn.execute("INSERT INTO u VALUES (1, 10, 'x')");
    conn.execute("ALTER TABLE u ALTER COLUMN m TO m TEXT NOT NULL DEFAULT 'none'");
    conn.execute("INSERT INTO u(id, n) VALUES (2, 20)");
    EXPECT_THROW(conn.execute("INSERT INTO u VALUES (3, 30, NULL)"), libsql::constraint_violation);
    EXPECT_THROW(conn.execute("ALTER TABLE u ALTER COLUMN n TO x INTEGER"), libsql::sql_error);
    if (caps().replication) db().sync();
    EXPECT_EQ(conn.query_value<std::string>("SELECT sql FROM sqlite_schema WHERE name = 'u'"),
              "CREATE TABLE u(id INTEGER PRIMARY KEY, n INTEGER, m TEXT NOT NULL DEFAULT 'none')");
    EXPECT_EQ(conn.query_value<std::string>("SELECT group_concat(m, ',') FROM (SELECT m FROM u ORDER BY id)"), "x,none");
}

std::string param_name(const ::testing::TestParamInfo<kind>& info) { return kind_name(info.param); }

const auto all_transports = ::testing::Values(kind::local, kind::remote, kind::remote_ws, kind::tursodb, kind::replica);

// ================================================================================================================
// libSQL vectors: the SQL functions run in whichever engine serves the connection (local, `libsql serve`'s, the
// replica's local file), the C++ vector types bind and read on every transport. The expected bytes are libSQL's
// (tests/vector/vector_compat checks them against npm libsql).

TEST_P(conformance, vector_functions_give_libsqls_bytes) {
    REQUIRE_CAPABILITY(libsql_vectors);
    auto hex = [&](const char* sql) { return conn.query_value<std::string>(std::string("SELECT hex(") + sql + ")"); };
    EXPECT_EQ(hex("vector32('[1,2]')"), "0000803F00000040");
    EXPECT_EQ(hex("vector64('[1,2]')"), "000000000000F03F000000000000004002");
    EXPECT_EQ(hex("vector16('[1,2]')"), "003C004005");
    EXPECT_EQ(hex("vectorb16('[1,2]')"), "803F004006");
    EXPECT_EQ(hex("vector1bit('[1,-2,3]')"), "050D03");
    EXPECT_EQ(conn.query_value<std::string>("SELECT vector_extract(vector8('[1,2,3]'))"), "[1,1.99608,3]");
    EXPECT_EQ(conn.query_value<double>("SELECT vector_distance_cos('[1,2]', '[3,4]')"), 0.01613008975982666);
    EXPECT_EQ(conn.query_value<double>("SELECT vector_distance_l2('[1,2]', '[3,4]')"), 2.8284270763397217);
    try {
        (void)conn.query_value<double>("SELECT vector_distance_cos(vector64('[1,2]'), '[1,2]')");
        FAIL() << "no throw";
    } catch (const libsql::error& e) {
        EXPECT_EQ(e.code(), 1);
        EXPECT_NE(std::string(e.what()).find("vector_distance: vectors must have the same type: 2 != 1"), std::string::npos) << e.what();
    }
    EXPECT_THROW((void)conn.query_value<std::string>("SELECT hex(vector32('[1,'))"), libsql::error);
}

TEST_P(conformance, vectors_bind_store_and_rank) {
    REQUIRE_CAPABILITY(libsql_vectors);
    conn.execute("CREATE TABLE emb(id INTEGER PRIMARY KEY, v F32_BLOB(3), w F64_BLOB(2))");
    const std::vector<std::vector<float>> vs{{1, 0, 0}, {0, 1, 0}, {0.8f, 0.2f, 0}};
    for (int i = 0; i < 3; ++i)
        conn.execute("INSERT INTO emb VALUES (?, ?, ?)", i, libsql::f32_vector{vs[static_cast<std::size_t>(i)]},
                     libsql::f64_vector{{0.1 * i, 1e300}});
    std::vector<int> order;
    for (auto r : conn.query("SELECT id FROM emb ORDER BY vector_distance_cos(v, ?)", std::vector<float>{1, 0.1f, 0}))
        order.push_back(r.get<int>(0));
    EXPECT_EQ(order, (std::vector<int>{0, 2, 1}));
    EXPECT_EQ(conn.query_value<std::vector<float>>("SELECT v FROM emb WHERE id = 2"), vs[2]);
    EXPECT_EQ(conn.query_value<libsql::f64_vector>("SELECT w FROM emb WHERE id = 1").values, (std::vector<double>{0.1, 1e300}));
    EXPECT_EQ(conn.query_value<std::vector<float>>("SELECT vector16(v) FROM emb WHERE id = 0"), vs[0]);
    EXPECT_THROW((void)conn.query_value<std::vector<float>>("SELECT x'000909'"), libsql::conversion_error);
}

// libSQL's DiskANN index: maintained by the engine behind every transport (local, the server's, the primary of a
// replica) and searched where reads run (docs/VECTOR.md).
TEST_P(conformance, vector_index_is_maintained_and_searched) {
    REQUIRE_CAPABILITY(libsql_vectors);
    conn.execute("CREATE TABLE docs(id INTEGER PRIMARY KEY, emb F32_BLOB(3))");
    conn.execute("CREATE INDEX docs_idx ON docs(libsql_vector_idx(emb, 'metric=cosine'))");
    for (int i = 0; i < 10; ++i)
        conn.execute("INSERT INTO docs VALUES (?, ?)", i, libsql::f32_vector{{static_cast<float>(i), static_cast<float>(10 - i), 1}});
    conn.execute("DELETE FROM docs WHERE id = 3");
    conn.execute("UPDATE docs SET emb = vector32('[0,0,1]') WHERE id = 5");
    EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM docs"), 9);
    EXPECT_EQ(conn.query_value<int>("SELECT id FROM vector_top_k('docs_idx', vector32('[0,0,1]'), 1)"), 5);
    std::vector<int> all;
    for (auto r : conn.query("SELECT docs.id FROM vector_top_k('docs_idx', vector32('[1,1,1]'), 20) AS v JOIN docs ON docs.rowid = v.id"))
        all.push_back(r.get<int>(0));
    std::sort(all.begin(), all.end());
    EXPECT_EQ(all, (std::vector<int>{0, 1, 2, 4, 5, 6, 7, 8, 9}));
    EXPECT_EQ(conn.query_value<std::string>("PRAGMA integrity_check"), "ok");
    try {
        conn.execute("CREATE INDEX bad_idx ON docs(libsql_vector_idx(emb, 'metric=foo'))");
        ADD_FAILURE() << "no error";
    } catch (const libsql::error& e) {
        EXPECT_NE(std::string(e.what()).find("vector index: invalid vector index parameter 'metric=foo': invalid parameter"), std::string::npos)
            << e.what();
    }
    conn.execute("DROP INDEX docs_idx");
    EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM sqlite_schema WHERE name LIKE 'docs_idx%'"), 0);
}

INSTANTIATE_TEST_SUITE_P(transports, conformance, all_transports, param_name);
INSTANTIATE_TEST_SUITE_P(transports, conformance_people, all_transports, param_name);
INSTANTIATE_TEST_SUITE_P(transports, conformance_tx, all_transports, param_name);

} // namespace
