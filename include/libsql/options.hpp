// libsql/options.hpp: how to open a database. One value for every transport: a local file uses the first group,
// remote and replica connections (later layers) the rest. Fields a transport cannot honour are refused with
// libsql::unsupported when the database opens, never silently ignored.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace libsql {

enum class open_mode : std::uint8_t {
    read_write_create, ///< create the file if missing (default)
    read_write,        ///< the file must exist
    read_only,         ///< the file must exist; writes fail with libsql::readonly
};

/// How a remote database speaks Hrana. ws:// and wss:// URLs always use WebSocket and http(s):// URLs HTTP;
/// libsql:// URLs use HTTP unless this (or the URL's ?transport=ws) asks for WebSocket, as @libsql/client on Node
/// keeps HTTP for libsql://. A choice that contradicts the URL's scheme is refused (usage_error).
enum class remote_protocol : std::uint8_t {
    automatic,  ///< by the URL: libsql:// -> HTTP unless ?transport=ws
    http,       ///< Hrana over HTTP (one request per pipeline; an interactive transaction holds a baton)
    websocket,  ///< Hrana over one WebSocket per database object, shared by its connections
};

struct connect_options {
    // --- every connection
    /// Applied to each connection as it opens; 0 turns waiting off (SQLITE_BUSY at once).
    std::chrono::milliseconds busy_timeout{5000};
    open_mode mode = open_mode::read_write_create;

    // --- local connections
    /// Allows load_extension() on connections of this database without calling enable_load_extension(true).
    bool enable_load_extension = false;
    /// Encryption at rest. The stock SQLite engine has no codec: a non-empty key is refused (unsupported).
    std::string encryption_key;

    // --- remote connections (libsql://, https://, http://, ws://, wss://)
    std::string url;          ///< the primary's URL; when the path given to open() is a URL this is filled from it
    std::string auth_token;   ///< sent as "Authorization: Bearer <token>"
    /// Time allowed to establish a TCP/TLS connection to the server.
    std::chrono::milliseconds connect_timeout{10'000};
    /// Time allowed for one HTTP request from sending to the end of the response; 0 means no limit.
    std::chrono::milliseconds request_timeout{0};
    /// Sent as "x-turso-encryption-key" (base64) to a server that encrypts the database at rest; empty: none.
    std::string remote_encryption_key;
    /// HTTP or WebSocket for libsql:// URLs (see remote_protocol).
    remote_protocol protocol = remote_protocol::automatic;

    // --- embedded replicas: a local path plus the primary to sync from
    std::string sync_url;
    std::optional<std::chrono::milliseconds> sync_interval;  ///< periodic sync; none by default
    /// After a write sent to the primary, sync until the replica has that write before returning.
    bool read_your_writes = true;
};

} // namespace libsql
