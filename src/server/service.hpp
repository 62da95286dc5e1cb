// The libSQL server's logic, without the network: Hrana requests in, Hrana responses out. One service serves one
// database file. The HTTP/WebSocket front end (http_server.hpp) parses nothing but HTTP: it hands bodies and
// messages to this, on worker threads, and writes back what it returns. Thread-safe.
#pragma once

#include "libsql/database.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace libsql::server {

struct service_options {
    std::string path;                                      ///< the database file; created if missing
    /// Encryption at rest of the served file (libsql::connect_options::encryption_key and cipher). The replication
    /// endpoints still serve plaintext pages, so a replica may use its own key.
    std::string encryption_key;
    libsql::encryption_cipher cipher = libsql::encryption_cipher::aes256cbc;
    std::chrono::milliseconds stream_expiry{10'000};       ///< idle streams are rolled back and freed after this
    std::optional<std::string> self_url;                   ///< returned as base_url when set
    std::optional<std::string> jwt_public_key;             ///< raw 32-byte Ed25519 public key; none: no auth
    /// store_sql limits, as sqld (libsql-server/src/hrana): per HTTP stream 50 texts of at most 5 kB (5000 bytes)
    /// each; per WebSocket session 150 texts, no size limit per text (the message size limit applies).
    std::size_t max_stored_sql = 50;
    std::size_t max_stored_sql_bytes = 5'000;
    std::size_t max_stored_sql_ws = 150;
    std::size_t max_stored_sql_bytes_ws = static_cast<std::size_t>(-1);
    /// Serve the legacy Turso sync protocol (GET /info, /export, /sync) from the WAL. Every connection then runs
    /// with wal_autocheckpoint=0 and the service checkpoints itself (see docs/SERVER.md). Off for ":memory:",
    /// "file:" URIs and databases that cannot use WAL.
    bool replication = true;
    std::uint64_t checkpoint_frames = 10'000;  ///< checkpoint, starting a new generation, once the WAL has this many
    std::size_t kept_generations = 4;          ///< ended generations whose frames stay servable to lagging replicas
    std::function<void(std::string_view)> log; ///< replication events (generation changes, problems); may be empty
    /// PRAGMA synchronous on every connection: NORMAL (false) as sqld's default durability mode "relaxed" (a commit
    /// in WAL mode survives a crash of the process, not of the machine), or FULL (true, an fsync per commit).
    bool synchronous_full = false;
    /// ATTACH and VACUUM INTO may open files under this folder (canonicalised: no ".." or symlink escape); none:
    /// both are refused for files (sql_policy.hpp). Must be an existing directory (usage_error otherwise).
    std::optional<std::string> attach_dir;
    /// A /v2 or /v3 pipeline whose rows would take more than this many bytes fails the statement that crosses it
    /// with RESPONSE_TOO_LARGE (as sqld, 10 MiB by default) instead of building the response. Cursors stream and
    /// are not limited.
    std::size_t max_response_bytes = 10 * 1024 * 1024;
    /// Open streams (HTTP batons and WebSocket streams together) the service keeps at most; a request that would
    /// open one more gets HTTP 503 {"code":"STREAM_LIMIT"} (WebSocket: a STREAM_LIMIT error response). 0: derived
    /// from the descriptor limit (RLIMIT_NOFILE), a third of it less a reserve.
    std::size_t max_streams = 0;
    /// Open streams one token may hold at once (HTTP and WebSocket together); one more is refused with Hrana code
    /// STREAM_LIMIT (HTTP 429). Streams count against the token that opened them: the JWT's text with
    /// jwt_public_key set; without auth every client is the same anonymous token. 0: no limit per token.
    std::size_t max_streams_per_token = 0;
    /// Namespaces (namespaces.hpp): the database file of another namespace, for `ATTACH 'ns' AS alias` (as sqld:
    /// attached read-only); nothing when it does not exist. Empty: ATTACH of namespaces is not recognised.
    std::function<std::optional<std::string>(std::string_view)> attach_namespace;
    /// Namespaces: this database's namespace name. JWTs are then checked for it (sqld's "p" and "id" claims,
    /// auth.hpp), and `ATTACH 'other'` needs a token that may read other.
    std::optional<std::string> namespace_name;
};

/// How Hrana messages are encoded: JSON (/v2, /v3, subprotocols hrana1-3) or Protobuf (/v3-protobuf,
/// hrana3-protobuf; src/hrana/protobuf.hpp).
enum class encoding : std::uint8_t { json, protobuf };

/// What a request's credentials allow.
enum class access : std::uint8_t { denied, read_only, full };

/// A reply to an HTTP request: status, content type and body.
struct http_reply {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
};

/// Stops one HTTP request's statements from another thread (the front end's: the client went away, or a time limit
/// passed). interrupt() interrupts the statement running for the request now (sqlite3_interrupt through
/// libsql::connection::interrupt()) and makes every later statement of the request fail with SQLITE_INTERRUPT; the
/// request's stream is then rolled back and freed as if it had expired. A statement that starts in the instant
/// between the check and the interrupt may miss it: callers repeat interrupt() until the request returns.
/// Thread-safe; one object per request.
class request_interrupt {
public:
    void interrupt() noexcept;
    [[nodiscard]] bool interrupted() const noexcept;

    /// For the service: the connection the request's statements run on now; nullptr: none.
    void attach(libsql::connection* conn) noexcept;

private:
    mutable std::mutex m_;
    bool interrupted_ = false;
    libsql::connection* conn_ = nullptr;
};

/// The body of a /v3/cursor response being produced: the head line, then one line per entry, each ending in "\n".
/// Rows are stepped as the body is pulled, so memory stays within one window however large the result; the stream
/// stays claimed (a request with its baton gets a 400) until the body is done or destroyed. Destroying it before
/// the end (the client went away) rolls the stream back and frees it, as if it had expired. Calls to next() may come
/// from different threads, one at a time.
class cursor_body {
public:
    virtual ~cursor_body() = default;
    /// Appends the next lines to out until it holds at least window bytes or the body ends; returns false once the
    /// body is complete (out then holds its last lines, possibly none).
    virtual bool next(std::string& out, std::size_t window) = 0;
};

/// What opening a cursor gives: a body to stream, or (body null) the reply that refuses the request.
struct cursor_open {
    std::unique_ptr<cursor_body> body;
    http_reply refusal;
};

/// One WebSocket connection's Hrana state (its streams, stored SQL, cursors).
class ws_session {
public:
    virtual ~ws_session() = default;
    /// Handles one message (text for JSON, binary for Protobuf); returns the messages to send back, in order. After closed() is true the front end
    /// sends them and closes the socket (hello_error, protocol violation).
    virtual std::vector<std::string> on_message(std::string_view text) = 0;
    [[nodiscard]] virtual bool closed() const noexcept = 0;
    /// From any thread (the peer closed the socket): interrupts the statement a message is running now, and makes
    /// every later statement of the session fail with SQLITE_INTERRUPT. The session is done for; dropping it frees
    /// its streams. Repeat until on_message returns (see request_interrupt).
    virtual void interrupt() noexcept = 0;
};

class service {
public:
    explicit service(service_options options);
    ~service();
    service(const service&) = delete;
    service& operator=(const service&) = delete;

    /// Checks an Authorization header value ("Bearer <jwt>"); full access when no key is configured. With read-only
    /// access, statements that would write fail (as Hrana errors, not HTTP ones) with code "SQLITE_AUTH".
    [[nodiscard]] access authenticate(std::string_view authorization_header) const;

    /// POST /v2/pipeline (version 2) and /v3/pipeline (version 3). Protocol errors give 400 with a text message;
    /// an expired stream 400 with {"message":..,"code":"STREAM_EXPIRED"}; bad credentials 401.
    /// With stop: stop->interrupt() from another thread ends the request's statements (SQLITE_INTERRUPT errors) and
    /// closes its stream (the reply then carries no baton).
    /// With encoding::protobuf (POST /v3-protobuf/pipeline, version 3): the bodies are Protobuf
    /// (application/x-protobuf); errors outside the pipeline (400, 401...) stay as for JSON.
    [[nodiscard]] http_reply pipeline(int version, std::string_view body, std::string_view authorization_header,
                                      request_interrupt* stop = nullptr, encoding enc = encoding::json);
    /// POST /v3/cursor (JSON lines) or /v3-protobuf/cursor (encoding::protobuf: length-delimited Protobuf
    /// messages), streamed: the same refusals as pipeline(), or a body to pull. stop (as for pipeline()) must
    /// outlive the body.
    [[nodiscard]] cursor_open open_cursor(std::string_view body, std::string_view authorization_header,
                                          request_interrupt* stop = nullptr, encoding enc = encoding::json);
    /// The same cursor built whole (open_cursor() pulled to the end).
    [[nodiscard]] http_reply cursor(std::string_view body, std::string_view authorization_header,
                                    request_interrupt* stop = nullptr, encoding enc = encoding::json);

    /// GET /info, GET /export/{generation}, GET /sync/{generation}/{start}/{end} (legacy Turso sync). Same
    /// credentials as the pipeline (401 JSON without them; read-only tokens may replicate); 404 when replication
    /// is off.
    [[nodiscard]] http_reply replication_info(std::string_view authorization_header);
    [[nodiscard]] http_reply replication_export(std::uint64_t generation, std::string_view authorization_header);
    [[nodiscard]] http_reply replication_frames(std::uint64_t generation, std::uint64_t start, std::uint64_t end,
                                                std::string_view authorization_header);
    /// Ends the current generation now if the WAL holds committed frames and the database is quiet (no request
    /// running, no stream inside a transaction; waits up to a second for running requests). Returns whether the
    /// generation changed. The front end's sweep does the same once the WAL reaches checkpoint_frames.
    bool checkpoint_now();
    /// The current generation; 0 when replication is off.
    [[nodiscard]] std::uint64_t replication_generation() const;
    /// For GET /metrics: open streams (HTTP and WebSocket), committed frames of the generation (0 when replication
    /// is off or the WAL cannot be read), checkpoints that ended a generation since the start.
    [[nodiscard]] std::uint64_t open_streams() const;
    [[nodiscard]] std::uint64_t replication_index() const noexcept;
    [[nodiscard]] std::uint64_t checkpoints() const noexcept;

    /// A WebSocket session for subprotocol hrana2 (version 2), hrana3 (version 3, JSON) or hrana3-protobuf (version
    /// 3, encoding::protobuf: on_message takes and returns binary Protobuf messages).
    [[nodiscard]] std::unique_ptr<ws_session> open_ws(int version, encoding enc = encoding::json);

    /// Rolls back and frees streams idle longer than the expiry, then checkpoints when the WAL reached the
    /// threshold and the database is quiet. The front end calls it every second or so.
    void sweep_expired();
    /// Interrupts every statement running now (HTTP streams and WebSocket sessions) and makes every statement that
    /// starts later fail with SQLITE_INTERRUPT, for good: the first step of stopping (SIGINT/SIGTERM, after a grace
    /// period). Thread-safe, cheap, never blocks on a running request; repeat it until in-flight requests have ended.
    void interrupt_running() noexcept;
    /// Rolls back every open stream and refuses new work; called on SIGINT/SIGTERM after in-flight requests end.
    void shutdown();

    [[nodiscard]] const service_options& options() const noexcept;

    /// Writes a consistent copy of the database to path (VACUUM INTO; the file must not exist): forking a namespace.
    void copy_to(const std::string& path);

private:
    struct impl;
    class http_cursor_body;
    static void expire_idle(impl& d);
    std::unique_ptr<impl> impl_;
};

/// Reads an Ed25519 public key file as sqld takes it: PEM (SubjectPublicKeyInfo) or the raw key in base64/base64url.
/// Returns the 32 raw bytes; throws libsql::usage_error when the file cannot be used.
[[nodiscard]] std::string read_ed25519_public_key_file(const std::string& path);

} // namespace libsql::server
