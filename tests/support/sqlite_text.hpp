// A query's result as text straight from the SQLite C API ("a|b|\n" per row, NULL as "NULL"), for tests that compare
// database files without going through the library under test.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>

namespace libsql::test {

inline std::string sqlite_text(sqlite3* db, const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    std::string out;
    while (sqlite3_step(st) == SQLITE_ROW) {
        for (int i = 0; i < sqlite3_column_count(st); ++i) {
            const auto* t = sqlite3_column_text(st, i);
            out += t ? reinterpret_cast<const char*>(t) : "NULL";
            out += '|';
        }
        out += '\n';
    }
    sqlite3_finalize(st);
    return out;
}

} // namespace libsql::test
