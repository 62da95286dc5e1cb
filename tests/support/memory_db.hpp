// A test fixture holding one in-memory database and a connection to it, with the round-trip helpers the value
// mapping tests share: bind a value, read it back as another type or see which SQL type it became.
#pragma once

#include "libsql/connection.hpp"
#include "libsql/database.hpp"

#include <string>

#include <gtest/gtest.h>

namespace libsql::test {

class memory_db : public ::testing::Test {
protected:
    libsql::database db{":memory:"};
    libsql::connection conn = db.connect();

    template <class T, class V> T round_trip(const V& v) { return conn.query_value<T>("SELECT ?", v); }
    template <class V> std::string sql_type_of(const V& v) { return conn.query_value<std::string>("SELECT typeof(?)", v); }
};

} // namespace libsql::test
