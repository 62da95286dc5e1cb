// Tests for libsql/types.hpp: dates, times of day, UUIDs and decimals, on their own and through a real database
// (SELECT ? and a table).
#include "libsql/types.hpp"

#include "support/memory_db.hpp"
#include "libsql/database.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
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

namespace chr = std::chrono;

class types_db : public libsql::test::memory_db {
protected:
    template <class V> std::string as_text(const V& v) { return conn.query_value<std::string>("SELECT CAST(? AS TEXT)", v); }
};

constexpr chr::year_month_day ymd(int y, unsigned m, unsigned d) { return chr::year{y} / chr::month{m} / chr::day{d}; }

// ---- dates ----

TEST(types, date_formats_and_parses) {
    EXPECT_EQ(libsql::value(ymd(2026, 11, 26)).get<std::string>(), "2026-11-26");
    EXPECT_EQ(libsql::value(ymd(5, 1, 2)).get<std::string>(), "0005-01-02");
    EXPECT_EQ(libsql::value("2024-02-29"sv).get<chr::year_month_day>(), ymd(2024, 2, 29));
    EXPECT_EQ(libsql::value("9999-12-31"sv).get<chr::sys_days>(), chr::sys_days{ymd(9999, 12, 31)});
}

TEST(types, bad_dates_throw) {
    for (auto s : {"2023-02-29"sv, "2026-13-01"sv, "2026-1-01"sv, "2026/01/01"sv, "2026-01-01T00:00"sv, ""sv,
                   " 2026-01-01"sv, "20a6-01-01"sv}) {
        EXPECT_THROW((void)libsql::value(s).get<chr::year_month_day>(), libsql::conversion_error) << s;
    }
    EXPECT_THROW((void)libsql::value(std::int64_t{20260101}).get<chr::year_month_day>(), libsql::conversion_error);
    EXPECT_THROW((void)libsql::value(ymd(2023, 2, 29)), libsql::conversion_error);
    EXPECT_THROW((void)libsql::value(ymd(10000, 1, 1)), libsql::conversion_error);
    EXPECT_THROW((void)libsql::value(ymd(-1, 1, 1)), libsql::conversion_error);
    EXPECT_THROW((void)libsql::value().get<chr::sys_days>(), libsql::unexpected_null);
}

TEST_F(types_db, dates_through_the_database) {
    const auto d = ymd(2026, 11, 26);
    EXPECT_EQ(round_trip<chr::year_month_day>(d), d);
    EXPECT_EQ(sql_type_of(d), "text");
    EXPECT_EQ(round_trip<chr::sys_days>(chr::sys_days{d}), chr::sys_days{d});
    // SQLite's own date functions read what we write.
    EXPECT_EQ(conn.query_value<std::string>("SELECT date(?, '+1 day')", d), "2026-11-27");
    EXPECT_EQ(conn.query_value<chr::year_month_day>("SELECT date('2000-01-01', '+59 days')"), ymd(2000, 2, 29));
    EXPECT_THROW((void)conn.query_value<chr::year_month_day>("SELECT NULL"), libsql::unexpected_null);
    EXPECT_EQ(conn.query_value<std::optional<chr::year_month_day>>("SELECT NULL"), std::nullopt);
    EXPECT_THROW((void)conn.query_value<chr::year_month_day>("SELECT 2.5"), libsql::conversion_error);
    EXPECT_THROW((void)conn.query_value<chr::year_month_day>("SELECT 'yesterday'"), libsql::conversion_error);

    conn.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, d TEXT)");
    conn.execute("INSERT INTO t(d) VALUES (?), (?), (?)", ymd(2026, 1, 2), chr::sys_days{ymd(1999, 12, 31)},
                 std::optional<chr::year_month_day>{});
    EXPECT_EQ(conn.query_value<chr::year_month_day>("SELECT min(d) FROM t"), ymd(1999, 12, 31));
    EXPECT_EQ(conn.query_value<chr::sys_days>("SELECT d FROM t WHERE id = 1"), chr::sys_days{ymd(2026, 1, 2)});
    EXPECT_EQ(conn.query_value<std::optional<chr::sys_days>>("SELECT d FROM t WHERE id = 3"), std::nullopt);
}

// ---- times of day ----

TEST(types, time_of_day_formats_with_the_duration_precision) {
    using hms_s = chr::hh_mm_ss<chr::seconds>;
    using hms_ms = chr::hh_mm_ss<chr::milliseconds>;
    using hms_ns = chr::hh_mm_ss<chr::nanoseconds>;
    EXPECT_EQ(libsql::value(hms_s{13h + 4min + 5s}).get<std::string>(), "13:04:05");
    EXPECT_EQ(libsql::value(hms_ms{13h + 4min + 5s + 7ms}).get<std::string>(), "13:04:05.007");
    EXPECT_EQ(libsql::value(hms_ns{23h + 59min + 59s + 999999999ns}).get<std::string>(), "23:59:59.999999999");
    EXPECT_EQ(libsql::value(hms_s{0s}).get<std::string>(), "00:00:00");

    EXPECT_EQ(libsql::value("13:04"sv).get<hms_s>().to_duration(), 13h + 4min);
    EXPECT_EQ(libsql::value("13:04:05.5"sv).get<hms_ms>().to_duration(), 13h + 4min + 5s + 500ms);
    // Digits finer than the duration are truncated.
    EXPECT_EQ(libsql::value("13:04:05.9999"sv).get<hms_ms>().to_duration(), 13h + 4min + 5s + 999ms);
    EXPECT_EQ(libsql::value("13:04:05.9999"sv).get<hms_s>().to_duration(), 13h + 4min + 5s);
    EXPECT_EQ(libsql::value("00:00:00.123456789123"sv).get<hms_ns>().to_duration(), 123456789ns);
}

TEST(types, bad_times_of_day_throw) {
    using hms = chr::hh_mm_ss<chr::seconds>;
    for (auto s : {"24:00"sv, "12:60"sv, "12:00:60"sv, "1:00"sv, "12:00:"sv, "12:00:00."sv, "12:00:00Z"sv, ""sv,
                   "noon"sv, "12-00"sv}) {
        EXPECT_THROW((void)libsql::value(s).get<hms>(), libsql::conversion_error) << s;
    }
    EXPECT_THROW((void)libsql::value(hms{24h}), libsql::conversion_error);
    EXPECT_THROW((void)libsql::value(hms{-1s}), libsql::conversion_error);
    EXPECT_THROW((void)libsql::value(std::int64_t{3600}).get<hms>(), libsql::conversion_error);
    EXPECT_THROW((void)libsql::value().get<hms>(), libsql::unexpected_null);
}

TEST_F(types_db, times_of_day_through_the_database) {
    using hms = chr::hh_mm_ss<chr::milliseconds>;
    const hms t{8h + 30min + 15s + 250ms};
    EXPECT_EQ(round_trip<hms>(t).to_duration(), t.to_duration());
    EXPECT_EQ(sql_type_of(t), "text");
    EXPECT_EQ(conn.query_value<std::string>("SELECT time(?, '+1 hour')", t), "09:30:15");
    EXPECT_EQ(conn.query_value<hms>("SELECT time('2026-11-26 17:05:06')").to_duration(), 17h + 5min + 6s);
    conn.execute("CREATE TABLE t(tm TEXT)");
    conn.execute("INSERT INTO t VALUES (?)", t);
    EXPECT_EQ(conn.query_value<hms>("SELECT tm FROM t").to_duration(), t.to_duration());
    EXPECT_THROW((void)conn.query_value<hms>("SELECT NULL"), libsql::unexpected_null);
    EXPECT_FALSE(conn.query_value<std::optional<hms>>("SELECT NULL").has_value());
}

// ---- uuid ----

constexpr std::string_view canonical = "123e4567-e89b-12d3-a456-426614174000";

TEST(types, uuid_parses_every_accepted_form) {
    const auto u = libsql::uuid::parse(canonical);
    EXPECT_EQ(u.to_string(), canonical);
    EXPECT_EQ(std::to_integer<int>(u.bytes()[0]), 0x12);
    EXPECT_EQ(std::to_integer<int>(u.bytes()[15]), 0x00);
    EXPECT_EQ(libsql::uuid::parse("123E4567-E89B-12D3-A456-426614174000"), u);
    EXPECT_EQ(libsql::uuid::parse("123e4567e89b12d3a456426614174000"), u);
    EXPECT_EQ(libsql::uuid::parse("{123e4567-e89b-12d3-A456-426614174000}"), u);
    EXPECT_EQ(libsql::uuid::parse("{123e4567e89b12d3a456426614174000}"), u);
    EXPECT_TRUE(libsql::uuid{}.is_nil());
    EXPECT_FALSE(u.is_nil());
    EXPECT_EQ(libsql::uuid{}.to_string(), "00000000-0000-0000-0000-000000000000");
    EXPECT_EQ(libsql::uuid::from_bytes(u.as_blob()), u);
    EXPECT_LT(libsql::uuid{}, u);
}

TEST(types, bad_uuids_throw) {
    for (auto s : {""sv, "123e4567-e89b-12d3-a456-42661417400"sv, "123e4567-e89b-12d3-a456-4266141740000"sv,
                   "123e4567-e89b-12d3-a456_426614174000"sv, "123e4567-e89b-12d3-a456-42661417400g"sv,
                   "123e4567e89b-12d3-a456-4266141740000"sv, "{123e4567-e89b-12d3-a456-426614174000"sv,
                   " 123e4567-e89b-12d3-a456-426614174000"sv, "123e4567-e89b-12d3-a4564-26614174000"sv}) {
        EXPECT_FALSE(libsql::uuid::try_parse(s).has_value()) << s;
        EXPECT_THROW((void)libsql::uuid::parse(s), libsql::conversion_error) << s;
    }
    const std::vector<std::byte> fifteen(15), seventeen(17);
    EXPECT_THROW((void)libsql::uuid::from_bytes(fifteen), libsql::conversion_error);
    EXPECT_THROW((void)libsql::uuid::from_bytes(seventeen), libsql::conversion_error);
}

TEST_F(types_db, uuid_is_text_by_default_and_blob_on_request) {
    const auto u = libsql::uuid::parse(canonical);
    EXPECT_EQ(sql_type_of(u), "text");
    EXPECT_EQ(as_text(u), canonical);
    EXPECT_EQ(round_trip<libsql::uuid>(u), u);
    EXPECT_EQ(sql_type_of(libsql::uuid_blob{u}), "blob");
    EXPECT_EQ(conn.query_value<std::int64_t>("SELECT length(?)", libsql::uuid_blob{u}), 16);
    EXPECT_EQ(conn.query_value<std::string>("SELECT lower(hex(?))", libsql::uuid_blob{u}),
              "123e4567e89b12d3a456426614174000");
    EXPECT_EQ(round_trip<libsql::uuid>(libsql::uuid_blob{u}), u);
    EXPECT_EQ(round_trip<libsql::uuid_blob>(u).id, u);
    // Reading accepts text in any case, and blobs of 16 bytes.
    EXPECT_EQ(conn.query_value<libsql::uuid>("SELECT upper(?)", u), u);
    EXPECT_EQ(conn.query_value<libsql::uuid>("SELECT x'123e4567e89b12d3a456426614174000'"), u);

    conn.execute("CREATE TABLE t(id BLOB PRIMARY KEY, label TEXT, tid TEXT)");
    const auto v = libsql::uuid::parse("00000000-0000-4000-8000-000000000001");
    conn.execute("INSERT INTO t VALUES (?, 'u', ?), (?, 'v', ?)", libsql::uuid_blob{u}, u, libsql::uuid_blob{v}, v);
    EXPECT_EQ(conn.query_value<std::string>("SELECT label FROM t WHERE id = ?", libsql::uuid_blob{v}), "v");
    EXPECT_EQ(conn.query_value<std::string>("SELECT label FROM t WHERE tid = ?", u), "u");
    EXPECT_EQ(conn.query_value<libsql::uuid>("SELECT id FROM t WHERE label = 'u'"), u);
    EXPECT_EQ(conn.query_value<libsql::uuid>("SELECT tid FROM t WHERE label = 'v'"), v);

    EXPECT_THROW((void)conn.query_value<libsql::uuid>("SELECT NULL"), libsql::unexpected_null);
    EXPECT_EQ(conn.query_value<std::optional<libsql::uuid>>("SELECT NULL"), std::nullopt);
    EXPECT_EQ(sql_type_of(std::optional<libsql::uuid_blob>{}), "null");
    EXPECT_THROW((void)conn.query_value<libsql::uuid>("SELECT 42"), libsql::conversion_error);
    EXPECT_THROW((void)conn.query_value<libsql::uuid>("SELECT 'not-a-uuid'"), libsql::conversion_error);
    EXPECT_THROW((void)conn.query_value<libsql::uuid>("SELECT x'0011'"), libsql::conversion_error);
}

// ---- decimal ----

TEST(types, decimal_validation) {
    for (auto s : {"0"sv, "-0"sv, "+1"sv, "123"sv, "1.5"sv, "-0.000001"sv, "1e10"sv, "1.25E-7"sv, "6.02e+23"sv,
                   "12345678901234567890.000000001"sv, "007"sv}) {
        EXPECT_TRUE(libsql::decimal::is_valid(s)) << s;
        EXPECT_EQ(libsql::decimal(s).text(), s);
    }
    for (auto s : {""sv, "-"sv, "+"sv, "1."sv, ".5"sv, "1.2.3"sv, "1e"sv, "1e+"sv, "e5"sv, " 1"sv, "1 "sv, "1,5"sv,
                   "inf"sv, "nan"sv, "0x10"sv, "--1"sv, "1..2"sv}) {
        EXPECT_FALSE(libsql::decimal::is_valid(s)) << s;
        EXPECT_THROW((void)libsql::decimal(s), libsql::conversion_error) << s;
    }
    EXPECT_EQ(libsql::decimal().text(), "0");
    EXPECT_EQ(libsql::decimal::from_integer(std::numeric_limits<std::int64_t>::min()).text(), "-9223372036854775808");
    EXPECT_EQ(libsql::decimal::from_double(0.1).text(), "0.1");
    EXPECT_EQ(libsql::decimal::from_double(-2.5).text(), "-2.5");
    EXPECT_EQ(libsql::decimal::from_double(1e300).text(), "1e+300");
    EXPECT_TRUE(libsql::decimal::is_valid(libsql::decimal::from_double(1.0 / 3).text()));
    EXPECT_THROW((void)libsql::decimal::from_double(std::numeric_limits<double>::infinity()), libsql::conversion_error);
    EXPECT_THROW((void)libsql::decimal::from_double(std::numeric_limits<double>::quiet_NaN()), libsql::conversion_error);
}

TEST_F(types_db, decimal_survives_exactly) {
    const libsql::decimal big("12345678901234567890.000000001");
    EXPECT_EQ(sql_type_of(big), "text");
    EXPECT_EQ(round_trip<libsql::decimal>(big).text(), big.text());
    const libsql::decimal trailing("1.50");
    EXPECT_EQ(round_trip<libsql::decimal>(trailing).text(), "1.50");

    conn.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, amount TEXT)");
    conn.execute("INSERT INTO t(amount) VALUES (?), (?), (?)", big, libsql::decimal("-0.000000000000000000001"),
                 std::optional<libsql::decimal>{});
    EXPECT_EQ(conn.query_value<libsql::decimal>("SELECT amount FROM t WHERE id = 1").text(),
              "12345678901234567890.000000001");
    EXPECT_EQ(conn.query_value<libsql::decimal>("SELECT amount FROM t WHERE id = 2").text(), "-0.000000000000000000001");
    EXPECT_FALSE(conn.query_value<std::optional<libsql::decimal>>("SELECT amount FROM t WHERE id = 3").has_value());
    EXPECT_THROW((void)conn.query_value<libsql::decimal>("SELECT amount FROM t WHERE id = 3"), libsql::unexpected_null);

    // INTEGER reads exactly; REAL is refused, its value already rounded.
    EXPECT_EQ(conn.query_value<libsql::decimal>("SELECT 9223372036854775807").text(), "9223372036854775807");
    EXPECT_EQ(conn.query_value<libsql::decimal>("SELECT -5").text(), "-5");
    EXPECT_THROW((void)conn.query_value<libsql::decimal>("SELECT 0.1"), libsql::conversion_error);
    EXPECT_EQ(libsql::decimal::from_double(conn.query_value<double>("SELECT 0.1")).text(), "0.1");
    // Malformed text and blobs are refused.
    EXPECT_THROW((void)conn.query_value<libsql::decimal>("SELECT '12,50'"), libsql::conversion_error);
    EXPECT_THROW((void)conn.query_value<libsql::decimal>("SELECT x'31'"), libsql::conversion_error);
}

TEST_F(types_db, decimal_in_a_numeric_column_loses_precision_which_is_why_we_say_text) {
    // Documents the affinity hazard: a REAL-affinity column converts the text, and reading it back refuses.
    conn.execute("CREATE TABLE n(amount REAL)");
    conn.execute("INSERT INTO n VALUES (?)", libsql::decimal("12345678901234567890.000000001"));
    EXPECT_EQ(conn.query_value<std::string>("SELECT typeof(amount) FROM n"), "real");
    EXPECT_THROW((void)conn.query_value<libsql::decimal>("SELECT amount FROM n"), libsql::conversion_error);
}

} // namespace
