// The public vector mappings (include/libsql/vector.hpp) over the shared libSQL formats.
#include "libsql/vector.hpp"

#include "core/vector_format.hpp"

#include <cstring>

namespace libsql::detail {
namespace {

blob to_blob(const std::vector<std::uint8_t>& bytes) {
    blob out(bytes.size());
    if (!bytes.empty()) std::memcpy(out.data(), bytes.data(), bytes.size());
    return out;
}

vec::vector_data decode(value_view v, std::string_view wanted) {
    if (v.type() != value_type::blob) {
        if (v.is_null()) throw_null(wanted);
        throw_conversion(v.type(), wanted);
    }
    const blob_view b = v.as_blob();
    try {
        return vec::decode_blob({reinterpret_cast<const std::uint8_t*>(b.data()), b.size()});
    } catch (const vec::vector_error& e) {
        throw conversion_error("blob is not a libSQL vector (" + e.message + ")");
    }
}

template <class F> blob encode_checked(F&& make) {
    try {
        return to_blob(vec::encode(make()));
    } catch (const vec::vector_error& e) {
        throw conversion_error(e.message);
    }
}

} // namespace

blob encode_f32_vector(std::span<const float> v) { return encode_checked([&] { return vec::from_floats(v); }); }
blob encode_f64_vector(std::span<const double> v) { return encode_checked([&] { return vec::from_doubles(v); }); }

std::vector<float> decode_vector_f32(value_view v) {
    vec::vector_data d = decode(v, "vector of float");
    if (d.type != vec::vtype::f32) d = vec::convert(d, vec::vtype::f32);
    return std::move(d.f32);
}

std::vector<double> decode_vector_f64(value_view v) {
    vec::vector_data d = decode(v, "vector of double");
    if (d.type != vec::vtype::f64) d = vec::convert(d, vec::vtype::f64);
    return std::move(d.f64);
}

} // namespace libsql::detail
