// Internal to the Hrana Protobuf codec (src/hrana/protobuf_*.cpp): conversions between the message structs of
// protocol.hpp and the generated types of proto/hrana.proto, shared by the HTTP and WebSocket messages. Nothing
// outside src/hrana includes it (the generated headers stay private).
#pragma once

#include "hrana/protobuf.hpp"
#include "hrana/proto/hrana.pb.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <string>
#include <string_view>

namespace libsql::hrana::pbc {

namespace pb = libsql::hrana::pb;

/// Conditions nested up to this deep are accepted, as by the JSON codec; the parser's recursion limit leaves room
/// for them (and/or take two message levels per condition) and the messages around them.
inline constexpr std::size_t max_condition_depth = 1000;
inline constexpr int recursion_limit = 2 * static_cast<int>(max_condition_depth) + 32;

[[noreturn]] void fail(std::string_view where, std::string_view message);

/// Parses bytes as one message of M (all of them), or throws protocol_violation naming what.
template <class M> void parse_message(M& m, std::string_view bytes, std::string_view what) {
    google::protobuf::io::CodedInputStream in(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                              static_cast<int>(bytes.size()));
    in.SetRecursionLimit(recursion_limit);
    if (bytes.size() > static_cast<std::size_t>(INT32_MAX) || !m.MergeFromCodedStream(&in) || !in.ConsumedEntireMessage())
        fail(what, "invalid protobuf message");
}

/// Text read from the wire: must be valid UTF-8.
[[nodiscard]] std::string text_in(const std::string& bytes, std::string_view where);
/// Text written to the wire: as valid UTF-8.
void text_out(std::string* field, std::string_view text);

void to_pb(const libsql::value& v, pb::Value* out);
[[nodiscard]] libsql::value from_pb(const pb::Value& v, std::string_view where);
void to_pb(const stmt& s, pb::Stmt* out);
[[nodiscard]] stmt from_pb(const pb::Stmt& s, std::string_view where);
void to_pb(const batch& b, pb::Batch* out);
[[nodiscard]] batch from_pb(const pb::Batch& b, std::string_view where);
void to_pb(const error& e, pb::Error* out);
[[nodiscard]] error from_pb(const pb::Error& e, std::string_view where);
void to_pb(const stmt_result& r, pb::StmtResult* out);
[[nodiscard]] stmt_result from_pb(const pb::StmtResult& r, std::string_view where);
void to_pb(const batch_result& r, pb::BatchResult* out);
[[nodiscard]] batch_result from_pb(const pb::BatchResult& r, std::string_view where);
void to_pb(const describe_result& r, pb::DescribeResult* out);
[[nodiscard]] describe_result from_pb(const pb::DescribeResult& r, std::string_view where);
void to_pb(const cursor_entry& e, pb::CursorEntry* out);
[[nodiscard]] cursor_entry from_pb(const pb::CursorEntry& e, std::string_view where);

/// Appends the message's bytes to out. Deterministic: map entries (batch results' steps) in key order, as sqld
/// writes them, so equal messages give equal bytes.
template <class M> void append(const M& m, std::string& out) {
    const std::size_t size = m.ByteSizeLong();
    const std::size_t at = out.size();
    out.resize(at + size);
    google::protobuf::io::ArrayOutputStream array(out.data() + at, static_cast<int>(size));
    google::protobuf::io::CodedOutputStream coded(&array);
    coded.SetSerializationDeterministic(true);
    m.SerializeWithCachedSizes(&coded);
}

} // namespace libsql::hrana::pbc
