// A remote database: the normalised URL, the request headers, what the server supports (probed once, here), and the
// describe cache shared by its connections.
#include "remote/remote.hpp"

#include <optional>

namespace libsql::detail {

namespace remote {

std::string_view to_string(server_kind k) noexcept {
    switch (k) {
    case server_kind::hrana3: return "hrana3";
    case server_kind::hrana2: return "hrana2";
    case server_kind::limited: return "limited";
    }
    return "unknown";
}

capabilities capabilities_of(server_kind k) noexcept {
    capabilities c;
    c.kind = k;
    switch (k) {
    case server_kind::hrana3: break;
    case server_kind::hrana2:
        c.version = 2;
        c.cursor = false;
        c.get_autocommit = false;
        break;
    case server_kind::limited:
        c.version = 2;
        c.streams = false;
        c.cursor = false;
        c.get_autocommit = false;
        c.close = false;
        c.describe = false;
        c.sequence = false;
        c.named_args = false;
        c.reports_changes = false;
        break;
    }
    return c;
}

namespace {

constexpr std::size_t max_cached_descriptions = 1024;
constexpr std::size_t max_cached_sql_bytes = 4096;  // longer texts are described every time they are prepared

bool is_success(long status) noexcept { return status >= 200 && status < 300; }

std::string excerpt(std::string_view body) {
    constexpr std::size_t max = 300;
    std::string s(body.substr(0, max));
    if (body.size() > max) s += "...";
    return s;
}

/// The value of ?NAME= in a URL, when present.
std::optional<std::string> query_value(std::string_view url, std::string_view name) {
    const auto q = url.find('?');
    if (q == std::string_view::npos) return std::nullopt;
    std::string_view query = url.substr(q + 1);
    if (const auto hash = query.find('#'); hash != std::string_view::npos) query = query.substr(0, hash);
    while (!query.empty()) {
        const auto amp = query.find('&');
        const std::string_view kv = query.substr(0, amp);
        if (kv.size() > name.size() && kv.starts_with(name) && kv[name.size()] == '=')
            return std::string(kv.substr(name.size() + 1));
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
    }
    return std::nullopt;
}

/// The value of ?authToken= in a URL, when present (as the official clients accept it).
std::string auth_token_in(std::string_view url) { return query_value(url, "authToken").value_or(std::string()); }

/// The WebSocket URL for a normalised HTTP base URL (http -> ws, https -> wss).
std::string ws_url_of(const std::string& base) {
    if (base.starts_with("http://")) return "ws://" + base.substr(7);
    if (base.starts_with("https://")) return "wss://" + base.substr(8);
    return base;
}

} // namespace

bool uses_websocket(std::string_view url, const connect_options& options) {
    const bool ws_scheme = url.starts_with("ws://") || url.starts_with("wss://");
    const bool http_scheme = url.starts_with("http://") || url.starts_with("https://");
    std::optional<bool> asked;
    if (const auto t = query_value(url, "transport")) {
        if (*t == "ws" || *t == "websocket" || *t == "wss") asked = true;
        else if (*t == "http" || *t == "https") asked = false;
        else
            throw usage_error("unknown ?transport=" + *t + " in the URL: use ws (WebSocket) or http");
    }
    if (options.protocol == remote_protocol::websocket) {
        if (asked == false) throw usage_error("connect_options::protocol asks for WebSocket but the URL says ?transport=http");
        asked = true;
    } else if (options.protocol == remote_protocol::http) {
        if (asked == true) throw usage_error("connect_options::protocol asks for HTTP but the URL says ?transport=ws");
        asked = false;
    }
    if (ws_scheme) {
        if (asked == false) throw usage_error("HTTP was asked for, but " + std::string(url.substr(0, url.find(':'))) +
                                              ":// URLs always use WebSocket (use http:// or https://)");
        return true;
    }
    if (http_scheme) {
        if (asked == true) throw usage_error("WebSocket was asked for, but http(s):// URLs always use HTTP (use ws:// or "
                                             "wss://, or libsql:// with ?transport=ws)");
        return false;
    }
    return asked.value_or(false);
}

remote_database::remote_database(std::string_view url, connect_options options, libsql::transport reported,
                                 std::optional<server_kind> assume)
    : path_(url), options_(std::move(options)), transport_(reported) {
    const error_info where_info{0, {}, {}, transport_, {}};
    if (!options_.encryption_key.empty())
        throw unsupported("encryption_key is for local files; a remote database takes remote_encryption_key "
                          "(sent to the server as x-turso-encryption-key)",
                          where_info);
    if (options_.enable_load_extension)
        throw unsupported("enable_load_extension: extensions cannot be loaded over the remote transport", where_info);
    if (options_.mode == open_mode::read_only)
        throw unsupported("open_mode::read_only is not available over the remote transport: use a read-only token "
                          "(JWT claim \"a\":\"ro\")",
                          where_info);
    const bool websocket = uses_websocket(url, options_);
    // The HTTP form of the URL names the same server (the replica's sync endpoints use it, and errors name it).
    std::string http_url(url);
    if (http_url.starts_with("ws://")) http_url = "http://" + http_url.substr(5);
    else if (http_url.starts_with("wss://")) http_url = "https://" + http_url.substr(6);
    base_url_ = http::normalize_base_url(http_url);
    if (options_.url.empty()) options_.url = std::string(url);

    std::string token = options_.auth_token;
    if (token.empty()) token = auth_token_in(url);
    http_.connect_timeout = options_.connect_timeout;
    http_.request_timeout = options_.request_timeout;
    http_.transport = transport_;
    http_.tls = tls_settings_of(options_);
    if (options_.tls_cert_file.empty() != options_.tls_key_file.empty())
        throw usage_error("tls_cert_file and tls_key_file go together (a client certificate and its key)", where_info);
    if (!token.empty()) http_.headers.push_back("Authorization: Bearer " + token);
    if (!options_.remote_encryption_key.empty())
        http_.headers.push_back("x-turso-encryption-key: " + options_.remote_encryption_key);
    http_.headers.emplace_back("x-libsql-client-version: libsql-cpp-0.1.0");

    if (websocket) {
        // The probe is the connection itself: the subprotocol the server picks says hrana3 or hrana2.
        ws_client::settings ws;
        ws.url = ws_url_of(base_url_);
        if (!token.empty()) ws.jwt = token;
        ws.connect_timeout = options_.connect_timeout;
        if (!options_.remote_encryption_key.empty())
            ws.headers.push_back("x-turso-encryption-key: " + options_.remote_encryption_key);
        ws.transport = transport_;
        ws.tls = http_.tls;
        // open_as() (tests): a given Hrana version offers only its JSON subprotocol, so the JSON path is run too.
        if (assume == server_kind::hrana3) ws.subprotocols = {"hrana3"};
        else if (assume == server_kind::hrana2) ws.subprotocols = {"hrana2"};
        ws_settings_ = ws;
        ws_ = std::make_shared<ws_client>(std::move(ws));
        ws_->connect();
        ws_idle_.push_back(ws_);  // the probe's socket serves the first connection
        caps_ = capabilities_of(ws_->version() == 3 ? server_kind::hrana3 : server_kind::hrana2);
        if (assume) caps_ = capabilities_of(*assume);
        if (!caps_.streams) throw usage_error("a server without streams cannot be used over WebSocket", where_info);
        caps_.websocket = true;
        return;
    }
    if (assume) {
        caps_ = capabilities_of(*assume);
        return;
    }
    // The probe: v3, else v2, else a server that only takes pipelines of execute and batch.
    http::client probe(http_);
    auto check_auth = [&](const http::response& r, const std::string& what) {
        if (r.status == 401 || r.status == 403)
            throw auth_error("the server refused the credentials (HTTP " + std::to_string(r.status) + " from " + what +
                                 "): " + excerpt(r.body),
                             where_info);
    };
    const std::string v3 = base_url_ + "v3";
    const auto r3 = probe.request("GET", v3, {}, http::retry::idempotent, {});
    check_auth(r3, v3);
    if (is_success(r3.status)) {
        caps_ = capabilities_of(server_kind::hrana3);
        return;
    }
    const std::string v2 = base_url_ + "v2";
    const auto r2 = probe.request("GET", v2, {}, http::retry::idempotent, {});
    check_auth(r2, v2);
    if (is_success(r2.status)) {
        caps_ = capabilities_of(server_kind::hrana2);
        return;
    }
    const std::string pipe = base_url_ + "v2/pipeline";
    const auto rp = probe.request("POST", pipe, R"({"requests":[{"type":"execute","stmt":{"sql":"SELECT 1"}}]})",
                                  http::retry::idempotent);
    check_auth(rp, pipe);
    if (is_success(rp.status)) {
        try {
            const auto parsed = hrana::parse_pipeline_response(rp.body);
            if (parsed.results.size() == 1) {
                caps_ = capabilities_of(server_kind::limited);
                return;
            }
        } catch (const hrana::protocol_violation&) {
        }
    }
    throw protocol_error("no Hrana server at " + base_url_ + ": GET v3 gave HTTP " + std::to_string(r3.status) +
                             ", GET v2 gave HTTP " + std::to_string(r2.status) + ", POST v2/pipeline gave HTTP " +
                             std::to_string(rp.status) + ": " + excerpt(rp.body),
                         where_info);
}

std::shared_ptr<ws_client> remote_database::lease_ws() {
    std::lock_guard lk(ws_pool_m_);
    while (!ws_idle_.empty()) {
        auto c = std::move(ws_idle_.back());
        ws_idle_.pop_back();
        if (c->live_generation() != 0) return c;
    }
    ++ws_made_;
    return std::make_shared<ws_client>(ws_settings_);
}

void remote_database::give_back_ws(std::shared_ptr<ws_client> c) noexcept {
    constexpr std::size_t keep_idle = 8;
    std::shared_ptr<ws_client> dropped;  // closed outside the lock
    std::lock_guard lk(ws_pool_m_);
    if (c->live_generation() != 0 && ws_idle_.size() < keep_idle) ws_idle_.push_back(std::move(c));
    else dropped = std::move(c);
}

std::uint64_t remote_database::ws_clients_made() const {
    std::lock_guard lk(ws_pool_m_);
    return ws_made_;
}

std::shared_ptr<connection_backend> remote_database::connect() {
    return std::make_shared<remote_connection>(shared_from_this());
}

std::shared_ptr<const description> remote_database::find_description(std::string_view sql) const {
    std::lock_guard lk(cache_m_);
    const auto it = cache_.find(std::string(sql));
    return it == cache_.end() ? nullptr : it->second;
}

void remote_database::remember_description(std::string_view sql, std::shared_ptr<const description> d) {
    if (sql.size() > max_cached_sql_bytes) return;
    std::lock_guard lk(cache_m_);
    if (cache_.size() >= max_cached_descriptions) cache_.clear();
    cache_[std::string(sql)] = std::move(d);
}

void remote_database::forget_descriptions() noexcept {
    std::lock_guard lk(cache_m_);
    cache_.clear();
}

std::shared_ptr<remote_database> open(std::string_view url, const connect_options& options, libsql::transport reported) {
    return std::make_shared<remote_database>(url, options, reported);
}

std::shared_ptr<remote_database> open_as(std::string_view url, const connect_options& options, server_kind kind) {
    return std::make_shared<remote_database>(url, options, libsql::transport::remote, kind);
}

} // namespace remote

std::shared_ptr<database_backend> open_remote_database(std::string_view url, const connect_options& options) {
    return remote::open(url, options);
}

} // namespace libsql::detail
