// libFuzzer target for the Hrana codec: every input goes through every parse_* function, JSON and Protobuf;
// whatever parses must serialize, parse back, and serialize again to the same bytes (JSON: to an equal struct as
// well; Protobuf keeps NaN floats, which compare unequal, so there the bytes decide), and what Protobuf parses must
// also serialize as JSON. Anything but a protocol_violation escaping a parser is a bug, and so is a failed round trip.
#include "hrana/protobuf.hpp"
#include "hrana/protocol.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

[[noreturn]] void die(const char* what, std::string_view input, const std::string& first, const std::string& second) {
    std::fprintf(stderr, "hrana_fuzz: %s\ninput: %.*s\nfirst:  %s\nsecond: %s\n", what, static_cast<int>(input.size()),
                 input.data(), first.c_str(), second.c_str());
    std::abort();
}

template <class Parse>
void round_trip(std::string_view input, Parse parse) {
    decltype(parse(input)) parsed;
    try {
        parsed = parse(input);
    } catch (const libsql::hrana::protocol_violation& e) {
        if (std::string_view(e.what()).empty()) die("empty error message", input, {}, {});
        return;
    }
    std::string first;
    libsql::hrana::serialize(parsed, first);
    decltype(parse(input)) reparsed;
    try {
        reparsed = parse(first);
    } catch (const libsql::hrana::protocol_violation& e) {
        die("serialized output does not parse", input, first, e.what());
    }
    std::string second;
    libsql::hrana::serialize(reparsed, second);
    if (!(parsed == reparsed)) die("round trip changed the value", input, first, second);
    if (first != second) die("serialization is not stable", input, first, second);
}

template <class Parse, class Serialize>
void pb_round_trip(std::string_view input, Parse parse, Serialize serialize) {
    decltype(parse(input)) parsed;
    try {
        parsed = parse(input);
    } catch (const libsql::hrana::protocol_violation& e) {
        if (std::string_view(e.what()).empty()) die("empty error message (protobuf)", input, {}, {});
        return;
    }
    std::string first;
    serialize(parsed, first);
    decltype(parse(input)) reparsed;
    try {
        reparsed = parse(first);
    } catch (const libsql::hrana::protocol_violation& e) {
        die("protobuf output does not parse", input, first, e.what());
    }
    std::string second;
    serialize(reparsed, second);
    if (first != second) die("protobuf serialization is not stable", input, first, second);
    std::string json;
    libsql::hrana::serialize(parsed, json);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    using namespace libsql::hrana;
    round_trip(input, [](std::string_view s) { return parse_pipeline_request(s); });
    round_trip(input, [](std::string_view s) { return parse_pipeline_response(s); });
    round_trip(input, [](std::string_view s) { return parse_cursor_request(s); });
    round_trip(input, [](std::string_view s) { return parse_cursor_response_head(s); });
    round_trip(input, [](std::string_view s) { return parse_cursor_entry(s); });
    round_trip(input, [](std::string_view s) { return parse_ws_client_msg(s); });
    round_trip(input, [](std::string_view s) { return parse_ws_server_msg(s); });
    round_trip(input, [](std::string_view s) { return parse_error_body(s); });

    namespace pbuf = libsql::hrana::protobuf;
    const auto plain = [](const auto& m, std::string& out) { pbuf::serialize(m, out); };
    pb_round_trip(input, [](std::string_view s) { return pbuf::parse_pipeline_request(s); }, plain);
    pb_round_trip(input, [](std::string_view s) { return pbuf::parse_pipeline_response(s); }, plain);
    pb_round_trip(input, [](std::string_view s) { return pbuf::parse_cursor_request(s); }, plain);
    pb_round_trip(input, [](std::string_view s) { return pbuf::parse_ws_client_msg(s); }, plain);
    pb_round_trip(input, [](std::string_view s) { return pbuf::parse_ws_server_msg(s); }, plain);
    // Cursor heads and entries are written with their length prefix: strip it before parsing back.
    pb_round_trip(input, [](std::string_view s) { return pbuf::parse_cursor_entry(s); },
                  [](const auto& m, std::string& out) {
                      std::string d;
                      pbuf::serialize_delimited(m, d);
                      std::string_view in = d;
                      out.append(*pbuf::next_delimited(in));
                  });
    pb_round_trip(input, [](std::string_view s) { return pbuf::parse_cursor_response_head(s); },
                  [](const auto& m, std::string& out) {
                      std::string d;
                      pbuf::serialize_delimited(m, d);
                      std::string_view in = d;
                      out.append(*pbuf::next_delimited(in));
                  });
    try {
        std::string_view in = input;
        while (pbuf::next_delimited(in)) {
        }
    } catch (const protocol_violation&) {
    }

    // base64: what decodes re-encodes to the canonical form, which decodes to the same bytes.
    if (size < 4096) {
        if (auto bytes = base64_decode(input)) {
            const std::string text = base64_encode(*bytes);
            auto again = base64_decode(text);
            if (!again || *again != *bytes) die("base64 round trip", input, text, {});
        }
    }
    return 0;
}
