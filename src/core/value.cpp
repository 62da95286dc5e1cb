#include "libsql/value.hpp"

#include <charconv>
#include <cstdio>
#include <string>

namespace libsql {

std::string_view to_string(value_type t) noexcept {
    switch (t) {
    case value_type::null: return "null";
    case value_type::integer: return "integer";
    case value_type::real: return "real";
    case value_type::text: return "text";
    case value_type::blob: return "blob";
    }
    return "unknown";
}

value::value(value_view v) {
    switch (v.type()) {
    case value_type::null: break;
    case value_type::integer: v_.emplace<std::int64_t>(v.as_integer()); break;
    case value_type::real: v_.emplace<double>(v.as_real()); break;
    case value_type::text: v_.emplace<std::string>(v.as_text()); break;
    case value_type::blob: {
        const auto b = v.as_blob();
        v_.emplace<libsql::blob>(b.begin(), b.end());
        break;
    }
    }
}

value_view value::view() const noexcept {
    switch (v_.index()) {
    case 1: return value_view::integer(*std::get_if<std::int64_t>(&v_));
    case 2: return value_view::real(*std::get_if<double>(&v_));
    case 3: return value_view::text(*std::get_if<std::string>(&v_));
    case 4: return value_view::blob(*std::get_if<libsql::blob>(&v_));
    default: return value_view::null();
    }
}

namespace detail {

void throw_conversion(value_type got, std::string_view wanted) {
    throw conversion_error("cannot read a " + std::string(to_string(got)) + " value as " + std::string(wanted));
}

void throw_null(std::string_view wanted) {
    throw unexpected_null("value is NULL, which " + std::string(wanted) +
                          " cannot hold (read it as std::optional<" + std::string(wanted) + ">)");
}

void throw_range(std::int64_t v, std::string_view wanted) {
    throw conversion_error("integer " + std::to_string(v) + " is out of range for " + std::string(wanted));
}

void throw_range_unsigned(std::uint64_t v) {
    throw conversion_error("unsigned integer " + std::to_string(v) +
                           " does not fit SQLite's signed 64-bit integer");
}

void check_utf8(std::string_view s) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const auto* end = p + s.size();
    // Fast path for ASCII: eight bytes at a time, the last eight overlapping the word before (no byte-wise tail).
    if (s.size() >= 8) {
        std::uint64_t w;
        while (end - p > 8) {
            __builtin_memcpy(&w, p, 8);
            if (w & 0x8080808080808080ull) break;
            p += 8;
        }
        if (end - p <= 8) {
            __builtin_memcpy(&w, end - 8, 8);
            if ((w & 0x8080808080808080ull) == 0) return;
        }
    }
    while (p < end) {
        // Fast path: eight ASCII bytes at a time.
        while (end - p >= 8) {
            std::uint64_t w;
            __builtin_memcpy(&w, p, 8);
            if (w & 0x8080808080808080ull) break;
            p += 8;
        }
        if (p >= end) break;
        const unsigned c = *p;
        if (c < 0x80) { ++p; continue; }
        int n;
        std::uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) { n = 1; cp = c & 0x1F; }
        else if (c >= 0xE0 && c <= 0xEF) { n = 2; cp = c & 0x0F; }
        else if (c >= 0xF0 && c <= 0xF4) { n = 3; cp = c & 0x07; }
        else goto bad;
        if (end - p <= n) goto bad;
        for (int i = 1; i <= n; ++i) {
            if ((p[i] & 0xC0) != 0x80) goto bad;
            cp = (cp << 6) | (p[i] & 0x3Fu);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
            goto bad;
        p += n + 1;
    }
    return;
bad:
    throw conversion_error("text is not valid UTF-8 (invalid byte at offset " +
                           std::to_string(p - reinterpret_cast<const unsigned char*>(s.data())) +
                           "); bind bytes as a blob instead");
}

std::string format_time_point(std::chrono::system_clock::time_point tp) {
    using namespace std::chrono;
    const auto ns = duration_cast<nanoseconds>(tp.time_since_epoch());
    auto days = floor<std::chrono::days>(ns);
    const year_month_day ymd{sys_days{days}};
    auto rest = ns - days;
    const auto h = duration_cast<hours>(rest); rest -= h;
    const auto m = duration_cast<minutes>(rest); rest -= m;
    const auto s = duration_cast<seconds>(rest); rest -= s;
    char buf[64];
    const int n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%09lldZ", static_cast<int>(ymd.year()),
                                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                                static_cast<int>(h.count()), static_cast<int>(m.count()), static_cast<int>(s.count()),
                                static_cast<long long>(rest.count()));
    return std::string(buf, static_cast<std::size_t>(n));
}

std::chrono::system_clock::time_point parse_time_point(std::string_view text) {
    using namespace std::chrono;
    auto fail = [&]() -> void {
        throw conversion_error("text '" + std::string(text.substr(0, 64)) +
                               "' is not an ISO-8601 time (YYYY-MM-DD[THH:MM[:SS[.fff]]][Z|+HH:MM])");
    };
    std::size_t pos = 0;
    auto num = [&](std::size_t digits) -> int {
        if (pos + digits > text.size()) fail();
        int v = 0;
        for (std::size_t i = 0; i < digits; ++i) {
            const char c = text[pos + i];
            if (c < '0' || c > '9') fail();
            v = v * 10 + (c - '0');
        }
        pos += digits;
        return v;
    };
    auto expect = [&](char c) { if (pos >= text.size() || text[pos] != c) fail(); ++pos; };
    const int y = num(4); expect('-');
    const int mo = num(2); expect('-');
    const int d = num(2);
    const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
    if (!ymd.ok()) fail();
    nanoseconds tod{0};
    if (pos < text.size() && (text[pos] == 'T' || text[pos] == ' ')) {
        ++pos;
        const int hh = num(2); expect(':');
        const int mm = num(2);
        int ss = 0;
        if (pos < text.size() && text[pos] == ':') { ++pos; ss = num(2); }
        if (hh > 23 || mm > 59 || ss > 60) fail();
        tod = hours(hh) + minutes(mm) + seconds(ss);
        if (pos < text.size() && text[pos] == '.') {
            ++pos;
            std::int64_t frac = 0;
            int digits = 0;
            while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
                if (digits < 9) { frac = frac * 10 + (text[pos] - '0'); ++digits; }
                ++pos;
            }
            if (digits == 0) fail();
            for (int i = digits; i < 9; ++i) frac *= 10;
            tod += nanoseconds(frac);
        }
    }
    if (pos < text.size()) {
        if (text[pos] == 'Z' || text[pos] == 'z') {
            ++pos;
        } else if (text[pos] == '+' || text[pos] == '-') {
            const int sign = text[pos] == '+' ? 1 : -1;
            ++pos;
            const int oh = num(2);
            if (pos < text.size() && text[pos] == ':') ++pos;
            const int om = num(2);
            if (oh > 23 || om > 59) fail();
            tod -= sign * (hours(oh) + minutes(om));
        }
    }
    if (pos != text.size()) fail();
    const auto t = sys_days{ymd} + tod;
    return system_clock::time_point(duration_cast<system_clock::duration>(t.time_since_epoch()));
}

} // namespace detail
} // namespace libsql
