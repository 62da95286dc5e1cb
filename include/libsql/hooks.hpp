// libsql/hooks.hpp: the types of the connection hooks (authorizer, update, commit, rollback).
//
// A callback runs on the thread that is running the statement, inside the engine. If it throws, the exception is
// caught before it can unwind through the engine's C frames, the statement fails, and the same exception reaches
// the caller of the libsql call that ran the statement. Callbacks must not close or reconfigure their own
// connection.
//
// An update hook is called after its row changed and cannot stop the statement from finishing. When it throws, the
// exception reaches the caller as the statement returns; an autocommit statement's commit is turned into a
// rollback, so its changes are gone; inside an explicit transaction the changes stay in that transaction, which the
// caller then rolls back (a libsql::transaction does so unless committed).
#pragma once

#include "libsql/detail/backend.hpp"

#include <cstdint>
#include <optional>
#include <string_view>

namespace libsql {

/// What an authorizer decides for one action (SQLITE_OK / SQLITE_DENY / SQLITE_IGNORE).
enum class authorizer_result : int {
    allow = 0,   ///< the action goes ahead
    deny = 1,    ///< the statement fails to prepare with SQLITE_AUTH
    ignore = 2,  ///< reading a column yields NULL; other actions follow SQLite's authorizer docs (a DELETE still
                 ///< deletes its rows, one by one, without the truncate optimisation)
};

/// The action being authorised: SQLite's action codes (SQLITE_CREATE_INDEX = 1 … SQLITE_RECURSIVE = 33).
enum class authorizer_action : int {
    create_index = 1, create_table = 2, create_temp_index = 3, create_temp_table = 4, create_temp_trigger = 5,
    create_temp_view = 6, create_trigger = 7, create_view = 8, delete_ = 9, drop_index = 10, drop_table = 11,
    drop_temp_index = 12, drop_temp_table = 13, drop_temp_trigger = 14, drop_temp_view = 15, drop_trigger = 16,
    drop_view = 17, insert = 18, pragma = 19, read = 20, select = 21, transaction = 22, update = 23, attach = 24,
    detach = 25, alter_table = 26, reindex = 27, analyze = 28, create_vtable = 29, drop_vtable = 30,
    function = 31, savepoint = 32, recursive = 33,
};
[[nodiscard]] std::string_view to_string(authorizer_action a) noexcept;

/// One authorisation question. The meaning of arg1/arg2 depends on the action (SQLite's authorizer docs): for
/// read/update, the table and the column; for insert/delete, the table; for pragma, its name and argument.
struct authorizer_request {
    authorizer_action action;
    std::optional<std::string_view> arg1;
    std::optional<std::string_view> arg2;
    std::optional<std::string_view> database;         ///< "main", "temp", or an attached name
    std::optional<std::string_view> trigger_or_view;  ///< the innermost trigger or view responsible, if any
};

enum class update_kind : int { insert = 18, update = 23, delete_ = 9 };
[[nodiscard]] std::string_view to_string(update_kind k) noexcept;

} // namespace libsql
