#include "libsql/error.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace libsql {

namespace {

struct code_entry {
    int code;
    std::string_view name;
};

// Every primary and extended result code SQLite 3.53 defines (sqlite3.h), sorted by code.
constexpr code_entry code_table[] = {
    {0, "SQLITE_OK"},
    {1, "SQLITE_ERROR"},
    {2, "SQLITE_INTERNAL"},
    {3, "SQLITE_PERM"},
    {4, "SQLITE_ABORT"},
    {5, "SQLITE_BUSY"},
    {6, "SQLITE_LOCKED"},
    {7, "SQLITE_NOMEM"},
    {8, "SQLITE_READONLY"},
    {9, "SQLITE_INTERRUPT"},
    {10, "SQLITE_IOERR"},
    {11, "SQLITE_CORRUPT"},
    {12, "SQLITE_NOTFOUND"},
    {13, "SQLITE_FULL"},
    {14, "SQLITE_CANTOPEN"},
    {15, "SQLITE_PROTOCOL"},
    {16, "SQLITE_EMPTY"},
    {17, "SQLITE_SCHEMA"},
    {18, "SQLITE_TOOBIG"},
    {19, "SQLITE_CONSTRAINT"},
    {20, "SQLITE_MISMATCH"},
    {21, "SQLITE_MISUSE"},
    {22, "SQLITE_NOLFS"},
    {23, "SQLITE_AUTH"},
    {24, "SQLITE_FORMAT"},
    {25, "SQLITE_RANGE"},
    {26, "SQLITE_NOTADB"},
    {27, "SQLITE_NOTICE"},
    {28, "SQLITE_WARNING"},
    {100, "SQLITE_ROW"},
    {101, "SQLITE_DONE"},
    {256, "SQLITE_OK_LOAD_PERMANENTLY"},
    {257, "SQLITE_ERROR_MISSING_COLLSEQ"},
    {261, "SQLITE_BUSY_RECOVERY"},
    {262, "SQLITE_LOCKED_SHAREDCACHE"},
    {264, "SQLITE_READONLY_RECOVERY"},
    {266, "SQLITE_IOERR_READ"},
    {267, "SQLITE_CORRUPT_VTAB"},
    {270, "SQLITE_CANTOPEN_NOTEMPDIR"},
    {275, "SQLITE_CONSTRAINT_CHECK"},
    {279, "SQLITE_AUTH_USER"},
    {283, "SQLITE_NOTICE_RECOVER_WAL"},
    {284, "SQLITE_WARNING_AUTOINDEX"},
    {512, "SQLITE_OK_SYMLINK"},
    {513, "SQLITE_ERROR_RETRY"},
    {516, "SQLITE_ABORT_ROLLBACK"},
    {517, "SQLITE_BUSY_SNAPSHOT"},
    {518, "SQLITE_LOCKED_VTAB"},
    {520, "SQLITE_READONLY_CANTLOCK"},
    {522, "SQLITE_IOERR_SHORT_READ"},
    {523, "SQLITE_CORRUPT_SEQUENCE"},
    {526, "SQLITE_CANTOPEN_ISDIR"},
    {531, "SQLITE_CONSTRAINT_COMMITHOOK"},
    {539, "SQLITE_NOTICE_RECOVER_ROLLBACK"},
    {769, "SQLITE_ERROR_SNAPSHOT"},
    {773, "SQLITE_BUSY_TIMEOUT"},
    {776, "SQLITE_READONLY_ROLLBACK"},
    {778, "SQLITE_IOERR_WRITE"},
    {779, "SQLITE_CORRUPT_INDEX"},
    {782, "SQLITE_CANTOPEN_FULLPATH"},
    {787, "SQLITE_CONSTRAINT_FOREIGNKEY"},
    {795, "SQLITE_NOTICE_RBU"},
    {1025, "SQLITE_ERROR_RESERVESIZE"},
    {1032, "SQLITE_READONLY_DBMOVED"},
    {1034, "SQLITE_IOERR_FSYNC"},
    {1038, "SQLITE_CANTOPEN_CONVPATH"},
    {1043, "SQLITE_CONSTRAINT_FUNCTION"},
    {1281, "SQLITE_ERROR_KEY"},
    {1288, "SQLITE_READONLY_CANTINIT"},
    {1290, "SQLITE_IOERR_DIR_FSYNC"},
    {1294, "SQLITE_CANTOPEN_DIRTYWAL"},
    {1299, "SQLITE_CONSTRAINT_NOTNULL"},
    {1537, "SQLITE_ERROR_UNABLE"},
    {1544, "SQLITE_READONLY_DIRECTORY"},
    {1546, "SQLITE_IOERR_TRUNCATE"},
    {1550, "SQLITE_CANTOPEN_SYMLINK"},
    {1555, "SQLITE_CONSTRAINT_PRIMARYKEY"},
    {1802, "SQLITE_IOERR_FSTAT"},
    {1811, "SQLITE_CONSTRAINT_TRIGGER"},
    {2058, "SQLITE_IOERR_UNLOCK"},
    {2067, "SQLITE_CONSTRAINT_UNIQUE"},
    {2314, "SQLITE_IOERR_RDLOCK"},
    {2323, "SQLITE_CONSTRAINT_VTAB"},
    {2570, "SQLITE_IOERR_DELETE"},
    {2579, "SQLITE_CONSTRAINT_ROWID"},
    {2826, "SQLITE_IOERR_BLOCKED"},
    {2835, "SQLITE_CONSTRAINT_PINNED"},
    {3082, "SQLITE_IOERR_NOMEM"},
    {3091, "SQLITE_CONSTRAINT_DATATYPE"},
    {3338, "SQLITE_IOERR_ACCESS"},
    {3594, "SQLITE_IOERR_CHECKRESERVEDLOCK"},
    {3850, "SQLITE_IOERR_LOCK"},
    {4106, "SQLITE_IOERR_CLOSE"},
    {4362, "SQLITE_IOERR_DIR_CLOSE"},
    {4618, "SQLITE_IOERR_SHMOPEN"},
    {4874, "SQLITE_IOERR_SHMSIZE"},
    {5130, "SQLITE_IOERR_SHMLOCK"},
    {5386, "SQLITE_IOERR_SHMMAP"},
    {5642, "SQLITE_IOERR_SEEK"},
    {5898, "SQLITE_IOERR_DELETE_NOENT"},
    {6154, "SQLITE_IOERR_MMAP"},
    {6410, "SQLITE_IOERR_GETTEMPPATH"},
    {6666, "SQLITE_IOERR_CONVPATH"},
    {6922, "SQLITE_IOERR_VNODE"},
    {7178, "SQLITE_IOERR_AUTH"},
    {7434, "SQLITE_IOERR_BEGIN_ATOMIC"},
    {7690, "SQLITE_IOERR_COMMIT_ATOMIC"},
    {7946, "SQLITE_IOERR_ROLLBACK_ATOMIC"},
    {8202, "SQLITE_IOERR_DATA"},
    {8458, "SQLITE_IOERR_CORRUPTFS"},
    {8714, "SQLITE_IOERR_IN_PAGE"},
    {8970, "SQLITE_IOERR_BADKEY"},
    {9226, "SQLITE_IOERR_CODEC"},
};

constexpr bool table_sorted() {
    for (std::size_t i = 1; i < std::size(code_table); ++i)
        if (code_table[i - 1].code >= code_table[i].code) return false;
    return true;
}
static_assert(table_sorted());

std::string truncate_sql(std::string sql) {
    if (sql.size() > error::max_sql_length) {
        std::size_t cut = error::max_sql_length;
        // Do not cut a UTF-8 sequence in half.
        while (cut > 0 && (static_cast<unsigned char>(sql[cut]) & 0xC0) == 0x80) --cut;
        sql.resize(cut);
        sql += "...";
    }
    return sql;
}

template <class E> [[noreturn]] void raise(const std::string& msg, error_info&& info) { throw E(msg, std::move(info)); }

} // namespace

std::string_view to_string(transport t) noexcept {
    switch (t) {
    case transport::local: return "local";
    case transport::remote: return "remote";
    case transport::replica: return "replica";
    }
    return "unknown";
}

error::error(const std::string& message, error_info info) : std::runtime_error(message), info_(std::move(info)) {
    info_.sql = truncate_sql(std::move(info_.sql));
}

std::string_view error::code_name() const noexcept {
    if (!info_.hrana_code.empty()) return info_.hrana_code;
    if (info_.extended_code == 0) return {};
    return result_code_name(info_.extended_code);
}

std::string_view result_code_name(int extended_code) noexcept {
    const auto* end = std::end(code_table);
    const auto* it = std::lower_bound(std::begin(code_table), end, extended_code,
                                      [](const code_entry& e, int c) { return e.code < c; });
    if (it != end && it->code == extended_code) return it->name;
    return {};
}

int result_code_from_name(std::string_view name) noexcept {
    for (const auto& e : code_table)
        if (e.name == name) return e.code;
    return -1;
}

void throw_result_code(int extended_code, std::string_view sqlite_message, error_info info) {
    info.extended_code = extended_code;
    std::string msg(sqlite_message.empty() ? std::string_view("SQLite error") : sqlite_message);
    const std::string_view name = !info.hrana_code.empty() ? std::string_view(info.hrana_code) : result_code_name(extended_code);
    if (!name.empty()) {
        msg += " [";
        msg += name;
        msg += ']';
    }
    if (!info.sql.empty()) {
        msg += " in: ";
        msg += truncate_sql(info.sql);
    }
    switch (extended_code) {
    case 2067: raise<unique_violation>(msg, std::move(info));       // SQLITE_CONSTRAINT_UNIQUE
    case 1555: raise<primary_key_violation>(msg, std::move(info));  // SQLITE_CONSTRAINT_PRIMARYKEY
    case 2579: raise<primary_key_violation>(msg, std::move(info));  // SQLITE_CONSTRAINT_ROWID
    case 787: raise<foreign_key_violation>(msg, std::move(info));   // SQLITE_CONSTRAINT_FOREIGNKEY
    case 1299: raise<not_null_violation>(msg, std::move(info));     // SQLITE_CONSTRAINT_NOTNULL
    case 275: raise<check_violation>(msg, std::move(info));         // SQLITE_CONSTRAINT_CHECK
    default: break;
    }
    switch (extended_code & 0xff) {
    case 3:  // SQLITE_PERM
    case 23: raise<auth_error>(msg, std::move(info));  // SQLITE_AUTH
    case 5: raise<busy>(msg, std::move(info));
    case 6: raise<locked>(msg, std::move(info));
    case 7: raise<out_of_memory>(msg, std::move(info));
    case 8: raise<readonly>(msg, std::move(info));
    case 9: raise<interrupted>(msg, std::move(info));
    case 10:  // SQLITE_IOERR
    case 13: raise<io_error>(msg, std::move(info));  // SQLITE_FULL
    case 11:  // SQLITE_CORRUPT
    case 26: raise<corrupt>(msg, std::move(info));  // SQLITE_NOTADB
    case 14: raise<cant_open>(msg, std::move(info));
    case 18: raise<too_big>(msg, std::move(info));
    case 19: raise<constraint_violation>(msg, std::move(info));
    case 21:  // SQLITE_MISUSE
    case 25: raise<usage_error>(msg, std::move(info));  // SQLITE_RANGE
    default: raise<sql_error>(msg, std::move(info));
    }
}

} // namespace libsql
