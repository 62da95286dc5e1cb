// libsql/error.hpp: the exception hierarchy. Every failure the library reports is a libsql::error or one of its
// subclasses, carrying the SQLite result code (or the Hrana error code for remote failures), the SQL that failed,
// the transport, and the user's source line where the library could learn it.
#pragma once

#include <cstdint>
#include "libsql/source_location.hpp"
#include <stdexcept>
#include <string>
#include <string_view>

namespace libsql {

/// Which way the failing call reached its database.
enum class transport : std::uint8_t { local, remote, replica };

[[nodiscard]] std::string_view to_string(transport t) noexcept;

/// What a thrown error carries besides its message.
struct error_info {
    int extended_code = 0;            ///< SQLite extended result code; 0 when the error did not come from SQLite
    std::string hrana_code;           ///< code string from a Hrana peer (e.g. "SQLITE_CONSTRAINT", "STREAM_EXPIRED")
    std::string sql;                  ///< the SQL involved, truncated to error::max_sql_length bytes
    libsql::transport transport = transport::local;
    libsql::source_location where{};     ///< the caller's line, where the library could capture it
};

/// Root of the hierarchy: a std::runtime_error whose what() holds the whole message (SQLite's text, the code name
/// and the SQL), with the parts also available one by one.
class error : public std::runtime_error {
public:
    static constexpr std::size_t max_sql_length = 256;

    explicit error(const std::string& message, error_info info = {});

    /// Primary SQLite result code (extended_code() & 0xff), 0 when not from SQLite.
    [[nodiscard]] int code() const noexcept { return info_.extended_code & 0xff; }
    [[nodiscard]] int extended_code() const noexcept { return info_.extended_code; }
    /// Name of the extended code ("SQLITE_CONSTRAINT_UNIQUE"), or the Hrana code, or "" when neither applies.
    [[nodiscard]] std::string_view code_name() const noexcept;
    [[nodiscard]] const std::string& hrana_code() const noexcept { return info_.hrana_code; }
    [[nodiscard]] const std::string& sql() const noexcept { return info_.sql; }
    [[nodiscard]] libsql::transport transport() const noexcept { return info_.transport; }
    [[nodiscard]] const libsql::source_location& where() const noexcept { return info_.where; }
    [[nodiscard]] const error_info& info() const noexcept { return info_; }

private:
    error_info info_;
};

// A failure the engine reported while running SQL (syntax errors, missing tables, SQLITE_ERROR and friends
// that have no more specific class).
class sql_error : public error { public: using error::error; };
class busy : public error { public: using error::error; };                      // SQLITE_BUSY
class locked : public error { public: using error::error; };                    // SQLITE_LOCKED
class readonly : public error { public: using error::error; };                  // SQLITE_READONLY
class interrupted : public error { public: using error::error; };               // SQLITE_INTERRUPT
class constraint_violation : public error { public: using error::error; };      // SQLITE_CONSTRAINT
class unique_violation : public constraint_violation { public: using constraint_violation::constraint_violation; };
class primary_key_violation : public unique_violation { public: using unique_violation::unique_violation; };
class foreign_key_violation : public constraint_violation { public: using constraint_violation::constraint_violation; };
class not_null_violation : public constraint_violation { public: using constraint_violation::constraint_violation; };
class check_violation : public constraint_violation { public: using constraint_violation::constraint_violation; };
class corrupt : public error { public: using error::error; };                   // SQLITE_CORRUPT, SQLITE_NOTADB
/// An encrypted file opened without its key or with a wrong one, or a key given for a plain file (SQLITE_NOTADB from
/// the local engine). A corrupt subclass: the code is SQLITE_NOTADB either way; the message says which case it is.
class encryption_error : public corrupt { public: using corrupt::corrupt; };
class io_error : public error { public: using error::error; };                  // SQLITE_IOERR, SQLITE_FULL
class cant_open : public error { public: using error::error; };                 // SQLITE_CANTOPEN
class too_big : public error { public: using error::error; };                   // SQLITE_TOOBIG
class out_of_memory : public error { public: using error::error; };             // SQLITE_NOMEM
class auth_error : public error { public: using error::error; };                // SQLITE_AUTH, HTTP 401/403
class connection_error : public error { public: using error::error; };          // network failures
class tls_error : public connection_error { public: using connection_error::connection_error; }; // TLS handshake, certificate not trusted
class protocol_error : public error { public: using error::error; };            // a peer broke the protocol
class timeout : public error { public: using error::error; };                   // a deadline passed
class conversion_error : public error { public: using error::error; };          // a value does not fit the C++ type
class unexpected_null : public conversion_error { public: using conversion_error::conversion_error; };
class unexpected_rows : public error { public: using error::error; };           // result shape differs
class no_rows : public unexpected_rows { public: using unexpected_rows::unexpected_rows; };
class usage_error : public error { public: using error::error; };               // the API was called wrongly
class unsupported : public error { public: using error::error; };               // not possible on this transport

/// "SQLITE_CONSTRAINT_UNIQUE" for 2067; "" for a code SQLite does not define.
[[nodiscard]] std::string_view result_code_name(int extended_code) noexcept;
/// The inverse of result_code_name(); -1 for an unknown name. Used to map Hrana error codes.
[[nodiscard]] int result_code_from_name(std::string_view name) noexcept;

/// Throws the libsql::error subclass that matches an SQLite extended result code, with the message composed from
/// SQLite's message, the code name and the (truncated) SQL. This is the single mapping every transport uses, so the
/// same failure raises the same type locally and remotely.
[[noreturn]] void throw_result_code(int extended_code, std::string_view sqlite_message, error_info info = {});

} // namespace libsql
