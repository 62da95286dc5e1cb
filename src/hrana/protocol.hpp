// The Hrana protocol (v2/v3, JSON) as C++ values: what travels in HTTP pipeline and cursor bodies and in WebSocket
// messages. Shared by the server (src/server) and the remote client (src/remote). This layer knows nothing of HTTP
// or sockets: it turns bytes into these structs and back. Facts: shared/notes/protocols.md, sections 2 and 3.
#pragma once

#include "libsql/error.hpp"
#include "libsql/value.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace libsql::hrana {

/// A message that breaks the protocol (bad JSON, wrong types, missing fields, out-of-range numbers). The server
/// answers it with HTTP 400 and this message; the client raises it as libsql::protocol_error.
class protocol_violation : public libsql::protocol_error {
public:
    using libsql::protocol_error::protocol_error;
};

// ---------------------------------------------------------------------------------------------- statements
struct named_arg {
    std::string name;  ///< as sent: with or without its ':', '@' or '$' prefix
    libsql::value value;
    friend bool operator==(const named_arg&, const named_arg&) = default;
};

struct stmt {
    std::optional<std::string> sql;         ///< exactly one of sql and sql_id
    std::optional<std::int32_t> sql_id;
    std::vector<libsql::value> args;
    std::vector<named_arg> named_args;
    bool want_rows = true;
    std::optional<std::uint64_t> replication_index;  ///< libsql extension, a decimal string on the wire
    friend bool operator==(const stmt&, const stmt&) = default;
};

struct condition {
    enum class kind : std::uint8_t { ok, error, not_, and_, or_, is_autocommit };
    kind type = kind::ok;
    std::uint32_t step = 0;          ///< for ok / error
    std::vector<condition> conds;    ///< for not (exactly one), and, or
    friend bool operator==(const condition&, const condition&) = default;
};

struct batch_step {
    std::optional<hrana::condition> condition;
    hrana::stmt stmt;
    friend bool operator==(const batch_step&, const batch_step&) = default;
};

struct batch {
    std::vector<batch_step> steps;
    std::optional<std::uint64_t> replication_index;
    friend bool operator==(const batch&, const batch&) = default;
};

// ------------------------------------------------------------------------------------------------- results
struct error {
    std::string message;
    std::string code;  ///< "" when the peer sent none
    friend bool operator==(const error&, const error&) = default;
};

struct column {
    std::string name;
    std::optional<std::string> decltype_;
    friend bool operator==(const column&, const column&) = default;
};

struct stmt_result {
    std::vector<column> cols;
    std::vector<std::vector<libsql::value>> rows;
    std::uint64_t affected_row_count = 0;
    std::optional<std::int64_t> last_insert_rowid;   ///< a decimal string on the wire
    std::optional<std::uint64_t> replication_index;  ///< extensions, omitted when absent
    std::optional<std::uint64_t> rows_read;
    std::optional<std::uint64_t> rows_written;
    std::optional<double> query_duration_ms;
    friend bool operator==(const stmt_result&, const stmt_result&) = default;
};

struct batch_result {
    std::vector<std::optional<stmt_result>> step_results;  ///< one per step; null for failed or skipped steps
    std::vector<std::optional<error>> step_errors;         ///< one per step; null for succeeded or skipped steps
    std::optional<std::uint64_t> replication_index;
    friend bool operator==(const batch_result&, const batch_result&) = default;
};

struct describe_param {
    std::optional<std::string> name;
    friend bool operator==(const describe_param&, const describe_param&) = default;
};
struct describe_result {
    std::vector<describe_param> params;
    std::vector<column> cols;
    bool is_explain = false;
    bool is_readonly = false;
    friend bool operator==(const describe_result&, const describe_result&) = default;
};

// ---------------------------------------------------------------------------------- stream requests (HTTP)
struct execute_req { hrana::stmt stmt; friend bool operator==(const execute_req&, const execute_req&) = default; };
struct batch_req { hrana::batch batch; friend bool operator==(const batch_req&, const batch_req&) = default; };
struct sequence_req {
    std::optional<std::string> sql;
    std::optional<std::int32_t> sql_id;
    friend bool operator==(const sequence_req&, const sequence_req&) = default;
};
struct describe_req {
    std::optional<std::string> sql;
    std::optional<std::int32_t> sql_id;
    friend bool operator==(const describe_req&, const describe_req&) = default;
};
struct store_sql_req {
    std::int32_t sql_id = 0;
    std::string sql;
    friend bool operator==(const store_sql_req&, const store_sql_req&) = default;
};
struct close_sql_req { std::int32_t sql_id = 0; friend bool operator==(const close_sql_req&, const close_sql_req&) = default; };
struct close_req { friend bool operator==(const close_req&, const close_req&) = default; };
struct get_autocommit_req { friend bool operator==(const get_autocommit_req&, const get_autocommit_req&) = default; };

using stream_request = std::variant<execute_req, batch_req, sequence_req, describe_req, store_sql_req, close_sql_req,
                                    close_req, get_autocommit_req>;

struct execute_resp { stmt_result result; friend bool operator==(const execute_resp&, const execute_resp&) = default; };
struct batch_resp { batch_result result; friend bool operator==(const batch_resp&, const batch_resp&) = default; };
struct sequence_resp { friend bool operator==(const sequence_resp&, const sequence_resp&) = default; };
struct describe_resp { describe_result result; friend bool operator==(const describe_resp&, const describe_resp&) = default; };
struct store_sql_resp { friend bool operator==(const store_sql_resp&, const store_sql_resp&) = default; };
struct close_sql_resp { friend bool operator==(const close_sql_resp&, const close_sql_resp&) = default; };
struct close_resp { friend bool operator==(const close_resp&, const close_resp&) = default; };
struct get_autocommit_resp { bool is_autocommit = true; friend bool operator==(const get_autocommit_resp&, const get_autocommit_resp&) = default; };

using stream_response = std::variant<execute_resp, batch_resp, sequence_resp, describe_resp, store_sql_resp,
                                     close_sql_resp, close_resp, get_autocommit_resp>;
/// One entry of a pipeline's results: {"type":"ok","response":...} or {"type":"error","error":...}.
using stream_result = std::variant<stream_response, error>;

struct pipeline_request {
    std::optional<std::string> baton;
    std::vector<stream_request> requests;
    friend bool operator==(const pipeline_request&, const pipeline_request&) = default;
};
struct pipeline_response {
    std::optional<std::string> baton;
    std::optional<std::string> base_url;
    std::vector<stream_result> results;
    friend bool operator==(const pipeline_response&, const pipeline_response&) = default;
};

// ------------------------------------------------------------------------------------------ v3 cursors (HTTP)
struct cursor_request {
    std::optional<std::string> baton;
    hrana::batch batch;
    friend bool operator==(const cursor_request&, const cursor_request&) = default;
};
/// The first line of a cursor response body.
struct cursor_response_head {
    std::optional<std::string> baton;
    std::optional<std::string> base_url;
    friend bool operator==(const cursor_response_head&, const cursor_response_head&) = default;
};
struct step_begin_entry { std::uint32_t step = 0; std::vector<column> cols; friend bool operator==(const step_begin_entry&, const step_begin_entry&) = default; };
struct step_end_entry {
    std::uint64_t affected_row_count = 0;
    std::optional<std::int64_t> last_insert_rowid;
    friend bool operator==(const step_end_entry&, const step_end_entry&) = default;
};
struct step_error_entry { std::uint32_t step = 0; hrana::error error; friend bool operator==(const step_error_entry&, const step_error_entry&) = default; };
struct row_entry { std::vector<libsql::value> row; friend bool operator==(const row_entry&, const row_entry&) = default; };
struct error_entry { hrana::error error; friend bool operator==(const error_entry&, const error_entry&) = default; };
using cursor_entry = std::variant<step_begin_entry, step_end_entry, step_error_entry, row_entry, error_entry>;

// ------------------------------------------------------------------------------------------------ WebSocket
struct ws_open_stream { std::int32_t stream_id = 0; friend bool operator==(const ws_open_stream&, const ws_open_stream&) = default; };
struct ws_close_stream { std::int32_t stream_id = 0; friend bool operator==(const ws_close_stream&, const ws_close_stream&) = default; };
struct ws_execute { std::int32_t stream_id = 0; hrana::stmt stmt; friend bool operator==(const ws_execute&, const ws_execute&) = default; };
struct ws_batch { std::int32_t stream_id = 0; hrana::batch batch; friend bool operator==(const ws_batch&, const ws_batch&) = default; };
struct ws_sequence {
    std::int32_t stream_id = 0;
    std::optional<std::string> sql;
    std::optional<std::int32_t> sql_id;
    friend bool operator==(const ws_sequence&, const ws_sequence&) = default;
};
struct ws_describe {
    std::int32_t stream_id = 0;
    std::optional<std::string> sql;
    std::optional<std::int32_t> sql_id;
    friend bool operator==(const ws_describe&, const ws_describe&) = default;
};
struct ws_get_autocommit { std::int32_t stream_id = 0; friend bool operator==(const ws_get_autocommit&, const ws_get_autocommit&) = default; };
struct ws_open_cursor {
    std::int32_t stream_id = 0;
    std::int32_t cursor_id = 0;
    hrana::batch batch;
    friend bool operator==(const ws_open_cursor&, const ws_open_cursor&) = default;
};
struct ws_close_cursor { std::int32_t cursor_id = 0; friend bool operator==(const ws_close_cursor&, const ws_close_cursor&) = default; };
struct ws_fetch_cursor {
    std::int32_t cursor_id = 0;
    std::uint32_t max_count = 0;
    friend bool operator==(const ws_fetch_cursor&, const ws_fetch_cursor&) = default;
};
using ws_request = std::variant<ws_open_stream, ws_close_stream, ws_execute, ws_batch, ws_sequence, ws_describe,
                                store_sql_req, close_sql_req, ws_get_autocommit, ws_open_cursor, ws_close_cursor,
                                ws_fetch_cursor>;

struct ws_hello { std::optional<std::string> jwt; friend bool operator==(const ws_hello&, const ws_hello&) = default; };
struct ws_request_msg { std::int32_t request_id = 0; ws_request request; friend bool operator==(const ws_request_msg&, const ws_request_msg&) = default; };
using ws_client_msg = std::variant<ws_hello, ws_request_msg>;

/// Responses to WebSocket requests: the HTTP stream responses plus the stream and cursor ones.
struct ws_open_stream_resp { friend bool operator==(const ws_open_stream_resp&, const ws_open_stream_resp&) = default; };
struct ws_close_stream_resp { friend bool operator==(const ws_close_stream_resp&, const ws_close_stream_resp&) = default; };
struct ws_open_cursor_resp { friend bool operator==(const ws_open_cursor_resp&, const ws_open_cursor_resp&) = default; };
struct ws_close_cursor_resp { friend bool operator==(const ws_close_cursor_resp&, const ws_close_cursor_resp&) = default; };
struct ws_fetch_cursor_resp {
    std::vector<cursor_entry> entries;
    bool done = false;
    friend bool operator==(const ws_fetch_cursor_resp&, const ws_fetch_cursor_resp&) = default;
};
using ws_response = std::variant<ws_open_stream_resp, ws_close_stream_resp, execute_resp, batch_resp, sequence_resp,
                                 describe_resp, store_sql_resp, close_sql_resp, get_autocommit_resp,
                                 ws_open_cursor_resp, ws_close_cursor_resp, ws_fetch_cursor_resp>;

struct ws_hello_ok { friend bool operator==(const ws_hello_ok&, const ws_hello_ok&) = default; };
struct ws_hello_error { hrana::error error; friend bool operator==(const ws_hello_error&, const ws_hello_error&) = default; };
struct ws_response_ok { std::int32_t request_id = 0; ws_response response; friend bool operator==(const ws_response_ok&, const ws_response_ok&) = default; };
struct ws_response_error { std::int32_t request_id = 0; hrana::error error; friend bool operator==(const ws_response_error&, const ws_response_error&) = default; };
using ws_server_msg = std::variant<ws_hello_ok, ws_hello_error, ws_response_ok, ws_response_error>;

// ---------------------------------------------------------------------------------------------------- JSON
// parse_* throw protocol_violation with a message that says what was wrong and where ("requests[2].stmt.args[0]:
// integer value must be a decimal string"). They accept what real peers send: omitted optional fields, explicit
// nulls, blobs with or without base64 padding, integers given as JSON numbers where the spec allows a string only
// when the number is exact. serialize_* write compact JSON.
//
// Limits and choices (see json_tape.cpp): JSON nested more than 2100 levels, or batch conditions nested more than
// 1000 levels, is a protocol_violation; with duplicate keys the last wins; floats are read and written exactly
// (shortest round-trip form); a NaN value is written as {"type":"null"} (SQLite stores NaN as NULL) and +-Inf as
// the number +-9e999 (read back as +-Inf, as SQLite's JSON functions do); text that is not valid UTF-8 is written
// with U+FFFD for each invalid sequence, so the output is always valid JSON. Serialising a 'not' condition without
// exactly one operand throws libsql::usage_error.

[[nodiscard]] pipeline_request parse_pipeline_request(std::string_view json);
[[nodiscard]] pipeline_response parse_pipeline_response(std::string_view json);
[[nodiscard]] cursor_request parse_cursor_request(std::string_view json);
[[nodiscard]] cursor_response_head parse_cursor_response_head(std::string_view json_line);
[[nodiscard]] cursor_entry parse_cursor_entry(std::string_view json_line);
[[nodiscard]] ws_client_msg parse_ws_client_msg(std::string_view json);
[[nodiscard]] ws_server_msg parse_ws_server_msg(std::string_view json);
[[nodiscard]] error parse_error_body(std::string_view json);  ///< an HTTP error body {"message":..,"code":..}

void serialize(const pipeline_request& r, std::string& out);
void serialize(const pipeline_response& r, std::string& out);
void serialize(const cursor_request& r, std::string& out);
void serialize(const cursor_response_head& r, std::string& out);  ///< no trailing newline
void serialize(const cursor_entry& e, std::string& out);           ///< no trailing newline
void serialize(const ws_client_msg& m, std::string& out);
void serialize(const ws_server_msg& m, std::string& out);
void serialize(const error& e, std::string& out);

/// Standard base64 (with padding) and its inverse, which also accepts unpadded input and rejects anything else.
[[nodiscard]] std::string base64_encode(libsql::blob_view bytes);
[[nodiscard]] std::optional<libsql::blob> base64_decode(std::string_view text);

} // namespace libsql::hrana
