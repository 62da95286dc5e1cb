// Distance kernels over decoded vectors of one type (src/core/vector_format.hpp). Each returns what libSQL's
// vector_distance_cos / vector_distance_l2 return: the distance rounded to float, so results agree to the bit.
#pragma once

#include "core/vector_format.hpp"

namespace libsql::vec {

/// Cosine distance (1 - cos); for float1bit vectors, the Hamming distance. Both vectors have the same type and
/// dimension count. NaN where a norm is zero.
[[nodiscard]] float distance_cos(const vector_data& a, const vector_data& b);

/// Euclidean distance; not defined for float1bit (the caller rejects that).
[[nodiscard]] float distance_l2(const vector_data& a, const vector_data& b);

/// The same for float32 vectors read straight from their blobs (little-endian, any alignment), with no copy:
/// the SQL functions' path for the common case.
[[nodiscard]] float distance_cos_f32(const std::uint8_t* a, const std::uint8_t* b, std::uint32_t dims) noexcept;
[[nodiscard]] float distance_l2_f32(const std::uint8_t* a, const std::uint8_t* b, std::uint32_t dims) noexcept;

} // namespace libsql::vec
