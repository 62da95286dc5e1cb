// The server's authorizer policy (see sql_policy.hpp).
#include "server/sql_policy.hpp"

#include "libsql/error.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <system_error>

namespace libsql::server::detail {

namespace {

bool read_pragma(std::string_view name) {
    static constexpr std::array<std::string_view, 9> names{"table_info", "table_xinfo", "index_list",
                                                           "index_info", "index_xinfo", "foreign_key_list",
                                                           "integrity_check", "quick_check", "foreign_key_check"};
    return std::find(names.begin(), names.end(), name) != names.end();
}

/// PRAGMAs no client may set: they corrupt the file, or change the whole process rather than one connection.
std::optional<std::string_view> forbidden_pragma(std::string_view name, std::string_view value) {
    if (iequal(name, "writable_schema")) return "PRAGMA writable_schema lets SQL corrupt the database";
    if (iequal(name, "schema_version")) return "setting PRAGMA schema_version can corrupt the database";
    if (iequal(name, "journal_mode") && iequal(value, "off")) return "PRAGMA journal_mode=OFF can corrupt the database";
    if (iequal(name, "temp_store_directory") || iequal(name, "data_store_directory"))
        return "PRAGMA temp_store_directory/data_store_directory would write files outside the database";
    if (iequal(name, "soft_heap_limit") || iequal(name, "hard_heap_limit") || iequal(name, "threads"))
        return "this PRAGMA changes the whole server process, not one connection";
    return std::nullopt;
}

authorizer_result deny(guard_state& g, std::string reason) {
    g.denial = std::move(reason);
    return authorizer_result::deny;
}

authorizer_result authorize_attach(const sql_policy& policy, guard_state& g, const std::optional<std::string_view>& file) {
    if (!file) return deny(g, "ATTACH needs its file name as a string literal here (the server checks where it points)");
    // A temporary or in-memory database (plain VACUUM attaches '') touches no file of ours.
    if (file->empty() || *file == ":memory:") return authorizer_result::allow;
    // Another namespace, read-only: the service rewrote `ATTACH 'ns' AS x` to exactly this URI.
    if (!g.namespace_attach.empty() && *file == g.namespace_attach) return authorizer_result::allow;
    const std::string shown = "'" + std::string(*file) + "'";
    if (!policy.attach_dir)
        return deny(g, "ATTACH and VACUUM INTO of files are disabled on this server (" + shown +
                           "); start it with --attach-dir DIR to allow files under DIR");
    if (file->rfind("file:", 0) == 0)
        return deny(g, "ATTACH of URI file names is refused (" + shown + "); give a plain path under the attach folder");
    if (!path_inside(*policy.attach_dir, *file))
        return deny(g, "ATTACH and VACUUM INTO may only use files under " + policy.attach_dir->string() + " (" + shown +
                           " is outside it)");
    return authorizer_result::allow;
}

} // namespace

bool iequal(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

sql_policy make_sql_policy(const std::optional<std::string>& attach_dir) {
    sql_policy p;
    if (!attach_dir) return p;
    std::error_code ec;
    auto dir = std::filesystem::canonical(*attach_dir, ec);
    if (ec || !std::filesystem::is_directory(dir, ec))
        throw usage_error("the attach folder " + *attach_dir + " is not an existing directory");
    p.attach_dir = std::move(dir);
    return p;
}

bool path_inside(const std::filesystem::path& dir, std::string_view path) {
    if (path.find('\0') != std::string_view::npos) return false;
    std::error_code ec;
    // What SQLite will open: relative names from the working directory. weakly_canonical resolves "..", "." and
    // every symlink among the parts that exist (the file itself included), so none can lead outside.
    const auto full = std::filesystem::weakly_canonical(std::filesystem::absolute(std::filesystem::path(path), ec), ec);
    if (ec) return false;
    // The canonical prefix holds no symlink; a symlink left in the rest dangles (its target does not exist yet),
    // and SQLite would create that target, wherever it points.
    {
        std::filesystem::path prefix;
        for (const auto& part : full) {
            prefix /= part;
            if (std::filesystem::is_symlink(std::filesystem::symlink_status(prefix, ec))) return false;
        }
    }
    auto d = dir.begin();
    auto f = full.begin();
    for (; d != dir.end(); ++d, ++f) {
        if (f == full.end() || *d != *f) return false;
    }
    return f != full.end();  // strictly below the folder, not the folder itself
}

authorizer_result authorize(const sql_policy& policy, guard_state& g, const authorizer_request& r) {
    if (g.internal) return authorizer_result::allow;
    using A = authorizer_action;
    bool writes = false;
    switch (r.action) {
    case A::create_index: case A::create_table: case A::create_trigger: case A::create_view: case A::drop_index:
    case A::drop_table: case A::drop_trigger: case A::drop_view: case A::alter_table: case A::drop_vtable:
        g.schema_write = true;  // other connections must reload their schema once this commits (db_stream)
        writes = true;
        break;
    case A::select: case A::read: case A::transaction: case A::savepoint: case A::recursive:
        return authorizer_result::allow;
    case A::function:
        if (iequal(r.arg2.value_or(""), "load_extension"))
            return deny(g, "load_extension() is disabled on this server");
        return authorizer_result::allow;
    case A::pragma: {
        const std::string_view name = r.arg1.value_or("");
        // The replication log relies on a WAL that only the service checkpoints (generations, docs/SERVER.md).
        if (g.protect_wal && (iequal(name, "wal_checkpoint") ||
                              (r.arg2 && (iequal(name, "wal_autocheckpoint") || iequal(name, "journal_mode")))))
            return deny(g, "PRAGMA " + std::string(name) + " is reserved to the server (it checkpoints the WAL for replication)");
        if (!r.arg2) return authorizer_result::allow;
        if (const auto why = forbidden_pragma(name, *r.arg2)) return deny(g, std::string(*why));
        if (read_pragma(name)) return authorizer_result::allow;
        g.dirty = true;
        writes = true;
        break;
    }
    case A::attach:
        if (const auto verdict = authorize_attach(policy, g, r.arg1); verdict != authorizer_result::allow) return verdict;
        g.dirty = true;
        writes = true;
        break;
    case A::create_temp_index: case A::create_temp_table: case A::create_temp_trigger: case A::create_temp_view:
    case A::detach:
        g.dirty = true;
        writes = true;
        break;
    case A::create_vtable:
        if (iequal(r.arg2.value_or(""), "sqlite_dbpage"))
            return deny(g, "sqlite_dbpage tables are refused: they write raw database pages");
        g.schema_write = true;
        writes = true;
        break;
    case A::insert: case A::update: case A::delete_:
        if (iequal(r.arg1.value_or(""), "sqlite_dbpage"))
            return deny(g, "writes to sqlite_dbpage are refused: they write raw database pages");
        writes = true;
        break;
    default:
        writes = true;
        break;
    }
    if (writes && g.read_only) return deny(g, "this token grants read-only access; the statement would write");
    return authorizer_result::allow;
}

} // namespace libsql::server::detail
