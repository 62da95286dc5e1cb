#include "libsql/database.hpp"

#include "core/database_backend.hpp"
#include "local/local.hpp"

#include <cstdio>
#include <mutex>
#include <vector>
#include <random>

namespace libsql {

namespace detail {

database_backend::~database_backend() = default;

namespace {
[[noreturn]] void not_a_replica(const database_backend& d, const char* what) {
    throw unsupported(std::string(what) + ": this database is not an embedded replica (open it with sync_url set)",
                      error_info{0, {}, {}, d.transport(), {}});
}
} // namespace

sync_result database_backend::sync() { not_a_replica(*this, "sync()"); }
sync_result database_backend::sync_until(std::uint64_t) { not_a_replica(*this, "sync_until()"); }
std::optional<std::uint64_t> database_backend::replication_index() const { not_a_replica(*this, "replication_index()"); }
std::uint64_t database_backend::flush_replicator() { not_a_replica(*this, "flush_replicator()"); }
void database_backend::freeze() { not_a_replica(*this, "freeze()"); }
void database_backend::rekey(std::string_view) {
    throw unsupported("rekey(): only local files can be re-encrypted here (a remote database's encryption is the "
                      "server's; an embedded replica's file: freeze() it first)",
                      error_info{0, {}, {}, transport(), {}});
}

bool is_remote_url(std::string_view path) noexcept {
    return path.starts_with("libsql://") || path.starts_with("http://") || path.starts_with("https://") ||
           path.starts_with("ws://") || path.starts_with("wss://");
}

namespace {

class local_database final : public database_backend {
public:
    local_database(std::string_view path, connect_options options) : path_(path), options_(std::move(options)) {
        if (path_.find('\0') != std::string::npos) throw usage_error("database path contains a NUL byte");
        if (path_ == ":memory:" || path_.empty()) {
            if (!options_.encryption_key.empty())
                throw usage_error("encryption_key: an in-memory database has no file to encrypt");
            // One in-memory database for every connection of this object: the memdb VFS shares a database whose
            // name starts with '/', with proper locking (unlike shared-cache mode). A keeper connection holds it.
            std::random_device rd;
            char name[96];
            std::snprintf(name, sizeof name, "file:/libsql-memory-%p-%08x%08x?vfs=memdb", static_cast<void*>(this), rd(), rd());
            open_path_ = name;
            keeper_ = std::make_shared<local_connection>(open_path_, options_);
        } else {
            open_path_ = path_;
            // Fail now, with the engine's message, when the file cannot be opened in the requested mode (or, with
            // an encryption key, when the key does not open it).
            local_connection probe(open_path_, options_);
        }
    }

    std::shared_ptr<connection_backend> connect() override {
        std::lock_guard lk(mu_);
        auto c = std::make_shared<local_connection>(open_path_, options_);
        // Kept (weakly) so that rekey() can tell whether the file is still in use by this object.
        if (opened_.size() >= 8) std::erase_if(opened_, [](const auto& w) { return w.expired(); });
        opened_.push_back(c);
        return c;
    }
    const std::string& path() const noexcept override { return path_; }
    const connect_options& options() const noexcept override { return options_; }
    libsql::transport transport() const noexcept override { return libsql::transport::local; }

    void rekey(std::string_view new_key) override {
        if (keeper_) throw usage_error("rekey(): an in-memory database has no file to encrypt");
        if (options_.mode == open_mode::read_only) throw readonly("rekey(): the database was opened read-only");
        std::lock_guard lk(mu_);
        for (const auto& w : opened_)
            if (const auto c = w.lock(); c && !c->is_closed())
                throw usage_error("rekey(): a connection of this database is still open; close it first");
        rekey_file(open_path_, options_, new_key);
        options_.encryption_key = std::string(new_key);
        opened_.clear();
    }

private:
    std::string path_;
    std::string open_path_;
    connect_options options_;
    std::shared_ptr<local_connection> keeper_;
    std::mutex mu_;  // connect() and rekey()
    std::vector<std::weak_ptr<local_connection>> opened_;
};

} // namespace

std::shared_ptr<database_backend> open_local_database(std::string_view path, const connect_options& options) {
    return std::make_shared<local_database>(path, options);
}

namespace {
std::shared_ptr<database_backend> open_backend(std::string_view path, connect_options options) {
    if (options.busy_timeout.count() < 0 || options.busy_timeout.count() > INT32_MAX)
        throw usage_error("busy_timeout must be between 0 and 2^31-1 ms");
    if (is_remote_url(path)) {
        if (!options.sync_url.empty())
            throw usage_error("sync_url is for embedded replicas: open a local path with sync_url, not a URL");
        return open_remote_database(path, options);
    }
    if (!options.sync_url.empty()) return open_replica_database(path, options);
    if (!options.url.empty()) return open_remote_database(options.url, options);
    return open_local_database(path, options);
}
} // namespace

} // namespace detail

database::database(std::string_view path, connect_options options) : d_(detail::open_backend(path, std::move(options))) {}
database::database(database&&) noexcept = default;
database& database::operator=(database&&) noexcept = default;
database::~database() = default;

namespace {
detail::database_backend& checked(const std::shared_ptr<detail::database_backend>& d) {
    if (!d) throw usage_error("database: this object was moved from");
    return *d;
}
} // namespace

connection database::connect() const { return connection(checked(d_).connect()); }
const std::string& database::path() const noexcept {
    static const std::string empty;
    return d_ ? d_->path() : empty;
}
const connect_options& database::options() const noexcept {
    static const connect_options defaults;
    return d_ ? d_->options() : defaults;
}
libsql::transport database::transport() const noexcept { return d_ ? d_->transport() : libsql::transport::local; }
sync_result database::sync() { return checked(d_).sync(); }
sync_result database::sync_until(std::uint64_t index) { return checked(d_).sync_until(index); }
std::optional<std::uint64_t> database::replication_index() const { return checked(d_).replication_index(); }
std::uint64_t database::flush_replicator() { return checked(d_).flush_replicator(); }
void database::freeze() { checked(d_).freeze(); }
void database::rekey(std::string_view new_key) { checked(d_).rekey(new_key); }

} // namespace libsql
