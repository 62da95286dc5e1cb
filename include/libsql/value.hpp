// libsql/value.hpp: SQL values and the conversions between them and C++ types.
//
// value       an owning SQL value: null, 64-bit integer, double, UTF-8 text or blob.
// value_view  the same, non-owning: what a row hands out and what a binding takes. Text and blob data belong to
//             whoever produced the view (the running statement, or the caller's object being bound).
// value_traits<T>  the customisation point. Specialise it for your own types with
//             static T from_value(value_view)      (throw conversion_error / unexpected_null when it cannot)
//             static value to_value(const T&)      (or return a value_view that points into the argument)
#pragma once

#include "libsql/error.hpp"

#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

namespace libsql {

enum class value_type : std::uint8_t { null, integer, real, text, blob };
[[nodiscard]] std::string_view to_string(value_type t) noexcept;

using blob = std::vector<std::byte>;
using blob_view = std::span<const std::byte>;

/// A non-owning SQL value. Cheap to copy; valid as long as the text/blob bytes it points to.
class value_view {
public:
    constexpr value_view() noexcept = default;
    [[nodiscard]] static constexpr value_view null() noexcept { return {}; }
    [[nodiscard]] static constexpr value_view integer(std::int64_t v) noexcept { value_view r; r.type_ = value_type::integer; r.i_ = v; return r; }
    [[nodiscard]] static constexpr value_view real(double v) noexcept { value_view r; r.type_ = value_type::real; r.d_ = v; return r; }
    [[nodiscard]] static constexpr value_view text(std::string_view s) noexcept { value_view r; r.type_ = value_type::text; r.data_ = s.data(); r.size_ = s.size(); return r; }
    [[nodiscard]] static value_view blob(blob_view b) noexcept { value_view r; r.type_ = value_type::blob; r.data_ = reinterpret_cast<const char*>(b.data()); r.size_ = b.size(); return r; }

    [[nodiscard]] constexpr value_type type() const noexcept { return type_; }
    [[nodiscard]] constexpr bool is_null() const noexcept { return type_ == value_type::null; }
    /// Unchecked accessors: call only after checking type().
    [[nodiscard]] constexpr std::int64_t as_integer() const noexcept { return i_; }
    [[nodiscard]] constexpr double as_real() const noexcept { return d_; }
    [[nodiscard]] constexpr std::string_view as_text() const noexcept { return {data_, size_}; }
    [[nodiscard]] blob_view as_blob() const noexcept { return {reinterpret_cast<const std::byte*>(data_), size_}; }

    /// Checked conversion through value_traits<T>.
    template <class T> [[nodiscard]] T get() const;

private:
    value_type type_ = value_type::null;
    union { std::int64_t i_ = 0; double d_; };
    const char* data_ = nullptr;
    std::size_t size_ = 0;
};

/// An owning SQL value.
class value {
public:
    value() noexcept = default;
    value(std::nullptr_t) noexcept {}
    explicit value(value_view v);
    /// Any type with value_traits converts, explicitly: value(42), value("text"sv), value(std::optional<int>{}).
    template <class T>
        requires(!std::same_as<std::remove_cvref_t<T>, value> && !std::same_as<std::remove_cvref_t<T>, value_view>)
    explicit value(const T& v);

    [[nodiscard]] value_type type() const noexcept { return static_cast<value_type>(v_.index()); }
    [[nodiscard]] bool is_null() const noexcept { return v_.index() == 0; }
    [[nodiscard]] value_view view() const noexcept;
    template <class T> [[nodiscard]] T get() const { return view().get<T>(); }

    friend bool operator==(const value& a, const value& b) noexcept { return a.v_ == b.v_; }

private:
    std::variant<std::monostate, std::int64_t, double, std::string, libsql::blob> v_;
};

/// Primary template: deliberately undefined. A type without a specialisation cannot be bound or read.
template <class T> struct value_traits;

namespace detail {
[[noreturn]] void throw_conversion(value_type got, std::string_view wanted);
[[noreturn]] void throw_null(std::string_view wanted);
[[noreturn]] void throw_range(std::int64_t v, std::string_view wanted);
[[noreturn]] void throw_range_unsigned(std::uint64_t v);
/// Checks that text is valid UTF-8 (NUL bytes are valid); throws conversion_error otherwise.
void check_utf8(std::string_view s);
std::string format_time_point(std::chrono::system_clock::time_point tp);
std::chrono::system_clock::time_point parse_time_point(std::string_view text);

template <class T> constexpr std::string_view type_name() noexcept {
    if constexpr (std::is_same_v<T, bool>) return "bool";
    else if constexpr (std::is_same_v<T, char>) return "char";
    else if constexpr (std::is_same_v<T, signed char>) return "signed char";
    else if constexpr (std::is_same_v<T, unsigned char>) return "unsigned char";
    else if constexpr (std::is_same_v<T, short>) return "short";
    else if constexpr (std::is_same_v<T, unsigned short>) return "unsigned short";
    else if constexpr (std::is_same_v<T, int>) return "int";
    else if constexpr (std::is_same_v<T, unsigned>) return "unsigned int";
    else if constexpr (std::is_same_v<T, long>) return "long";
    else if constexpr (std::is_same_v<T, unsigned long>) return "unsigned long";
    else if constexpr (std::is_same_v<T, long long>) return "long long";
    else if constexpr (std::is_same_v<T, unsigned long long>) return "unsigned long long";
    else return "integer";
}

template <class T> struct is_optional : std::false_type {};
template <class T> struct is_optional<std::optional<T>> : std::true_type {};
} // namespace detail

template <class T>
concept sql_integer = std::integral<T> && !std::same_as<T, bool>;

template <sql_integer T> struct value_traits<T> {
    static T from_value(value_view v) {
        if (v.type() != value_type::integer) [[unlikely]] {
            if (v.is_null()) detail::throw_null(detail::type_name<T>());
            detail::throw_conversion(v.type(), detail::type_name<T>());
        }
        const std::int64_t i = v.as_integer();
        if constexpr (std::is_signed_v<T>) {
            if constexpr (sizeof(T) < sizeof(std::int64_t)) {
                if (i < std::numeric_limits<T>::min() || i > std::numeric_limits<T>::max()) [[unlikely]]
                    detail::throw_range(i, detail::type_name<T>());
            }
        } else {
            if (i < 0 || static_cast<std::uint64_t>(i) > std::numeric_limits<T>::max()) [[unlikely]]
                detail::throw_range(i, detail::type_name<T>());
        }
        return static_cast<T>(i);
    }
    static value_view to_value(T v) {
        if constexpr (std::is_unsigned_v<T> && sizeof(T) >= sizeof(std::int64_t)) {
            if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) [[unlikely]]
                detail::throw_range_unsigned(v);
        }
        return value_view::integer(static_cast<std::int64_t>(v));
    }
};

template <> struct value_traits<bool> {
    static bool from_value(value_view v) {
        if (v.type() != value_type::integer) [[unlikely]] {
            if (v.is_null()) detail::throw_null("bool");
            detail::throw_conversion(v.type(), "bool");
        }
        if (v.as_integer() != 0 && v.as_integer() != 1) [[unlikely]] detail::throw_range(v.as_integer(), "bool");
        return v.as_integer() != 0;
    }
    static value_view to_value(bool b) noexcept { return value_view::integer(b ? 1 : 0); }
};

template <std::floating_point T> struct value_traits<T> {
    /// Integers read as floating point too (exactly up to 2^53); text and blobs do not.
    static T from_value(value_view v) {
        if (v.type() == value_type::real) [[likely]] return static_cast<T>(v.as_real());
        if (v.type() == value_type::integer) return static_cast<T>(v.as_integer());
        if (v.is_null()) detail::throw_null("floating point");
        detail::throw_conversion(v.type(), "floating point");
    }
    static value_view to_value(T d) noexcept { return value_view::real(static_cast<double>(d)); }
};

template <> struct value_traits<std::string_view> {
    /// The view points into the statement's current row: it is valid until the row advances.
    static std::string_view from_value(value_view v) {
        if (v.type() != value_type::text) [[unlikely]] {
            if (v.is_null()) detail::throw_null("text");
            detail::throw_conversion(v.type(), "text");
        }
        return v.as_text();
    }
    static value_view to_value(std::string_view s) { detail::check_utf8(s); return value_view::text(s); }
};

template <> struct value_traits<std::string> {
    static std::string from_value(value_view v) { return std::string(value_traits<std::string_view>::from_value(v)); }
    static value_view to_value(const std::string& s) { return value_traits<std::string_view>::to_value(s); }
};

template <> struct value_traits<const char*> {
    static value_view to_value(const char* s) {
        if (s == nullptr) return value_view::null();
        return value_traits<std::string_view>::to_value(s);
    }
};
template <std::size_t N> struct value_traits<char[N]> {
    static value_view to_value(const char (&s)[N]) { return value_traits<std::string_view>::to_value(std::string_view(s, std::char_traits<char>::length(s))); }
};

template <> struct value_traits<blob_view> {
    /// Points into the statement's current row: valid until the row advances.
    static blob_view from_value(value_view v) {
        if (v.type() != value_type::blob) [[unlikely]] {
            if (v.is_null()) detail::throw_null("blob");
            detail::throw_conversion(v.type(), "blob");
        }
        return v.as_blob();
    }
    static value_view to_value(blob_view b) noexcept { return value_view::blob(b); }
};

template <> struct value_traits<blob> {
    static blob from_value(value_view v) { auto b = value_traits<blob_view>::from_value(v); return blob(b.begin(), b.end()); }
    static value_view to_value(const blob& b) noexcept { return value_view::blob(b); }
};

template <> struct value_traits<std::vector<std::uint8_t>> {
    static std::vector<std::uint8_t> from_value(value_view v) {
        auto b = value_traits<blob_view>::from_value(v);
        const auto* p = reinterpret_cast<const std::uint8_t*>(b.data());
        return std::vector<std::uint8_t>(p, p + b.size());
    }
    static value_view to_value(const std::vector<std::uint8_t>& b) noexcept { return value_view::blob(std::as_bytes(std::span(b))); }
};

template <> struct value_traits<std::span<const std::uint8_t>> {
    static value_view to_value(std::span<const std::uint8_t> b) noexcept { return value_view::blob(std::as_bytes(b)); }
};

template <> struct value_traits<std::nullptr_t> {
    static value_view to_value(std::nullptr_t) noexcept { return value_view::null(); }
};

template <> struct value_traits<std::nullopt_t> {
    static value_view to_value(std::nullopt_t) noexcept { return value_view::null(); }
};

template <class T> struct value_traits<std::optional<T>> {
    static std::optional<T> from_value(value_view v) {
        if (v.is_null()) return std::nullopt;
        return value_traits<T>::from_value(v);
    }
    static auto to_value(const std::optional<T>& o) -> decltype(value_traits<T>::to_value(*o)) {
        if (!o) return decltype(value_traits<T>::to_value(*o))(value_view::null());
        return value_traits<T>::to_value(*o);
    }
};

/// Time points travel as ISO-8601 UTC text with nanoseconds, "2026-11-26T15:04:05.123456789Z", which sorts as text
/// and which SQLite's date functions read. Reading also accepts a space for 'T', fewer fraction digits, a missing
/// or numeric zone offset, and integers (Unix seconds).
template <> struct value_traits<std::chrono::system_clock::time_point> {
    static std::chrono::system_clock::time_point from_value(value_view v) {
        if (v.type() == value_type::text) return detail::parse_time_point(v.as_text());
        if (v.type() == value_type::integer) return std::chrono::system_clock::time_point(std::chrono::seconds(v.as_integer()));
        if (v.is_null()) detail::throw_null("time_point");
        detail::throw_conversion(v.type(), "time_point");
    }
    static value to_value(std::chrono::system_clock::time_point tp);
};

template <> struct value_traits<value> {
    static value from_value(value_view v) { return value(v); }
    static value_view to_value(const value& v) noexcept { return v.view(); }
};
template <> struct value_traits<value_view> {
    static value_view from_value(value_view v) noexcept { return v; }
    static value_view to_value(value_view v) noexcept { return v; }
};

/// A type that can be bound as a parameter.
template <class T>
concept bindable = requires(const std::remove_cvref_t<T>& v) { value_traits<std::remove_cvref_t<T>>::to_value(v); };
/// A type that can be read from a column.
template <class T>
concept readable = requires(value_view v) { { value_traits<T>::from_value(v) } -> std::convertible_to<T>; };

template <class T> T value_view::get() const { return value_traits<T>::from_value(*this); }

inline value value_traits<std::chrono::system_clock::time_point>::to_value(std::chrono::system_clock::time_point tp) {
    return value(value_view::text(detail::format_time_point(tp)));
}

namespace detail {
/// to_value() may give a value_view or an owning value; this returns a view of either (the value must outlive it).
inline value_view as_view(value_view v) noexcept { return v; }
inline value_view as_view(const value& v) noexcept { return v.view(); }
} // namespace detail

template <class T>
    requires(!std::same_as<std::remove_cvref_t<T>, value> && !std::same_as<std::remove_cvref_t<T>, value_view>)
value::value(const T& v) : value(detail::as_view(value_traits<T>::to_value(v))) {}

} // namespace libsql
