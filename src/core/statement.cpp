#include "libsql/statement.hpp"

namespace libsql {

namespace detail {

namespace {
error_info info_of(const statement_backend& st) {
    return error_info{0, {}, std::string(st.sql()), st.transport(), st.where};
}
} // namespace

void throw_argument_count(const statement_backend& st, std::size_t given) {
    throw usage_error("the statement has " + std::to_string(st.parameter_count()) + " parameter(s) but " +
                          std::to_string(given) + " argument(s) were given",
                      info_of(st));
}

void throw_unknown_parameter(const statement_backend& st, std::string_view name) {
    throw usage_error("the statement has no parameter named '" + std::string(name) + "'", info_of(st));
}

void throw_unbound_parameter(const statement_backend& st, int index) {
    const auto name = st.parameter_name(index);
    throw usage_error("parameter " + (name.empty() ? "?" + std::to_string(index) : std::string(name)) +
                          " was given no value",
                      info_of(st));
}

void bind_params(statement_backend& st, const params& p) {
    const int count = st.parameter_count();
    std::vector<bool> seen(static_cast<std::size_t>(count) + 1);
    int index = 1;
    for (const auto& v : p.positional()) {
        if (index > count) throw_argument_count(st, p.size());
        st.bind(index, v.view());
        seen[static_cast<std::size_t>(index++)] = true;
    }
    for (const auto& n : p.named()) {
        const int at = st.parameter_index(n.name);
        if (at == 0) throw_unknown_parameter(st, n.name);
        st.bind(at, n.value.view());
        seen[static_cast<std::size_t>(at)] = true;
    }
    for (int i = 1; i <= count; ++i)
        if (!seen[static_cast<std::size_t>(i)]) throw_unbound_parameter(st, i);
}

row materialize(statement_backend& st) {
    struct resetter {
        statement_backend& s;
        ~resetter() { s.reset(); }
    } guard{st};
    if (!st.step()) throw no_rows("the query returned no rows", info_of(st));
    const int n = st.column_count;
    std::vector<value> values;
    values.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) values.emplace_back(st.column(i));
    return row(std::move(values), st.column_names());
}

} // namespace detail

std::string_view statement::parameter_name(int index) const { return backend().parameter_name(index); }

std::string_view statement::column_name(int index) const { return backend().column_name(index); }

} // namespace libsql
