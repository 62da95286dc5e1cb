// The `libsql` command. Subcommands: serve (a libSQL server over a local database file), shell (an SQL shell over
// any transport; shell.cpp), migrate (versioned migrations from a folder, applied to a local file, a server or a
// replica). CLI11 lives here only.
#include "server/http_server.hpp"
#include "server/namespaces.hpp"
#include "server/service.hpp"
#include "shell.hpp"

#include "libsql/database.hpp"
#include "libsql/migrations.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <exception>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct serve_args {
    std::string path;
    std::string listen = "127.0.0.1:8080";
    std::string auth_jwt_key_file;
    double stream_expiry_seconds = 10;
    std::size_t max_body_bytes = 10 * 1024 * 1024;
    std::string self_url;
    std::string log_level = "info";
    unsigned workers = 0;
    std::uint64_t checkpoint_frames = 10'000;
    std::size_t keep_generations = 4;
    bool no_replication = false;
    double max_request_seconds = 0;
    std::string encryption_key;
    std::string cipher = "aes256cbc";
    std::string attach_dir;
    std::size_t max_response_bytes = 10 * 1024 * 1024;
    std::size_t max_streams = 0;
    std::size_t max_streams_per_token = 0;
    std::size_t max_connections = 0;
    double read_timeout_seconds = 30;
    std::string tls_cert_file;
    std::string tls_key_file;
    std::string tls_client_ca_file;
    bool enable_namespaces = false;
    std::string default_namespace = "default";
    std::string admin_listen;
};

/// The names --cipher accepts.
std::vector<std::string> cipher_names() {
    return {"aes256cbc", "aes128cbc", "chacha20", "sqlcipher", "rc4", "ascon128", "aegis"};
}

struct host_port {
    std::string host;
    std::uint16_t port = 0;
};

/// "HOST:PORT", "[V6]:PORT", ":PORT" (all interfaces) or "PORT" (127.0.0.1).
host_port parse_listen(const std::string& text) {
    std::string host;
    std::string_view port_text;
    const auto colon = text.rfind(':');
    if (colon == std::string::npos) {
        host = "127.0.0.1";
        port_text = text;
    } else {
        host = text.substr(0, colon);
        port_text = std::string_view(text).substr(colon + 1);
        if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
        if (host.empty()) host = "0.0.0.0";
    }
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc{} || end != port_text.data() + port_text.size() || port_text.empty() || value > 65535) {
        throw CLI::ValidationError("--listen", "expected HOST:PORT with PORT in 0..65535, got '" + text + "'");
    }
    return {host, static_cast<std::uint16_t>(value)};
}

libsql::server::log_level parse_level(const std::string& name) {
    using libsql::server::log_level;
    if (name == "error") return log_level::error;
    if (name == "warn") return log_level::warn;
    if (name == "debug") return log_level::debug;
    return log_level::info;
}

const char* level_name(libsql::server::log_level level) {
    switch (level) {
    case libsql::server::log_level::error: return "error";
    case libsql::server::log_level::warn: return "warn";
    case libsql::server::log_level::info: return "info";
    case libsql::server::log_level::debug: return "debug";
    }
    return "?";
}

int serve(const serve_args& args) {
    namespace srv = libsql::server;
    const host_port where = parse_listen(args.listen);
    if (args.max_body_bytes == 0) throw CLI::ValidationError("--max-body-bytes", "must be at least 1");

    // The service creates the file; its directory is created here, so `libsql serve data/dev.db` just works.
    // With namespaces PATH is the server's folder (namespaces in PATH/dbs/<name>/data, as sqld).
    if (args.enable_namespaces) {
        std::filesystem::create_directories(args.path);
    } else if (const auto parent = std::filesystem::path(args.path).parent_path(); !parent.empty()) {
        std::filesystem::create_directories(parent);
    }
    if (!args.admin_listen.empty() && !args.enable_namespaces)
        throw CLI::ValidationError("--admin-listen-addr", "the admin API manages namespaces: add --enable-namespaces");
    srv::service_options service_opts;
    service_opts.path = args.path;
    service_opts.stream_expiry = std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(args.stream_expiry_seconds * 1000)));
    if (!args.self_url.empty()) service_opts.self_url = args.self_url;
    if (!args.auth_jwt_key_file.empty()) service_opts.jwt_public_key = srv::read_ed25519_public_key_file(args.auth_jwt_key_file);

    const srv::log_level threshold = parse_level(args.log_level);
    std::mutex log_mutex;
    auto log = [&](srv::log_level level, std::string_view message) {
        if (static_cast<int>(level) > static_cast<int>(threshold)) return;
        const std::time_t now = std::time(nullptr);
        std::tm tm{};
        gmtime_r(&now, &tm);
        char stamp[32];
        std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
        const std::lock_guard lock{log_mutex};
        std::cerr << stamp << ' ' << level_name(level) << ' ' << message << '\n';
    };

    service_opts.encryption_key = args.encryption_key;
    service_opts.cipher = libsql::encryption_cipher_from_name(args.cipher).value_or(libsql::encryption_cipher::aes256cbc);
    service_opts.replication = !args.no_replication;
    if (!args.attach_dir.empty()) service_opts.attach_dir = args.attach_dir;
    service_opts.max_response_bytes = args.max_response_bytes;
    service_opts.max_streams = args.max_streams;
    service_opts.max_streams_per_token = args.max_streams_per_token;
    service_opts.checkpoint_frames = args.checkpoint_frames;
    service_opts.kept_generations = args.keep_generations;
    service_opts.log = [&log](std::string_view message) { log(srv::log_level::info, message); };
    std::unique_ptr<srv::service> single;
    std::unique_ptr<srv::namespaces> registry;
    if (args.enable_namespaces) {
        srv::namespaces_options nopts;
        nopts.folder = args.path;
        nopts.default_namespace = args.default_namespace;
        nopts.base = service_opts;
        registry = std::make_unique<srv::namespaces>(std::move(nopts));
    } else {
        single = std::make_unique<srv::service>(service_opts);
    }
    srv::http_server_options http_opts;
    http_opts.listen_address = where.host;
    http_opts.port = where.port;
    http_opts.max_body_bytes = args.max_body_bytes;
    http_opts.max_connections = args.max_connections;
    http_opts.read_timeout = std::chrono::milliseconds(std::llround(args.read_timeout_seconds * 1000));
    http_opts.max_request_duration = std::chrono::milliseconds(std::llround(args.max_request_seconds * 1000));
    http_opts.worker_threads = args.workers;
    http_opts.stop_on_signals = true;
    http_opts.log = log;
    http_opts.log_threshold = threshold;
    http_opts.tls_cert_file = args.tls_cert_file;
    http_opts.tls_key_file = args.tls_key_file;
    http_opts.tls_client_ca_file = args.tls_client_ca_file;
    std::optional<host_port> admin;
    if (!args.admin_listen.empty()) {
        admin = parse_listen(args.admin_listen);
        http_opts.admin_listen_address = admin->host;
        http_opts.admin_port = admin->port;
    }
    auto server = registry ? std::make_unique<srv::http_server>(*registry, http_opts)
                           : std::make_unique<srv::http_server>(*single, http_opts);

    auto shown = [](const std::string& host) { return host.find(':') != std::string::npos ? "[" + host + "]" : host; };
    std::cout << "listening on " << (args.tls_cert_file.empty() ? "http://" : "https://") << shown(where.host) << ':'
              << server->port() << std::endl;
    if (admin) std::cout << "admin listening on http://" << shown(admin->host) << ':' << server->admin_port() << std::endl;
    log(srv::log_level::info, "serving " + args.path + (registry ? " (namespaces, default " + args.default_namespace + ")" : "") +
                                  (service_opts.jwt_public_key ? " (JWT auth on)" : " (no auth)"));
    server->run();
    return 0;
}

// --- migrate

struct migrate_args {
    std::string dir;
    std::string target;
    std::optional<std::int64_t> to;
    std::string auth_token;
    std::string sync_url;
};

/// TARGET names a remote database rather than a local file or a SQLite "file:" URI.
bool is_remote_url(std::string_view target) {
    for (std::string_view scheme : {"libsql://", "http://", "https://", "ws://", "wss://"}) {
        if (target.size() >= scheme.size()) {
            bool same = true;
            for (std::size_t i = 0; i < scheme.size() && same; ++i) {
                same = std::tolower(static_cast<unsigned char>(target[i])) == scheme[i];
            }
            if (same) return true;
        }
    }
    return target.find("://") != std::string_view::npos;
}

std::string migration_name(const libsql::migrator& m, std::int64_t version) {
    for (const auto& mig : m.migrations()) {
        if (mig.version == version) return mig.name;
    }
    return "(not in the folder)";
}

std::string padded(std::int64_t version) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%04lld", static_cast<long long>(version));
    return buf;
}

enum class migrate_action : std::uint8_t { up, down, status };

int migrate(migrate_action action, const migrate_args& args) {
    if (args.to && *args.to < 0) throw std::runtime_error("--to expects a version >= 0");
    const bool remote = is_remote_url(args.target);
    if (remote && !args.sync_url.empty()) {
        throw std::runtime_error("--sync-url opens an embedded replica: TARGET must then be a local path, not a URL");
    }
    const libsql::migrator m = libsql::migrator::from_directory(args.dir);
    if (action == migrate_action::status && !remote && args.sync_url.empty() && !args.target.starts_with("file:") &&
        !std::filesystem::exists(args.target)) {
        throw std::runtime_error("no database file '" + args.target + "'");
    }
    // A URL is a remote database, a path with --sync-url an embedded replica (writes go to its primary): the
    // library picks the transport; the migrator only uses the connection API.
    libsql::connect_options options;
    options.auth_token = args.auth_token;
    options.sync_url = args.sync_url;
    const libsql::database db(args.target, options);
    auto conn = db.connect();
    switch (action) {
    case migrate_action::up: {
        const auto applied = args.to ? m.up_to(conn, *args.to) : m.up(conn);
        for (const auto v : applied) std::cout << "applied " << padded(v) << ' ' << migration_name(m, v) << '\n';
        if (applied.empty()) std::cout << "nothing to apply\n";
        break;
    }
    case migrate_action::down: {
        std::vector<std::int64_t> reverted;
        if (args.to) {
            reverted = m.down_to(conn, *args.to);
        } else if (const auto v = m.down(conn)) {
            reverted.push_back(*v);
        }
        for (const auto v : reverted) std::cout << "reverted " << padded(v) << ' ' << migration_name(m, v) << '\n';
        if (reverted.empty()) std::cout << "nothing to revert\n";
        break;
    }
    case migrate_action::status: {
        const auto rows = m.status(conn);
        std::size_t name_width = 4;
        for (const auto& r : rows) name_width = std::max(name_width, r.name.size());
        const int w = static_cast<int>(name_width);
        std::printf("%-8s %-*s %-7s %s\n", "version", w, "name", "applied", "applied_at");
        for (const auto& r : rows) {
            std::printf("%-8s %-*s %-7s %s\n", padded(r.version).c_str(), w, r.name.c_str(), r.applied ? "yes" : "no",
                        r.applied_at ? r.applied_at->c_str() : "-");
        }
        std::fflush(stdout);
        break;
    }
    }
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"libsql: the libSQL server, shell and migration tool of libsql-cpp"};
    app.require_subcommand(1);

    serve_args args;
    CLI::App* serve_cmd = app.add_subcommand(
        "serve", "Serve a database file over the libSQL remote protocol (Hrana over HTTP and WebSocket, JSON), "
                 "as sqld does: the official clients connect with url http://HOST:PORT or ws://HOST:PORT");
    serve_cmd->add_option("PATH", args.path, "The database file to serve; created if missing")->required();
    serve_cmd->add_option("--listen", args.listen,
                          "HOST:PORT to listen on (PORT 0 picks a free port). Once bound, one line "
                          "\"listening on http://HOST:PORT\" is printed to stdout")
        ->capture_default_str();
    serve_cmd->add_option("--auth-jwt-key-file", args.auth_jwt_key_file,
                          "Ed25519 public key (PEM, or raw 32 bytes in base64/base64url) that signs the JWTs clients "
                          "send as 'Authorization: Bearer <jwt>' (WebSocket: in the hello). Without it, no auth")
        ->check(CLI::ExistingFile);
    serve_cmd->add_option("--stream-expiry", args.stream_expiry_seconds,
                          "Seconds a stream (interactive transaction) may stay idle before it is rolled back and "
                          "freed; a late request then gets STREAM_EXPIRED")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    serve_cmd->add_option("--max-body-bytes", args.max_body_bytes,
                          "Largest request body (and WebSocket message) accepted; larger ones get HTTP 413")
        ->capture_default_str();
    serve_cmd->add_option("--self-url", args.self_url,
                          "The server's public URL, sent to clients as base_url so a stream's later requests come back "
                          "to this server (behind a load balancer)");
    serve_cmd->add_option("--log-level", args.log_level, "What to log to stderr: error, warn, info or debug (every request)")
        ->capture_default_str()
        ->check(CLI::IsMember({"error", "warn", "info", "debug"}));
    serve_cmd->add_option("--workers", args.workers,
                          "Threads that run database work (0: max(16, 2 x cores); writers wait on each other there)")
        ->capture_default_str();
    serve_cmd->add_option("--checkpoint-frames", args.checkpoint_frames,
                          "Embedded replicas: once the WAL holds this many frames, checkpoint it at a quiet moment and "
                          "start a new generation (GET /info, /export, /sync serve the WAL; see docs/SERVER.md)")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    serve_cmd->add_option("--keep-generations", args.keep_generations,
                          "Ended generations whose frames stay on disk for replicas that were behind when they ended")
        ->capture_default_str();
    serve_cmd->add_option("--max-request-duration", args.max_request_seconds,
                          "Interrupt an HTTP request still running after this many seconds (0: no limit)")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    serve_cmd->add_option("--encryption-key", args.encryption_key,
                          "Encrypt the database file at rest with this key (libSQL's encryption); /export and /sync "
                          "still serve plaintext pages, so replicas use keys of their own")
        ->envname("LIBSQL_ENCRYPTION_KEY");
    serve_cmd->add_option("--cipher", args.cipher, "Cipher used with --encryption-key (libSQL's is aes256cbc)")
        ->capture_default_str()
        ->check(CLI::IsMember(cipher_names()));
    serve_cmd->add_option("--attach-dir", args.attach_dir,
                          "Let clients ATTACH (and VACUUM INTO) database files under this folder only; without it, "
                          "statements that would open or write any other file are refused (SQLITE_AUTH)")
        ->check(CLI::ExistingDirectory);
    serve_cmd->add_option("--max-response-bytes", args.max_response_bytes,
                          "A /v2 or /v3 pipeline statement whose rows would take the response past this many bytes "
                          "fails with RESPONSE_TOO_LARGE (cursors stream and are not limited)")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    serve_cmd->add_option("--max-streams", args.max_streams,
                          "Open streams (interactive transactions, HTTP and WebSocket) kept at most; more get HTTP 503 "
                          "STREAM_LIMIT until some close or expire (0: a third of the descriptor limit)")
        ->capture_default_str();
    serve_cmd->add_option("--max-streams-per-token", args.max_streams_per_token,
                          "Open streams one token (JWT) may hold at once; more get HTTP 429 STREAM_LIMIT (without "
                          "--auth-jwt-key-file all clients share one count). 0: no limit per token")
        ->capture_default_str();
    serve_cmd->add_option("--max-connections", args.max_connections,
                          "Open HTTP/WebSocket connections at most; more are answered 503 and closed at once (0: a "
                          "third of the descriptor limit)")
        ->capture_default_str();
    serve_cmd->add_option("--read-timeout", args.read_timeout_seconds,
                          "Seconds a client has to send a request's headers, then its body (deadlines a trickling "
                          "client cannot extend), and the idle time allowed between keep-alive requests")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    serve_cmd->add_option("--tls-cert-file", args.tls_cert_file,
                          "TLS: the server's certificate chain (PEM). With --tls-key-file the port speaks HTTPS and WSS "
                          "only, and the line printed says https://")
        ->check(CLI::ExistingFile);
    serve_cmd->add_option("--tls-key-file", args.tls_key_file, "TLS: the private key of --tls-cert-file (PEM)")
        ->check(CLI::ExistingFile);
    serve_cmd->add_option("--tls-client-ca-file", args.tls_client_ca_file,
                          "TLS: clients must present a certificate signed by one of these CAs (PEM; mutual TLS)")
        ->check(CLI::ExistingFile);
    serve_cmd->add_flag("--enable-namespaces", args.enable_namespaces,
                        "Serve many databases (sqld's namespaces): PATH is then a folder, each namespace a file "
                        "PATH/dbs/<name>/data, chosen by the first label of the request's Host header "
                        "(<ns>.example.com) or its x-namespace header");
    serve_cmd->add_option("--default-namespace", args.default_namespace,
                          "With --enable-namespaces: the namespace of requests whose Host names none (no dot, or an IP "
                          "address); created at startup")
        ->capture_default_str();
    serve_cmd->add_option("--admin-listen-addr,--admin-listen", args.admin_listen,
                          "With --enable-namespaces: HOST:PORT of the admin API (POST /v1/namespaces/{ns}/create, "
                          "POST /v1/namespaces/{from}/fork/{to}, DELETE /v1/namespaces/{ns}); plain HTTP without "
                          "credentials, so keep it private. Once bound, \"admin listening on http://HOST:PORT\" is "
                          "printed after the first line");
    serve_cmd->add_flag("--no-replication", args.no_replication,
                        "Do not serve /info, /export, /sync; SQLite then checkpoints the WAL as usual");

    CLI::App* migrate_cmd = app.add_subcommand(
        "migrate", "Versioned migrations from a folder of NNNN_name.up.sql / NNNN_name.down.sql files, each applied in "
                   "its own transaction and recorded in the table schema_migrations of TARGET");
    migrate_cmd->require_subcommand(1);
    migrate_args margs;
    auto add_common = [&margs](CLI::App* cmd, bool with_to) {
        cmd->add_option("DIR", margs.dir, "The folder of migration files")->required()->check(CLI::ExistingDirectory);
        cmd->add_option("TARGET", margs.target,
                        "The database: a local file path, or a server's URL (http://, https://, libsql://, ws://, "
                        "wss://); with --sync-url, the local file of an embedded replica")
            ->required();
        cmd->add_option("--auth-token", margs.auth_token, "Token sent to the server as 'Authorization: Bearer <token>'")
            ->envname("LIBSQL_AUTH_TOKEN");
        cmd->add_option("--sync-url", margs.sync_url,
                        "Open TARGET as an embedded replica of the primary at this URL (migrations are written to the "
                        "primary)");
        if (with_to) cmd->add_option("--to", margs.to, "Stop at this version (up: apply through it; down: revert above it)");
    };
    CLI::App* up_cmd = migrate_cmd->add_subcommand("up", "Apply every pending migration (with --to, up to VERSION); prints each one applied");
    add_common(up_cmd, true);
    CLI::App* down_cmd = migrate_cmd->add_subcommand("down", "Revert the last applied migration (with --to, every one above VERSION)");
    add_common(down_cmd, true);
    CLI::App* status_cmd = migrate_cmd->add_subcommand("status", "Print every migration: version, name, applied (yes/no), applied_at");
    add_common(status_cmd, false);

    libsql::cli::shell_options shell_opts;
    std::string shell_mode = "table";
    CLI::App* shell_cmd = app.add_subcommand(
        "shell", "An SQL shell: with SQL, run it, print the results and exit (non-zero on error); without, read SQL "
                 "and dot commands (.help) from the terminal with line editing and history, or from stdin");
    shell_cmd->add_option("TARGET", shell_opts.target,
                          "The database: a local file path (created if missing), or a server's URL (http://, "
                          "https://, libsql://, ws://, wss://); with --sync-url, the local file of an embedded replica")
        ->required();
    shell_cmd->add_option("SQL", shell_opts.commands,
                          "SQL to run (several statements separated by ';'), or a dot command such as .tables; "
                          "several arguments run in order, stopping at the first error");
    shell_cmd->add_option("--auth-token", shell_opts.auth_token, "Token sent to the server as 'Authorization: Bearer <token>'")
        ->envname("LIBSQL_AUTH_TOKEN");
    shell_cmd->add_option("--sync-url", shell_opts.sync_url,
                          "Open TARGET as an embedded replica of the primary at this URL (synced once at open; "
                          ".sync and .freeze in the shell)");
    shell_cmd->add_option("--mode", shell_mode, "Output mode: table, csv, json or line")
        ->capture_default_str()
        ->check(CLI::IsMember({"table", "csv", "json", "line"}));
    shell_cmd->add_option("--encryption-key", shell_opts.encryption_key,
                          "Key of the encrypted local file (or embedded replica file); libSQL's encryptionKey")
        ->envname("LIBSQL_ENCRYPTION_KEY");
    shell_cmd->add_option("--cipher", shell_opts.cipher, "Cipher used with --encryption-key (libSQL's is aes256cbc)")
        ->capture_default_str()
        ->check(CLI::IsMember(cipher_names()));
    shell_cmd->add_option("--tls-ca-file", shell_opts.tls_ca_file,
                          "CA certificates (PEM) that an https:// or wss:// server's certificate must chain to "
                          "(default: the system's)")
        ->check(CLI::ExistingFile);
    shell_cmd->add_option("--tls-cert-file", shell_opts.tls_cert_file,
                          "A client certificate (PEM) for servers that ask for one (mutual TLS); with --tls-key-file")
        ->check(CLI::ExistingFile);
    shell_cmd->add_option("--tls-key-file", shell_opts.tls_key_file, "The client certificate's private key (PEM)")
        ->check(CLI::ExistingFile);
    shell_cmd->add_flag("!--no-tls-verify", shell_opts.tls_verify,
                        "Do not check the server's certificate (testing only: anyone can pose as the server)");
    shell_cmd->add_flag("--header,!--no-header", shell_opts.header, "Print (or not) the header row in csv mode (default: on)");
    shell_cmd->add_flag("--bail", shell_opts.bail, "Stop at the first error when reading SQL from stdin");

    CLI11_PARSE(app, argc, argv);

    if (shell_cmd->parsed()) {
        shell_opts.mode = libsql::cli::parse_output_mode(shell_mode).value_or(libsql::cli::output_mode::table);
        return libsql::cli::run_shell(shell_opts);
    }

    if (migrate_cmd->parsed()) {
        const migrate_action action = up_cmd->parsed() ? migrate_action::up
                                      : down_cmd->parsed() ? migrate_action::down
                                                           : migrate_action::status;
        try {
            return migrate(action, margs);
        } catch (const std::exception& e) {
            std::cerr << "libsql migrate: " << e.what() << '\n';
            return 1;
        }
    }

    if (serve_cmd->parsed()) {
        try {
            return serve(args);
        } catch (const CLI::Error& e) {
            return app.exit(e);
        } catch (const std::exception& e) {
            std::cerr << "libsql serve: " << e.what() << '\n';
            return 1;
        }
    }
    return 0;
}
