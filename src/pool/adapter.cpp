#include "libsql/adapter.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <thread>

namespace libsql {

namespace detail {

std::chrono::milliseconds retry_delay(const retry_policy& p, int attempt) noexcept {
    const double base = static_cast<double>(std::max<std::chrono::milliseconds::rep>(p.initial_delay.count(), 0));
    const double cap = static_cast<double>(std::max<std::chrono::milliseconds::rep>(p.max_delay.count(), 0));
    const double factor = p.multiplier < 1.0 ? 1.0 : p.multiplier;
    // Capped before converting, so that many attempts with a large multiplier cannot overflow.
    const double d = std::min(base * std::pow(factor, static_cast<double>(std::max(attempt - 1, 0))), cap);
    return std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(d));
}

void sleep_for(std::chrono::milliseconds d) {
    if (d.count() > 0) std::this_thread::sleep_for(d);
}

} // namespace detail

namespace {

struct plan_row {
    int id;
    int parent;
    std::string detail;
};

// Children of `parent`, in the engine's order. Plans are small, so the quadratic walk is fine; a row is only ever
// taken once (its id is consumed), which also makes a malformed plan with a cycle terminate.
std::vector<query_plan_node> children_of(int parent, std::vector<plan_row>& rows, std::vector<bool>& used, int depth) {
    std::vector<query_plan_node> out;
    if (depth > 1000) return out;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        if (used[i] || rows[i].parent != parent) continue;
        used[i] = true;
        query_plan_node n{rows[i].id, rows[i].parent, std::move(rows[i].detail), {}};
        n.children = children_of(n.id, rows, used, depth + 1);
        out.push_back(std::move(n));
    }
    return out;
}

void render(const std::vector<query_plan_node>& nodes, std::string& prefix, std::string& out) {
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        const bool last = i + 1 == nodes.size();
        out += prefix;
        out += last ? "`--" : "|--";
        out += nodes[i].detail;
        out += '\n';
        const auto keep = prefix.size();
        prefix += last ? "   " : "|  ";
        render(nodes[i].children, prefix, out);
        prefix.resize(keep);
    }
}

} // namespace

std::string query_plan::to_string() const {
    std::string out = "QUERY PLAN\n";
    std::string prefix;
    render(nodes, prefix, out);
    return out;
}

query_plan explain_query_plan(connection& conn, std::string_view sql) {
    const std::string text = "EXPLAIN QUERY PLAN " + std::string(sql);
    // Prepared and run without arguments, so that parameters in sql stay unbound (NULL) instead of being refused.
    auto st = conn.prepare(text);
    std::vector<plan_row> flat;
    for (auto r = st.query(); r.next();) {
        const auto v = r.current();
        flat.push_back({v.get<int>(0), v.get<int>(1), v.get<std::string>(3)});
    }
    std::vector<bool> used(flat.size());
    query_plan plan;
    plan.nodes = children_of(0, flat, used, 0);
    // Rows whose parent never appeared (not expected from SQLite) are kept as top-level steps rather than lost.
    for (std::size_t i = 0; i < flat.size(); ++i) {
        if (used[i]) continue;
        used[i] = true;
        query_plan_node n{flat[i].id, flat[i].parent, std::move(flat[i].detail), {}};
        n.children = children_of(n.id, flat, used, 1);
        plan.nodes.push_back(std::move(n));
    }
    return plan;
}

} // namespace libsql
