// libSQL's vector blob formats and conversions (see vector_format.hpp). Every quirk here is libSQL's observable
// behaviour, checked byte for byte against npm libsql by tests/vector/vector_compat_test.cpp; where libSQL reads
// out of bounds we fail instead (docs/VECTOR.md lists those cases).
#include "core/vector_format.hpp"

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

namespace libsql::vec {
namespace {

[[noreturn]] void fail(std::string message) { throw vector_error{std::move(message), false}; }
[[noreturn]] void fail_nomem() { throw vector_error{"out of memory", true}; }

std::uint32_t load_u32(const std::uint8_t* p) noexcept {
    return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
           static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}
std::uint64_t load_u64(const std::uint8_t* p) noexcept {
    return static_cast<std::uint64_t>(load_u32(p)) | static_cast<std::uint64_t>(load_u32(p + 4)) << 32;
}
void store_u32(std::uint8_t* p, std::uint32_t v) noexcept {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
void store_u64(std::uint8_t* p, std::uint64_t v) noexcept {
    for (int i = 0; i < 8; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

std::size_t align4(std::size_t n) noexcept { return (n + 3) / 4 * 4; }

/// libSQL's payload size for a type and (possibly wrapped) dimension count, in its own unsigned arithmetic.
std::uint64_t data_size(vtype t, std::uint32_t dims) noexcept {
    switch (t) {
    case vtype::f32: return std::uint64_t{dims} * 4;
    case vtype::f64: return std::uint64_t{dims} * 8;
    case vtype::bit1: return static_cast<std::uint32_t>(dims + 7u) / 8u;
    case vtype::f8: return align4(dims) + 8;
    case vtype::f16:
    case vtype::bf16: return std::uint64_t{dims} * 2;
    }
    return 0;
}

std::size_t bit_bytes(std::uint32_t dims) noexcept { return (static_cast<std::size_t>(dims) + 7) / 8; }

// Float8 quantisation: libSQL rounds half up through a double and maps NaN to 0 (what x86 makes of its cast).
std::uint8_t quantise(float f) noexcept {
    if (f < 0.0f) return 0;
    if (f > 255.0f) return 255;
    const double g = static_cast<double>(f) + 0.5;
    if (std::isnan(g)) return 0;
    return static_cast<std::uint8_t>(static_cast<int>(g));
}

/// A component of any type as float (float64 narrowed), for the conversions that go through float.
float component(const vector_data& v, std::uint32_t i) noexcept {
    switch (v.type) {
    case vtype::f32: return v.f32[i];
    case vtype::f64: return static_cast<float>(v.f64[i]);
    case vtype::bit1: return ((v.q[i / 8] >> (i & 7)) & 1) ? 1.0f : -1.0f;
    case vtype::f8: return v.alpha * static_cast<float>(v.q[i]) + v.shift;
    case vtype::f16: return f16_to_float(v.h[i]);
    case vtype::bf16: return bf16_to_float(v.h[i]);
    }
    return 0;
}

vector_data to_f8(const vector_data& from) {
    vector_data out;
    out.type = vtype::f8;
    out.dims = from.dims;
    out.q.assign(from.dims, 0);
    // libSQL tracks min/max with plain comparisons (NaN handling included) in float storage.
    // float64 values compare as doubles, the others as floats (a signalling NaN stays as it is)
    float lo = 0, hi = 0;
    for (std::uint32_t i = 0; i < from.dims; ++i) {
        if (from.type == vtype::f64) {
            const double x = from.f64[i];
            if (i == 0) {
                lo = static_cast<float>(x);
                hi = static_cast<float>(x);
            } else {
                lo = static_cast<float>(static_cast<double>(lo) < x ? static_cast<double>(lo) : x);
                hi = static_cast<float>(static_cast<double>(hi) > x ? static_cast<double>(hi) : x);
            }
        } else {
            const float x = component(from, i);
            if (i == 0) {
                lo = x;
                hi = x;
            } else {
                lo = lo < x ? lo : x;
                hi = hi > x ? hi : x;
            }
        }
    }
    const float shift = lo;
    const float alpha = (hi - lo) / 255.0f;
    for (std::uint32_t i = 0; i < from.dims; ++i) {
        float scaled;
        if (from.type == vtype::f64) {
            scaled = static_cast<float>((from.f64[i] - static_cast<double>(shift)) / static_cast<double>(alpha));
        } else if (from.type == vtype::bit1) {
            const int s = ((from.q[i / 8] >> (i & 7)) & 1) ? 1 : -1;
            scaled = (static_cast<float>(s) - shift) / alpha;
        } else {
            scaled = (component(from, i) - shift) / alpha;
        }
        out.q[i] = quantise(scaled);
    }
    out.alpha = alpha;
    out.shift = shift;
    return out;
}

/// sig * 10^exp as the engine inside npm libsql (SQLite 3.45.1's sqlite3AtoF on x86-64) computes it: exact
/// integer scaling first, then products with powers of ten in 80-bit extended precision, rounded to double once.
/// (A correctly rounded conversion differs from it in the last bit now and then.)
double scale_decimal(std::uint64_t sig, std::int64_t exp) noexcept {
    constexpr std::uint64_t top = std::numeric_limits<std::uint64_t>::max();
    while (exp > 0 && sig < top / 10) {
        sig *= 10;
        --exp;
    }
    while (exp < 0 && sig % 10 == 0) {
        sig /= 10;
        ++exp;
    }
    auto r = static_cast<long double>(sig);
    if (exp > 0) {
        for (; exp >= 100; exp -= 100) r *= 1.0e+100L;
        for (; exp >= 10; exp -= 10) r *= 1.0e+10L;
        for (; exp >= 1; exp -= 1) r *= 1.0e+01L;
    } else {
        for (; exp <= -100; exp += 100) r *= 1.0e-100L;
        for (; exp <= -10; exp += 10) r *= 1.0e-10L;
        for (; exp <= -1; exp += 1) r *= 1.0e-01L;
    }
    return static_cast<double>(r);
}

/// A float from the digits libSQL accepts: [+-]digits[.digits][(e|E)[+-]digits], at least one digit. Like the
/// engine, at most ~19 significant digits count, scaled the engine's way (scale_decimal).
bool parse_float(std::string_view s, double& out) {
    constexpr std::uint64_t limit = (std::numeric_limits<std::uint64_t>::max() - 9) / 10;
    std::size_t i = 0;
    const std::size_t n = s.size();
    bool negative = false;
    if (i < n && (s[i] == '-' || s[i] == '+')) negative = s[i++] == '-';
    auto digit = [&](std::size_t k) { return k < n && s[k] >= '0' && s[k] <= '9'; };
    std::uint64_t sig = 0;
    std::int64_t shift = 0;
    int digits = 0;
    while (digit(i)) {
        sig = sig * 10 + static_cast<std::uint64_t>(s[i++] - '0');
        ++digits;
        if (sig >= limit) {
            while (digit(i)) { ++i; ++shift; }
        }
    }
    if (i < n && s[i] == '.') {
        ++i;
        while (digit(i)) {
            if (sig < limit) {
                sig = sig * 10 + static_cast<std::uint64_t>(s[i] - '0');
                --shift;
                ++digits;
            }
            ++i;
        }
    }
    std::int64_t exp = 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        ++i;
        bool exp_negative = false;
        if (i < n && (s[i] == '-' || s[i] == '+')) exp_negative = s[i++] == '-';
        if (!digit(i)) return false;
        while (digit(i)) {
            exp = exp < 10000 ? exp * 10 + (s[i] - '0') : 10000;
            ++i;
        }
        if (exp_negative) exp = -exp;
    }
    if (i != n || digits == 0) return false;
    if (sig == 0) {
        out = negative ? -0.0 : 0.0;
        return true;
    }
    out = scale_decimal(sig, exp + shift);
    if (negative) out = -out;
    return true;
}

bool is_space(char c) noexcept { return c == ' ' || (c >= '\t' && c <= '\r'); }

} // namespace

float f16_to_float(std::uint16_t h) noexcept {
    const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
    int exp = ((h >> 10) & 0x1f) - 15;
    std::uint32_t mant = h & 0x3ffu;
    if (exp == 16) {                 // infinity, or NaN (made quiet, payload dropped)
        exp = 128;
        mant = mant ? 1u << 22 : 0;
    } else if (exp == -15 && mant == 0) {
        exp = -127;
    } else if (exp == -15) {         // subnormal half: normalise
        exp = -14;
        while ((mant & 0x400u) == 0) {
            mant <<= 1;
            --exp;
        }
        mant = (mant & 0x3ffu) << 13;
    } else {
        mant <<= 13;
    }
    return std::bit_cast<float>(sign | static_cast<std::uint32_t>(exp + 127) << 23 | mant);
}

std::uint16_t float_to_f16(float f) noexcept {
    const std::uint32_t bits = std::bit_cast<std::uint32_t>(f);
    const std::uint32_t sign = (bits >> 16) & 0x8000u;
    int exp = static_cast<int>((bits >> 23) & 0xffu) - 127;
    std::uint32_t mant = bits & 0x7fffffu;
    if (exp == 128) {                // infinity or NaN
        exp = 16;
        mant = mant ? 1u << 22 : 0;
    } else if (exp > 15) {           // too large: infinity
        exp = 16;
        mant = 0;
    } else if (exp < -14 && exp >= -25) {
        // subnormal half: libSQL shifts (dropping the low bits) before it rounds
        mant = (mant | 0x800000u) >> (-exp - 14);
        exp = -15;
    } else if (exp < -25) {
        exp = -15;
        mant = 0;
    }
    // round to nearest, ties to even, on the 13 bits that go
    if ((mant & 0x1fffu) > 0x1000u - ((mant >> 13) & 1u)) mant += 0x2000u;
    const std::uint32_t m = mant >> 13;
    return static_cast<std::uint16_t>(sign | static_cast<std::uint32_t>(exp + 15 + static_cast<int>(m >> 10)) << 10 | (m & 0x3ffu));
}

float bf16_to_float(std::uint16_t h) noexcept { return std::bit_cast<float>(static_cast<std::uint32_t>(h) << 16); }
std::uint16_t float_to_bf16(float f) noexcept { return static_cast<std::uint16_t>(std::bit_cast<std::uint32_t>(f) >> 16); }

blob_header inspect_blob(std::span<const std::uint8_t> blob) {
    const std::size_t n = blob.size();
    blob_header h{vtype::f32, 0};
    if (n % 2 == 0) {
        h.dims = static_cast<std::int64_t>(n / 4);
    } else {
        const std::uint8_t t = blob[n - 1];
        const std::size_t m = n - 1;
        const std::string len = std::to_string(static_cast<std::int32_t>(static_cast<std::uint32_t>(m)));
        switch (t) {
        case 1:
            if (m % 4) fail("vector: float32 vector blob length must be divisible by 4 (excluding optional 'type'-byte): length=" + len);
            h = {vtype::f32, static_cast<std::int64_t>(m / 4)};
            break;
        case 2:
            if (m % 8) fail("vector: float64 vector blob length must be divisible by 8 (excluding 'type'-byte): length=" + len);
            h = {vtype::f64, static_cast<std::int64_t>(m / 8)};
            break;
        case 3:
            if (m == 0 || m % 2)
                fail("vector: float1bit vector blob length must be divisible by 2 and not be empty (excluding 'type'-byte): length=" + len);
            // libSQL keeps the count in an int: a trailing-bits byte larger than the payload makes it negative
            h = {vtype::bit1, static_cast<std::int32_t>(static_cast<std::uint32_t>(m * 8 - blob[m - 1]))};
            break;
        case 4:
            if (m < 2 || m % 2)
                fail("vector: float8 vector blob length must be divisible by 2 and has at least 2 bytes (excluding 'type'-byte): length=" + len);
            h = {vtype::f8, static_cast<std::int32_t>(static_cast<std::uint32_t>(m - 2 - 8 - blob[m - 1]))};
            break;
        case 5: h = {vtype::f16, static_cast<std::int64_t>(m / 2)}; break;
        case 6: h = {vtype::bf16, static_cast<std::int64_t>(m / 2)}; break;
        default: fail("vector: unexpected binary type: " + std::to_string(t));
        }
    }
    if (h.dims > max_dims) fail("vector: max size exceeded: " + std::to_string(h.dims) + " > " + std::to_string(max_dims));
    return h;
}

vector_data decode_blob(std::span<const std::uint8_t> blob, bool lenient_size) {
    const blob_header h = inspect_blob(blob);
    const auto dims32 = static_cast<std::uint32_t>(h.dims);
    // libSQL allocates the payload before it checks it; a negative float8 count asks for gigabytes and fails.
    if (h.type == vtype::f8 && h.dims < 0) fail_nomem();
    const std::size_t n = blob.size();
    std::uint64_t payload = 0;
    switch (h.type) {
    case vtype::f32: payload = n % 2 == 0 ? n : n - 1; break;
    case vtype::bit1: payload = static_cast<std::uint64_t>(static_cast<std::int64_t>((h.dims + 7) / 8)); break;
    case vtype::f8: payload = n - 3; break;
    default: payload = n - 1; break;
    }
    const std::uint64_t expected = data_size(h.type, dims32);
    if (payload != expected && lenient_size && h.dims == 0) {
        vector_data empty;
        empty.type = h.type;
        return empty;
    }
    if (payload != expected)
        fail("vector: unexpected data part size: type=" + std::to_string(static_cast<int>(h.type)) +
             ", dims=" + std::to_string(h.dims) + ", " + std::to_string(static_cast<std::uint32_t>(payload)) +
             " != " + std::to_string(static_cast<std::uint32_t>(expected)));
    if (h.dims < 0) // libSQL goes on with a negative count and reads out of bounds; we stop
        fail("vector: float1bit vector blob has more trailing bits than bits: dims=" + std::to_string(h.dims));
    vector_data v;
    v.type = h.type;
    v.dims = dims32;
    const std::uint8_t* p = blob.data();
    switch (h.type) {
    case vtype::f32:
        v.f32.resize(dims32);
        for (std::uint32_t i = 0; i < dims32; ++i) v.f32[i] = std::bit_cast<float>(load_u32(p + 4 * i));
        break;
    case vtype::f64:
        v.f64.resize(dims32);
        for (std::uint32_t i = 0; i < dims32; ++i) v.f64[i] = std::bit_cast<double>(load_u64(p + 8 * i));
        break;
    case vtype::f16:
    case vtype::bf16:
        v.h.resize(dims32);
        for (std::uint32_t i = 0; i < dims32; ++i)
            v.h[i] = static_cast<std::uint16_t>(p[2 * i] | p[2 * i + 1] << 8);
        break;
    case vtype::bit1: v.q.assign(p, p + bit_bytes(dims32)); break;
    case vtype::f8: {
        v.q.assign(p, p + dims32);
        const std::size_t at = align4(dims32);
        v.alpha = std::bit_cast<float>(load_u32(p + at));
        v.shift = std::bit_cast<float>(load_u32(p + at + 4));
        break;
    }
    }
    return v;
}

vector_data parse_text(const char* text, vtype as) {
    if (!text) fail_nomem();
    constexpr std::size_t max_chars = 1024;
    vector_data v;
    v.type = as;
    const char* z = text;
    while (is_space(*z)) ++z;
    if (*z != '[') fail("vector: must start with '['");
    ++z;
    std::string buf;
    std::int64_t count = 0;
    for (; *z; ++z) {
        const char c = *z;
        if (is_space(c)) continue;
        if (c != ',' && c != ']') {
            if (buf.size() > max_chars)
                fail("vector: float string length exceeded " + std::to_string(max_chars) + " characters: '" + buf + "'");
            buf.push_back(c);
            continue;
        }
        if (c == ']' && count == 0 && buf.empty()) break; // '[]'
        double x = 0;
        if (!parse_float(buf, x)) fail("vector: invalid float at position " + std::to_string(count) + ": '" + buf + "'");
        if (count >= max_dims) fail("vector: max size exceeded " + std::to_string(max_dims));
        buf.clear();
        if (as == vtype::f64) v.f64.push_back(x);
        else v.f32.push_back(static_cast<float>(x));
        ++count;
        if (c == ']') break;
    }
    while (is_space(*z)) ++z;
    if (*z != ']') fail("vector: must end with ']'");
    ++z;
    while (is_space(*z)) ++z;
    if (*z) fail("vector: non-space symbols after closing ']' are forbidden");
    v.dims = static_cast<std::uint32_t>(count);
    return v;
}

vector_data convert(const vector_data& from, vtype to) {
    if (from.type == to) return from;
    if (to == vtype::f8) return to_f8(from);
    vector_data out;
    out.type = to;
    out.dims = from.dims;
    const std::uint32_t n = from.dims;
    switch (to) {
    case vtype::f32:
        out.f32.resize(n);
        if (from.type == vtype::f64)
            for (std::uint32_t i = 0; i < n; ++i) out.f32[i] = static_cast<float>(from.f64[i]);
        else
            for (std::uint32_t i = 0; i < n; ++i) out.f32[i] = component(from, i);
        break;
    case vtype::f64:
        out.f64.resize(n);
        for (std::uint32_t i = 0; i < n; ++i) out.f64[i] = static_cast<double>(component(from, i));
        break;
    case vtype::bit1:
        out.q.assign(bit_bytes(n), 0);
        for (std::uint32_t i = 0; i < n; ++i) {
            const bool positive = from.type == vtype::f64 ? from.f64[i] > 0 : component(from, i) > 0;
            if (positive) out.q[i / 8] = static_cast<std::uint8_t>(out.q[i / 8] | 1u << (i & 7));
        }
        break;
    case vtype::f16:
        out.h.resize(n);
        for (std::uint32_t i = 0; i < n; ++i) out.h[i] = float_to_f16(component(from, i));
        break;
    case vtype::bf16:
        out.h.resize(n);
        for (std::uint32_t i = 0; i < n; ++i) out.h[i] = float_to_bf16(component(from, i));
        break;
    case vtype::f8: break;
    }
    return out;
}

std::vector<std::uint8_t> encode(const vector_data& v) {
    std::vector<std::uint8_t> out;
    const std::uint32_t n = v.dims;
    switch (v.type) {
    case vtype::f32:
        out.resize(std::size_t{n} * 4);
        for (std::uint32_t i = 0; i < n; ++i) store_u32(out.data() + 4 * i, std::bit_cast<std::uint32_t>(v.f32[i]));
        break;
    case vtype::f64:
        out.resize(std::size_t{n} * 8 + 1);
        for (std::uint32_t i = 0; i < n; ++i) store_u64(out.data() + 8 * i, std::bit_cast<std::uint64_t>(v.f64[i]));
        out.back() = 2;
        break;
    case vtype::f16:
    case vtype::bf16:
        out.resize(std::size_t{n} * 2 + 1);
        for (std::uint32_t i = 0; i < n; ++i) {
            out[2 * i] = static_cast<std::uint8_t>(v.h[i]);
            out[2 * i + 1] = static_cast<std::uint8_t>(v.h[i] >> 8);
        }
        out.back() = static_cast<std::uint8_t>(v.type);
        break;
    case vtype::bit1: {
        const std::size_t data = bit_bytes(n);
        out.assign(v.q.begin(), v.q.begin() + static_cast<std::ptrdiff_t>(data));
        if (data % 2 == 0) out.push_back(0);
        out.push_back(static_cast<std::uint8_t>(8 * (out.size() + 1) - n)); // 8 * (blob size - 1) - dims
        out.push_back(3);
        break;
    }
    case vtype::f8: {
        const std::size_t at = align4(n);
        out.assign(at + 8 + 3, 0); // libSQL leaves the alignment padding uninitialised; we write zeros
        if (n) std::memcpy(out.data(), v.q.data(), n);
        store_u32(out.data() + at, std::bit_cast<std::uint32_t>(v.alpha));
        store_u32(out.data() + at + 4, std::bit_cast<std::uint32_t>(v.shift));
        out[at + 9] = static_cast<std::uint8_t>(at - n);
        out[at + 10] = 4;
        break;
    }
    }
    return out;
}

vector_data from_floats(std::span<const float> v) {
    if (static_cast<std::int64_t>(v.size()) > max_dims) fail("vector: max size exceeded " + std::to_string(max_dims));
    vector_data out;
    out.type = vtype::f32;
    out.dims = static_cast<std::uint32_t>(v.size());
    out.f32.assign(v.begin(), v.end());
    return out;
}

vector_data from_doubles(std::span<const double> v) {
    if (static_cast<std::int64_t>(v.size()) > max_dims) fail("vector: max size exceeded " + std::to_string(max_dims));
    vector_data out;
    out.type = vtype::f64;
    out.dims = static_cast<std::uint32_t>(v.size());
    out.f64.assign(v.begin(), v.end());
    return out;
}

} // namespace libsql::vec
