// libsql/database.hpp: a database to connect to. Opening checks the options; connect() gives connections.
//
//   libsql::database db("app.db");                // a file (created if missing)
//   libsql::database mem(":memory:");             // in memory, shared by all connections of this object
//   libsql::database uri("file:app.db?mode=ro");  // a SQLite URI
//   auto conn = db.connect();
//
// A database is shared freely between threads: connect() may be called from any thread at any time.
#pragma once

#include "libsql/connection.hpp"
#include "libsql/options.hpp"

#include <memory>
#include <string>
#include <string_view>

namespace libsql {

namespace detail { class database_backend; }

class database {
public:
    explicit database(std::string_view path, connect_options options = {});
    database(database&&) noexcept;
    database& operator=(database&&) noexcept;
    ~database();

    /// A new connection, with the options' busy_timeout already applied.
    [[nodiscard]] connection connect() const;
    [[nodiscard]] const std::string& path() const noexcept;
    [[nodiscard]] const connect_options& options() const noexcept;

private:
    std::shared_ptr<detail::database_backend> d_;
};

} // namespace libsql
