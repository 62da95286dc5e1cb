// Tests for libsql/error.hpp: result code names, the code-to-class mapping, and what an error carries.
#include "libsql/error.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>
#include <typeinfo>

namespace {

struct named_code {
    int code;
    const char* name;
};

// Every result code sqlite3.h defines, spelled through the header's own macros so that a code missing from the
// library's table (or a typo in a name) fails here.
#define LIBSQL_CODE(c) named_code{c, #c}
constexpr named_code every_code[] = {
    LIBSQL_CODE(SQLITE_OK), LIBSQL_CODE(SQLITE_ERROR), LIBSQL_CODE(SQLITE_INTERNAL), LIBSQL_CODE(SQLITE_PERM),
    LIBSQL_CODE(SQLITE_ABORT), LIBSQL_CODE(SQLITE_BUSY), LIBSQL_CODE(SQLITE_LOCKED), LIBSQL_CODE(SQLITE_NOMEM),
    LIBSQL_CODE(SQLITE_READONLY), LIBSQL_CODE(SQLITE_INTERRUPT), LIBSQL_CODE(SQLITE_IOERR),
    LIBSQL_CODE(SQLITE_CORRUPT), LIBSQL_CODE(SQLITE_NOTFOUND), LIBSQL_CODE(SQLITE_FULL),
    LIBSQL_CODE(SQLITE_CANTOPEN), LIBSQL_CODE(SQLITE_PROTOCOL), LIBSQL_CODE(SQLITE_EMPTY),
    LIBSQL_CODE(SQLITE_SCHEMA), LIBSQL_CODE(SQLITE_TOOBIG), LIBSQL_CODE(SQLITE_CONSTRAINT),
    LIBSQL_CODE(SQLITE_MISMATCH), LIBSQL_CODE(SQLITE_MISUSE), LIBSQL_CODE(SQLITE_NOLFS), LIBSQL_CODE(SQLITE_AUTH),
    LIBSQL_CODE(SQLITE_FORMAT), LIBSQL_CODE(SQLITE_RANGE), LIBSQL_CODE(SQLITE_NOTADB), LIBSQL_CODE(SQLITE_NOTICE),
    LIBSQL_CODE(SQLITE_WARNING), LIBSQL_CODE(SQLITE_ROW), LIBSQL_CODE(SQLITE_DONE),
    LIBSQL_CODE(SQLITE_ERROR_MISSING_COLLSEQ), LIBSQL_CODE(SQLITE_ERROR_RETRY), LIBSQL_CODE(SQLITE_ERROR_SNAPSHOT),
    LIBSQL_CODE(SQLITE_ERROR_RESERVESIZE), LIBSQL_CODE(SQLITE_ERROR_KEY), LIBSQL_CODE(SQLITE_ERROR_UNABLE),
    LIBSQL_CODE(SQLITE_IOERR_READ), LIBSQL_CODE(SQLITE_IOERR_SHORT_READ), LIBSQL_CODE(SQLITE_IOERR_WRITE),
    LIBSQL_CODE(SQLITE_IOERR_FSYNC), LIBSQL_CODE(SQLITE_IOERR_DIR_FSYNC), LIBSQL_CODE(SQLITE_IOERR_TRUNCATE),
    LIBSQL_CODE(SQLITE_IOERR_FSTAT), LIBSQL_CODE(SQLITE_IOERR_UNLOCK), LIBSQL_CODE(SQLITE_IOERR_RDLOCK),
    LIBSQL_CODE(SQLITE_IOERR_DELETE), LIBSQL_CODE(SQLITE_IOERR_BLOCKED), LIBSQL_CODE(SQLITE_IOERR_NOMEM),
    LIBSQL_CODE(SQLITE_IOERR_ACCESS), LIBSQL_CODE(SQLITE_IOERR_CHECKRESERVEDLOCK), LIBSQL_CODE(SQLITE_IOERR_LOCK),
    LIBSQL_CODE(SQLITE_IOERR_CLOSE), LIBSQL_CODE(SQLITE_IOERR_DIR_CLOSE), LIBSQL_CODE(SQLITE_IOERR_SHMOPEN),
    LIBSQL_CODE(SQLITE_IOERR_SHMSIZE), LIBSQL_CODE(SQLITE_IOERR_SHMLOCK), LIBSQL_CODE(SQLITE_IOERR_SHMMAP),
    LIBSQL_CODE(SQLITE_IOERR_SEEK), LIBSQL_CODE(SQLITE_IOERR_DELETE_NOENT), LIBSQL_CODE(SQLITE_IOERR_MMAP),
    LIBSQL_CODE(SQLITE_IOERR_GETTEMPPATH), LIBSQL_CODE(SQLITE_IOERR_CONVPATH), LIBSQL_CODE(SQLITE_IOERR_VNODE),
    LIBSQL_CODE(SQLITE_IOERR_AUTH), LIBSQL_CODE(SQLITE_IOERR_BEGIN_ATOMIC), LIBSQL_CODE(SQLITE_IOERR_COMMIT_ATOMIC),
    LIBSQL_CODE(SQLITE_IOERR_ROLLBACK_ATOMIC), LIBSQL_CODE(SQLITE_IOERR_DATA), LIBSQL_CODE(SQLITE_IOERR_CORRUPTFS),
    LIBSQL_CODE(SQLITE_IOERR_IN_PAGE), LIBSQL_CODE(SQLITE_IOERR_BADKEY), LIBSQL_CODE(SQLITE_IOERR_CODEC),
    LIBSQL_CODE(SQLITE_LOCKED_SHAREDCACHE), LIBSQL_CODE(SQLITE_LOCKED_VTAB), LIBSQL_CODE(SQLITE_BUSY_RECOVERY),
    LIBSQL_CODE(SQLITE_BUSY_SNAPSHOT), LIBSQL_CODE(SQLITE_BUSY_TIMEOUT), LIBSQL_CODE(SQLITE_CANTOPEN_NOTEMPDIR),
    LIBSQL_CODE(SQLITE_CANTOPEN_ISDIR), LIBSQL_CODE(SQLITE_CANTOPEN_FULLPATH), LIBSQL_CODE(SQLITE_CANTOPEN_CONVPATH),
    LIBSQL_CODE(SQLITE_CANTOPEN_DIRTYWAL), LIBSQL_CODE(SQLITE_CANTOPEN_SYMLINK), LIBSQL_CODE(SQLITE_CORRUPT_VTAB),
    LIBSQL_CODE(SQLITE_CORRUPT_SEQUENCE), LIBSQL_CODE(SQLITE_CORRUPT_INDEX), LIBSQL_CODE(SQLITE_READONLY_RECOVERY),
    LIBSQL_CODE(SQLITE_READONLY_CANTLOCK), LIBSQL_CODE(SQLITE_READONLY_ROLLBACK), LIBSQL_CODE(SQLITE_READONLY_DBMOVED),
    LIBSQL_CODE(SQLITE_READONLY_CANTINIT), LIBSQL_CODE(SQLITE_READONLY_DIRECTORY), LIBSQL_CODE(SQLITE_ABORT_ROLLBACK),
    LIBSQL_CODE(SQLITE_CONSTRAINT_CHECK), LIBSQL_CODE(SQLITE_CONSTRAINT_COMMITHOOK),
    LIBSQL_CODE(SQLITE_CONSTRAINT_FOREIGNKEY), LIBSQL_CODE(SQLITE_CONSTRAINT_FUNCTION),
    LIBSQL_CODE(SQLITE_CONSTRAINT_NOTNULL), LIBSQL_CODE(SQLITE_CONSTRAINT_PRIMARYKEY),
    LIBSQL_CODE(SQLITE_CONSTRAINT_TRIGGER), LIBSQL_CODE(SQLITE_CONSTRAINT_UNIQUE), LIBSQL_CODE(SQLITE_CONSTRAINT_VTAB),
    LIBSQL_CODE(SQLITE_CONSTRAINT_ROWID), LIBSQL_CODE(SQLITE_CONSTRAINT_PINNED),
    LIBSQL_CODE(SQLITE_CONSTRAINT_DATATYPE), LIBSQL_CODE(SQLITE_NOTICE_RECOVER_WAL),
    LIBSQL_CODE(SQLITE_NOTICE_RECOVER_ROLLBACK), LIBSQL_CODE(SQLITE_NOTICE_RBU), LIBSQL_CODE(SQLITE_WARNING_AUTOINDEX),
    LIBSQL_CODE(SQLITE_AUTH_USER), LIBSQL_CODE(SQLITE_OK_LOAD_PERMANENTLY), LIBSQL_CODE(SQLITE_OK_SYMLINK),
};
#undef LIBSQL_CODE

/// Runs throw_result_code and returns the exception it threw, as the type E the caller expects it to be.
template <class E> E thrown_as(int code, std::string_view message = "boom", libsql::error_info info = {}) {
    try {
        libsql::throw_result_code(code, message, std::move(info));
    } catch (const E& e) {
        return e;
    } catch (const std::exception& e) {
        ADD_FAILURE() << "code " << code << " threw " << typeid(e).name() << ", not " << typeid(E).name();
        throw;
    }
    ADD_FAILURE() << "throw_result_code returned";
    throw std::logic_error("unreachable");
}

/// The exact dynamic type of the exception throw_result_code raises for a code.
const std::type_info& thrown_type(int code) {
    try {
        libsql::throw_result_code(code, "x");
    } catch (const libsql::error& e) {
        return typeid(e);
    }
    return typeid(void);
}

} // namespace

TEST(error_codes, known_names_round_trip) {
    EXPECT_EQ(libsql::result_code_name(2067), "SQLITE_CONSTRAINT_UNIQUE");
    EXPECT_EQ(libsql::result_code_from_name("SQLITE_CONSTRAINT_UNIQUE"), 2067);
    EXPECT_EQ(libsql::result_code_name(5), "SQLITE_BUSY");
    EXPECT_EQ(libsql::result_code_from_name("SQLITE_BUSY"), 5);
    EXPECT_EQ(libsql::result_code_name(0), "SQLITE_OK");
    EXPECT_EQ(libsql::result_code_from_name("SQLITE_OK"), 0);
}

TEST(error_codes, every_sqlite_code_has_its_name) {
    for (const auto& c : every_code) {
        EXPECT_EQ(libsql::result_code_name(c.code), c.name) << c.code;
        EXPECT_EQ(libsql::result_code_from_name(c.name), c.code) << c.name;
    }
}

TEST(error_codes, unknown_codes_and_names) {
    EXPECT_EQ(libsql::result_code_name(-1), "");
    EXPECT_EQ(libsql::result_code_name(99), "");
    EXPECT_EQ(libsql::result_code_name(1 << 20), "");
    EXPECT_EQ(libsql::result_code_from_name(""), -1);
    EXPECT_EQ(libsql::result_code_from_name("SQLITE_NOPE"), -1);
    // Names are exact: case matters and a prefix is not a match.
    EXPECT_EQ(libsql::result_code_from_name("sqlite_busy"), -1);
    EXPECT_EQ(libsql::result_code_from_name("SQLITE_BUS"), -1);
}

TEST(error_mapping, constraint_subclasses) {
    EXPECT_EQ(thrown_type(SQLITE_CONSTRAINT_UNIQUE), typeid(libsql::unique_violation));
    EXPECT_EQ(thrown_type(SQLITE_CONSTRAINT_PRIMARYKEY), typeid(libsql::primary_key_violation));
    EXPECT_EQ(thrown_type(SQLITE_CONSTRAINT_ROWID), typeid(libsql::primary_key_violation));
    EXPECT_EQ(thrown_type(SQLITE_CONSTRAINT_FOREIGNKEY), typeid(libsql::foreign_key_violation));
    EXPECT_EQ(thrown_type(SQLITE_CONSTRAINT_NOTNULL), typeid(libsql::not_null_violation));
    EXPECT_EQ(thrown_type(SQLITE_CONSTRAINT_CHECK), typeid(libsql::check_violation));
    // Other constraint codes are the base constraint class.
    EXPECT_EQ(thrown_type(SQLITE_CONSTRAINT), typeid(libsql::constraint_violation));
    EXPECT_EQ(thrown_type(SQLITE_CONSTRAINT_COMMITHOOK), typeid(libsql::constraint_violation));
    EXPECT_EQ(thrown_type(SQLITE_CONSTRAINT_TRIGGER), typeid(libsql::constraint_violation));

    // The hierarchy lets a caller catch at the level it cares about.
    const auto pk = thrown_as<libsql::unique_violation>(SQLITE_CONSTRAINT_PRIMARYKEY);
    EXPECT_EQ(pk.extended_code(), SQLITE_CONSTRAINT_PRIMARYKEY);
    const auto fk = thrown_as<libsql::constraint_violation>(SQLITE_CONSTRAINT_FOREIGNKEY);
    EXPECT_EQ(fk.code(), SQLITE_CONSTRAINT);
}

TEST(error_mapping, primary_codes_and_their_extended_codes) {
    EXPECT_EQ(thrown_type(SQLITE_BUSY), typeid(libsql::busy));
    EXPECT_EQ(thrown_type(SQLITE_BUSY_SNAPSHOT), typeid(libsql::busy));
    EXPECT_EQ(thrown_type(SQLITE_BUSY_TIMEOUT), typeid(libsql::busy));
    EXPECT_EQ(thrown_type(SQLITE_LOCKED), typeid(libsql::locked));
    EXPECT_EQ(thrown_type(SQLITE_LOCKED_SHAREDCACHE), typeid(libsql::locked));
    EXPECT_EQ(thrown_type(SQLITE_READONLY), typeid(libsql::readonly));
    EXPECT_EQ(thrown_type(SQLITE_READONLY_DBMOVED), typeid(libsql::readonly));
    EXPECT_EQ(thrown_type(SQLITE_INTERRUPT), typeid(libsql::interrupted));
    EXPECT_EQ(thrown_type(SQLITE_CORRUPT), typeid(libsql::corrupt));
    EXPECT_EQ(thrown_type(SQLITE_CORRUPT_INDEX), typeid(libsql::corrupt));
    EXPECT_EQ(thrown_type(SQLITE_NOTADB), typeid(libsql::corrupt));
    EXPECT_EQ(thrown_type(SQLITE_CANTOPEN), typeid(libsql::cant_open));
    EXPECT_EQ(thrown_type(SQLITE_CANTOPEN_ISDIR), typeid(libsql::cant_open));
    EXPECT_EQ(thrown_type(SQLITE_TOOBIG), typeid(libsql::too_big));
    EXPECT_EQ(thrown_type(SQLITE_AUTH), typeid(libsql::auth_error));
    EXPECT_EQ(thrown_type(SQLITE_RANGE), typeid(libsql::usage_error));
    EXPECT_EQ(thrown_type(SQLITE_MISUSE), typeid(libsql::usage_error));
    EXPECT_EQ(thrown_type(SQLITE_NOMEM), typeid(libsql::out_of_memory));
    EXPECT_EQ(thrown_type(SQLITE_IOERR), typeid(libsql::io_error));
    EXPECT_EQ(thrown_type(SQLITE_IOERR_FSYNC), typeid(libsql::io_error));
    EXPECT_EQ(thrown_type(SQLITE_FULL), typeid(libsql::io_error));
}

TEST(error_mapping, everything_else_is_sql_error) {
    EXPECT_EQ(thrown_type(SQLITE_ERROR), typeid(libsql::sql_error));
    EXPECT_EQ(thrown_type(SQLITE_ERROR_MISSING_COLLSEQ), typeid(libsql::sql_error));
    EXPECT_EQ(thrown_type(SQLITE_SCHEMA), typeid(libsql::sql_error));
    EXPECT_EQ(thrown_type(SQLITE_MISMATCH), typeid(libsql::sql_error));
    EXPECT_EQ(thrown_type(SQLITE_ABORT), typeid(libsql::sql_error));
    EXPECT_EQ(thrown_type(12345), typeid(libsql::sql_error));
}

TEST(error_mapping, every_code_raises_a_libsql_error_carrying_it) {
    for (const auto& c : every_code) {
        if (c.code == SQLITE_OK) continue;
        const auto e = thrown_as<libsql::error>(c.code);
        EXPECT_EQ(e.extended_code(), c.code);
        EXPECT_EQ(e.code(), c.code & 0xff);
        EXPECT_EQ(e.code_name(), c.name);
    }
}

TEST(error_info, codes_message_and_sql) {
    const auto e = thrown_as<libsql::unique_violation>(SQLITE_CONSTRAINT_UNIQUE, "UNIQUE constraint failed: t.a",
                                                       libsql::error_info{0, {}, "INSERT INTO t VALUES (1)", {}, {}});
    EXPECT_EQ(e.code(), SQLITE_CONSTRAINT);
    EXPECT_EQ(e.extended_code(), SQLITE_CONSTRAINT_UNIQUE);
    EXPECT_EQ(e.code_name(), "SQLITE_CONSTRAINT_UNIQUE");
    EXPECT_EQ(e.sql(), "INSERT INTO t VALUES (1)");
    EXPECT_EQ(e.transport(), libsql::transport::local);
    const std::string what = e.what();
    EXPECT_NE(what.find("UNIQUE constraint failed: t.a"), std::string::npos) << what;
    EXPECT_NE(what.find("SQLITE_CONSTRAINT_UNIQUE"), std::string::npos) << what;
    EXPECT_NE(what.find("INSERT INTO t VALUES (1)"), std::string::npos) << what;
}

TEST(error_info, empty_message_gets_a_default) {
    const auto e = thrown_as<libsql::busy>(SQLITE_BUSY, "");
    const std::string what = e.what();
    EXPECT_FALSE(what.empty());
    EXPECT_NE(what.find("SQLITE_BUSY"), std::string::npos) << what;
}

TEST(error_info, hrana_code_names_the_error) {
    libsql::error_info info;
    info.hrana_code = "SQLITE_CONSTRAINT";
    info.transport = libsql::transport::remote;
    const auto e = thrown_as<libsql::constraint_violation>(SQLITE_CONSTRAINT, "remote says no", info);
    EXPECT_EQ(e.code_name(), "SQLITE_CONSTRAINT");
    EXPECT_EQ(e.hrana_code(), "SQLITE_CONSTRAINT");
    EXPECT_EQ(e.transport(), libsql::transport::remote);
    EXPECT_NE(std::string(e.what()).find("[SQLITE_CONSTRAINT]"), std::string::npos);
}

TEST(error_info, plain_errors_have_no_code) {
    const libsql::usage_error e("you held it wrong");
    EXPECT_STREQ(e.what(), "you held it wrong");
    EXPECT_EQ(e.code(), 0);
    EXPECT_EQ(e.extended_code(), 0);
    EXPECT_EQ(e.code_name(), "");
    EXPECT_EQ(e.sql(), "");
    // Every class is a libsql::error and a std::runtime_error.
    const std::runtime_error& base = e;
    EXPECT_NE(dynamic_cast<const libsql::error*>(&base), nullptr);
}

TEST(error_info, long_sql_is_truncated) {
    const std::string sql(1000, 'x');
    const libsql::error e("m", libsql::error_info{0, {}, sql, {}, {}});
    EXPECT_EQ(e.sql().size(), libsql::error::max_sql_length + 3);
    EXPECT_EQ(e.sql().substr(0, libsql::error::max_sql_length), sql.substr(0, libsql::error::max_sql_length));
    EXPECT_TRUE(e.sql().ends_with("..."));

    // SQL of exactly the limit is kept whole.
    const std::string exact(libsql::error::max_sql_length, 'y');
    EXPECT_EQ(libsql::error("m", libsql::error_info{0, {}, exact, {}, {}}).sql(), exact);

    // The message of a thrown error truncates the same way.
    const auto thrown = thrown_as<libsql::sql_error>(SQLITE_ERROR, "syntax", libsql::error_info{0, {}, sql, {}, {}});
    EXPECT_EQ(thrown.sql().size(), libsql::error::max_sql_length + 3);
    EXPECT_EQ(std::string(thrown.what()).find(sql), std::string::npos);
}

TEST(error_info, truncation_does_not_split_utf8) {
    // "a" then two-byte characters: the byte limit falls inside a character.
    std::string sql = "a";
    for (int i = 0; i < 300; ++i) sql += "\xC3\xA9";  // é
    const libsql::error e("m", libsql::error_info{0, {}, sql, {}, {}});
    const std::string& got = e.sql();
    ASSERT_TRUE(got.ends_with("..."));
    const std::string body = got.substr(0, got.size() - 3);
    EXPECT_LE(body.size(), libsql::error::max_sql_length);
    EXPECT_EQ(body.size() % 2, 1u);  // "a" plus whole two-byte characters
    EXPECT_NE(static_cast<unsigned char>(body.back()), 0xC3);
}

TEST(error_info, where_is_kept) {
    libsql::error_info info;
    // decltype: whichever source_location type error_info uses.
    info.where = decltype(info.where)::current();
    const libsql::error e("m", info);
    EXPECT_EQ(e.where().line(), info.where.line());
    EXPECT_NE(std::string(e.where().file_name()).find("error_test"), std::string::npos);
}

TEST(error_info, transport_names) {
    EXPECT_EQ(libsql::to_string(libsql::transport::local), "local");
    EXPECT_EQ(libsql::to_string(libsql::transport::remote), "remote");
    EXPECT_EQ(libsql::to_string(libsql::transport::replica), "replica");
}
