// `libsql shell TARGET [SQL...]`: an interactive SQL shell, or a one-shot runner, over any transport (a local file,
// a remote server by URL, an embedded replica with a sync URL). main.cpp parses the command line (CLI11 stays
// there) and fills shell_options; everything else lives in shell.cpp. docs/SHELL.md describes the behaviour.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace libsql::cli {

/// How query results are printed.
enum class output_mode : std::uint8_t {
    table,  ///< a boxed ASCII table with a header, like sqlite3's ".mode table"
    csv,    ///< RFC 4180 quoting, a header row (unless headers are off)
    json,   ///< one JSON array of objects per statement
    line,   ///< "column = value" per line, a blank line between rows
};

[[nodiscard]] std::optional<output_mode> parse_output_mode(std::string_view name) noexcept;
[[nodiscard]] std::string_view to_string(output_mode mode) noexcept;

struct shell_options {
    std::string target;                 ///< a path, or a URL (http://, https://, libsql://, ws://, wss://)
    std::vector<std::string> commands;  ///< SQL (or dot commands) given on the command line; empty: read input
    std::string auth_token;             ///< --auth-token or LIBSQL_AUTH_TOKEN
    std::string sync_url;               ///< --sync-url: TARGET is the local file of an embedded replica
    std::string encryption_key;         ///< --encryption-key or LIBSQL_ENCRYPTION_KEY: the local file is encrypted
    std::string cipher = "aes256cbc";   ///< --cipher
    std::string tls_ca_file;            ///< --tls-ca-file: CA certificates (PEM) for https:// and wss://
    std::string tls_cert_file;          ///< --tls-cert-file / --tls-key-file: a client certificate (mutual TLS)
    std::string tls_key_file;
    bool tls_verify = true;             ///< --no-tls-verify turns certificate checks off
    output_mode mode = output_mode::table;
    bool header = true;                 ///< csv only: print the header row (table always has one)
    bool bail = false;                  ///< stop at the first error when reading a script from stdin
};

/// Runs the shell; returns the process exit code (0: success, 1: an error was reported on stderr).
int run_shell(const shell_options& options);

/// One complete SQL statement found in a text, as [begin, end) offsets (the terminating ';' included).
struct statement_span {
    std::size_t begin = 0;
    std::size_t end = 0;
};

/// Splits text into complete statements the way sqlite3_complete() decides completeness: a ';' ends a statement
/// unless it is inside a quoted string or identifier, a comment, or the body of CREATE TRIGGER ... END.
struct sql_split {
    std::vector<statement_span> statements;  ///< complete, non-empty statements, in order
    std::size_t rest = 0;                    ///< offset of the text after the last complete statement
    bool rest_pending = false;               ///< the rest holds part of a statement (not only blanks and comments)
};
[[nodiscard]] sql_split split_sql(std::string_view text);

} // namespace libsql::cli
