// libsql/rows.hpp: reading results.
//
// rows      a streaming cursor over a statement's results: constant memory, one row at a time.
// row_view  the current row of a running statement; valid until the cursor moves (checked: a stale view throws
//           usage_error rather than reading another row's data).
// row       an owned copy of one row (what query_row() and rows::one_row() return).
// Typed access: get<T>(index) or get<T>("name"), std::optional<T> for NULL, as<A, B, C>() for a tuple.
#pragma once

#include "libsql/detail/backend.hpp"
#include "libsql/error.hpp"
#include "libsql/value.hpp"

#include <cstddef>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace libsql {

/// What a statement says about one result column.
struct column_info {
    std::string name;           ///< the column's name in the result (AS alias if any)
    std::string declared_type;  ///< declared type of the origin column, "" for expressions
    std::string database;       ///< origin database ("main"), "" for expressions
    std::string table;          ///< origin table, "" for expressions
    std::string origin_name;    ///< origin column name, "" for expressions
    friend bool operator==(const column_info&, const column_info&) = default;
};

namespace detail {
[[noreturn]] void rethrow_for_column(const conversion_error& e, int index, std::string_view name);

/// Typed access shared by row_view and row: Derived provides at_unchecked(i), size(), index_of(name), name_of(i).
template <class Derived> class row_access {
public:
    template <readable T> [[nodiscard]] T get(int index) const {
        const auto& self = static_cast<const Derived&>(*this);
        self.check(index);
        try {
            return value_traits<T>::from_value(self.at_unchecked(index));
        } catch (const conversion_error& e) {
            rethrow_for_column(e, index, self.column_name(index));
        }
    }
    template <readable T> [[nodiscard]] T get(std::string_view name) const {
        return get<T>(static_cast<const Derived&>(*this).column_index(name));
    }
    /// The raw value of a column.
    [[nodiscard]] value_view at(int index) const {
        const auto& self = static_cast<const Derived&>(*this);
        self.check(index);
        return self.at_unchecked(index);
    }
    [[nodiscard]] value_view at(std::string_view name) const { return at(static_cast<const Derived&>(*this).column_index(name)); }
    [[nodiscard]] bool is_null(int index) const { return at(index).is_null(); }

    /// The first sizeof...(Ts) columns as a tuple: auto [id, name] = r.as<int, std::string>();
    template <readable... Ts> [[nodiscard]] std::tuple<Ts...> as() const {
        if (static_cast<int>(sizeof...(Ts)) > static_cast<const Derived&>(*this).size())
            static_cast<const Derived&>(*this).check(static_cast<int>(sizeof...(Ts)) - 1);
        return as_impl<Ts...>(std::index_sequence_for<Ts...>{});
    }
    /// Reads the first columns into existing variables: r.to(id, name);
    template <readable... Ts> void to(Ts&... out) const { std::tie(out...) = as<Ts...>(); }

private:
    template <class... Ts, std::size_t... I> std::tuple<Ts...> as_impl(std::index_sequence<I...>) const {
        return std::tuple<Ts...>{get<Ts>(static_cast<int>(I))...};
    }
};
} // namespace detail

class row;

/// The current row of a running statement. Cheap to copy; reading it after its cursor moved throws usage_error.
class row_view : public detail::row_access<row_view> {
public:
    row_view(detail::statement_backend* st, std::uint64_t generation) noexcept : st_(st), gen_(generation) {}

    [[nodiscard]] int size() const noexcept { return st_->column_count; }
    [[nodiscard]] std::string_view column_name(int index) const { check(index); return st_->column_name(index); }
    [[nodiscard]] int column_index(std::string_view name) const {
        const int i = st_->column_index(name);
        if (i < 0) [[unlikely]] st_->throw_no_column(name);
        return i;
    }
    /// An owned copy of this row.
    [[nodiscard]] row to_row() const;

    void check(int index) const {
        // Every step and reset moves the generation on, so an unchanged one means this row is still current.
        if (st_->generation != gen_) [[unlikely]] st_->throw_stale();
        if (static_cast<unsigned>(index) >= static_cast<unsigned>(st_->column_count)) [[unlikely]] st_->throw_column_range(index);
    }
    [[nodiscard]] value_view at_unchecked(int index) const { return st_->column(index); }

private:
    detail::statement_backend* st_;
    std::uint64_t gen_;
};

/// An owned row: its values and the result's column names.
class row : public detail::row_access<row> {
public:
    row() = default;
    row(std::vector<value> values, std::shared_ptr<const std::vector<std::string>> names) noexcept
        : values_(std::move(values)), names_(std::move(names)) {}

    [[nodiscard]] int size() const noexcept { return static_cast<int>(values_.size()); }
    [[nodiscard]] std::string_view column_name(int index) const { check(index); return (*names_)[static_cast<std::size_t>(index)]; }
    [[nodiscard]] int column_index(std::string_view name) const;
    [[nodiscard]] const std::vector<value>& values() const noexcept { return values_; }

    void check(int index) const {
        if (static_cast<std::size_t>(static_cast<unsigned>(index)) >= values_.size()) [[unlikely]] throw_range(index);
    }
    [[nodiscard]] value_view at_unchecked(int index) const { return values_[static_cast<std::size_t>(index)].view(); }

private:
    [[noreturn]] void throw_range(int index) const;
    std::vector<value> values_;
    std::shared_ptr<const std::vector<std::string>> names_;
};

template <class T>
concept owning_readable = readable<T> && !std::same_as<T, std::string_view> && !std::same_as<T, blob_view> &&
                          !std::same_as<T, value_view>;

/// A streaming cursor. Move-only; while it lives, its statement belongs to it (running the statement again, or
/// resetting it, makes this cursor throw usage_error on its next use). Destroying it resets the statement, which
/// releases the read lock an unfinished query holds.
class rows {
public:
    class iterator {
    public:
        using iterator_category = std::input_iterator_tag;
        using value_type = row_view;
        using difference_type = std::ptrdiff_t;
        iterator() = default;
        explicit iterator(rows* r) noexcept : r_(r) {}
        [[nodiscard]] row_view operator*() const { return r_->current(); }
        iterator& operator++() { if (!r_->next()) r_ = nullptr; return *this; }
        void operator++(int) { ++*this; }
        friend bool operator==(const iterator& a, std::default_sentinel_t) noexcept { return a.r_ == nullptr; }
    private:
        rows* r_ = nullptr;
    };

    rows() = default;
    // A null statement makes an empty cursor (and keeps g++'s -Wnull-dereference quiet where it cannot prove
    // that callers checked).
    rows(std::shared_ptr<detail::statement_backend> st) noexcept : st_(std::move(st)), gen_(st_ ? std::uint64_t{st_->generation} : std::uint64_t{0}) {}
    // A moved-from cursor is like an empty one (fresh, no statement): its next use is a usage_error.
    rows(rows&& o) noexcept : st_(std::move(o.st_)), gen_(o.gen_), state_(std::exchange(o.state_, state::fresh)) {}
    rows& operator=(rows&& o) noexcept {
        if (this != &o) { finish(); st_ = std::move(o.st_); gen_ = o.gen_; state_ = std::exchange(o.state_, state::fresh); }
        return *this;
    }
    rows(const rows&) = delete;
    rows& operator=(const rows&) = delete;
    ~rows() { finish(); }

    /// Moves to the next row; false when there are no more.
    bool next() {
        if (state_ == state::done) return false;
        check_owner();
        const bool more = st_->step();
        gen_ = st_->generation;
        state_ = more ? state::on_row : state::done;
        return more;
    }
    /// The current row (valid until next()).
    [[nodiscard]] row_view current() const {
        if (state_ != state::on_row) [[unlikely]] {
            check_owner();  // an empty or moved-from cursor has no statement to name
            st_->throw_usage("no current row: call next() first, or the rows are exhausted");
        }
        return row_view(st_.get(), gen_);
    }

    [[nodiscard]] iterator begin() {
        if (state_ == state::fresh && !next()) return iterator();
        return state_ == state::on_row ? iterator(this) : iterator();
    }
    [[nodiscard]] std::default_sentinel_t end() const noexcept { return {}; }

    [[nodiscard]] int column_count() const noexcept { return st_ ? st_->column_count : 0; }
    [[nodiscard]] std::string_view column_name(int index) const;
    [[nodiscard]] std::vector<std::string> column_names() const;

    /// Exactly one row, or unexpected_rows (no_rows when there is none).
    [[nodiscard]] row one_row();
    /// Zero or one row; unexpected_rows when there are more.
    [[nodiscard]] std::optional<row> opt_row();
    /// The single value of a result that must be exactly one row of one column.
    template <owning_readable T> [[nodiscard]] T one_value() {
        expect_one_column();
        const row r = one_row();
        expect_one_column(true);
        return r.get<T>(0);
    }
    /// Zero or one row of one column.
    template <owning_readable T> [[nodiscard]] std::optional<T> opt_value() {
        expect_one_column();
        auto r = opt_row();
        expect_one_column(true);
        if (!r) return std::nullopt;
        return r->get<T>(0);
    }
    /// Reads every remaining row as a tuple of the given types.
    template <owning_readable... Ts> [[nodiscard]] std::vector<std::tuple<Ts...>> all() {
        std::vector<std::tuple<Ts...>> out;
        while (next()) out.push_back(current().as<Ts...>());
        return out;
    }
    /// Steps through the remaining rows and counts them.
    std::size_t skip_all();

private:
    enum class state : std::uint8_t { fresh, on_row, done };
    void check_owner() const {
        if (!st_) [[unlikely]] throw usage_error("rows: this cursor was moved from or is empty");
        if (st_->generation != gen_) [[unlikely]] st_->throw_stale();
    }
    /// Before running (after_run=false) a statement whose columns are deferred passes; after running it is checked.
    void expect_one_column(bool after_run = false) const;
    void finish() noexcept {
        if (st_ && state_ != state::done && st_->generation == gen_) st_->reset();
    }

    std::shared_ptr<detail::statement_backend> st_;
    std::uint64_t gen_ = 0;
    state state_ = state::fresh;
};

} // namespace libsql
