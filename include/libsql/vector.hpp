// libsql/vector.hpp: libSQL vectors as C++ values, so nobody hand-builds blobs.
//
//   conn.execute("INSERT INTO t(emb) VALUES (?)", libsql::f32_vector{{0.1f, 0.2f}});   // F32_BLOB layout
//   auto v = row.get<std::vector<float>>(0);    // any libSQL vector blob: float32/64/16, bfloat16, float8, 1-bit
//
// f32_vector binds as libSQL's float32 layout (what vector32() returns), f64_vector as float64 (vector64()).
// Reading decodes every libSQL vector type the way vector_extract() does (float8 dequantised, 1-bit as +1/-1);
// a blob that is not a libSQL vector, or text/NULL/numbers, throws conversion_error (unexpected_null for NULL).
// At most 65536 components, libSQL's limit.
#pragma once

#include "libsql/value.hpp"

#include <span>
#include <vector>

namespace libsql {

/// A vector of float32 components; binds as libSQL's F32_BLOB format.
struct f32_vector {
    std::vector<float> values;
    friend bool operator==(const f32_vector&, const f32_vector&) = default;
};

/// A vector of float64 components; binds as libSQL's F64_BLOB format (type byte 2).
struct f64_vector {
    std::vector<double> values;
    friend bool operator==(const f64_vector&, const f64_vector&) = default;
};

namespace detail {
[[nodiscard]] blob encode_f32_vector(std::span<const float> v);
[[nodiscard]] blob encode_f64_vector(std::span<const double> v);
/// Decodes a libSQL vector blob of any type; float64 components narrowed to float.
[[nodiscard]] std::vector<float> decode_vector_f32(value_view v);
/// Decodes a libSQL vector blob of any type; float64 exactly, the others widened from float.
[[nodiscard]] std::vector<double> decode_vector_f64(value_view v);
} // namespace detail

template <> struct value_traits<f32_vector> {
    static f32_vector from_value(value_view v) { return f32_vector{detail::decode_vector_f32(v)}; }
    static value to_value(const f32_vector& v) { return value(detail::encode_f32_vector(v.values)); }
};

template <> struct value_traits<f64_vector> {
    static f64_vector from_value(value_view v) { return f64_vector{detail::decode_vector_f64(v)}; }
    static value to_value(const f64_vector& v) { return value(detail::encode_f64_vector(v.values)); }
};

/// std::vector<float> reads any vector blob and binds as float32.
template <> struct value_traits<std::vector<float>> {
    static std::vector<float> from_value(value_view v) { return detail::decode_vector_f32(v); }
    static value to_value(const std::vector<float>& v) { return value(detail::encode_f32_vector(v)); }
};

/// std::vector<double> reads any vector blob and binds as float64.
template <> struct value_traits<std::vector<double>> {
    static std::vector<double> from_value(value_view v) { return detail::decode_vector_f64(v); }
    static value to_value(const std::vector<double>& v) { return value(detail::encode_f64_vector(v)); }
};

/// A span of floats binds as float32 (no reading into a span: it would dangle).
template <> struct value_traits<std::span<const float>> {
    static value to_value(std::span<const float> v) { return value(detail::encode_f32_vector(v)); }
};

} // namespace libsql
