#include "libsql/params.hpp"

namespace libsql {

namespace {
std::string_view bare(std::string_view name) noexcept {
    if (!name.empty() && (name[0] == ':' || name[0] == '@' || name[0] == '$')) name.remove_prefix(1);
    return name;
}
} // namespace

params::params(const std::map<std::string, libsql::value, std::less<>>& named) {
    named_.reserve(named.size());
    for (const auto& [k, v] : named) named_.push_back(named_value(k, v));
}

params& params::set_named(std::string name, libsql::value v) {
    for (auto& n : named_) {
        if (bare(n.name) == bare(name)) {
            n.name = std::move(name);
            n.value = std::move(v);
            return *this;
        }
    }
    named_.push_back(named_value(std::move(name), std::move(v)));
    return *this;
}

} // namespace libsql
