#include "libsql/rows.hpp"

namespace libsql {

namespace detail {

statement_backend::~statement_backend() = default;
connection_backend::~connection_backend() = default;

namespace {
error_info info_of(const statement_backend& st) {
    return error_info{0, {}, std::string(st.sql()), st.transport(), st.where};
}
} // namespace

void statement_backend::throw_usage(std::string_view what) const { throw usage_error(std::string(what), info_of(*this)); }

void statement_backend::throw_column_range(int index) const {
    throw usage_error("column index " + std::to_string(index) + " is out of range: the result has " +
                          std::to_string(column_count) + " column(s), numbered from 0",
                      info_of(*this));
}

void statement_backend::throw_stale() const {
    throw usage_error("this row is no longer current: its statement moved on, was reset or was run again",
                      info_of(*this));
}

void statement_backend::throw_no_column(std::string_view name) const {
    throw usage_error("the result has no column named '" + std::string(name) + "'", info_of(*this));
}

void rethrow_for_column(const conversion_error& e, int index, std::string_view name) {
    std::string msg = "column " + std::to_string(index);
    if (!name.empty()) msg += " ('" + std::string(name) + "')";
    msg += ": ";
    msg += e.what();
    if (dynamic_cast<const unexpected_null*>(&e)) throw unexpected_null(msg, e.info());
    throw conversion_error(msg, e.info());
}

} // namespace detail

row row_view::to_row() const {
    if (st_->generation != gen_ || !st_->has_row) st_->throw_stale();
    std::vector<value> values;
    values.reserve(static_cast<std::size_t>(size()));
    for (int i = 0; i < size(); ++i) values.emplace_back(st_->column(i));
    return row(std::move(values), st_->column_names());
}

void row::throw_range(int index) const {
    throw usage_error("column index " + std::to_string(index) + " is out of range: the row has " +
                      std::to_string(values_.size()) + " column(s), numbered from 0");
}

int row::column_index(std::string_view name) const {
    if (names_)
        for (std::size_t i = 0; i < names_->size(); ++i)
            if ((*names_)[i] == name) return static_cast<int>(i);
    throw usage_error("the row has no column named '" + std::string(name) + "'");
}

std::string_view rows::column_name(int index) const {
    if (!st_) throw usage_error("rows: this cursor was moved from or is empty");
    return st_->column_name(index);
}

std::vector<std::string> rows::column_names() const {
    if (!st_) return {};
    return *st_->column_names();
}

row rows::one_row() {
    if (!next()) throw no_rows("expected exactly one row, got none", error_info{0, {}, std::string(st_->sql()), st_->transport(), st_->where});
    row r = current().to_row();
    if (next()) throw unexpected_rows("expected exactly one row, got more", error_info{0, {}, std::string(st_->sql()), st_->transport(), st_->where});
    return r;
}

std::optional<row> rows::opt_row() {
    if (!next()) return std::nullopt;
    row r = current().to_row();
    if (next()) throw unexpected_rows("expected at most one row, got more", error_info{0, {}, std::string(st_->sql()), st_->transport(), st_->where});
    return r;
}

void rows::expect_one_column(bool after_run) const {
    check_owner();
    if (st_->columns_deferred && !after_run) return;
    if (st_->column_count != 1)
        throw unexpected_rows("expected a result of one column, got " + std::to_string(st_->column_count),
                              error_info{0, {}, std::string(st_->sql()), st_->transport(), st_->where});
}

std::size_t rows::skip_all() {
    std::size_t n = 0;
    while (next()) ++n;
    return n;
}

} // namespace libsql
