// libsql/params.hpp: argument lists built at run time, and named arguments.
//
//   conn.execute("INSERT INTO t VALUES (?, ?)", 1, "one");                 // positional, variadic
//   conn.execute("INSERT INTO t VALUES (:id, :name)", named("id", 1), named("name", "one"));
//   libsql::params p;  p.add(1).add("one");                                // built at run time
//   libsql::params q{{"id", 1}, {":name", "one"}};                         // named, from a list
// A name may be given with its prefix (':', '@', '$') or without it.
#pragma once

#include "libsql/value.hpp"

#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace libsql {

/// A named argument for the variadic calls. Holds a view: the argument must outlive the call (it does, in a call).
template <class T> struct named_arg {
    std::string_view name;
    const T& arg;
};
template <class T> [[nodiscard]] named_arg<T> named(std::string_view name, const T& arg) noexcept { return {name, arg}; }

template <class T> struct is_named_arg : std::false_type {};
template <class T> struct is_named_arg<named_arg<T>> : std::true_type {};

/// A run-time argument list: positional values (bound to ?1, ?2, … in order) and named values.
class params {
public:
    struct named_value {
        std::string name;
        libsql::value value;
        template <class T> named_value(std::string n, const T& v) : name(std::move(n)), value(v) {}
    };

    params() = default;
    params(std::initializer_list<named_value> named) : named_(named) {}
    /// From a map of name to value.
    explicit params(const std::map<std::string, libsql::value, std::less<>>& named);

    /// Appends a positional argument.
    template <class T> params& add(const T& v) { positional_.emplace_back(v); return *this; }
    params& add(libsql::value v) { positional_.push_back(std::move(v)); return *this; }
    /// Adds (or replaces) a named argument.
    template <class T> params& add(std::string name, const T& v) { return set_named(std::move(name), libsql::value(v)); }
    params& add(std::string name, libsql::value v) { return set_named(std::move(name), std::move(v)); }

    [[nodiscard]] const std::vector<libsql::value>& positional() const noexcept { return positional_; }
    [[nodiscard]] const std::vector<named_value>& named() const noexcept { return named_; }
    [[nodiscard]] bool empty() const noexcept { return positional_.empty() && named_.empty(); }
    [[nodiscard]] std::size_t size() const noexcept { return positional_.size() + named_.size(); }
    void clear() noexcept { positional_.clear(); named_.clear(); }

private:
    params& set_named(std::string name, libsql::value v);
    std::vector<libsql::value> positional_;
    std::vector<named_value> named_;
};

template <class T> concept is_params = std::same_as<std::remove_cvref_t<T>, params>;

} // namespace libsql
