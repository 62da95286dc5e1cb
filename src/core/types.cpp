#include "libsql/types.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <string>
#include <system_error>

namespace libsql {

namespace {

[[noreturn]] void bad_text(std::string_view text, std::string_view what) {
    throw conversion_error("text '" + std::string(text.substr(0, 64)) + (text.size() > 64 ? "...'" : "'") +
                           " is not " + std::string(what));
}

int hex_digit(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

} // namespace

// ---- uuid ----

std::optional<uuid> uuid::try_parse(std::string_view text) noexcept {
    if (text.size() >= 2 && text.front() == '{' && text.back() == '}') text = text.substr(1, text.size() - 2);
    const bool hyphens = text.size() == 36;
    if (!hyphens && text.size() != 32) return std::nullopt;
    bytes_type bytes{};
    std::size_t pos = 0;
    for (std::size_t i = 0; i < 16; ++i) {
        if (hyphens && (i == 4 || i == 6 || i == 8 || i == 10)) {
            if (text[pos] != '-') return std::nullopt;
            ++pos;
        }
        const int hi = hex_digit(text[pos]);
        const int lo = hex_digit(text[pos + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        bytes[i] = static_cast<std::byte>(hi * 16 + lo);
        pos += 2;
    }
    return uuid(bytes);
}

uuid uuid::parse(std::string_view text) {
    if (auto u = try_parse(text)) return *u;
    bad_text(text, "a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)");
}

uuid uuid::from_bytes(blob_view bytes) {
    if (bytes.size() != 16)
        throw conversion_error("a blob of " + std::to_string(bytes.size()) + " bytes is not a UUID (16 bytes)");
    bytes_type b{};
    for (std::size_t i = 0; i < 16; ++i) b[i] = bytes[i];
    return uuid(b);
}

std::string uuid::to_string() const {
    static constexpr char digits[] = "0123456789abcdef";
    std::string s;
    s.reserve(36);
    for (std::size_t i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
        const auto b = std::to_integer<unsigned>(bytes_[i]);
        s.push_back(digits[b >> 4]);
        s.push_back(digits[b & 0xfu]);
    }
    return s;
}

// ---- decimal ----

bool decimal::is_valid(std::string_view t) noexcept {
    std::size_t i = 0;
    const std::size_t n = t.size();
    auto digits = [&]() {
        const std::size_t start = i;
        while (i < n && is_digit(t[i])) ++i;
        return i > start;
    };
    if (i < n && (t[i] == '+' || t[i] == '-')) ++i;
    if (!digits()) return false;
    if (i < n && t[i] == '.') {
        ++i;
        if (!digits()) return false;
    }
    if (i < n && (t[i] == 'e' || t[i] == 'E')) {
        ++i;
        if (i < n && (t[i] == '+' || t[i] == '-')) ++i;
        if (!digits()) return false;
    }
    return i == n;
}

decimal::decimal(std::string_view text) : text_(text) {
    if (!is_valid(text)) bad_text(text, "a decimal number ([+-]digits[.digits][e[+-]digits])");
}

decimal decimal::from_integer(std::int64_t v) { return decimal(trusted{}, std::to_string(v)); }

decimal decimal::from_double(double d) {
    if (!std::isfinite(d)) throw conversion_error("a non-finite double (inf or nan) is not a decimal number");
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, d);
    return decimal(trusted{}, std::string(buf, r.ptr));
}

namespace detail {

void throw_decimal_from_real(double d) {
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, d);
    throw conversion_error("REAL " + std::string(buf, r.ptr) +
                           " was already rounded to binary and cannot be read as an exact decimal; store decimals as "
                           "TEXT (column affinity TEXT), or read a double and use decimal::from_double()");
}

// ---- dates and times of day ----

std::string format_date(std::chrono::year_month_day d) {
    const int y = static_cast<int>(d.year());
    if (!d.ok() || y < 0 || y > 9999)
        throw conversion_error("date is not a valid calendar date in years 0000-9999");
    char buf[16];
    const int n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", y, static_cast<unsigned>(d.month()),
                                static_cast<unsigned>(d.day()));
    return std::string(buf, static_cast<std::size_t>(n));
}

std::chrono::year_month_day parse_date(std::string_view text) {
    using namespace std::chrono;
    constexpr std::string_view what = "a date (YYYY-MM-DD)";
    if (text.size() != 10 || text[4] != '-' || text[7] != '-') bad_text(text, what);
    auto num = [&](std::size_t pos, std::size_t len) {
        int v = 0;
        for (std::size_t i = pos; i < pos + len; ++i) {
            if (!is_digit(text[i])) bad_text(text, what);
            v = v * 10 + (text[i] - '0');
        }
        return v;
    };
    const year_month_day d{year{num(0, 4)}, month{static_cast<unsigned>(num(5, 2))},
                           day{static_cast<unsigned>(num(8, 2))}};
    if (!d.ok()) bad_text(text, what);
    return d;
}

std::string format_time_of_day(std::chrono::nanoseconds since_midnight, unsigned fraction_digits) {
    using namespace std::chrono;
    if (since_midnight < nanoseconds::zero() || since_midnight >= hours(24))
        throw conversion_error("a time of day must lie in [00:00:00, 24:00:00)");
    auto rest = since_midnight;
    const auto h = duration_cast<hours>(rest); rest -= h;
    const auto m = duration_cast<minutes>(rest); rest -= m;
    const auto s = duration_cast<seconds>(rest); rest -= s;
    char buf[32];
    int n = std::snprintf(buf, sizeof buf, "%02d:%02d:%02d", static_cast<int>(h.count()), static_cast<int>(m.count()),
                          static_cast<int>(s.count()));
    std::string out(buf, static_cast<std::size_t>(n));
    if (fraction_digits > 0) {
        if (fraction_digits > 9) fraction_digits = 9;
        std::snprintf(buf, sizeof buf, ".%09lld", static_cast<long long>(rest.count()));
        out.append(buf, fraction_digits + 1);
    }
    return out;
}

std::chrono::nanoseconds parse_time_of_day(std::string_view text) {
    using namespace std::chrono;
    constexpr std::string_view what = "a time of day (HH:MM[:SS[.fff]])";
    std::size_t pos = 0;
    auto two = [&]() {
        if (pos + 2 > text.size() || !is_digit(text[pos]) || !is_digit(text[pos + 1])) bad_text(text, what);
        const int v = (text[pos] - '0') * 10 + (text[pos + 1] - '0');
        pos += 2;
        return v;
    };
    const int hh = two();
    if (pos >= text.size() || text[pos] != ':') bad_text(text, what);
    ++pos;
    const int mm = two();
    int ss = 0;
    nanoseconds frac{0};
    if (pos < text.size() && text[pos] == ':') {
        ++pos;
        ss = two();
        if (pos < text.size() && text[pos] == '.') {
            ++pos;
            std::int64_t f = 0;
            int digits = 0;
            while (pos < text.size() && is_digit(text[pos])) {
                if (digits < 9) { f = f * 10 + (text[pos] - '0'); ++digits; }
                ++pos;
            }
            if (digits == 0) bad_text(text, what);
            for (int i = digits; i < 9; ++i) f *= 10;
            frac = nanoseconds(f);
        }
    }
    if (pos != text.size() || hh > 23 || mm > 59 || ss > 59) bad_text(text, what);
    return hours(hh) + minutes(mm) + seconds(ss) + frac;
}

} // namespace detail
} // namespace libsql
