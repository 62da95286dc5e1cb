#include "libsql/database.hpp"

#include "local/local.hpp"

#include <cstdio>
#include <random>

namespace libsql {

namespace detail {

class database_backend {
public:
    database_backend(std::string_view path, connect_options options) : path_(path), options_(std::move(options)) {
        const bool remote = path_.starts_with("libsql://") || path_.starts_with("http://") ||
                            path_.starts_with("https://") || path_.starts_with("ws://") || path_.starts_with("wss://");
        if (remote || !options_.url.empty())
            throw unsupported("remote connections are not available in this build yet (" + path_ + ")",
                              error_info{0, {}, {}, transport::remote, {}});
        if (!options_.sync_url.empty())
            throw unsupported("embedded replicas are not available in this build yet",
                              error_info{0, {}, {}, transport::replica, {}});
        if (!options_.encryption_key.empty())
            throw unsupported("encryption_key: this build's SQLite engine has no encryption codec");
        if (options_.busy_timeout.count() < 0 || options_.busy_timeout.count() > INT32_MAX)
            throw usage_error("busy_timeout must be between 0 and 2^31-1 ms");
        if (path_.find('\0') != std::string::npos) throw usage_error("database path contains a NUL byte");
        if (path_ == ":memory:" || path_.empty()) {
            // One in-memory database for every connection of this object: the memdb VFS shares a database whose
            // name starts with '/', with proper locking (unlike shared-cache mode). A keeper connection holds it.
            std::random_device rd;
            char name[96];
            std::snprintf(name, sizeof name, "file:/libsql-memory-%p-%08x%08x?vfs=memdb", static_cast<void*>(this), rd(), rd());
            open_path_ = name;
            keeper_ = std::make_shared<local_connection>(open_path_, options_);
        } else {
            open_path_ = path_;
            // Fail now, with the engine's message, when the file cannot be opened in the requested mode.
            local_connection probe(open_path_, options_);
        }
    }

    [[nodiscard]] connection connect() const { return connection(std::make_shared<local_connection>(open_path_, options_)); }
    [[nodiscard]] const std::string& path() const noexcept { return path_; }
    [[nodiscard]] const connect_options& options() const noexcept { return options_; }

private:
    std::string path_;
    std::string open_path_;
    connect_options options_;
    std::shared_ptr<local_connection> keeper_;
};

} // namespace detail

database::database(std::string_view path, connect_options options)
    : d_(std::make_shared<detail::database_backend>(path, std::move(options))) {}
database::database(database&&) noexcept = default;
database& database::operator=(database&&) noexcept = default;
database::~database() = default;

connection database::connect() const {
    if (!d_) throw usage_error("database: this object was moved from");
    return d_->connect();
}
const std::string& database::path() const noexcept {
    static const std::string empty;
    return d_ ? d_->path() : empty;
}
const connect_options& database::options() const noexcept {
    static const connect_options defaults;
    return d_ ? d_->options() : defaults;
}

} // namespace libsql
