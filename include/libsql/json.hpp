// libsql/json.hpp: value_traits for Boost.JSON's boost::json::value, object and array. Opt-in and header-only:
// the core library does not depend on Boost.JSON; include this header and link Boost::json yourself.
//
// Writing stores TEXT, boost::json::serialize()'s compact form, which SQLite's json functions read. Strings must hold
// valid UTF-8 (conversion_error otherwise), as for any text.
// Reading parses TEXT; malformed JSON throws conversion_error carrying the parser's message, and reading an object
// or array from JSON of another kind throws conversion_error too. BLOBs are refused: since SQLite 3.45 a blob in a
// JSON column is most likely JSONB, SQLite's binary form, which Boost.JSON cannot read; select json(column) to get
// text. Integers keep their exact value up to 2^64-1 (int64 or uint64); larger ones become doubles, as Boost.JSON
// parses them.
#pragma once

#include "libsql/value.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace libsql {

namespace detail {
inline boost::json::value parse_json_value(value_view v, std::string_view wanted) {
    if (v.type() != value_type::text) [[unlikely]] {
        if (v.is_null()) throw_null(wanted);
        if (v.type() == value_type::blob)
            throw conversion_error("blob cannot be read as " + std::string(wanted) +
                                   " (JSONB or bytes); select json(column) to read JSON text");
        throw_conversion(v.type(), wanted);
    }
    boost::json::error_code ec;
    boost::json::value parsed = boost::json::parse(boost::json::string_view(v.as_text().data(), v.as_text().size()), ec);
    if (ec) {
        const std::string_view text = v.as_text();
        throw conversion_error("text '" + std::string(text.substr(0, 64)) + (text.size() > 64 ? "...'" : "'") +
                               " is not valid JSON: " + ec.message());
    }
    return parsed;
}

template <class J> value json_to_value(const J& j) {
    const std::string s = boost::json::serialize(j);
    check_utf8(s);
    return value(value_view::text(s));
}
} // namespace detail

template <> struct value_traits<boost::json::value> {
    static boost::json::value from_value(value_view v) { return detail::parse_json_value(v, "JSON"); }
    static value to_value(const boost::json::value& j) { return detail::json_to_value(j); }
};

template <> struct value_traits<boost::json::object> {
    static boost::json::object from_value(value_view v) {
        boost::json::value j = detail::parse_json_value(v, "JSON object");
        if (!j.is_object()) throw conversion_error("JSON text is not an object");
        return std::move(j.get_object());
    }
    static value to_value(const boost::json::object& j) { return detail::json_to_value(j); }
};

template <> struct value_traits<boost::json::array> {
    static boost::json::array from_value(value_view v) {
        boost::json::value j = detail::parse_json_value(v, "JSON array");
        if (!j.is_array()) throw conversion_error("JSON text is not an array");
        return std::move(j.get_array());
    }
    static value to_value(const boost::json::array& j) { return detail::json_to_value(j); }
};

} // namespace libsql
