// Namespaces (sqld's --enable-namespaces): one server, many databases. Each namespace is a service over its own
// file, FOLDER/dbs/<name>/data (sqld's layout), found by the request's Host header (its first label, as sqld) or
// its x-namespace header; created and deleted through the admin listener. Without namespaces the registry holds one
// service that every request reaches, whatever its Host. No network here: the front end asks, this answers.
#pragma once

#include "server/service.hpp"

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>

namespace libsql::server {

struct namespaces_options {
    std::string folder;                          ///< the server's folder: namespaces live in folder/dbs/<name>/data
    std::string default_namespace = "default";   ///< for a Host without a namespace label; created at startup
    service_options base;                        ///< every namespace's service gets these (its path replaced)
};

class namespaces {
public:
    /// No namespaces: every request goes to svc (not owned), whatever its Host.
    explicit namespaces(service& single);
    /// Namespaces on: opens every namespace found under folder/dbs, then creates the default one if missing.
    explicit namespaces(namespaces_options options);
    ~namespaces();
    namespaces(const namespaces&) = delete;
    namespaces& operator=(const namespaces&) = delete;

    [[nodiscard]] bool enabled() const noexcept { return enabled_; }

    /// The service a request reaches: with namespaces, the one its x-namespace header names, else the first label
    /// of its Host header when the host has a dot and is not an IP address, else the default. An invalid name gets
    /// 400 {"error":"Invalid namespace"}, an unknown one 404 {"error":"Namespace `x` doesn't exist"} (sqld's).
    [[nodiscard]] std::variant<std::shared_ptr<service>, http_reply> resolve(std::string_view host,
                                                                           std::string_view x_namespace);

    /// Admin API (sqld's): POST /v1/namespaces/{name}/create, DELETE /v1/namespaces/{name}. 200 with an empty
    /// body, or 400/404 {"error": ...}. A deleted namespace refuses new requests at once; its open streams are
    /// rolled back (their requests get errors) and its folder is removed once the last request on it has ended.
    [[nodiscard]] http_reply create(std::string_view name);
    [[nodiscard]] http_reply destroy(std::string_view name);
    /// POST /v1/namespaces/{from}/fork/{to}: a new namespace holding a copy of from's database as it is now.
    [[nodiscard]] http_reply fork(std::string_view from, std::string_view to);

    /// The database file of an existing namespace (for ATTACH between namespaces); nothing when there is none.
    [[nodiscard]] std::optional<std::string> database_path(std::string_view name) const;

    /// Calls f on every live service (sweeps, interrupts, shutdown, metrics), outside the registry's lock.
    void for_each(const std::function<void(service&)>& f) const;

    /// 1 to 63 of A-Z a-z 0-9 '-' '_' (a DNS label, since the Host header carries it): never '.', '/', NUL, "..".
    [[nodiscard]] static bool valid_name(std::string_view name) noexcept;

private:
    [[nodiscard]] std::shared_ptr<service> open_namespace(const std::string& name);
    [[nodiscard]] std::string folder_of(std::string_view name) const;

    bool enabled_ = false;
    namespaces_options opts_;
    mutable std::mutex m_;
    std::map<std::string, std::shared_ptr<service>, std::less<>> live_;
    /// Per live service: set once it is deleted, so that its deleter removes the folder (with m_).
    std::map<const service*, std::shared_ptr<std::atomic<bool>>> removed_flags_;
    std::set<std::string> forking_;  ///< names a fork is copying into (with m_)
    /// Names deleted whose folder is not removed yet (a request still runs on them): shared with the deleters.
    struct doomed_set {
        std::mutex m;
        std::set<std::string, std::less<>> names;
    };
    std::shared_ptr<doomed_set> doomed_ = std::make_shared<doomed_set>();
};

} // namespace libsql::server
