// libsql/detail/backend.hpp: the seam between the public handles and the transports (local engine, remote client,
// replica). Not part of the public API: names here may change. It lives in include/ only because the public
// templates (binding, typed column access) call it inline, which keeps the local path as cheap as the C API.
#pragma once

#include "libsql/error.hpp"
#include "libsql/value.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include "libsql/source_location.hpp"
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace libsql {

struct column_info;
struct authorizer_request;
enum class authorizer_result : int;
enum class update_kind : int;
enum class limit : int;

using authorizer_callback = std::function<authorizer_result(const authorizer_request&)>;
using update_callback = std::function<void(update_kind, std::string_view database, std::string_view table, std::int64_t rowid)>;
using commit_callback = std::function<bool()>;
using rollback_callback = std::function<void()>;

namespace detail {

/// A field another thread may touch while its owner reads it (connection::reset() from another thread marks every
/// statement reset): atomic, so that such misuse is never a data race, yet a plain load or store on the hot path.
template <class T> class relaxed {
public:
    constexpr relaxed(T v = T{}) noexcept : v_(v) {}
    relaxed(const relaxed&) = delete;
    relaxed& operator=(const relaxed&) = delete;
    operator T() const noexcept { return v_.load(std::memory_order_relaxed); }
    relaxed& operator=(T v) noexcept { v_.store(v, std::memory_order_relaxed); return *this; }
    /// Not an atomic read-modify-write: only "it changed" matters, and the owner's increments are not contended.
    relaxed& operator++() noexcept { v_.store(static_cast<T>(v_.load(std::memory_order_relaxed) + 1), std::memory_order_relaxed); return *this; }

private:
    std::atomic<T> v_;
};

class statement_backend {
public:
    virtual ~statement_backend();

    // Parameters. Indexes are 1-based as in SQLite.
    [[nodiscard]] virtual int parameter_count() const noexcept = 0;
    [[nodiscard]] virtual std::string_view parameter_name(int index) const = 0;
    /// 0 when there is no such parameter. Accepts names with or without their prefix.
    [[nodiscard]] virtual int parameter_index(std::string_view name) const = 0;
    /// copy=false only when the bound bytes outlive every step of this run (the statement is run to completion
    /// inside the same call and its bindings cleared afterwards).
    void bind(int index, value_view v, bool copy = true) {
        // Inline, so that a caller whose type is known at compile time calls the one typed bind it needs, with its
        // arguments in registers.
        switch (v.type()) {
        case value_type::null: bind_null(index); return;
        case value_type::integer: bind_integer(index, v.as_integer()); return;
        case value_type::real: bind_real(index, v.as_real()); return;
        case value_type::text: {
            const auto t = v.as_text();
            bind_text(index, t.data(), t.size(), copy);
            return;
        }
        case value_type::blob: {
            const auto b = v.as_blob();
            bind_blob(index, b.data(), b.size(), copy);
            return;
        }
        }
    }
    virtual void bind_null(int index) = 0;
    virtual void bind_integer(int index, std::int64_t v) = 0;
    virtual void bind_real(int index, double v) = 0;
    virtual void bind_text(int index, const char* data, std::size_t size, bool copy) = 0;
    virtual void bind_blob(int index, const std::byte* data, std::size_t size, bool copy) = 0;
    virtual void clear_bindings() = 0;

    // Running. step(): true when a row is ready. run(): steps to completion, returns the rows changed.
    virtual void reset() noexcept = 0;
    [[nodiscard]] virtual bool step() = 0;
    virtual std::int64_t run() = 0;

    // Columns of the current row. column() is unchecked: callers check the index and the generation first.
    [[nodiscard]] virtual std::string_view column_name(int index) const = 0;
    [[nodiscard]] virtual int column_index(std::string_view name) const = 0; ///< -1 when absent
    [[nodiscard]] virtual value_view column(int index) const = 0;
    /// The result's column names, shared by the owned rows copied from this statement.
    [[nodiscard]] virtual std::shared_ptr<const std::vector<std::string>> column_names() const = 0;
    [[nodiscard]] virtual std::vector<column_info> columns() const = 0;

    [[nodiscard]] virtual bool readonly() const = 0;
    [[nodiscard]] virtual bool is_explain() const = 0;
    [[nodiscard]] virtual std::string_view sql() const = 0;
    [[nodiscard]] virtual std::string expanded_sql() const = 0;
    [[nodiscard]] virtual sqlite3_stmt* native_handle() const noexcept { return nullptr; }
    /// The transport errors about this statement name (the remote and replica backends override it).
    [[nodiscard]] virtual libsql::transport transport() const noexcept { return libsql::transport::local; }

    /// Raises a usage_error naming this statement (kept out of line so that inline callers stay small).
    [[noreturn]] void throw_usage(std::string_view what) const;
    [[noreturn]] void throw_column_range(int index) const;
    [[noreturn]] void throw_stale() const;
    [[noreturn]] void throw_no_column(std::string_view name) const;

    int column_count = 0;                 ///< set by the backend when prepared
    /// column_count is known only once the statement has run (a server without `describe` and a statement that
    /// is not a query): shape checks wait for the first row instead of refusing before running.
    bool columns_deferred = false;
    relaxed<std::uint64_t> generation;    ///< changes whenever the current row changes or the statement resets
    relaxed<bool> has_row;                ///< a row is current
    libsql::source_location where{};         ///< where the statement was prepared
};

class connection_backend {
public:
    virtual ~connection_backend();

    /// Prepares one statement. With single=true, text after the first statement (other than whitespace,
    /// comments and semicolons) is a usage_error.
    [[nodiscard]] virtual std::shared_ptr<statement_backend> prepare(std::string_view sql, libsql::source_location where, bool single) = 0;
    virtual void execute_batch(std::string_view sql, libsql::source_location where) = 0;
    /// Runs the text as one all-or-nothing batch when the transport does that better than connection.cpp's
    /// transaction/savepoint wrapping around execute_batch (remote: one round trip). Returns false to leave it to
    /// that wrapping, which is the default (local, replica).
    virtual bool try_execute_transactional_batch(std::string_view sql, libsql::source_location where) {
        (void)sql;
        (void)where;
        return false;
    }

    [[nodiscard]] virtual std::int64_t changes() const = 0;
    [[nodiscard]] virtual std::int64_t total_changes() const = 0;
    [[nodiscard]] virtual std::int64_t last_insert_rowid() const = 0;
    [[nodiscard]] virtual bool is_autocommit() const = 0;
    virtual void busy_timeout(std::chrono::milliseconds ms) = 0;
    virtual void interrupt() noexcept = 0;
    virtual void reset() = 0;
    virtual void close() noexcept = 0;
    [[nodiscard]] virtual bool is_closed() const noexcept = 0;

    virtual void set_authorizer(authorizer_callback cb) = 0;
    virtual void set_update_hook(update_callback cb) = 0;
    virtual void set_commit_hook(commit_callback cb) = 0;
    virtual void set_rollback_hook(rollback_callback cb) = 0;

    virtual void enable_load_extension(bool on) = 0;
    virtual void load_extension(const std::string& path, const std::optional<std::string>& entry_point) = 0;
    virtual int set_limit(libsql::limit which, int value) = 0;

    [[nodiscard]] virtual libsql::transport transport() const noexcept = 0;
    [[nodiscard]] virtual sqlite3* native_handle() const noexcept { return nullptr; }

    /// Numbers savepoints uniquely within the connection.
    std::uint64_t next_savepoint = 0;
};

} // namespace detail
} // namespace libsql
