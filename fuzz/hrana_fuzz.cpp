// libFuzzer target for the Hrana codec: every input goes through every parse_* function; whatever parses must
// serialize, parse back to an equal struct, and serialize again to the same bytes. Anything but a
// protocol_violation escaping a parser is a bug, and so is a failed round trip.
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
