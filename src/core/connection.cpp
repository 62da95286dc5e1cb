#include "libsql/connection.hpp"

namespace libsql {

detail::connection_backend& connection::backend() const {
    if (!c_) [[unlikely]] throw usage_error("connection: this connection is empty or was moved from");
    if (c_->is_closed()) [[unlikely]] throw usage_error("the connection is closed");
    return *c_;
}

void connection::execute_transactional_batch(sql_text sql) {
    auto& b = backend();
    if (b.try_execute_transactional_batch(sql.text, sql.where)) return;
    if (b.is_autocommit()) {
        auto tx = transaction(transaction_behavior::immediate);
        b.execute_batch(sql.text, sql.where);
        tx.commit();
    } else {
        auto sp = savepoint();
        b.execute_batch(sql.text, sql.where);
        sp.commit();
    }
}

std::string_view to_string(authorizer_action a) noexcept {
    static constexpr std::string_view names[] = {
        "",           "create_index", "create_table", "create_temp_index", "create_temp_table",
        "create_temp_trigger", "create_temp_view", "create_trigger", "create_view", "delete",
        "drop_index", "drop_table", "drop_temp_index", "drop_temp_table", "drop_temp_trigger",
        "drop_temp_view", "drop_trigger", "drop_view", "insert", "pragma", "read", "select", "transaction",
        "update", "attach", "detach", "alter_table", "reindex", "analyze", "create_vtable", "drop_vtable",
        "function", "savepoint", "recursive"};
    const auto i = static_cast<std::size_t>(a);
    return i < std::size(names) ? names[i] : std::string_view("unknown");
}

std::string_view to_string(update_kind k) noexcept {
    switch (k) {
    case update_kind::insert: return "insert";
    case update_kind::update: return "update";
    case update_kind::delete_: return "delete";
    }
    return "unknown";
}

} // namespace libsql
