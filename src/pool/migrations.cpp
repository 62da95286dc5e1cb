#include "libsql/migrations.hpp"

#include "libsql/error.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <sstream>
#include <string_view>
#include <system_error>
#include <utility>

namespace libsql {

namespace {

constexpr const char* create_table_sql =
    "CREATE TABLE IF NOT EXISTS schema_migrations(version INTEGER PRIMARY KEY, name TEXT, applied_at TEXT)";

[[noreturn]] void fail(const std::string& message) { throw usage_error("migrations: " + message); }

void check_version(const migration& m) {
    if (m.version <= 0) fail("version must be positive, got " + std::to_string(m.version) + " (" + m.name + ")");
}

bool table_exists(connection& conn) {
    return conn.query_value<std::int64_t>(
               "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'") > 0;
}

bool is_applied(connection& conn, std::int64_t version) {
    return conn.query_value<std::int64_t>("SELECT count(*) FROM schema_migrations WHERE version = ?", version) > 0;
}

/// Migration steps take the write lock with BEGIN IMMEDIATE, which cannot nest: say so plainly instead of letting
/// SQLite's "cannot start a transaction within a transaction" surface.
void check_autocommit(connection& conn) {
    if (!conn.is_autocommit())
        fail("the connection is inside a transaction; migrations need one outside any (each step takes the write "
             "lock with BEGIN IMMEDIATE)");
}

std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) fail("cannot read " + p.string());
    std::ostringstream s;
    s << in.rdbuf();
    if (in.bad()) fail("cannot read " + p.string());
    return std::move(s).str();
}

bool strip_suffix(std::string_view& s, std::string_view suffix) {
    if (s.size() < suffix.size() || s.substr(s.size() - suffix.size()) != suffix) return false;
    s.remove_suffix(suffix.size());
    return true;
}

} // namespace

migrator::migrator(std::vector<migration> migrations) {
    for (auto& m : migrations) add(std::move(m));
}

migrator& migrator::add(migration m) {
    check_version(m);
    const auto at = std::lower_bound(migrations_.begin(), migrations_.end(), m.version,
                                     [](const migration& a, std::int64_t v) { return a.version < v; });
    if (at != migrations_.end() && at->version == m.version)
        fail("duplicate version " + std::to_string(m.version) + ": \"" + at->name + "\" and \"" + m.name + "\"");
    migrations_.insert(at, std::move(m));
    return *this;
}

migrator migrator::from_directory(const std::filesystem::path& dir) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) fail("not a directory: " + dir.string());
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        if (entry.is_regular_file()) files.push_back(entry.path());
    }
    // The directory's order is unspecified; sorting makes error messages (and everything else) reproducible.
    std::sort(files.begin(), files.end());

    struct pair_of_files {
        std::string name;
        std::filesystem::path up, down;
    };
    std::map<std::int64_t, pair_of_files> found;
    for (const auto& path : files) {
        const std::string filename = path.filename().string();
        std::string_view stem = filename;
        bool is_up = false;
        if (strip_suffix(stem, ".up.sql")) is_up = true;
        else if (!strip_suffix(stem, ".down.sql")) continue;  // not a migration file (a README, say)

        const auto underscore = stem.find('_');
        std::int64_t version = 0;
        const std::string_view digits = stem.substr(0, underscore);
        const auto [end, err] = std::from_chars(digits.data(), digits.data() + digits.size(), version);
        if (underscore == std::string_view::npos || underscore + 1 == stem.size() || digits.empty() ||
            err != std::errc() || end != digits.data() + digits.size() || version <= 0)
            fail("file name " + path.string() + " is not NNNN_name.up.sql or NNNN_name.down.sql");
        const std::string name(stem.substr(underscore + 1));

        auto& slot = found[version];
        if (!slot.name.empty() && slot.name != name)
            fail("duplicate version " + std::to_string(version) + ": \"" + slot.name + "\" and \"" + name + "\" in " +
                 dir.string());
        slot.name = name;
        auto& target = is_up ? slot.up : slot.down;
        if (!target.empty())
            fail("duplicate migration file for version " + std::to_string(version) + ": " + path.string());
        target = path;
    }

    migrator m;
    for (auto& [version, f] : found) {
        if (f.up.empty())
            fail("missing up file for version " + std::to_string(version) + " (" + f.down.string() + " has no " +
                 std::to_string(version) + "_" + f.name + ".up.sql beside it)");
        m.add(migration{version, f.name, read_file(f.up), f.down.empty() ? std::string() : read_file(f.down)});
    }
    return m;
}

const migration* migrator::find(std::int64_t version) const noexcept {
    const auto at = std::lower_bound(migrations_.begin(), migrations_.end(), version,
                                     [](const migration& a, std::int64_t v) { return a.version < v; });
    return at != migrations_.end() && at->version == version ? &*at : nullptr;
}

bool migrator::apply(connection& conn, const migration& m) const {
    // The write lock first, then the check: a concurrent migrator that applied this version committed before we
    // got the lock, so we see its row and skip.
    auto tx = conn.transaction(transaction_behavior::immediate);
    conn.execute(create_table_sql);
    if (is_applied(conn, m.version)) {
        tx.rollback();
        return false;
    }
    // A savepoint inside tx: the migration's statements and its bookkeeping row commit together or not at all.
    conn.execute_transactional_batch(m.up);
    conn.execute("INSERT INTO schema_migrations(version, name, applied_at) "
                 "VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
                 m.version, m.name);
    tx.commit();
    return true;
}

std::vector<std::int64_t> migrator::apply_through(connection& conn, std::optional<std::int64_t> target) const {
    check_autocommit(conn);
    std::vector<std::int64_t> applied;
    for (const auto& m : migrations_) {
        if (target && m.version > *target) break;
        if (apply(conn, m)) applied.push_back(m.version);
    }
    return applied;
}

std::vector<std::int64_t> migrator::up(connection& conn) const { return apply_through(conn, std::nullopt); }

std::vector<std::int64_t> migrator::up_to(connection& conn, std::int64_t target) const {
    return apply_through(conn, target);
}

// The version to revert is chosen inside the locked transaction, so two concurrent down()/down_to() calls never
// revert one version twice.
std::optional<std::int64_t> migrator::revert_highest_above(connection& conn, std::int64_t above) const {
    auto tx = conn.transaction(transaction_behavior::immediate);
    conn.execute(create_table_sql);
    const auto highest = conn.query_value<std::optional<std::int64_t>>("SELECT max(version) FROM schema_migrations");
    if (!highest || *highest <= above) {
        tx.rollback();
        return std::nullopt;
    }
    const migration* m = find(*highest);
    if (m == nullptr)
        fail("version " + std::to_string(*highest) +
             " is applied but not registered in this migrator; cannot revert it");
    if (m->down.empty())
        fail("migration " + std::to_string(m->version) + " (" + m->name + ") has no down SQL; cannot revert it");
    conn.execute_transactional_batch(m->down);
    conn.execute("DELETE FROM schema_migrations WHERE version = ?", m->version);
    tx.commit();
    return m->version;
}

std::optional<std::int64_t> migrator::down(connection& conn) const {
    check_autocommit(conn);
    return revert_highest_above(conn, std::numeric_limits<std::int64_t>::min());
}

std::vector<std::int64_t> migrator::down_to(connection& conn, std::int64_t target) const {
    check_autocommit(conn);
    std::vector<std::int64_t> reverted;
    while (const auto v = revert_highest_above(conn, target)) reverted.push_back(*v);
    return reverted;
}

std::optional<std::int64_t> migrator::current_version(connection& conn) const {
    if (!table_exists(conn)) return std::nullopt;
    return conn.query_value<std::optional<std::int64_t>>("SELECT max(version) FROM schema_migrations");
}

std::vector<migration_status> migrator::status(connection& conn) const {
    std::map<std::int64_t, migration_status> all;
    for (const auto& m : migrations_) all[m.version] = migration_status{m.version, m.name, false, std::nullopt, true};
    if (table_exists(conn)) {
        auto r = conn.query("SELECT version, name, applied_at FROM schema_migrations ORDER BY version");
        while (r.next()) {
            const auto v = r.current();
            const auto version = v.get<std::int64_t>(0);
            auto [it, inserted] = all.try_emplace(version);
            auto& s = it->second;
            if (inserted) {
                s.version = version;
                s.name = v.get<std::optional<std::string>>(1).value_or("");
                s.known = false;
            }
            s.applied = true;
            s.applied_at = v.get<std::optional<std::string>>(2);
        }
    }
    std::vector<migration_status> out;
    out.reserve(all.size());
    for (auto& [version, s] : all) out.push_back(std::move(s));
    return out;
}

} // namespace libsql
