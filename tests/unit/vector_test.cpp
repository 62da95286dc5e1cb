// Tests for libsql/vector.hpp (f32_vector, f64_vector, std::vector<float>/<double> mappings) and the vector SQL
// functions through a real connection. Byte-for-byte agreement with libSQL is vector_compat's job
// (tests/vector/); here: the C++ API and tables with vector columns (the index: vector_index_test.cpp).
#include "libsql/vector.hpp"

#include "support/memory_db.hpp"
#include "libsql/database.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

using namespace std::string_literals;

namespace {

class vector_db : public libsql::test::memory_db {};

std::string hex_of(const libsql::blob& b) {
    static const char* d = "0123456789abcdef";
    std::string out;
    for (std::byte x : b) {
        out.push_back(d[static_cast<unsigned>(x) >> 4]);
        out.push_back(d[static_cast<unsigned>(x) & 15]);
    }
    return out;
}

TEST(vector_values, f32_vector_is_libsqls_float32_layout) {
    const libsql::value v(libsql::f32_vector{{1.0f, 2.0f}});
    ASSERT_EQ(v.type(), libsql::value_type::blob);
    EXPECT_EQ(hex_of(v.get<libsql::blob>()), "0000803f00000040");
    EXPECT_EQ(libsql::value(libsql::f32_vector{}).get<libsql::blob>().size(), 0u);
}

TEST(vector_values, f64_vector_carries_its_type_byte) {
    const libsql::value v(libsql::f64_vector{{1.0, 2.0}});
    EXPECT_EQ(hex_of(v.get<libsql::blob>()), "000000000000f03f000000000000004002");
    EXPECT_EQ(v.get<libsql::f64_vector>().values, (std::vector<double>{1.0, 2.0}));
    EXPECT_EQ(v.get<std::vector<float>>(), (std::vector<float>{1.0f, 2.0f}));
}

TEST(vector_values, round_trips_without_a_database) {
    const std::vector<float> f{0.5f, -1.25f, 3e38f, -0.0f, 1e-45f};
    EXPECT_EQ(libsql::value(f).get<std::vector<float>>(), f);
    EXPECT_TRUE(std::signbit(libsql::value(f).get<std::vector<float>>()[3]));
    const std::vector<double> d{0.1, 1e300, -2.5};
    EXPECT_EQ(libsql::value(d).get<std::vector<double>>(), d);
    const float raw[] = {7.0f, 8.0f};
    EXPECT_EQ(libsql::value(std::span<const float>(raw)).get<libsql::f32_vector>().values, (std::vector<float>{7.0f, 8.0f}));
}

TEST(vector_values, what_is_not_a_vector_throws) {
    EXPECT_THROW((void)libsql::value("[1,2]"s).get<std::vector<float>>(), libsql::conversion_error);
    EXPECT_THROW((void)libsql::value(std::int64_t{1}).get<std::vector<float>>(), libsql::conversion_error);
    EXPECT_THROW((void)libsql::value().get<std::vector<float>>(), libsql::unexpected_null);
    EXPECT_EQ(libsql::value().get<std::optional<std::vector<float>>>(), std::nullopt);
    // an odd-length blob whose last byte is no vector type
    const libsql::blob bad{std::byte{0}, std::byte{0}, std::byte{9}};
    try {
        (void)libsql::value(bad).get<std::vector<float>>();
        ADD_FAILURE() << "no exception";
    } catch (const libsql::conversion_error& e) {
        EXPECT_NE(std::string(e.what()).find("vector: unexpected binary type: 9"), std::string::npos) << e.what();
    }
    // libSQL's limit: 65536 components
    EXPECT_NO_THROW((void)libsql::value(std::vector<float>(65536, 1.0f)));
    EXPECT_THROW((void)libsql::value(std::vector<float>(65537, 1.0f)), libsql::conversion_error);
}

TEST_F(vector_db, binding_matches_the_sql_constructors) {
    EXPECT_EQ(conn.query_value<int>("SELECT ? = vector32('[1,2.5,-3]')", libsql::f32_vector{{1.0f, 2.5f, -3.0f}}), 1);
    EXPECT_EQ(conn.query_value<int>("SELECT ? = vector64('[0.1,2]')", libsql::f64_vector{{0.1, 2.0}}), 1);
    EXPECT_EQ(conn.query_value<std::string>("SELECT vector_extract(?)", std::vector<float>{1.0f, 2.5f}), "[1,2.5]");
}

TEST_F(vector_db, every_stored_type_reads_as_floats) {
    auto read = [&](const char* sql) { return conn.query_value<std::vector<float>>(sql); };
    EXPECT_EQ(read("SELECT vector32('[1,2]')"), (std::vector<float>{1, 2}));
    EXPECT_EQ(read("SELECT vector64('[1,2]')"), (std::vector<float>{1, 2}));
    EXPECT_EQ(read("SELECT vector16('[1,2,65504]')"), (std::vector<float>{1, 2, 65504}));
    EXPECT_EQ(read("SELECT vectorb16('[1,2,-0.5]')"), (std::vector<float>{1, 2, -0.5f}));
    EXPECT_EQ(read("SELECT vector1bit('[1,-2,3,0]')"), (std::vector<float>{1, -1, 1, -1}));
    EXPECT_EQ(read("SELECT vector8('[0,255]')"), (std::vector<float>{0, 255}));
    // the same values vector_extract prints
    EXPECT_EQ(conn.query_value<std::string>("SELECT vector_extract(vector8('[1,2,3]'))"), "[1,1.99608,3]");
    const auto q = read("SELECT vector8('[1,2,3]')");
    ASSERT_EQ(q.size(), 3u);
    // shift 1, alpha 2/255; 2 quantises to 127 (127.4999... rounds down in float), so it reads back as 1.99608
    EXPECT_EQ(q[0], 1.0f);
    EXPECT_EQ(q[1], (2.0f / 255.0f) * 127.0f + 1.0f);
    EXPECT_FLOAT_EQ(q[2], 3.0f);
}

TEST_F(vector_db, a_table_of_embeddings_ranked_by_distance) {
    conn.execute("CREATE TABLE docs(id INTEGER PRIMARY KEY, emb F32_BLOB(3))");
    const std::vector<std::vector<float>> embs{{1, 0, 0}, {0, 1, 0}, {0.9f, 0.1f, 0}, {0, 0, 1}};
    for (std::size_t i = 0; i < embs.size(); ++i)
        conn.execute("INSERT INTO docs VALUES (?, ?)", static_cast<int>(i), libsql::f32_vector{embs[i]});
    std::vector<int> order;
    for (auto r : conn.query("SELECT id FROM docs ORDER BY vector_distance_cos(emb, ?) LIMIT 3", libsql::f32_vector{{1, 0.05f, 0}}))
        order.push_back(r.get<int>(0));
    EXPECT_EQ(order, (std::vector<int>{0, 2, 1}));
    EXPECT_EQ(conn.query_value<std::vector<float>>("SELECT emb FROM docs WHERE id = 2"), embs[2]);
    EXPECT_DOUBLE_EQ(conn.query_value<double>("SELECT vector_distance_l2(emb, vector('[0,0,0]')) FROM docs WHERE id = 3"), 1.0);
}

TEST_F(vector_db, sql_errors_are_typed_and_say_what_is_wrong) {
    try {
        (void)conn.query_value<double>("SELECT vector_distance_cos('[1,2]', '[1,2,3]')");
        ADD_FAILURE() << "no exception";
    } catch (const libsql::error& e) {
        EXPECT_EQ(e.code(), 1);
        EXPECT_NE(std::string(e.what()).find("vector_distance: vectors must have the same length: 2 != 3"), std::string::npos);
    }
    EXPECT_THROW((void)conn.query_value<libsql::blob>("SELECT vector32('[1,nan]')"), libsql::error);
    EXPECT_THROW((void)conn.query_value<libsql::blob>("SELECT vector(1)"), libsql::error);
    // a zero vector has no direction: NULL, as in libSQL
    EXPECT_TRUE(conn.query_row("SELECT vector_distance_cos('[0,0]', '[1,1]')").at(0).is_null());
}

} // namespace
