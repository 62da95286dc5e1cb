// src/pool/statement_cache.cpp: see statement_cache.hpp.
#include "pool/statement_cache.hpp"

namespace libsql::detail {

statement statement_cache::get(connection& c, const sql_text& sql, bool& hit) {
    if (capacity_ == 0) {
        hit = false;
        return c.prepare(sql);
    }
    if (const auto found = index_.find(sql.text); found != index_.end()) {
        hit = true;
        entries_.splice(entries_.begin(), entries_, found->second);  // iterators and the key view stay valid
        return found->second->second;
    }
    hit = false;
    // Prepared before anything is evicted, so that a failing prepare leaves the cache as it was.
    statement st = c.prepare(sql);
    if (entries_.size() >= capacity_) {
        // Erase the index entry first: its key views the string about to be destroyed.
        index_.erase(std::string_view(entries_.back().first));
        entries_.pop_back();  // finalizes the statement unless a caller still holds it
    }
    entries_.emplace_front(std::string(sql.text), st);
    index_.emplace(std::string_view(entries_.front().first), entries_.begin());
    return st;
}

void statement_cache::clear() noexcept {
    index_.clear();
    entries_.clear();
}

} // namespace libsql::detail
