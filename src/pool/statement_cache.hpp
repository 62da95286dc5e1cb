// src/pool/statement_cache.hpp: per-connection prepared statements keyed by their SQL text, least recently used
// evicted first. Owned by one pooled connection and used only by the thread holding its lease, so it has no lock.
#pragma once

#include "libsql/connection.hpp"
#include "libsql/statement.hpp"

#include <cstddef>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace libsql::detail {

class statement_cache {
public:
    explicit statement_cache(std::size_t capacity) noexcept : capacity_(capacity) {}
    statement_cache(const statement_cache&) = delete;
    statement_cache& operator=(const statement_cache&) = delete;
    ~statement_cache() { clear(); }

    /// The cached statement for sql.text, or a newly prepared one (then cached, evicting the least recently used
    /// when full). hit tells which. With capacity 0 every call prepares and nothing is kept.
    [[nodiscard]] statement get(connection& c, const sql_text& sql, bool& hit);
    /// Drops every statement (each is finalized once no one else holds it).
    void clear() noexcept;
    [[nodiscard]] std::size_t size() const noexcept { return entries_.size(); }
    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

private:
    using entry = std::pair<std::string, statement>;
    std::size_t capacity_;
    std::list<entry> entries_;  // front: most recently used. A list, so that keys (views into it) stay put
    std::unordered_map<std::string_view, std::list<entry>::iterator> index_;
};

} // namespace libsql::detail
