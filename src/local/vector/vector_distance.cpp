// Distance kernels. libSQL accumulates in order, in float for every type but float64; a reordered (multi-lane)
// sum would round differently, so the float sums stay sequential here and the SQL functions give libSQL's exact
// values. What does vectorise is kept in separate loops: half and bfloat16 decoding into float buffers, the
// float8 integer sums, the 1-bit XOR/popcount over 64-bit words.
#include "local/vector/vector_distance.hpp"

#include <bit>
#include <cmath>
#include <cstring>

namespace libsql::vec {
namespace {

struct cos_sums { float dot = 0, n1 = 0, n2 = 0; };

cos_sums cos_f32(const float* a, const float* b, std::uint32_t n) noexcept {
    cos_sums s;
    for (std::uint32_t i = 0; i < n; ++i) {
        s.dot += a[i] * b[i];
        s.n1 += a[i] * a[i];
        s.n2 += b[i] * b[i];
    }
    return s;
}

float l2_f32(const float* a, const float* b, std::uint32_t n) noexcept {
    float sum = 0;
    for (std::uint32_t i = 0; i < n; ++i) {
        const float d = a[i] - b[i];
        sum += d * d;
    }
    return static_cast<float>(std::sqrt(static_cast<double>(sum)));
}

float cos_result(float dot, float n1, float n2) noexcept {
    // libSQL: 1.0 - dot / sqrt(n1 * n2), the product in float, the rest in double
    return static_cast<float>(1.0 - static_cast<double>(dot) / std::sqrt(static_cast<double>(n1 * n2)));
}

std::vector<float> widen(const vector_data& v) {
    std::vector<float> out(v.dims);
    if (v.type == vtype::bf16) {
        for (std::uint32_t i = 0; i < v.dims; ++i) out[i] = bf16_to_float(v.h[i]);
    } else {
        for (std::uint32_t i = 0; i < v.dims; ++i) out[i] = f16_to_float(v.h[i]);
    }
    return out;
}

float hamming(const vector_data& a, const vector_data& b) noexcept {
    const std::size_t bytes = a.q.size();
    std::size_t i = 0;
    int diff = 0;
    for (; i + 8 <= bytes; i += 8) {
        std::uint64_t x, y;
        std::memcpy(&x, a.q.data() + i, 8);
        std::memcpy(&y, b.q.data() + i, 8);
        diff += std::popcount(x ^ y);
    }
    for (; i < bytes; ++i) diff += std::popcount(static_cast<unsigned>(a.q[i] ^ b.q[i]));
    return static_cast<float>(diff);
}

float cos_f8(const vector_data& a, const vector_data& b) noexcept {
    std::uint32_t sum1 = 0, sum2 = 0, sq1 = 0, sq2 = 0, dot = 0;
    const std::uint8_t* x = a.q.data();
    const std::uint8_t* y = b.q.data();
    for (std::uint32_t i = 0; i < a.dims; ++i) {
        const std::uint32_t u = x[i], v = y[i];
        sum1 += u;
        sum2 += v;
        sq1 += u * u;
        sq2 += v * v;
        dot += u * v;
    }
    // (A1 x + S1)(A2 y + S2) summed, from the integer sums; the same operation order as libSQL
    const float n = static_cast<float>(a.dims);
    const float fdot = a.alpha * b.alpha * static_cast<float>(dot) + a.alpha * b.shift * static_cast<float>(sum1) +
                       b.alpha * a.shift * static_cast<float>(sum2) + a.shift * b.shift * n;
    const float n1 = a.alpha * a.alpha * static_cast<float>(sq1) + 2.0f * a.alpha * a.shift * static_cast<float>(sum1) +
                     a.shift * a.shift * n;
    const float n2 = b.alpha * b.alpha * static_cast<float>(sq2) + 2.0f * b.alpha * b.shift * static_cast<float>(sum2) +
                     b.shift * b.shift * n;
    return cos_result(fdot, n1, n2);
}

float l2_f8(const vector_data& a, const vector_data& b) noexcept {
    float sum = 0;
    for (std::uint32_t i = 0; i < a.dims; ++i) {
        const float d = (a.alpha * static_cast<float>(a.q[i]) + a.shift) - (b.alpha * static_cast<float>(b.q[i]) + b.shift);
        sum += d * d;
    }
    return static_cast<float>(std::sqrt(static_cast<double>(sum)));
}

float load_f32(const std::uint8_t* p) noexcept {
    static_assert(std::endian::native == std::endian::little, "the blob is little-endian: add a byte swap here");
    float f;
    std::memcpy(&f, p, sizeof f);
    return f;
}

} // namespace

float distance_cos_f32(const std::uint8_t* a, const std::uint8_t* b, std::uint32_t dims) noexcept {
    float dot = 0, n1 = 0, n2 = 0;
    for (std::uint32_t i = 0; i < dims; ++i) {
        const float x = load_f32(a + 4 * i), y = load_f32(b + 4 * i);
        dot += x * y;
        n1 += x * x;
        n2 += y * y;
    }
    return cos_result(dot, n1, n2);
}

float distance_l2_f32(const std::uint8_t* a, const std::uint8_t* b, std::uint32_t dims) noexcept {
    float sum = 0;
    for (std::uint32_t i = 0; i < dims; ++i) {
        const float d = load_f32(a + 4 * i) - load_f32(b + 4 * i);
        sum += d * d;
    }
    return static_cast<float>(std::sqrt(static_cast<double>(sum)));
}

float distance_cos(const vector_data& a, const vector_data& b) {
    switch (a.type) {
    case vtype::f32: {
        const cos_sums s = cos_f32(a.f32.data(), b.f32.data(), a.dims);
        return cos_result(s.dot, s.n1, s.n2);
    }
    case vtype::f64: {
        double dot = 0, n1 = 0, n2 = 0;
        for (std::uint32_t i = 0; i < a.dims; ++i) {
            dot += a.f64[i] * b.f64[i];
            n1 += a.f64[i] * a.f64[i];
            n2 += b.f64[i] * b.f64[i];
        }
        return static_cast<float>(1.0 - dot / std::sqrt(n1 * n2));
    }
    case vtype::f16:
    case vtype::bf16: {
        const std::vector<float> x = widen(a), y = widen(b);
        const cos_sums s = cos_f32(x.data(), y.data(), a.dims);
        return cos_result(s.dot, s.n1, s.n2);
    }
    case vtype::f8: return cos_f8(a, b);
    case vtype::bit1: return hamming(a, b);
    }
    return 0;
}

float distance_l2(const vector_data& a, const vector_data& b) {
    switch (a.type) {
    case vtype::f32: return l2_f32(a.f32.data(), b.f32.data(), a.dims);
    case vtype::f64: {
        double sum = 0;
        for (std::uint32_t i = 0; i < a.dims; ++i) {
            const double d = a.f64[i] - b.f64[i];
            sum += d * d;
        }
        return static_cast<float>(std::sqrt(sum));
    }
    case vtype::f16:
    case vtype::bf16: {
        const std::vector<float> x = widen(a), y = widen(b);
        return l2_f32(x.data(), y.data(), a.dims);
    }
    case vtype::f8: return l2_f8(a, b);
    case vtype::bit1: return 0;
    }
    return 0;
}

} // namespace libsql::vec
