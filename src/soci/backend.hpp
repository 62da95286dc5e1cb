// The SOCI backend's classes (internal): SOCI's backend interfaces implemented on libsql-cpp's public API only, so
// the one implementation serves local files, libsql serve / Turso and embedded replicas alike.
#pragma once

#include "libsql/soci.hpp"

#include <libsql/libsql.hpp>

#include <soci/soci-backend.h>

#include <cstddef>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace libsql::soci_backend {

using ::soci::data_type;
using ::soci::indicator;
using ::soci::details::exchange_type;
using ::soci::details::statement_type;
using exec_fetch_result = ::soci::details::statement_backend::exec_fetch_result;

/// The parsed connection string: the database's path or URL and the options for libsql::database.
struct connect_spec {
    std::string target;
    connect_options options;
};
/// "path-or-url key=value key='quoted value' ..." (also "db=path"); unknown keys and bad values throw soci_error.
[[nodiscard]] connect_spec parse_connect_string(std::string_view text);

/// Runs f, turning a libsql::error into libsql_soci_error (the message prefixed by where).
template <class F> decltype(auto) guarded(const char* where, F&& f);
[[noreturn]] void rethrow_as_soci(const libsql::error& e, const char* where);

/// SQLite's conversions, applied when a value is read into a C++ type other than its own (as sqlite3_column_*
/// does for SOCI's sqlite3 backend): text to numbers, numbers to text.
[[nodiscard]] std::int64_t to_int64(const value& v);
[[nodiscard]] double to_double(const value& v);
[[nodiscard]] std::string to_text(const value& v);
/// "YYYY-MM-DD HH:MM:SS" (any non-digit separators; a date alone is midnight), as SOCI parses dates.
void parse_tm(std::string_view text, std::tm& out);
[[nodiscard]] std::string format_tm(const std::tm& t);

struct session_backend;
struct statement_backend;

/// What every into and use element knows: its statement, the user's variable, its type and its position.
struct element_binding {
    explicit element_binding(statement_backend& st) noexcept : st_(st) {}
    statement_backend& st_;
    void* data_ = nullptr;
    exchange_type type_{};
    int position_ = 0;
};

/// Into (standard and vector) read the current batch of rows that statement_backend fetched.
struct into_backend final : ::soci::details::standard_into_type_backend, element_binding {
    explicit into_backend(statement_backend& st) noexcept : element_binding(st) {}
    void define_by_pos(int& position, void* data, exchange_type type) override;
    void pre_fetch() override {}
    void post_fetch(bool got_data, bool called_from_fetch, indicator* ind) override;
    void clean_up() override {}
};

struct vector_into_backend final : ::soci::details::vector_into_type_backend, element_binding {
    explicit vector_into_backend(statement_backend& st) noexcept : element_binding(st) {}
    void define_by_pos(int& position, void* data, exchange_type type) override;
    void pre_fetch() override {}
    void post_fetch(bool got_data, indicator* ind) override;
    void resize(std::size_t sz) override;
    std::size_t size() override;
    void clean_up() override {}
};

/// Use elements write their values into statement_backend::use_rows_ (one row, or one per bulk element).
struct use_backend final : ::soci::details::standard_use_type_backend, element_binding {
    explicit use_backend(statement_backend& st) noexcept : element_binding(st) {}
    void bind_by_pos(int& position, void* data, exchange_type type, bool read_only) override;
    void bind_by_name(const std::string& name, void* data, exchange_type type, bool read_only) override;
    void pre_use(const indicator* ind) override;
    void post_use(bool, indicator*) override {}
    void clean_up() override {}
};

struct vector_use_backend final : ::soci::details::vector_use_type_backend, element_binding {
    explicit vector_use_backend(statement_backend& st) noexcept : element_binding(st) {}
    void bind_by_pos(int& position, void* data, exchange_type type) override;
    void bind_by_name(const std::string& name, void* data, exchange_type type) override;
    void pre_use(const indicator* ind) override;
    std::size_t size() override;
    void clean_up() override {}
};

struct column_desc {
    std::string name;
    data_type type{};
};

struct statement_backend final : ::soci::details::statement_backend {
    explicit statement_backend(session_backend& s) noexcept : session_(s) {}

    void alloc() override {}
    void clean_up() override;
    void prepare(const std::string& query, statement_type type) override;
    exec_fetch_result execute(int number) override;
    exec_fetch_result fetch(int number) override;
    long long get_affected_rows() override;
    int get_number_of_rows() override { return static_cast<int>(rows_.size()); }
    std::string get_parameter_name(int index) const override;
    std::string rewrite_for_procedure_call(const std::string& query) override { return query; }
    int prepare_for_describe() override;
    void describe_column(int col, data_type& type, std::string& name) override;

    into_backend* make_into_type_backend() override { return new into_backend(*this); }
    use_backend* make_use_type_backend() override { return new use_backend(*this); }
    vector_into_backend* make_vector_into_type_backend() override {
        has_vector_into_ = true;
        return new vector_into_backend(*this);
    }
    vector_use_backend* make_vector_use_type_backend() override { return new vector_use_backend(*this); }

    /// The parameter a use element binds by name (":name"); 0 when the statement has none such.
    [[nodiscard]] int parameter_index(const std::string& name);
    void mark_binding(bool by_name);
    /// The value slot for bulk row `row` (0 for a single use) at 1-based parameter `position`.
    [[nodiscard]] value& use_slot(std::size_t row, int position);
    /// The fetched row `row` of the current batch, column `position` (1-based).
    [[nodiscard]] const value& cell(std::size_t row, int position) const;

    session_backend& session_;
    libsql::statement stmt_;
    std::string sql_;
    std::optional<libsql::rows> cursor_;
    std::vector<std::vector<value>> rows_;       ///< the batch of rows the last execute() or fetch() read
    std::vector<std::vector<value>> use_rows_;   ///< the values to bind: one row per bulk element
    std::vector<column_desc> columns_;
    bool has_vector_into_ = false;
    bool by_name_ = false;
    bool by_pos_ = false;
    long long affected_ = -1;

private:
    exec_fetch_result load(int number);
    void bind_row(std::size_t row);
};

struct rowid_backend final : ::soci::details::rowid_backend {
    long long value_ = 0;
};

/// SOCI's blob: an in-memory buffer, read from and written to a BLOB column as a whole (as with SQLite).
struct blob_backend final : ::soci::details::blob_backend {
    std::size_t get_len() override { return data_.size(); }
    std::size_t read(std::size_t offset, char* buf, std::size_t to_read) override;
    std::size_t read_from_start(char* buf, std::size_t to_read, std::size_t offset) override {
        return read(offset, buf, to_read);
    }
    std::size_t write(std::size_t offset, const char* buf, std::size_t to_write) override;
    std::size_t write_from_start(const char* buf, std::size_t to_write, std::size_t offset) override {
        return write(offset, buf, to_write);
    }
    std::size_t append(const char* buf, std::size_t to_write) override;
    void trim(std::size_t new_len) override;

    std::string data_;
};

struct session_backend final : ::soci::details::session_backend {
    explicit session_backend(const ::soci::connection_parameters& params);
    ~session_backend() override;

    bool is_connected() override { return conn_.is_open(); }
    void begin() override;
    void commit() override;
    void rollback() override;
    bool get_last_insert_id(::soci::session&, const std::string& table, long long& value) override;

    std::string get_table_names_query() const override {
        return "select name as \"TABLE_NAME\" from sqlite_master where type = 'table' and name not like 'sqlite_%'";
    }
    std::string get_column_descriptions_query() const override;
    std::string create_column_type(data_type dt, int precision, int scale) override;
    /// libSQL's ALTER TABLE t ALTER COLUMN c TO c <type> (engine/patches/0020-alter-column.patch); constraints
    /// that SOCI's ddl_type appends ("not null") become part of the new definition.
    std::string alter_column(const std::string& table, const std::string& column, data_type dt, int precision,
                             int scale) override {
        return "alter table " + table + " alter column " + column + " to " + column + " " +
               create_column_type(dt, precision, scale);
    }
    std::string truncate_table(const std::string& table) override { return "delete from " + table; }
    std::string empty_blob() override { return "x''"; }
    std::string nvl() override { return "ifnull"; }
    std::string get_dummy_from_table() const override { return {}; }
    std::string get_backend_name() const override { return "libsql"; }

    statement_backend* make_statement_backend() override { return new statement_backend(*this); }
    rowid_backend* make_rowid_backend() override { return new rowid_backend(); }
    blob_backend* make_blob_backend() override { return new blob_backend(); }

    std::optional<libsql::database> db_;
    libsql::connection conn_;
};

struct factory final : ::soci::backend_factory {
    session_backend* make_session(const ::soci::connection_parameters& params) const override;
};

template <class F> decltype(auto) guarded(const char* where, F&& f) {
    try {
        return f();
    } catch (const libsql::error& e) {
        rethrow_as_soci(e, where);
    }
}

} // namespace libsql::soci_backend
