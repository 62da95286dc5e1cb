#include "server/namespaces.hpp"

#include <atomic>
#include <filesystem>
#include <stdexcept>
#include <system_error>
#include <vector>

namespace libsql::server {

namespace {

namespace fs = std::filesystem;

/// sqld's error body: {"error":"..."}. The names in messages are valid names (no quotes nor backslashes).
http_reply error_reply(int status, const std::string& message) {
    http_reply r;
    r.status = status;
    r.body = "{\"error\":\"" + message + "\"}";
    return r;
}

http_reply ok_reply() {
    http_reply r;
    r.body.clear();
    return r;
}

/// "host:port" / "[v6]:port" / "host" -> the host part.
std::string_view host_part(std::string_view host) noexcept {
    while (!host.empty() && (host.front() == ' ' || host.front() == '\t')) host.remove_prefix(1);
    while (!host.empty() && (host.back() == ' ' || host.back() == '\t')) host.remove_suffix(1);
    if (!host.empty() && host.front() == '[') return host;  // an IPv6 literal
    if (const auto colon = host.rfind(':'); colon != std::string_view::npos) host = host.substr(0, colon);
    return host;
}

bool is_ipv4(std::string_view h) noexcept {
    if (h.empty()) return false;
    for (const char c : h)
        if ((c < '0' || c > '9') && c != '.') return false;
    return true;
}

} // namespace

bool namespaces::valid_name(std::string_view name) noexcept {
    if (name.empty() || name.size() > 63) return false;
    for (const char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
        if (!ok) return false;
    }
    return true;
}

namespaces::namespaces(service& single) {
    live_.emplace("", std::shared_ptr<service>(&single, [](service*) {}));
}

namespaces::namespaces(namespaces_options options) : enabled_(true), opts_(std::move(options)) {
    if (!valid_name(opts_.default_namespace))
        throw std::invalid_argument("invalid default namespace name '" + opts_.default_namespace + "'");
    std::error_code ec;
    fs::create_directories(fs::path(opts_.folder) / "dbs", ec);
    if (ec) throw std::runtime_error("cannot create " + (fs::path(opts_.folder) / "dbs").string() + ": " + ec.message());
    for (const auto& e : fs::directory_iterator(fs::path(opts_.folder) / "dbs")) {
        const std::string name = e.path().filename().string();
        if (!e.is_directory() || !valid_name(name)) continue;
        live_.emplace(name, open_namespace(name));
    }
    if (live_.find(opts_.default_namespace) == live_.end())
        live_.emplace(opts_.default_namespace, open_namespace(opts_.default_namespace));
}

namespaces::~namespaces() = default;

std::string namespaces::folder_of(std::string_view name) const {
    return (fs::path(opts_.folder) / "dbs" / std::string(name)).string();
}

std::shared_ptr<service> namespaces::open_namespace(const std::string& name) {
    const std::string folder = folder_of(name);
    fs::create_directories(folder);
    service_options o = opts_.base;
    o.path = (fs::path(folder) / "data").string();
    o.attach_namespace = [this](std::string_view other) { return database_path(other); };
    o.namespace_name = name;
    if (opts_.base.log) o.log = [log = opts_.base.log, name](std::string_view m) { log("namespace " + name + ": " + std::string(m)); };
    // When the last user of a deleted namespace lets go, the service closes its files and the folder goes.
    auto removed = std::make_shared<std::atomic<bool>>(false);
    auto svc = std::shared_ptr<service>(new service(std::move(o)), [folder, name, removed, doomed = doomed_](service* s) {
        delete s;
        if (!removed->load()) return;
        std::error_code ec;
        fs::remove_all(folder, ec);
        std::lock_guard lk(doomed->m);
        doomed->names.erase(name);
    });
    removed_flags_.emplace(svc.get(), std::move(removed));
    return svc;
}

std::variant<std::shared_ptr<service>, http_reply> namespaces::resolve(std::string_view host, std::string_view x_namespace) {
    std::string name;
    if (enabled_) {
        if (!x_namespace.empty()) {
            name = std::string(x_namespace);
        } else {
            const std::string_view h = host_part(host);
            const auto dot = h.find('.');
            if (h.empty() || h.front() == '[' || is_ipv4(h) || dot == std::string_view::npos) name = opts_.default_namespace;
            else name = std::string(h.substr(0, dot));
        }
        if (!valid_name(name)) return error_reply(400, "Invalid namespace");
    }
    std::lock_guard lk(m_);
    const auto it = live_.find(name);
    if (it == live_.end()) return error_reply(404, "Namespace `" + name + "` doesn't exist");
    return it->second;
}

http_reply namespaces::create(std::string_view name) {
    if (!enabled_) return error_reply(404, "namespaces are not enabled on this server (--enable-namespaces)");
    if (!valid_name(name)) return error_reply(400, "Invalid namespace");
    std::lock_guard lk(m_);
    if (live_.find(name) != live_.end() || forking_.count(std::string(name)) != 0)
        return error_reply(400, "Namespace `" + std::string(name) + "` already exists");
    {
        std::lock_guard dk(doomed_->m);
        if (doomed_->names.count(name) != 0)
            return error_reply(400, "Namespace `" + std::string(name) + "` is still being deleted: retry shortly");
    }
    try {
        live_.emplace(std::string(name), open_namespace(std::string(name)));
    } catch (const std::exception&) {
        return error_reply(500, "cannot create namespace `" + std::string(name) + "`");
    }
    return ok_reply();
}

http_reply namespaces::fork(std::string_view from, std::string_view to) {
    if (!enabled_) return error_reply(404, "namespaces are not enabled on this server (--enable-namespaces)");
    if (!valid_name(from) || !valid_name(to)) return error_reply(400, "Invalid namespace");
    std::shared_ptr<service> source;
    const std::string target(to);
    {
        std::lock_guard lk(m_);
        const auto it = live_.find(from);
        if (it == live_.end()) return error_reply(404, "Namespace `" + std::string(from) + "` doesn't exist");
        if (live_.find(to) != live_.end() || forking_.count(target) != 0)
            return error_reply(400, "Namespace `" + target + "` already exists");
        {
            std::lock_guard dk(doomed_->m);
            if (doomed_->names.count(to) != 0)
                return error_reply(400, "Namespace `" + target + "` is still being deleted: retry shortly");
        }
        source = it->second;
        forking_.insert(target);  // the name is taken while the copy runs, without holding the registry
    }
    struct release {
        namespaces& self;
        const std::string& name;
        ~release() {
            std::lock_guard lk(self.m_);
            self.forking_.erase(name);
        }
    } releasing{*this, target};
    const std::string folder = folder_of(to);
    std::error_code ec;
    if (fs::exists(folder, ec)) fs::remove_all(folder, ec);  // left over by a crash: not a namespace
    try {
        fs::create_directories(folder);
        source->copy_to((fs::path(folder) / "data").string());
        std::lock_guard lk(m_);  // open_namespace() records the service's flag under the lock
        live_.emplace(target, open_namespace(target));
    } catch (const std::exception&) {
        fs::remove_all(folder, ec);
        return error_reply(500, "cannot fork namespace `" + std::string(from) + "` to `" + target + "`");
    }
    return ok_reply();
}

http_reply namespaces::destroy(std::string_view name) {
    if (!enabled_) return error_reply(404, "namespaces are not enabled on this server (--enable-namespaces)");
    if (!valid_name(name)) return error_reply(400, "Invalid namespace");
    std::shared_ptr<service> svc;
    {
        std::lock_guard lk(m_);
        const auto it = live_.find(name);
        if (it == live_.end()) return error_reply(404, "Namespace `" + std::string(name) + "` doesn't exist");
        svc = std::move(it->second);
        live_.erase(it);
        {
            std::lock_guard dk(doomed_->m);
            doomed_->names.emplace(name);
        }
        const auto f = removed_flags_.find(svc.get());
        if (f != removed_flags_.end()) {
            f->second->store(true);
            removed_flags_.erase(f);
        }
    }
    // Running statements stop, open streams roll back, new work is refused; the files go with the last reference.
    svc->interrupt_running();
    svc->shutdown();
    return ok_reply();
}

std::optional<std::string> namespaces::database_path(std::string_view name) const {
    if (!enabled_ || !valid_name(name)) return std::nullopt;
    std::lock_guard lk(m_);
    const auto it = live_.find(name);
    if (it == live_.end()) return std::nullopt;
    return it->second->options().path;
}

void namespaces::for_each(const std::function<void(service&)>& f) const {
    std::vector<std::shared_ptr<service>> all;
    {
        std::lock_guard lk(m_);
        for (const auto& [name, s] : live_) all.push_back(s);
    }
    for (const auto& s : all) f(*s);
}

} // namespace libsql::server
