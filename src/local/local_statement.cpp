#include "local/local.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

namespace libsql::detail {

local_statement::local_statement(std::shared_ptr<db_handle> h, sqlite3_stmt* st, libsql::source_location w)
    : h_(std::move(h)), st_(st), parameter_count_(sqlite3_bind_parameter_count(st)) {
    where = w;
    column_count = sqlite3_column_count(st_);
    std::lock_guard lk(h_->life);
    h_->statements.push_back(this);
}

local_statement::~local_statement() {
    sqlite3_finalize(st_);
    {
        std::lock_guard lk(h_->life);
        auto& v = h_->statements;
        if (auto it = std::find(v.begin(), v.end(), this); it != v.end()) {
            *it = v.back();
            v.pop_back();
        }
    }
    // A closed connection's engine handle may have waited for its last statement.
    if (h_->closed.load()) h_->free_if_unused();
}

void local_statement::fail(int rc) {
    needs_reset_ = false;
    has_row = false;
    // A callback's exception stays pending across the reset: resetting a write statement stopped early (one with
    // RETURNING, failing on its first row) commits its autocommit transaction, and the pending exception is what
    // makes the commit hook turn that commit into a rollback.
    if (h_->pending) [[unlikely]] {
        sqlite3_reset(st_);
        h_->rethrow_pending();
    }
    // The error is read before the reset; reset returns the same code and releases what the statement held.
    try {
        h_->fail(rc, sql(), where);
    } catch (...) {
        sqlite3_reset(st_);
        throw;
    }
}

std::string_view local_statement::parameter_name(int index) const {
    if (index < 1 || index > sqlite3_bind_parameter_count(st_))
        throw_usage("parameter index " + std::to_string(index) + " is out of range: the statement has " +
                    std::to_string(sqlite3_bind_parameter_count(st_)) + " parameter(s)");
    const char* n = sqlite3_bind_parameter_name(st_, index);
    return n ? std::string_view(n) : std::string_view();
}

int local_statement::parameter_index(std::string_view name) const {
    if (name.empty()) return 0;
    std::string key;
    key.reserve(name.size() + 1);
    const char c = name.front();
    if (c == ':' || c == '@' || c == '$' || c == '?') {
        key.assign(name);
        return sqlite3_bind_parameter_index(st_, key.c_str());
    }
    for (const char prefix : {':', '@', '$'}) {
        key.assign(1, prefix);
        key.append(name);
        if (const int i = sqlite3_bind_parameter_index(st_, key.c_str()); i > 0) return i;
    }
    return 0;
}

void local_statement::bind_null(int index) {
    before_bind();
    after_bind(sqlite3_bind_null(st_, index), index);
}

void local_statement::bind_integer(int index, std::int64_t v) {
    before_bind();
    after_bind(sqlite3_bind_int64(st_, index, v), index);
}

void local_statement::bind_real(int index, double v) {
    before_bind();
    after_bind(sqlite3_bind_double(st_, index, v), index);
}

void local_statement::bind_text(int index, const char* data, std::size_t size, bool copy) {
    before_bind();
    after_bind(sqlite3_bind_text64(st_, index, data ? data : "", size, copy ? SQLITE_TRANSIENT : SQLITE_STATIC, SQLITE_UTF8),
               index);
}

void local_statement::bind_blob(int index, const std::byte* data, std::size_t size, bool copy) {
    before_bind();
    // A null pointer would bind NULL: an empty blob is a zero-length zeroblob.
    after_bind(size == 0 ? sqlite3_bind_zeroblob(st_, index, 0)
                         : sqlite3_bind_blob64(st_, index, data, size, copy ? SQLITE_TRANSIENT : SQLITE_STATIC),
               index);
}

// Out of line, so that bind() itself stays a small leaf around the engine call.
void local_statement::bind_failed(int rc, int index) const {
    if (rc == SQLITE_RANGE)
        throw_usage("parameter index " + std::to_string(index) + " is out of range: the statement has " +
                    std::to_string(sqlite3_bind_parameter_count(st_)) + " parameter(s), numbered from 1");
    h_->fail(rc, sql(), where);
}

void local_statement::clear_bindings() {
    if (needs_reset_) reset();
    if (sqlite3_bind_parameter_count(st_) > 64) {
        clear_pending_ = false;
        sqlite3_clear_bindings(st_);
        return;
    }
    clear_pending_ = true;
    rebound_ = 0;
}

void local_statement::clear_unbound() const noexcept {
    clear_pending_ = false;
    const int n = sqlite3_bind_parameter_count(st_);
    const std::uint64_t all = n >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << n) - 1;
    if (rebound_ == all) return;
    if (rebound_ == 0) {
        sqlite3_clear_bindings(st_);
        return;
    }
    for (int i = 1; i <= n; ++i)
        if (((rebound_ >> (i - 1)) & 1) == 0) sqlite3_bind_null(st_, i);
}

void local_statement::reset() noexcept {
    if (needs_reset_) {
        sqlite3_reset(st_);
        needs_reset_ = false;
    }
    has_row = false;
    ++generation;
}

bool local_statement::step() {
    h_->check_open();
    if (h_->has_user_callbacks.load(std::memory_order_acquire)) [[unlikely]] return step_locked();
    // No user callback is installed, so nothing can leave an exception pending during the run: the engine's lock,
    // which sqlite3_step() takes itself, is all a step needs. (Holding it around the call as well, as step_locked()
    // must, cost a lock round trip per row.)
    settle_bindings();
    // A schema change can re-prepare the statement (and change its columns) only on the first step of a run.
    const bool first = !needs_reset_;
    needs_reset_ = true;
    const int rc = sqlite3_step(st_);
    ++generation;
    const bool row = rc == SQLITE_ROW;
    has_row = row;
    if ((row || rc == SQLITE_DONE) && !h_->has_user_callbacks.load(std::memory_order_acquire)) [[likely]] {
        if (row && first) column_count = sqlite3_column_count(st_);
        return row;
    }
    // A failure (its message is the engine's latest; under a race with another thread using this connection,
    // h_->fail() falls back to the generic text for rc), or a callback installed by another thread meanwhile.
    engine_lock lock(h_->db_mutex);
    if (h_->pending) [[unlikely]] fail(SQLITE_ABORT);
    if (!row && rc != SQLITE_DONE) fail(rc);
    if (row) column_count = sqlite3_column_count(st_);
    return row;
}

bool local_statement::step_locked() {
    engine_lock lock(h_->db_mutex);
    settle_bindings();
    needs_reset_ = true;
    const int rc = sqlite3_step(st_);
    ++generation;
    if (rc == SQLITE_ROW) [[likely]] {
        if (h_->pending) [[unlikely]] fail(SQLITE_ABORT);
        has_row = true;
        column_count = sqlite3_column_count(st_);
        return true;
    }
    has_row = false;
    if (rc == SQLITE_DONE) {
        if (h_->pending) [[unlikely]] fail(SQLITE_ABORT);
        return false;
    }
    fail(rc);
}

std::int64_t local_statement::run() {
    h_->check_open();
    engine_lock lock(h_->db_mutex);
    sqlite3* db = h_->db;
    const auto before = sqlite3_total_changes64(db);
    settle_bindings();
    needs_reset_ = true;
    int rc;
    while ((rc = sqlite3_step(st_)) == SQLITE_ROW) {
    }
    ++generation;
    has_row = false;
    if (rc != SQLITE_DONE || h_->pending) [[unlikely]] fail(rc == SQLITE_DONE ? SQLITE_ABORT : rc);
    return sqlite3_total_changes64(db) != before ? sqlite3_changes64(db) : 0;
}

void local_statement::refresh_names() const {
    auto names = std::make_shared<std::vector<std::string>>();
    const int n = sqlite3_column_count(st_);
    names->reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
        const char* c = sqlite3_column_name(st_, i);
        names->emplace_back(c ? c : "");
    }
    names_ = std::move(names);
}

std::shared_ptr<const std::vector<std::string>> local_statement::column_names() const {
    if (!names_ || static_cast<int>(names_->size()) != column_count) refresh_names();
    return names_;
}

std::string_view local_statement::column_name(int index) const {
    if (index < 0 || index >= column_count) throw_column_range(index);
    return (*column_names())[static_cast<std::size_t>(index)];
}

int local_statement::column_index(std::string_view name) const {
    const auto names = column_names();
    for (std::size_t i = 0; i < names->size(); ++i)
        if ((*names)[i] == name) return static_cast<int>(i);
    // SQLite compares column names case-insensitively; so do we, after an exact match fails.
    for (std::size_t i = 0; i < names->size(); ++i) {
        const auto& n = (*names)[i];
        if (n.size() == name.size() &&
            std::equal(n.begin(), n.end(), name.begin(), [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b)); }))
            return static_cast<int>(i);
    }
    return -1;
}

value_view local_statement::column(int index) const { return read_column(st_, h_->db_mutex, index); }

std::vector<column_info> local_statement::columns() const {
    engine_lock lock(h_->db_mutex);
    auto s = [](const char* p) { return p ? std::string(p) : std::string(); };
    const int n = sqlite3_column_count(st_);
    std::vector<column_info> out;
    out.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
        out.push_back(column_info{s(sqlite3_column_name(st_, i)), s(sqlite3_column_decltype(st_, i)),
                                  s(sqlite3_column_database_name(st_, i)), s(sqlite3_column_table_name(st_, i)),
                                  s(sqlite3_column_origin_name(st_, i))});
    }
    return out;
}

std::string_view local_statement::sql() const {
    const char* s = sqlite3_sql(st_);
    return s ? std::string_view(s) : std::string_view();
}

std::string local_statement::expanded_sql() const {
    settle_bindings();
    char* s = sqlite3_expanded_sql(st_);
    if (!s) return std::string(sql());
    std::string out(s);
    sqlite3_free(s);
    return out;
}

} // namespace libsql::detail
