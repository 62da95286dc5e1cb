// The service's shared core: the database and its connection pool, checkpoints, the limits on open streams.
#include "server/service_core.hpp"

#include "local/page_codec.hpp"

#include <sys/resource.h>

#include <filesystem>

namespace libsql::server::detail {

namespace {

constexpr std::size_t max_idle_connections = 16;
constexpr std::chrono::milliseconds busy_timeout{10'000};

std::size_t effective_max_streams(std::size_t given) {
    if (given != 0) return given;
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur == RLIM_INFINITY) return 10'000;
    const auto fds = static_cast<std::size_t>(lim.rlim_cur);
    return fds > 192 ? (fds - 128) / 3 : 16;
}

/// Whether the service should replicate this path: a plain file (not ":memory:", not a "file:" URI).
bool replicable_path(const service_options& o) {
    return o.replication && !o.path.empty() && o.path != ":memory:" && o.path.rfind("file:", 0) != 0;
}

} // namespace

[[noreturn]] void fail(std::string code, std::string message) { throw stmt_failure{{std::move(message), std::move(code)}}; }

hrana::error to_hrana(const libsql::error& e) {
    std::string message = e.what();
    if (e.code() != 0) {
        std::string code(result_code_name(e.code()));
        if (code.empty()) code = "SQLITE_UNKNOWN";
        // what() appends " [CODE_NAME] in: SQL"; the SQLite text alone reads better to a client.
        const std::string marker = " [" + std::string(e.code_name()) + "]";
        if (const auto at = message.find(marker); at != std::string::npos) message.resize(at);
        return {std::move(message), std::move(code)};
    }
    if (dynamic_cast<const usage_error*>(&e) != nullptr) {
        if (contains(message, "several statements")) return {std::move(message), "SQL_MANY_STATEMENTS"};
        if (contains(message, "empty SQL")) return {std::move(message), "SQL_NO_STATEMENT"};
        if (contains(message, "parameter") || contains(message, "argument")) return {std::move(message), "ARGS_INVALID"};
        return {std::move(message), "SQL_INPUT_ERROR"};
    }
    if (dynamic_cast<const too_big*>(&e) != nullptr) return {std::move(message), "SQLITE_TOOBIG"};
    return {std::move(message), "SQL_INPUT_ERROR"};
}


void fail_interrupted(bool stopping) {
    fail("SQLITE_INTERRUPT", stopping ? "interrupted: the server is shutting down" : "interrupted: the request was cancelled");
}

core::core(service_options o)
    : opts(std::move(o)), policy(std::make_shared<const detail::sql_policy>(detail::make_sql_policy(opts.attach_dir))),
      db(opts.path, make_options(opts)) {
    if (replicable_path(opts)) {
        // Before any connection reads the database (and recovers a WAL left by a crash).
        repl = std::make_unique<replication_log>(replication_options{
            opts.path, opts.checkpoint_frames, opts.kept_generations, 1024, opts.log});
    }
    auto c = open();
    // WAL: readers run beside the writer. A database on which WAL cannot be set (":memory:") keeps its mode.
    c.guard->internal = true;
    const auto mode = c.conn.query_value<std::string>("PRAGMA journal_mode=WAL");
    c.guard->internal = false;
    idle.push_back(std::move(c));
    if (repl && !iequal(mode, "wal")) {
        if (opts.log) opts.log("replication off: the database cannot use WAL (journal mode " + mode + ")");
        repl.reset();
        idle.back().guard->protect_wal = false;
    }
    max_streams = effective_max_streams(opts.max_streams);
    if (repl) {
        keeper = db.connect();
        keeper.execute("PRAGMA wal_autocheckpoint=0");
        if (!opts.encryption_key.empty()) {
            // The files are encrypted; replicas get plaintext pages, decrypted with the keeper's codec.
            const auto page_size = static_cast<std::uint32_t>(keeper.query_value<std::int64_t>("PRAGMA page_size"));
            repl->set_page_decryptor(page_size, [this, page_size](std::uint32_t pgno, char* page) {
                std::lock_guard lk(keeper_m);
                const int rc = libsql::detail::decrypt_page(keeper.native_handle(), pgno, page, static_cast<int>(page_size));
                if (rc != 0)
                    throw libsql::corrupt("replication: page " + std::to_string(pgno) + " of " + opts.path +
                                          " does not decrypt (engine code " + std::to_string(rc) + ")");
            });
        }
        // The new generation starts from an empty WAL: its export is the database file.
        if (!truncate_wal())
            throw libsql::busy("cannot checkpoint " + opts.path +
                               " at startup (another process is using it?): replication needs the WAL to itself");
        repl->started();
    }
}

bool core::truncate_wal() {
    std::lock_guard lk(keeper_m);
    const auto r = keeper.query_row("PRAGMA wal_checkpoint(TRUNCATE)");
    if (r.get<std::int64_t>(0) != 0) return false;
    std::error_code ec;
    const auto size = std::filesystem::file_size(opts.path + "-wal", ec);
    return ec || size == 0;
}

bool core::try_checkpoint(bool force) {
    if (!repl || shut.load()) return false;
    if (!force && !repl->checkpoint_due()) return false;
    // A stream inside a transaction would make the attempt fail anyway: do not hold requests back for nothing.
    if (any_stream_in_transaction()) return false;
    if (!gate.lock_exclusive(std::chrono::seconds(1))) return false;
    struct unlock {
        quiet_gate& g;
        ~unlock() { g.unlock_exclusive(); }
    } unlocker{gate};
    std::lock_guard lk(streams_m);
    if (!all_streams_quiet()) return false;
    const bool ended = repl->checkpoint([this] { return truncate_wal(); });
    if (ended) checkpoints.fetch_add(1, std::memory_order_relaxed);
    return ended;
}

std::optional<core::stream_refusal> core::stream_limit_reached(std::string_view owner) {
    std::lock_guard lk(streams_m);
    if (live_streams.size() >= max_streams)
        return stream_refusal{true, "the server has " + std::to_string(max_streams) +
                                        " streams open, its limit (--max-streams): close streams, or retry once "
                                        "idle ones expire"};
    if (opts.max_streams_per_token != 0) {
        const auto it = owner_streams.find(owner);
        if (it != owner_streams.end() && it->second >= opts.max_streams_per_token)
            return stream_refusal{false, "this token has " + std::to_string(it->second) +
                                             " streams open, the limit per token (--max-streams-per-token): close "
                                             "streams, or retry once idle ones expire"};
    }
    return std::nullopt;
}

connect_options core::make_options(const service_options& so) {
    connect_options o;
    o.busy_timeout = busy_timeout;
    o.encryption_key = so.encryption_key;
    o.cipher = so.cipher;
    return o;
}

pooled core::open() const {
    // Before the connection reads anything: its schema, loaded on first use, is at least this current.
    const std::uint64_t epoch = schema_epoch.load(std::memory_order_acquire);
    pooled p{db.connect(), std::make_shared<guard_state>(), epoch};
    // sqld's default durability ("relaxed"): in WAL mode a commit survives the process, not a power loss.
    p.conn.execute(opts.synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    if (repl) {
        // Within a generation the WAL only grows: only the service checkpoints (try_checkpoint).
        p.conn.execute("PRAGMA wal_autocheckpoint=0");
        p.guard->protect_wal = true;
    }
    p.conn.authorizer([g = p.guard, pol = policy](const authorizer_request& r) { return detail::authorize(*pol, *g, r); });
    return p;
}

pooled core::acquire() {
    {
        std::lock_guard lk(pool_m);
        if (!idle.empty()) {
            pooled p = std::move(idle.back());
            idle.pop_back();
            return p;
        }
    }
    return open();
}

void core::release(pooled p) noexcept {
    try {
        if (!p.conn.is_open()) return;
        p.guard->internal = true;
        p.conn.reset();
        p.guard->internal = false;
        const bool clean = !p.guard->dirty && p.conn.is_autocommit();
        p.guard->read_only = false;
        if (clean && !shut.load()) {
            std::lock_guard lk(pool_m);
            if (idle.size() < max_idle_connections) {
                idle.push_back(std::move(p));
                return;
            }
        }
    } catch (...) {
        // Closed below whatever happened.
    }
    p.conn.close();
}

void core::clear_pool() noexcept {
    std::vector<pooled> old;
    {
        std::lock_guard lk(pool_m);
        old.swap(idle);
    }
    for (auto& p : old) p.conn.close();
}

} // namespace libsql::server::detail
