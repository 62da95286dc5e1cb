// libSQL's vector blob formats, shared by the SQL functions (src/local/vector) and the public value mappings
// (include/libsql/vector.hpp). No engine types here: plain bytes in, plain bytes out.
//
// The layouts are libSQL's (its vectorInt.h documents them; docs/VECTOR.md repeats them):
//   float32   dims x f32 LE, optionally followed by the type byte 1 (an even-length blob is always float32)
//   float64   dims x f64 LE, type byte 2
//   float16   dims x IEEE half LE, type byte 5          floatb16  dims x bfloat16 LE, type byte 6
//   float8    dims x u8, zero padding to a multiple of 4, alpha f32, shift f32, one zero byte,
//             the padding length, type byte 4 (value = alpha * q + shift)
//   float1bit ceil(dims/8) bytes (bit i of byte i/8 is component i: 1 means > 0), a zero byte if that length is
//             even, the count of unused trailing bits, type byte 3
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace libsql::vec {

enum class vtype : std::uint8_t { f32 = 1, f64 = 2, bit1 = 3, f8 = 4, f16 = 5, bf16 = 6 };

/// libSQL's limit on the number of components, for text and blobs alike.
inline constexpr std::int64_t max_dims = 65536;

/// A failure with libSQL's message; nomem stands for the engine's "out of memory" (libSQL fails that way on
/// blobs whose header announces a negative dimension count).
struct vector_error {
    std::string message;
    bool nomem = false;
};

/// One decoded vector in its own storage type.
struct vector_data {
    vtype type = vtype::f32;
    std::uint32_t dims = 0;
    std::vector<float> f32;       // f32
    std::vector<double> f64;      // f64
    std::vector<std::uint16_t> h; // f16, bf16 (raw bits)
    std::vector<std::uint8_t> q;  // f8: one byte per component; bit1: packed bits, ceil(dims/8) bytes
    float alpha = 0, shift = 0;   // f8
};

/// The type and dimension count a blob announces (libSQL's "detect" step), or vector_error.
struct blob_header {
    vtype type;
    std::int64_t dims;
};
[[nodiscard]] blob_header inspect_blob(std::span<const std::uint8_t> blob);

/// Decodes a blob in any of the formats; vector_error with libSQL's message when it is not one.
/// lenient_size: libSQL's vector_extract and distances ignore a payload size mismatch and go on reading
/// uninitialised memory; with it, a mismatch on a vector of no components gives that empty vector, as there.
[[nodiscard]] vector_data decode_blob(std::span<const std::uint8_t> blob, bool lenient_size = false);

/// Parses libSQL's text form '[1, 2.5, -3e4]' as float32 or float64 (libSQL parses text as no other type).
[[nodiscard]] vector_data parse_text(const char* text, vtype as);

/// Converts to another type the way libSQL does (float8 requantises from the values' min and max).
[[nodiscard]] vector_data convert(const vector_data& from, vtype to);

/// The blob libSQL writes for this vector (empty for a float32 vector of no components).
[[nodiscard]] std::vector<std::uint8_t> encode(const vector_data& v);

[[nodiscard]] float f16_to_float(std::uint16_t h) noexcept;
[[nodiscard]] std::uint16_t float_to_f16(float f) noexcept;
[[nodiscard]] float bf16_to_float(std::uint16_t h) noexcept;
[[nodiscard]] std::uint16_t float_to_bf16(float f) noexcept;

/// A float32 or float64 vector from plain components.
[[nodiscard]] vector_data from_floats(std::span<const float> v);
[[nodiscard]] vector_data from_doubles(std::span<const double> v);

} // namespace libsql::vec
