// libsql/types.hpp: value_traits for types the engine has no storage class for: calendar dates, times of day,
// UUIDs and exact decimals. Every one is stored as TEXT that sorts correctly and that SQLite's own functions read.
//
// std::chrono::year_month_day, std::chrono::sys_days
//     "YYYY-MM-DD" (years 0000-9999). Reading is strict: exactly that form, a valid calendar date.
// std::chrono::hh_mm_ss<Duration>
//     a time of day, "HH:MM:SS" plus as many fraction digits as Duration has (".123" for milliseconds), at most 9.
//     Writing refuses negative values and values of 24h or more. Reading accepts "HH:MM", "HH:MM:SS" and any number
//     of fraction digits; digits finer than Duration are truncated (toward midnight).
// libsql::uuid
//     TEXT, canonical lowercase "8-4-4-4-12" by default; wrap it in libsql::uuid_blob to store 16 raw bytes instead
//     (smaller, but unreadable in a shell). Reading accepts either: text in any case, with or without hyphens or
//     braces, and blobs of exactly 16 bytes.
// libsql::decimal
//     a decimal number kept as its exact text, stored as TEXT so no digit is lost. Give the column TEXT (or BLOB/no)
//     affinity: a NUMERIC, INTEGER or REAL column would let SQLite turn the text into a lossy REAL. Reading accepts
//     TEXT and INTEGER (both exact) and refuses REAL, whose value was already rounded to binary; read a double and
//     call decimal::from_double() when that rounding is acceptable.
//
// Durations have no mapping here on purpose: the unit belongs in the schema, so bind d.count() explicitly.
#pragma once

#include "libsql/value.hpp"

#include <array>
#include <chrono>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace libsql {

/// A 16-byte UUID (any version; the library neither generates nor checks the version bits).
class uuid {
public:
    using bytes_type = std::array<std::byte, 16>;

    /// The nil UUID, all zeros.
    constexpr uuid() noexcept = default;
    explicit constexpr uuid(const bytes_type& bytes) noexcept : bytes_(bytes) {}

    /// Parses "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" in any case, also without hyphens (32 hex digits) and either
    /// form inside braces. try_parse() gives nullopt, parse() throws conversion_error on anything else.
    [[nodiscard]] static std::optional<uuid> try_parse(std::string_view text) noexcept;
    [[nodiscard]] static uuid parse(std::string_view text);
    /// Exactly 16 bytes, in the order to_string() prints them; throws conversion_error otherwise.
    [[nodiscard]] static uuid from_bytes(blob_view bytes);

    /// Canonical form: 36 characters, lowercase, hyphenated 8-4-4-4-12.
    [[nodiscard]] std::string to_string() const;
    [[nodiscard]] constexpr const bytes_type& bytes() const noexcept { return bytes_; }
    [[nodiscard]] blob_view as_blob() const noexcept { return bytes_; }
    [[nodiscard]] constexpr bool is_nil() const noexcept { return *this == uuid{}; }

    friend constexpr bool operator==(const uuid&, const uuid&) noexcept = default;
    friend constexpr std::strong_ordering operator<=>(const uuid&, const uuid&) noexcept = default;

private:
    bytes_type bytes_{};
};

/// Binds a uuid as a 16-byte BLOB rather than text: conn.execute("INSERT INTO t VALUES (?)", uuid_blob{id}).
/// Reading a uuid_blob accepts the same as reading a uuid.
struct uuid_blob {
    libsql::uuid id;
    friend constexpr bool operator==(const uuid_blob&, const uuid_blob&) noexcept = default;
};

/// A decimal number held as its exact text: an optional sign, digits, an optional '.' followed by digits, and an
/// optional exponent ('e' or 'E', optional sign, digits). No spaces, no leading or trailing '.', no inf/nan.
/// The text is kept as given (not normalised), so "1.50" stays "1.50"; compare values in your decimal library.
class decimal {
public:
    /// Zero, "0".
    decimal() : text_("0") {}
    /// Throws conversion_error unless is_valid(text).
    explicit decimal(std::string_view text);

    [[nodiscard]] static bool is_valid(std::string_view text) noexcept;
    [[nodiscard]] static decimal from_integer(std::int64_t v);
    /// The shortest text that reads back as exactly d (std::to_chars); throws conversion_error for inf and nan.
    [[nodiscard]] static decimal from_double(double d);

    [[nodiscard]] const std::string& text() const noexcept { return text_; }

private:
    struct trusted {};
    decimal(trusted, std::string text) noexcept : text_(std::move(text)) {}
    std::string text_;
};

namespace detail {
std::string format_date(std::chrono::year_month_day d);
std::chrono::year_month_day parse_date(std::string_view text);
/// since_midnight must lie in [0, 24h); fraction_digits is capped at 9.
std::string format_time_of_day(std::chrono::nanoseconds since_midnight, unsigned fraction_digits);
std::chrono::nanoseconds parse_time_of_day(std::string_view text);
[[noreturn]] void throw_decimal_from_real(double d);
} // namespace detail

template <> struct value_traits<std::chrono::year_month_day> {
    static std::chrono::year_month_day from_value(value_view v) {
        if (v.type() == value_type::text) return detail::parse_date(v.as_text());
        if (v.is_null()) detail::throw_null("date");
        detail::throw_conversion(v.type(), "date");
    }
    static value to_value(const std::chrono::year_month_day& d) { return value(value_view::text(detail::format_date(d))); }
};

template <> struct value_traits<std::chrono::sys_days> {
    static std::chrono::sys_days from_value(value_view v) {
        return std::chrono::sys_days{value_traits<std::chrono::year_month_day>::from_value(v)};
    }
    static value to_value(const std::chrono::sys_days& d) {
        return value(value_view::text(detail::format_date(std::chrono::year_month_day{d})));
    }
};

template <class Rep, class Period> struct value_traits<std::chrono::hh_mm_ss<std::chrono::duration<Rep, Period>>> {
    using duration_type = std::chrono::duration<Rep, Period>;
    using type = std::chrono::hh_mm_ss<duration_type>;
    static type from_value(value_view v) {
        if (v.type() == value_type::text)
            return type(std::chrono::floor<duration_type>(detail::parse_time_of_day(v.as_text())));
        if (v.is_null()) detail::throw_null("time of day");
        detail::throw_conversion(v.type(), "time of day");
    }
    static value to_value(const type& t) {
        return value(value_view::text(detail::format_time_of_day(
            std::chrono::duration_cast<std::chrono::nanoseconds>(t.to_duration()), type::fractional_width)));
    }
};

template <> struct value_traits<uuid> {
    static uuid from_value(value_view v) {
        if (v.type() == value_type::text) return uuid::parse(v.as_text());
        if (v.type() == value_type::blob) return uuid::from_bytes(v.as_blob());
        if (v.is_null()) detail::throw_null("uuid");
        detail::throw_conversion(v.type(), "uuid");
    }
    static value to_value(const uuid& u) { return value(value_view::text(u.to_string())); }
};

template <> struct value_traits<uuid_blob> {
    static uuid_blob from_value(value_view v) { return uuid_blob{value_traits<uuid>::from_value(v)}; }
    /// Points into the argument.
    static value_view to_value(const uuid_blob& u) noexcept { return value_view::blob(u.id.as_blob()); }
};

template <> struct value_traits<decimal> {
    static decimal from_value(value_view v) {
        if (v.type() == value_type::text) return decimal(v.as_text());
        if (v.type() == value_type::integer) return decimal::from_integer(v.as_integer());
        if (v.type() == value_type::real) detail::throw_decimal_from_real(v.as_real());
        if (v.is_null()) detail::throw_null("decimal");
        detail::throw_conversion(v.type(), "decimal");
    }
    /// Points into the argument.
    static value_view to_value(const decimal& d) noexcept { return value_view::text(d.text()); }
};

} // namespace libsql
