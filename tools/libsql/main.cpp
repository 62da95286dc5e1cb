// The `libsql` command. Subcommands: serve (a libSQL server over a local database file). CLI11 lives here only.
#include "server/http_server.hpp"
#include "server/service.hpp"

#include <CLI/CLI.hpp>

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <exception>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

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
};

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
    if (const auto parent = std::filesystem::path(args.path).parent_path(); !parent.empty()) {
        std::filesystem::create_directories(parent);
    }
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

    srv::service service{service_opts};
    srv::http_server_options http_opts;
    http_opts.listen_address = where.host;
    http_opts.port = where.port;
    http_opts.max_body_bytes = args.max_body_bytes;
    http_opts.worker_threads = args.workers;
    http_opts.stop_on_signals = true;
    http_opts.log = log;
    http_opts.log_threshold = threshold;
    srv::http_server server{service, http_opts};

    const bool v6 = where.host.find(':') != std::string::npos;
    std::cout << "listening on http://" << (v6 ? "[" + where.host + "]" : where.host) << ':' << server.port() << std::endl;
    log(srv::log_level::info, "serving " + args.path + (service_opts.jwt_public_key ? " (JWT auth on)" : " (no auth)"));
    server.run();
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"libsql: the libSQL server (and, later, shell) of libsql-cpp"};
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

    CLI11_PARSE(app, argc, argv);

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
