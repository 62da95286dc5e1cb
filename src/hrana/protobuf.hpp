// The Hrana 3 Protobuf encoding of the same message structs as the JSON one (protocol.hpp): POST
// v3-protobuf/pipeline and v3-protobuf/cursor bodies (application/x-protobuf) and binary WebSocket messages of the
// subprotocol hrana3-protobuf. Schema: src/hrana/proto/*.proto (docs/HRANA_3_SPEC.md, "Protobuf schema", plus the
// fields sqld adds). The generated protobuf types stay inside src/hrana (protobuf_*.cpp); nothing here exposes them.
//
// parse_* throw protocol_violation for bytes that are not a valid message of the type, a message without its
// required oneof (a value without a type, a request without a kind), text that is not valid UTF-8 (as sqld's
// decoder), and conditions nested deeper than the JSON codec allows. serialize_* append to out and write text as
// valid UTF-8 (U+FFFD for invalid sequences, as the JSON encoding). Differences from JSON that the protocol implies:
// a batch result carries no replication_index; a NaN float is sent as a NaN double (JSON sends null).
#pragma once

#include "hrana/protocol.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace libsql::hrana::protobuf {

[[nodiscard]] pipeline_request parse_pipeline_request(std::string_view bytes);
[[nodiscard]] pipeline_response parse_pipeline_response(std::string_view bytes);
[[nodiscard]] cursor_request parse_cursor_request(std::string_view bytes);
[[nodiscard]] cursor_response_head parse_cursor_response_head(std::string_view bytes);  ///< one message, no prefix
[[nodiscard]] cursor_entry parse_cursor_entry(std::string_view bytes);                   ///< one message, no prefix
[[nodiscard]] ws_client_msg parse_ws_client_msg(std::string_view bytes);
[[nodiscard]] ws_server_msg parse_ws_server_msg(std::string_view bytes);

void serialize(const pipeline_request& r, std::string& out);
void serialize(const pipeline_response& r, std::string& out);
void serialize(const cursor_request& r, std::string& out);
void serialize(const ws_client_msg& m, std::string& out);
void serialize(const ws_server_msg& m, std::string& out);
/// A cursor response body is length-delimited messages: the head, then the entries. These append one, with its
/// varint length prefix.
void serialize_delimited(const cursor_response_head& r, std::string& out);
void serialize_delimited(const cursor_entry& e, std::string& out);

/// Takes the next length-delimited message off the front of in: its bytes, or nullopt when in is empty. Throws
/// protocol_violation for a bad or truncated length prefix.
[[nodiscard]] std::optional<std::string_view> next_delimited(std::string_view& in);

} // namespace libsql::hrana::protobuf
