// libsql/statement.hpp: a prepared statement. Prepared once, run any number of times: running it again resets it
// and rebinds, it never prepares the SQL again.
//
//   auto st = conn.prepare("SELECT name FROM users WHERE id = ?");
//   for (int id : ids) std::cout << st.query_row(id).get<std::string>(0) << '\n';
#pragma once

#include "libsql/detail/backend.hpp"
#include "libsql/params.hpp"
#include "libsql/rows.hpp"
#include "libsql/value.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace libsql {

namespace detail {
[[noreturn]] void throw_argument_count(const statement_backend& st, std::size_t given);
[[noreturn]] void throw_unknown_parameter(const statement_backend& st, std::string_view name);
[[noreturn]] void throw_unbound_parameter(const statement_backend& st, int index);

/// Binds one argument. copy=false is only safe for a view into the argument itself (which the caller keeps alive);
/// a value that to_value() converted into (a time_point's text, say) is a temporary, so it is always copied.
template <class T> void bind_arg(statement_backend& st, int index, const T& arg, bool copy) {
    using traits = value_traits<std::remove_cvref_t<T>>;
    if constexpr (std::is_same_v<std::remove_cvref_t<decltype(traits::to_value(arg))>, value_view>) {
        st.bind(index, traits::to_value(arg), copy);
    } else {
        st.bind(index, as_view(traits::to_value(arg)), true);
    }
}

/// Binds a variadic argument list: positional arguments fill ?1, ?2, … in order; named_arg binds by name. Every
/// parameter must end up bound.
template <class... Args> void bind_args(statement_backend& st, bool copy, const Args&... args) {
    constexpr std::size_t named_count = (std::size_t{0} + ... + (is_named_arg<Args>::value ? 1u : 0u));
    const int count = st.parameter_count();
    if constexpr (named_count == 0) {
        if (static_cast<int>(sizeof...(Args)) != count) [[unlikely]] throw_argument_count(st, sizeof...(Args));
        int index = 1;
        (bind_arg(st, index++, args, copy), ...);
    } else {
        std::vector<bool> seen(static_cast<std::size_t>(count) + 1);
        int index = 1;
        auto one = [&](const auto& a) {
            using A = std::remove_cvref_t<decltype(a)>;
            int at;
            if constexpr (is_named_arg<A>::value) {
                at = st.parameter_index(a.name);
                if (at == 0) throw_unknown_parameter(st, a.name);
                bind_arg(st, at, a.arg, copy);
            } else {
                at = index++;
                if (at > count) throw_argument_count(st, sizeof...(Args));
                bind_arg(st, at, a, copy);
            }
            seen[static_cast<std::size_t>(at)] = true;
        };
        (one(args), ...);
        for (int i = 1; i <= count; ++i)
            if (!seen[static_cast<std::size_t>(i)]) throw_unbound_parameter(st, i);
    }
}
void bind_params(statement_backend& st, const params& p);
row materialize(statement_backend& st);
} // namespace detail

class statement {
public:
    statement() = default;
    explicit statement(std::shared_ptr<detail::statement_backend> st) noexcept : st_(std::move(st)) {}

    // --- binding: indexes are 1-based; names with or without their prefix (':', '@', '$').
    template <bindable T> statement& bind(int index, const T& v) {
        backend().bind(index, detail::as_view(value_traits<std::remove_cvref_t<T>>::to_value(v)));
        return *this;
    }
    template <bindable T> statement& bind(std::string_view name, const T& v) { return bind(index_of(name), v); }
    /// Binds the arguments to ?1, ?2, … (named_arg to its name) and checks that every parameter is bound.
    template <class... Args> statement& bind_all(const Args&... args) {
        backend().reset();
        detail::bind_args(backend(), true, args...);
        return *this;
    }
    statement& bind(const params& p) { backend().reset(); detail::bind_params(backend(), p); return *this; }
    statement& clear_bindings() { backend().clear_bindings(); return *this; }
    /// Ends the current run (releasing what it holds) and keeps the bindings.
    statement& reset() noexcept { if (st_) st_->reset(); return *this; }

    // --- running: with arguments, the statement is reset and rebound first (every parameter must be given);
    // without, it runs with its current bindings (unbound parameters are NULL, as in SQLite).
    /// Runs to completion; returns the number of rows changed (0 for statements that change none).
    std::int64_t execute() { backend().reset(); return st_->run(); }
    template <class... Args> requires(sizeof...(Args) > 0) std::int64_t execute(const Args&... args) { return execute_args(args...); }
    /// A cursor over the results.
    [[nodiscard]] rows query() { backend().reset(); return rows(st_); }
    template <class... Args> requires(sizeof...(Args) > 0) [[nodiscard]] rows query(const Args&... args) { return query_args(args...); }
    /// The first row, copied out; no_rows when there is none. The statement is reset afterwards.
    [[nodiscard]] row query_row() { backend().reset(); return detail::materialize(*st_); }
    template <class... Args> requires(sizeof...(Args) > 0) [[nodiscard]] row query_row(const Args&... args) { return query_row_args(args...); }

    // --- introspection
    [[nodiscard]] int parameter_count() const { return backend().parameter_count(); }
    /// The parameter's name with its prefix (":id"), or "" for a nameless '?'.
    [[nodiscard]] std::string_view parameter_name(int index) const;
    [[nodiscard]] std::optional<int> parameter_index(std::string_view name) const {
        const int i = backend().parameter_index(name);
        return i == 0 ? std::nullopt : std::optional<int>(i);
    }
    [[nodiscard]] int column_count() const { return backend().column_count; }
    [[nodiscard]] std::string_view column_name(int index) const;
    [[nodiscard]] std::vector<column_info> columns() const { return backend().columns(); }
    [[nodiscard]] bool readonly() const { return backend().readonly(); }
    [[nodiscard]] bool is_explain() const { return backend().is_explain(); }
    [[nodiscard]] std::string_view sql() const { return backend().sql(); }
    /// The SQL with the current bindings substituted.
    [[nodiscard]] std::string expanded_sql() const { return backend().expanded_sql(); }
    /// The engine's statement handle for local connections, nullptr for others.
    [[nodiscard]] sqlite3_stmt* native_handle() const noexcept { return st_ ? st_->native_handle() : nullptr; }
    [[nodiscard]] explicit operator bool() const noexcept { return st_ != nullptr; }

private:
    detail::statement_backend& backend() const {
        if (!st_) [[unlikely]] throw usage_error("statement: this statement is empty or was moved from");
        return *st_;
    }
    int index_of(std::string_view name) const {
        const int i = backend().parameter_index(name);
        if (i == 0) [[unlikely]] detail::throw_unknown_parameter(*st_, name);
        return i;
    }
    friend class connection;
    template <class... Args> std::int64_t execute_args(const Args&... args) {
        auto& st = backend();
        st.reset();
        if constexpr (sizeof...(Args) == 1 && (is_params<Args> && ...)) {
            detail::bind_params(st, args...);
            return st.run();
        } else {
            // The arguments outlive the run, so they are bound without a copy and unbound afterwards. The guard
            // comes first: when a later argument fails to bind, the earlier ones must not stay bound to the
            // caller's memory either.
            struct unbind {
                detail::statement_backend& s;
                ~unbind() { s.clear_bindings(); }
            } guard{st};
            detail::bind_args(st, false, args...);
            return st.run();
        }
    }
    template <class... Args> rows query_args(const Args&... args) {
        auto& st = backend();
        st.reset();
        bind_any(st, args...);
        return rows(st_);
    }
    template <class... Args> row query_row_args(const Args&... args) {
        auto& st = backend();
        st.reset();
        bind_any(st, args...);
        return detail::materialize(st);
    }
    template <class... Args> static void bind_any(detail::statement_backend& st, const Args&... args) {
        if constexpr (sizeof...(Args) == 1 && (is_params<Args> && ...)) detail::bind_params(st, args...);
        else detail::bind_args(st, true, args...);
    }

    std::shared_ptr<detail::statement_backend> st_;
};

} // namespace libsql
