// libsql/soci.hpp: libsql-cpp as a SOCI 4.0 backend ("libsql"), for programs written against SOCI.
//
//   #include <libsql/soci.hpp>
//   soci::session local(*soci::factory_libsql(), "app.db busy_timeout=2000");
//   soci::session remote("libsql", "libsql://db.example.turso.io auth_token=...");   // SOCI's backend loader
//   soci::session replica(*soci::factory_libsql(), "replica.db sync_url=http://127.0.0.1:8080 auth_token=...");
//
// The connection string is a path or URL (libsql://, http(s)://, ws(s)://) followed by SOCI-style key=value options
// (docs/SOCI.md lists them); everything runs through libsql-cpp's public API, so every transport works. The backend
// lives in its own library, libsoci_libsql (CMake target libsql::soci), which SOCI's loader also finds by name.
// This header is the one part of libsql-cpp that includes SOCI's headers; it needs none of libsql-cpp's.
#pragma once

#include <soci/soci-backend.h>

#include <string>

#if defined(_WIN32)
#define LIBSQL_SOCI_DECL
#else
#define LIBSQL_SOCI_DECL __attribute__((visibility("default")))
#endif

namespace soci {

/// A failure reported by libsql-cpp, as the soci_error SOCI users catch. It keeps what libsql::error carried: the
/// SQLite result codes (0 when the failure did not come from SQLite) and the code's name (or the Hrana code).
class LIBSQL_SOCI_DECL libsql_soci_error : public soci_error {
public:
    libsql_soci_error(const std::string& message, int extended_result, std::string code_name,
                      error_category category);

    /// The primary SQLite result code (SQLITE_CONSTRAINT = 19, ...), 0 when not from SQLite.
    [[nodiscard]] int result() const noexcept { return extended_result_ & 0xff; }
    /// The extended result code (SQLITE_CONSTRAINT_UNIQUE = 2067, ...).
    [[nodiscard]] int extended_result() const noexcept { return extended_result_; }
    /// "SQLITE_CONSTRAINT_UNIQUE", a Hrana code such as "STREAM_EXPIRED", or "".
    [[nodiscard]] const std::string& code_name() const noexcept { return code_name_; }
    [[nodiscard]] error_category get_error_category() const override { return category_; }

private:
    int extended_result_;
    std::string code_name_;
    error_category category_;
};

extern "C" {
/// The backend's factory: soci::session s(*soci::factory_libsql(), "app.db"). The name and C linkage are what
/// SOCI's dynamic loader looks up in libsoci_libsql.so.4.0.
LIBSQL_SOCI_DECL backend_factory const* factory_libsql();
/// Registers the factory under the name "libsql", so soci::session("libsql", ...) needs no shared-object lookup.
LIBSQL_SOCI_DECL void register_factory_libsql();
}

} // namespace soci
