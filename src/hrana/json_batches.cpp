// Hrana batches and their step conditions (ok, error, not, and, or, is_autocommit) in JSON.
#include "hrana/json_detail.hpp"

namespace libsql::hrana {
namespace json {

condition read_condition(const reader& r, std::size_t i, const path& where, std::size_t depth) {
    if (depth > max_condition_depth)
        fail(where, "conditions nested more than " + std::to_string(max_condition_depth) + " levels deep");
    const std::string_view type = r.type_tag(i, where);
    condition c;
    if (type == "ok" || type == "error") {
        c.type = type == "ok" ? condition::kind::ok : condition::kind::error;
        c.step = r.req_uint32(i, "step", where);
    } else if (type == "not") {
        c.type = condition::kind::not_;
        const path p{&where, "cond"};
        const std::size_t v = r.require(i, "cond", where);
        c.conds.push_back(read_condition(r, v, p, depth + 1));
    } else if (type == "and" || type == "or") {
        c.type = type == "and" ? condition::kind::and_ : condition::kind::or_;
        const path p{&where, "conds"};
        r.for_each_element(r.require(i, "conds", where), p, [&](std::size_t e, const path& ep) {
            c.conds.push_back(read_condition(r, e, ep, depth + 1));
        });
    } else if (type == "is_autocommit") {
        c.type = condition::kind::is_autocommit;
    } else {
        const path p{&where, "type"};
        fail(p, "unknown condition type '" + std::string(type) + "'");
    }
    return c;
}

batch read_batch(const reader& r, std::size_t i, const path& where) {
    r.expect_object(i, where);
    batch b;
    const path sp{&where, "steps"};
    r.for_each_element(r.require(i, "steps", where), sp, [&](std::size_t e, const path& ep) {
        r.expect_object(e, ep);
        batch_step step;
        if (const std::size_t c = r.find_opt(e, "condition"); c != reader::npos) {
            const path cp{&ep, "condition"};
            step.condition = read_condition(r, c, cp, 1);
        }
        const path stp{&ep, "stmt"};
        step.stmt = read_stmt(r, r.require(e, "stmt", ep), stp);
        b.steps.push_back(std::move(step));
    });
    b.replication_index = r.opt_uint64_string(i, "replication_index", where);
    return b;
}

void write_condition(std::string& out, const condition& c) {
    switch (c.type) {
    case condition::kind::ok:
    case condition::kind::error:
        out += c.type == condition::kind::ok ? R"({"type":"ok","step":)" : R"({"type":"error","step":)";
        write_int(out, c.step);
        out += '}';
        return;
    case condition::kind::not_:
        if (c.conds.size() != 1) throw libsql::usage_error("hrana: a 'not' condition needs exactly one operand");
        out += R"({"type":"not","cond":)";
        write_condition(out, c.conds.front());
        out += '}';
        return;
    case condition::kind::and_:
    case condition::kind::or_:
        out += c.type == condition::kind::and_ ? R"({"type":"and","conds":[)" : R"({"type":"or","conds":[)";
        for (std::size_t i = 0; i < c.conds.size(); ++i) {
            if (i != 0) out += ',';
            write_condition(out, c.conds[i]);
        }
        out += "]}";
        return;
    case condition::kind::is_autocommit: out += R"({"type":"is_autocommit"})"; return;
    }
}

void write_batch(std::string& out, const batch& b) {
    out += "{\"steps\":[";
    for (std::size_t i = 0; i < b.steps.size(); ++i) {
        if (i != 0) out += ',';
        out += '{';
        if (b.steps[i].condition) {
            write_key(out, "condition");
            write_condition(out, *b.steps[i].condition);
            out += ',';
        }
        write_key(out, "stmt");
        write_stmt(out, b.steps[i].stmt);
        out += '}';
    }
    out += ']';
    if (b.replication_index) {
        out += ",\"replication_index\":";
        write_int_string(out, *b.replication_index);
    }
    out += '}';
}

} // namespace json

} // namespace libsql::hrana
