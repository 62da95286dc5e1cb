// libsql/options.hpp: how to open a database. One value for every transport: a local file uses the first group,
// remote and replica connections (later layers) the rest. Fields a transport cannot honour are refused with
// libsql::unsupported when the database opens, never silently ignored.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace libsql {

/// The page ciphers of the engine (SQLite3MultipleCiphers). libSQL encrypts with aes256cbc; the others are there
/// for files written by other sqlite3mc users. A file is only readable with the cipher it was written with.
enum class encryption_cipher : std::uint8_t {
    aes256cbc,  ///< AES-256-CBC, no per-page MAC: libSQL's (and Turso's) default
    aes128cbc,  ///< AES-128-CBC (wxSQLite3)
    chacha20,   ///< ChaCha20-Poly1305 (sqleet), 32 reserved bytes per page
    sqlcipher,  ///< AES-256-CBC + HMAC-SHA512, SQLCipher 4 format
    rc4,        ///< RC4 (System.Data.SQLite); weak, for reading old files
    ascon128,   ///< Ascon-128
    aegis,      ///< AEGIS
};

/// "aes256cbc", "chacha20", ...: the name SQLite3MultipleCiphers (PRAGMA cipher) uses.
[[nodiscard]] std::string_view to_string(encryption_cipher c) noexcept;
/// The inverse of to_string() (case-insensitive); nullopt for an unknown name.
[[nodiscard]] std::optional<encryption_cipher> encryption_cipher_from_name(std::string_view name) noexcept;

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
    /// Encryption at rest, for local files and embedded replicas: the passphrase (any bytes; libSQL's
    /// encryptionKey). Empty: the file is not encrypted. Applied to every connection before its first read; a wrong
    /// key, a missing one, or a key for a plain file raises libsql::encryption_error (docs/ENCRYPTION.md).
    std::string encryption_key;
    /// The page cipher used with encryption_key. The default is libSQL's.
    encryption_cipher cipher = encryption_cipher::aes256cbc;

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
    /// TLS (https://, wss://, libsql://): a PEM file of the CA certificates that may sign the server's certificate,
    /// used instead of the system's store. Empty: the system's CAs. Applies to the sync client of a replica too.
    std::string tls_ca_file;
    /// Verify the server's certificate chain and host name (the default). false accepts any certificate: the
    /// connection is encrypted but not authenticated; for tests and throwaway setups only.
    bool tls_verify = true;
    /// A client certificate (PEM, the chain) and its private key (PEM), for a server that verifies clients (mutual
    /// TLS, `libsql serve --tls-client-ca-file`). Both or neither.
    std::string tls_cert_file;
    std::string tls_key_file;

    // --- embedded replicas: a local path plus the primary to sync from
    std::string sync_url;
    std::optional<std::chrono::milliseconds> sync_interval;  ///< periodic sync; none by default
    /// After a write sent to the primary, sync until the replica has that write before returning.
    bool read_your_writes = true;
};

} // namespace libsql
