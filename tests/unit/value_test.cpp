// Tests for libsql/value.hpp: value and value_view, and every value_traits conversion, both on their own and
// through a real database (bind with SELECT ?, read the column back).
#include "libsql/value.hpp"

#include "libsql/database.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

using namespace std::chrono_literals;
using namespace std::string_literals;
using namespace std::string_view_literals;

namespace {

using sys_clock = std::chrono::system_clock;

class value_db : public ::testing::Test {
protected:
    libsql::database db{":memory:"};
    libsql::connection conn = db.connect();

    /// Binds v to SELECT ? and reads the result back as T.
    template <class T, class V> T round_trip(const V& v) { return conn.query_value<T>("SELECT ?", v); }
    template <class V> std::string sql_type_of(const V& v) { return conn.query_value<std::string>("SELECT typeof(?)", v); }
};

template <class T> void expect_integer_round_trip() {
    for (const T v : {std::numeric_limits<T>::min(), T{0}, T{1}, std::numeric_limits<T>::max()}) {
        const libsql::value val(v);
        ASSERT_EQ(val.type(), libsql::value_type::integer);
        EXPECT_EQ(val.get<T>(), v);
        EXPECT_EQ(val.view().as_integer(), static_cast<std::int64_t>(v));
    }
}

// A user type with its own traits: the customisation point works for binding and reading.
struct point {
    int x = 0;
    int y = 0;
    friend bool operator==(const point&, const point&) = default;
};

sys_clock::time_point make_time(std::chrono::year_month_day ymd, std::chrono::nanoseconds tod) {
    return sys_clock::time_point(std::chrono::duration_cast<sys_clock::duration>(
        (std::chrono::sys_days{ymd} + tod).time_since_epoch()));
}

} // namespace

template <> struct libsql::value_traits<point> {
    static point from_value(value_view v) {
        const auto text = value_traits<std::string_view>::from_value(v);
        const auto comma = text.find(',');
        if (comma == std::string_view::npos) throw conversion_error("not a point");
        return point{std::stoi(std::string(text.substr(0, comma))), std::stoi(std::string(text.substr(comma + 1)))};
    }
    static value to_value(const point& p) { return value(std::to_string(p.x) + "," + std::to_string(p.y)); }
};

// --- value and value_view

TEST(value, default_is_null) {
    const libsql::value v;
    EXPECT_TRUE(v.is_null());
    EXPECT_EQ(v.type(), libsql::value_type::null);
    EXPECT_TRUE(v.view().is_null());
    EXPECT_TRUE(libsql::value(nullptr).is_null());
    EXPECT_TRUE(libsql::value(std::optional<int>{}).is_null());
    EXPECT_TRUE(libsql::value(static_cast<const char*>(nullptr)).is_null());
}

TEST(value, types_and_views) {
    EXPECT_EQ(libsql::value(42).type(), libsql::value_type::integer);
    EXPECT_EQ(libsql::value(4.5).type(), libsql::value_type::real);
    EXPECT_EQ(libsql::value("text"sv).type(), libsql::value_type::text);
    EXPECT_EQ(libsql::value(libsql::blob{std::byte{1}}).type(), libsql::value_type::blob);

    EXPECT_EQ(libsql::value(42).view().as_integer(), 42);
    EXPECT_EQ(libsql::value(4.5).view().as_real(), 4.5);
    EXPECT_EQ(libsql::value("text"sv).view().as_text(), "text");
    const libsql::value b(libsql::blob{std::byte{1}, std::byte{2}});
    ASSERT_EQ(b.view().as_blob().size(), 2u);
    EXPECT_EQ(b.view().as_blob()[1], std::byte{2});

    EXPECT_EQ(libsql::to_string(libsql::value_type::null), "null");
    EXPECT_EQ(libsql::to_string(libsql::value_type::integer), "integer");
    EXPECT_EQ(libsql::to_string(libsql::value_type::real), "real");
    EXPECT_EQ(libsql::to_string(libsql::value_type::text), "text");
    EXPECT_EQ(libsql::to_string(libsql::value_type::blob), "blob");
}

TEST(value, owns_its_bytes) {
    std::string s = "temporary";
    const libsql::value v(libsql::value_view::text(s));
    s.assign(s.size(), '#');
    EXPECT_EQ(v.get<std::string>(), "temporary");
}

TEST(value, equality) {
    EXPECT_EQ(libsql::value(1), libsql::value(std::int64_t{1}));
    EXPECT_EQ(libsql::value(1), libsql::value(true));
    EXPECT_NE(libsql::value(1), libsql::value(2));
    EXPECT_NE(libsql::value(1), libsql::value(1.0));  // integer and real are different values
    EXPECT_NE(libsql::value("1"sv), libsql::value(1));
    EXPECT_EQ(libsql::value("abc"s), libsql::value("abc"sv));
    EXPECT_EQ(libsql::value(), libsql::value(nullptr));
    EXPECT_NE(libsql::value(), libsql::value(0));
    EXPECT_EQ(libsql::value(libsql::blob{std::byte{7}}), libsql::value(std::vector<std::uint8_t>{7}));
    EXPECT_NE(libsql::value(libsql::blob{std::byte{7}}), libsql::value("\x07"sv));
}

TEST(value, value_as_value_and_view) {
    const libsql::value v(7);
    EXPECT_EQ(v.get<libsql::value>(), v);
    EXPECT_EQ(v.get<libsql::value_view>().as_integer(), 7);
    const libsql::value copy(v.view());
    EXPECT_EQ(copy, v);
}

// --- integers

TEST(value_integers, every_type_round_trips) {
    expect_integer_round_trip<char>();
    expect_integer_round_trip<signed char>();
    expect_integer_round_trip<unsigned char>();
    expect_integer_round_trip<short>();
    expect_integer_round_trip<unsigned short>();
    expect_integer_round_trip<int>();
    expect_integer_round_trip<unsigned>();
    expect_integer_round_trip<long>();
    expect_integer_round_trip<long long>();
    expect_integer_round_trip<std::int8_t>();
    expect_integer_round_trip<std::uint8_t>();
    expect_integer_round_trip<std::int16_t>();
    expect_integer_round_trip<std::uint16_t>();
    expect_integer_round_trip<std::int32_t>();
    expect_integer_round_trip<std::uint32_t>();
    expect_integer_round_trip<std::int64_t>();
    // uint64 round trips up to INT64_MAX, the largest SQLite can store.
    const auto big = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    EXPECT_EQ(libsql::value(big).get<std::uint64_t>(), big);
    EXPECT_EQ(libsql::value(std::uint64_t{0}).get<std::uint64_t>(), 0u);
}

TEST(value_integers, narrowing_is_range_checked) {
    EXPECT_THROW((void)libsql::value(300).get<std::int8_t>(), libsql::conversion_error);
    EXPECT_THROW((void)libsql::value(-129).get<std::int8_t>(), libsql::conversion_error);
    EXPECT_EQ(libsql::value(-128).get<std::int8_t>(), -128);
    EXPECT_EQ(libsql::value(127).get<std::int8_t>(), 127);
    EXPECT_THROW((void)libsql::value(256).get<std::uint8_t>(), libsql::conversion_error);
    EXPECT_THROW((void)libsql::value(-1).get<std::uint8_t>(), libsql::conversion_error);
    EXPECT_THROW((void)libsql::value(-1).get<unsigned>(), libsql::conversion_error);
    EXPECT_THROW((void)libsql::value(-1).get<std::uint64_t>(), libsql::conversion_error);
    EXPECT_THROW((void)libsql::value(std::int64_t{1} << 31).get<std::int32_t>(), libsql::conversion_error);
    EXPECT_EQ(libsql::value((std::int64_t{1} << 31) - 1).get<std::int32_t>(), std::numeric_limits<std::int32_t>::max());
    EXPECT_THROW((void)libsql::value(std::int64_t{1} << 32).get<std::uint32_t>(), libsql::conversion_error);
    EXPECT_THROW((void)libsql::value(40000).get<short>(), libsql::conversion_error);

    // The message says what did not fit.
    try {
        (void)libsql::value(300).get<std::int8_t>();
        FAIL() << "no throw";
    } catch (const libsql::conversion_error& e) {
        EXPECT_NE(std::string(e.what()).find("300"), std::string::npos) << e.what();
    }
}

TEST(value_integers, uint64_above_int64_max_cannot_be_bound) {
    const std::uint64_t too_big = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) + 1;
    EXPECT_THROW((void)libsql::value(too_big), libsql::conversion_error);
    EXPECT_THROW((void)libsql::value(std::numeric_limits<std::uint64_t>::max()), libsql::conversion_error);
    EXPECT_THROW((void)libsql::value(std::numeric_limits<unsigned long long>::max()), libsql::conversion_error);
}

TEST(value_integers, other_types_do_not_read_as_integers) {
    EXPECT_THROW((void)libsql::value(1.0).get<int>(), libsql::conversion_error);
    EXPECT_THROW((void)libsql::value("1"sv).get<int>(), libsql::conversion_error);
    EXPECT_THROW((void)libsql::value(libsql::blob{}).get<int>(), libsql::conversion_error);
    EXPECT_THROW((void)libsql::value().get<int>(), libsql::unexpected_null);
}

TEST_F(value_db, integers_through_the_database) {
    EXPECT_EQ(round_trip<std::int8_t>(std::int8_t{-5}), -5);
    EXPECT_EQ(round_trip<std::uint16_t>(std::uint16_t{65535}), 65535);
    EXPECT_EQ(round_trip<std::int32_t>(std::numeric_limits<std::int32_t>::min()), std::numeric_limits<std::int32_t>::min());
    EXPECT_EQ(round_trip<std::int64_t>(std::numeric_limits<std::int64_t>::min()), std::numeric_limits<std::int64_t>::min());
    EXPECT_EQ(round_trip<std::int64_t>(std::numeric_limits<std::int64_t>::max()), std::numeric_limits<std::int64_t>::max());
    EXPECT_EQ(round_trip<std::uint64_t>(std::uint64_t{1} << 62), std::uint64_t{1} << 62);
    EXPECT_EQ(sql_type_of(7u), "integer");

    // Narrowing applies to what the database returns too.
    EXPECT_THROW((void)round_trip<std::int8_t>(300), libsql::conversion_error);
    EXPECT_THROW((void)conn.query_value<std::int8_t>("SELECT 300"), libsql::conversion_error);

    const std::uint64_t too_big = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) + 1;
    EXPECT_THROW((void)round_trip<std::int64_t>(too_big), libsql::conversion_error);
    // The failed bind left the connection usable.
    EXPECT_EQ(round_trip<int>(3), 3);
}

// --- bool

TEST(value_bool, zero_and_one_only) {
    EXPECT_EQ(libsql::value(true).view().as_integer(), 1);
    EXPECT_EQ(libsql::value(false).view().as_integer(), 0);
    EXPECT_TRUE(libsql::value(1).get<bool>());
    EXPECT_FALSE(libsql::value(0).get<bool>());
    EXPECT_THROW((void)libsql::value(2).get<bool>(), libsql::conversion_error);
    EXPECT_THROW((void)libsql::value(-1).get<bool>(), libsql::conversion_error);
    EXPECT_THROW((void)libsql::value("true"sv).get<bool>(), libsql::conversion_error);
    EXPECT_THROW((void)libsql::value(1.0).get<bool>(), libsql::conversion_error);
    EXPECT_THROW((void)libsql::value().get<bool>(), libsql::unexpected_null);
}

TEST_F(value_db, bools_through_the_database) {
    EXPECT_TRUE(round_trip<bool>(true));
    EXPECT_FALSE(round_trip<bool>(false));
    EXPECT_EQ(sql_type_of(true), "integer");
    EXPECT_TRUE(conn.query_value<bool>("SELECT 1 = 1"));
    EXPECT_THROW((void)conn.query_value<bool>("SELECT 5"), libsql::conversion_error);
}

// --- floating point

TEST(value_real, doubles_floats_and_integers) {
    EXPECT_EQ(libsql::value(2.5).get<double>(), 2.5);
    EXPECT_EQ(libsql::value(2.5f).get<float>(), 2.5f);
    EXPECT_EQ(libsql::value(2.5f).type(), libsql::value_type::real);
    EXPECT_EQ(libsql::value(-0.0).get<double>(), 0.0);
    EXPECT_EQ(libsql::value(std::numeric_limits<double>::max()).get<double>(), std::numeric_limits<double>::max());
    // Integers read as floating point.
    EXPECT_EQ(libsql::value(3).get<double>(), 3.0);
    EXPECT_EQ(libsql::value(std::int64_t{1} << 53).get<double>(), 9007199254740992.0);
    EXPECT_EQ(libsql::value(-7).get<float>(), -7.0f);
    // Text and blobs do not.
    EXPECT_THROW((void)libsql::value("2.5"sv).get<double>(), libsql::conversion_error);
    EXPECT_THROW((void)libsql::value(libsql::blob{}).get<double>(), libsql::conversion_error);
    EXPECT_THROW((void)libsql::value().get<double>(), libsql::unexpected_null);
}

TEST_F(value_db, reals_through_the_database) {
    EXPECT_EQ(round_trip<double>(0.1), 0.1);
    EXPECT_EQ(round_trip<double>(-1e300), -1e300);
    EXPECT_EQ(round_trip<float>(1.25f), 1.25f);
    EXPECT_EQ(sql_type_of(1.25f), "real");
    EXPECT_EQ(conn.query_value<double>("SELECT 41 + 1"), 42.0);
    EXPECT_EQ(conn.query_value<double>("SELECT 1.0 / 4"), 0.25);
}

// --- text

TEST(value_text, strings_views_and_literals) {
    EXPECT_EQ(libsql::value("hello"s).get<std::string>(), "hello");
    EXPECT_EQ(libsql::value("hello"sv).get<std::string_view>(), "hello");
    EXPECT_EQ(libsql::value("hello").get<std::string>(), "hello");
    const char* p = "pointer";
    EXPECT_EQ(libsql::value(p).get<std::string>(), "pointer");
    EXPECT_EQ(libsql::value(""s).get<std::string>(), "");
    EXPECT_EQ(libsql::value(""s).type(), libsql::value_type::text);
    EXPECT_THROW((void)libsql::value(1).get<std::string>(), libsql::conversion_error);
    EXPECT_THROW((void)libsql::value(libsql::blob{}).get<std::string>(), libsql::conversion_error);
    EXPECT_THROW((void)libsql::value().get<std::string>(), libsql::unexpected_null);
}

TEST(value_text, utf8_is_checked_when_binding) {
    // Valid: ASCII, two-, three- and four-byte sequences, and NUL.
    for (const auto& s : {"plain"s, "\xC3\xA9"s, "\xE2\x82\xAC"s, "\xF0\x9D\x84\x9E"s, "a\0b"s, "\xF4\x8F\xBF\xBF"s,
                          "long ascii run then \xC3\xA9 at the end"s}) {
        EXPECT_NO_THROW((void)libsql::value(s)) << s;
    }
    // Invalid: stray continuation, bad lead byte, overlong, surrogate, beyond U+10FFFF, truncated.
    for (const auto& s : {"\xFF"s, "\x80"s, "abc\xC3"s, "\xC0\x80"s, "\xE0\x80\x80"s, "\xED\xA0\x80"s,
                          "\xF4\x90\x80\x80"s, "\xE2\x82"s, "0123456789\xE2\x28\xA1"s, "\xF5\x80\x80\x80"s}) {
        EXPECT_THROW((void)libsql::value(s), libsql::conversion_error) << testing::PrintToString(s);
    }
}

TEST_F(value_db, text_through_the_database) {
    EXPECT_EQ(round_trip<std::string>("hello"s), "hello");
    EXPECT_EQ(round_trip<std::string>("h\xC3\xA9llo \xF0\x9D\x84\x9E"sv), "h\xC3\xA9llo \xF0\x9D\x84\x9E");
    EXPECT_EQ(round_trip<std::string>("literal"), "literal");
    EXPECT_EQ(round_trip<std::string>(""s), "");
    EXPECT_EQ(sql_type_of(""s), "text");
    const std::string long_text(100000, 'z');
    EXPECT_EQ(round_trip<std::string>(long_text), long_text);

    EXPECT_THROW((void)round_trip<std::string>("bad \xFF"s), libsql::conversion_error);
    EXPECT_THROW((void)conn.execute("SELECT ?", "\xC0\x80"s), libsql::conversion_error);
}

TEST_F(value_db, embedded_nul_round_trips) {
    const std::string with_nul("a\0b\0c", 5);
    EXPECT_EQ(round_trip<std::string>(with_nul), with_nul);
    EXPECT_EQ(conn.query_value<std::int64_t>("SELECT length(CAST(? AS BLOB))", with_nul), 5);

    conn.execute("CREATE TABLE t(s TEXT)");
    conn.execute("INSERT INTO t VALUES (?)", with_nul);
    EXPECT_EQ(conn.query_value<std::string>("SELECT s FROM t"), with_nul);
}

// --- blobs

TEST(value_blob, kinds_of_blob) {
    const libsql::blob bytes{std::byte{0}, std::byte{0xFF}, std::byte{0x10}};
    EXPECT_EQ(libsql::value(bytes).get<libsql::blob>(), bytes);
    const std::vector<std::uint8_t> u8{0, 255, 16};
    EXPECT_EQ(libsql::value(u8).get<std::vector<std::uint8_t>>(), u8);
    EXPECT_EQ(libsql::value(u8).get<libsql::blob>(), bytes);  // the same bytes either way
    EXPECT_EQ(libsql::value(std::span<const std::uint8_t>(u8)).get<libsql::blob>(), bytes);
    const auto view = libsql::value(bytes).get<libsql::blob>();
    EXPECT_EQ(libsql::value(libsql::blob_view(view)).get<libsql::blob>(), bytes);
    EXPECT_THROW((void)libsql::value("bytes"sv).get<libsql::blob>(), libsql::conversion_error);
    EXPECT_THROW((void)libsql::value(1).get<std::vector<std::uint8_t>>(), libsql::conversion_error);
    EXPECT_THROW((void)libsql::value().get<libsql::blob>(), libsql::unexpected_null);
}

TEST_F(value_db, blobs_through_the_database) {
    libsql::blob all_bytes;
    for (int i = 0; i < 256; ++i) all_bytes.push_back(static_cast<std::byte>(i));
    EXPECT_EQ(round_trip<libsql::blob>(all_bytes), all_bytes);
    EXPECT_EQ(sql_type_of(all_bytes), "blob");

    const std::vector<std::uint8_t> u8{1, 2, 3};
    EXPECT_EQ(round_trip<std::vector<std::uint8_t>>(u8), u8);
    // Invalid UTF-8 is fine as a blob.
    const std::vector<std::uint8_t> not_utf8{0xFF, 0xC0, 0x80};
    EXPECT_EQ(round_trip<std::vector<std::uint8_t>>(not_utf8), not_utf8);

    // An empty blob is a blob, not NULL.
    const libsql::blob empty;
    EXPECT_EQ(sql_type_of(empty), "blob");
    EXPECT_EQ(round_trip<libsql::blob>(empty), empty);
    EXPECT_EQ(conn.query_value<libsql::blob>("SELECT x'CAFE'"), (libsql::blob{std::byte{0xCA}, std::byte{0xFE}}));
}

// --- optional

TEST(value_optional, null_is_nullopt) {
    EXPECT_EQ(libsql::value().get<std::optional<int>>(), std::nullopt);
    EXPECT_EQ(libsql::value(5).get<std::optional<int>>(), 5);
    EXPECT_EQ(libsql::value("x"sv).get<std::optional<std::string>>(), "x");
    EXPECT_TRUE(libsql::value(std::optional<std::string>{}).is_null());
    EXPECT_EQ(libsql::value(std::optional<std::string>{"y"}).get<std::string>(), "y");
    EXPECT_TRUE(libsql::value(std::nullopt).is_null());
    // Conversions inside an optional are still checked.
    EXPECT_THROW((void)libsql::value("x"sv).get<std::optional<int>>(), libsql::conversion_error);
    EXPECT_THROW((void)libsql::value(300).get<std::optional<std::int8_t>>(), libsql::conversion_error);
}

TEST(value_optional, unexpected_null_is_a_conversion_error) {
    try {
        (void)libsql::value().get<int>();
        FAIL() << "no throw";
    } catch (const libsql::conversion_error& e) {
        EXPECT_NE(dynamic_cast<const libsql::unexpected_null*>(&e), nullptr);
        EXPECT_NE(std::string(e.what()).find("optional"), std::string::npos) << e.what();
    }
}

TEST_F(value_db, optionals_through_the_database) {
    EXPECT_EQ(round_trip<std::optional<int>>(std::optional<int>{}), std::nullopt);
    EXPECT_EQ(round_trip<std::optional<int>>(std::optional<int>{9}), 9);
    EXPECT_EQ(round_trip<std::optional<std::string>>(nullptr), std::nullopt);
    EXPECT_EQ(sql_type_of(std::optional<double>{}), "null");
    EXPECT_EQ(sql_type_of(std::optional<double>{1.5}), "real");
    EXPECT_THROW((void)conn.query_value<int>("SELECT NULL"), libsql::unexpected_null);
    EXPECT_THROW((void)conn.query_value<std::string>("SELECT NULL"), libsql::unexpected_null);
}

// --- time points

TEST(value_time, formats_as_iso8601_utc_with_nanoseconds) {
    using namespace std::chrono;
    const auto tp = make_time(2026y / 11 / 26, 15h + 4min + 5s + 123456789ns);
    const libsql::value v(tp);
    ASSERT_EQ(v.type(), libsql::value_type::text);
    EXPECT_EQ(v.get<std::string>(), "2026-11-26T15:04:05.123456789Z");
    EXPECT_EQ(v.get<sys_clock::time_point>(), tp);

    EXPECT_EQ(libsql::value(sys_clock::time_point{}).get<std::string>(), "1970-01-01T00:00:00.000000000Z");
    // Before the epoch: the day still rounds down.
    const auto before = make_time(1969y / 12 / 31, 23h + 59min + 59s + 500ms);
    EXPECT_EQ(libsql::value(before).get<std::string>(), "1969-12-31T23:59:59.500000000Z");
    EXPECT_EQ(libsql::value(before).get<sys_clock::time_point>(), before);
    const auto leap_day = make_time(2024y / 2 / 29, 0ns);
    EXPECT_EQ(libsql::value(leap_day).get<std::string>(), "2024-02-29T00:00:00.000000000Z");
}

TEST(value_time, text_sorts_like_time) {
    using namespace std::chrono;
    const auto a = make_time(2001y / 9 / 9, 1h + 46min + 40s);
    const auto b = a + 1ns;
    const auto c = make_time(2020y / 1 / 1, 0ns);
    EXPECT_LT(libsql::value(a).get<std::string>(), libsql::value(b).get<std::string>());
    EXPECT_LT(libsql::value(b).get<std::string>(), libsql::value(c).get<std::string>());
}

TEST(value_time, parsing_variants) {
    using namespace std::chrono;
    const auto base = make_time(2024y / 3 / 5, 6h + 7min + 8s);
    auto parse = [](std::string_view text) { return libsql::value(text).get<sys_clock::time_point>(); };
    EXPECT_EQ(parse("2024-03-05T06:07:08Z"), base);
    EXPECT_EQ(parse("2024-03-05T06:07:08z"), base);
    EXPECT_EQ(parse("2024-03-05 06:07:08"), base);  // space, no zone: UTC
    EXPECT_EQ(parse("2024-03-05T06:07:08.5Z"), base + 500ms);
    EXPECT_EQ(parse("2024-03-05 06:07:08.123"), base + 123ms);
    EXPECT_EQ(parse("2024-03-05T06:07:08.000001Z"), base + 1us);
    EXPECT_EQ(parse("2024-03-05T06:07:08.1234567891234Z"), base + 123456789ns);  // beyond ns: dropped
    EXPECT_EQ(parse("2024-03-05T06:07"), base - 8s);
    EXPECT_EQ(parse("2024-03-05"), make_time(2024y / 3 / 5, 0ns));
    EXPECT_EQ(parse("2024-03-05T08:07:08+02:00"), base);
    EXPECT_EQ(parse("2024-03-05T08:07:08+0200"), base);
    EXPECT_EQ(parse("2024-03-05T01:37:08-04:30"), base);
    EXPECT_EQ(parse("2024-03-05T00:07:08.25-06:00"), base + 250ms);
    // Integers are Unix seconds.
    EXPECT_EQ(libsql::value(1700000000).get<sys_clock::time_point>(), sys_clock::time_point(1700000000s));
    EXPECT_EQ(libsql::value(0).get<sys_clock::time_point>(), sys_clock::time_point{});
    EXPECT_EQ(libsql::value(-86400).get<sys_clock::time_point>(), make_time(1969y / 12 / 31, 0ns));
}

TEST(value_time, bad_text_is_a_conversion_error) {
    for (const auto text : {""sv, "yesterday"sv, "2024"sv, "2024-13-01"sv, "2024-02-30"sv, "2024-03-05T25:00:00Z"sv,
                            "2024-03-05T06:61"sv, "2024-03-05T06:07:08."sv, "2024-03-05T06:07:08Zjunk"sv,
                            "2024-03-05T06:07:08+2"sv, "2024/03/05"sv, "2024-03-05T"sv, "24-03-05"sv}) {
        EXPECT_THROW((void)libsql::value(text).get<sys_clock::time_point>(), libsql::conversion_error) << text;
    }
    EXPECT_THROW((void)libsql::value(1.5).get<sys_clock::time_point>(), libsql::conversion_error);
    EXPECT_THROW((void)libsql::value(libsql::blob{}).get<sys_clock::time_point>(), libsql::conversion_error);
    EXPECT_THROW((void)libsql::value().get<sys_clock::time_point>(), libsql::unexpected_null);
}

TEST_F(value_db, time_points_through_the_database) {
    using namespace std::chrono;
    const auto tp = make_time(2026y / 11 / 26, 15h + 4min + 5s + 123456789ns);
    EXPECT_EQ(round_trip<sys_clock::time_point>(tp), tp);
    EXPECT_EQ(round_trip<std::string>(tp), "2026-11-26T15:04:05.123456789Z");
    EXPECT_EQ(round_trip<std::optional<sys_clock::time_point>>(std::optional<sys_clock::time_point>{}), std::nullopt);
    EXPECT_EQ(round_trip<std::optional<sys_clock::time_point>>(std::optional(tp)), tp);
    // SQLite's own date functions read the format.
    EXPECT_EQ(conn.query_value<std::int64_t>("SELECT unixepoch(?)", tp),
              duration_cast<seconds>(tp.time_since_epoch()).count());
    // And what they produce reads back.
    EXPECT_EQ(conn.query_value<sys_clock::time_point>("SELECT datetime(1700000000, 'unixepoch')"),
              sys_clock::time_point(1700000000s));
    EXPECT_EQ(conn.query_value<sys_clock::time_point>("SELECT 1700000000"), sys_clock::time_point(1700000000s));
}

TEST_F(value_db, owned_conversions_survive_execute) {
    // A time_point (like any type whose traits return an owning value) converts to a temporary; execute() binds
    // its arguments without copying them, so the temporary must not be what the statement points to.
    using namespace std::chrono;
    conn.execute("CREATE TABLE events(a TEXT, b TEXT)");
    const auto a = make_time(2001y / 1 / 1, 1h);
    const auto b = make_time(2002y / 2 / 2, 2h);
    EXPECT_EQ(conn.execute("INSERT INTO events VALUES (?, ?)", a, b), 1);
    EXPECT_EQ(conn.execute("INSERT INTO events VALUES (:a, :b)", libsql::named("b", b), libsql::named("a", a)), 1);
    auto st = conn.prepare("INSERT INTO events VALUES (?, ?)");
    EXPECT_EQ(st.execute(a, b), 1);
    for (auto r : conn.query("SELECT a, b FROM events")) {
        EXPECT_EQ(r.get<sys_clock::time_point>(0), a);
        EXPECT_EQ(r.get<sys_clock::time_point>(1), b);
    }
    EXPECT_EQ(conn.query_value<int>("SELECT count(*) FROM events"), 3);
}

// --- user types

TEST_F(value_db, user_traits) {
    const point p{3, -4};
    EXPECT_EQ(libsql::value(p).get<std::string>(), "3,-4");
    EXPECT_EQ(libsql::value(p).get<point>(), p);
    EXPECT_EQ(round_trip<point>(p), p);
    EXPECT_EQ(round_trip<std::optional<point>>(std::optional<point>{}), std::nullopt);
    EXPECT_THROW((void)conn.query_value<point>("SELECT 'nope'"), libsql::conversion_error);

    // Bound through execute(), whose arguments are not copied: the converted temporaries must be.
    conn.execute("CREATE TABLE shapes(p TEXT, q TEXT)");
    EXPECT_EQ(conn.execute("INSERT INTO shapes VALUES (?, ?)", point{1, 2}, point{30000, 40000}), 1);
    const auto r = conn.query_row("SELECT p, q FROM shapes");
    EXPECT_EQ(r.get<point>(0), (point{1, 2}));
    EXPECT_EQ(r.get<point>(1), (point{30000, 40000}));
}
