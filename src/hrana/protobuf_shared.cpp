// The Hrana Protobuf codec's shared structures (proto/hrana.proto): values, statements, batches and conditions,
// errors, results, describe results and cursor entries, to and from the message structs of protocol.hpp.
#include "hrana/protobuf_detail.hpp"
#include "hrana/utf8.hpp"

#include <limits>

namespace libsql::hrana::pbc {

void fail(std::string_view where, std::string_view message) {
    std::string text(where);
    if (!text.empty()) text += ": ";
    text.append(message);
    throw protocol_violation(text);
}

std::string text_in(const std::string& bytes, std::string_view where) {
    if (!valid_utf8(bytes)) fail(where, "text is not valid UTF-8");
    return bytes;
}

void text_out(std::string* field, std::string_view text) {
    if (valid_utf8(text)) field->assign(text.data(), text.size());
    else *field = to_valid_utf8(text);
}

namespace {

std::string at(std::string_view where, std::string_view field) {
    std::string s(where);
    if (!s.empty()) s += '.';
    s.append(field);
    return s;
}
std::string at(std::string_view where, std::size_t index) {
    std::string s(where);
    s += '[';
    s += std::to_string(index);
    s += ']';
    return s;
}

void cond_to_pb(const condition& c, pb::BatchCond* out) {
    using K = condition::kind;
    switch (c.type) {
    case K::ok: out->set_step_ok(c.step); return;
    case K::error: out->set_step_error(c.step); return;
    case K::not_:
        if (c.conds.size() != 1) throw libsql::usage_error("hrana: a 'not' condition needs exactly one operand");
        cond_to_pb(c.conds.front(), out->mutable_not_());
        return;
    case K::and_:
    case K::or_: {
        auto* list = c.type == K::and_ ? out->mutable_and_() : out->mutable_or_();
        for (const auto& x : c.conds) cond_to_pb(x, list->add_conds());
        return;
    }
    case K::is_autocommit: (void)out->mutable_is_autocommit(); return;
    }
}

condition cond_from_pb(const pb::BatchCond& c, const std::string& where, std::size_t depth) {
    if (depth > max_condition_depth)
        fail(where, "conditions nested more than " + std::to_string(max_condition_depth) + " levels deep");
    condition out;
    using K = condition::kind;
    switch (c.cond_case()) {
    case pb::BatchCond::kStepOk: out.type = K::ok; out.step = c.step_ok(); break;
    case pb::BatchCond::kStepError: out.type = K::error; out.step = c.step_error(); break;
    case pb::BatchCond::kNot:
        out.type = K::not_;
        out.conds.push_back(cond_from_pb(c.not_(), at(where, "not"), depth + 1));
        break;
    case pb::BatchCond::kAnd:
    case pb::BatchCond::kOr: {
        const bool is_and = c.cond_case() == pb::BatchCond::kAnd;
        out.type = is_and ? K::and_ : K::or_;
        const auto& list = is_and ? c.and_() : c.or_();
        const std::string w = at(where, is_and ? "and" : "or");
        for (int i = 0; i < list.conds_size(); ++i)
            out.conds.push_back(cond_from_pb(list.conds(i), at(w, static_cast<std::size_t>(i)), depth + 1));
        break;
    }
    case pb::BatchCond::kIsAutocommit: out.type = K::is_autocommit; break;
    case pb::BatchCond::COND_NOT_SET: fail(where, "condition without a kind");
    }
    return out;
}

void col_to_pb(const column& c, pb::Col* out) {
    text_out(out->mutable_name(), c.name);
    if (c.decltype_) text_out(out->mutable_decltype_(), *c.decltype_);
}

column col_from_pb(const pb::Col& c, const std::string& where) {
    column out;
    if (c.has_name()) out.name = text_in(c.name(), at(where, "name"));
    if (c.has_decltype_()) out.decltype_ = text_in(c.decltype_(), at(where, "decltype"));
    return out;
}

void values_to_pb(const std::vector<libsql::value>& values, pb::Row* out) {
    out->mutable_values()->Reserve(static_cast<int>(values.size()));
    for (const auto& v : values) to_pb(v, out->add_values());
}

std::vector<libsql::value> values_from_pb(const google::protobuf::RepeatedPtrField<pb::Value>& values,
                                          const std::string& where) {
    std::vector<libsql::value> out;
    out.reserve(static_cast<std::size_t>(values.size()));
    for (int i = 0; i < values.size(); ++i) out.push_back(from_pb(values.Get(i), at(where, static_cast<std::size_t>(i))));
    return out;
}

} // namespace

// ------------------------------------------------------------------------------------------------------ values
void to_pb(const libsql::value& v, pb::Value* out) {
    const libsql::value_view view = v.view();
    switch (view.type()) {
    case libsql::value_type::null: (void)out->mutable_null(); return;
    case libsql::value_type::integer: out->set_integer(view.as_integer()); return;
    case libsql::value_type::real: out->set_float_(view.as_real()); return;
    case libsql::value_type::text: text_out(out->mutable_text(), view.as_text()); return;
    case libsql::value_type::blob: {
        const auto b = view.as_blob();
        out->mutable_blob()->assign(reinterpret_cast<const char*>(b.data()), b.size());
        return;
    }
    }
}

libsql::value from_pb(const pb::Value& v, std::string_view where) {
    switch (v.value_case()) {
    case pb::Value::kNull: return libsql::value{};
    case pb::Value::kInteger: return libsql::value(libsql::value_view::integer(v.integer()));
    case pb::Value::kFloat: return libsql::value(libsql::value_view::real(v.float_()));
    case pb::Value::kText: return libsql::value(libsql::value_view::text(text_in(v.text(), where)));
    case pb::Value::kBlob: {
        const std::string& b = v.blob();
        return libsql::value(libsql::value_view::blob(libsql::blob_view(reinterpret_cast<const std::byte*>(b.data()), b.size())));
    }
    case pb::Value::VALUE_NOT_SET: break;
    }
    fail(where, "value without a type");
}

// -------------------------------------------------------------------------------------------------- statements
void to_pb(const stmt& s, pb::Stmt* out) {
    if (s.sql) text_out(out->mutable_sql(), *s.sql);
    if (s.sql_id) out->set_sql_id(*s.sql_id);
    out->mutable_args()->Reserve(static_cast<int>(s.args.size()));
    for (const auto& a : s.args) to_pb(a, out->add_args());
    for (const auto& a : s.named_args) {
        auto* n = out->add_named_args();
        text_out(n->mutable_name(), a.name);
        to_pb(a.value, n->mutable_value());
    }
    out->set_want_rows(s.want_rows);
    if (s.replication_index) out->set_replication_index(*s.replication_index);
}

stmt from_pb(const pb::Stmt& s, std::string_view where) {
    stmt out;
    if (s.has_sql()) out.sql = text_in(s.sql(), at(where, "sql"));
    if (s.has_sql_id()) out.sql_id = s.sql_id();
    if (out.sql && out.sql_id) fail(where, "both 'sql' and 'sql_id' given");
    if (!out.sql && !out.sql_id) fail(where, "one of 'sql' and 'sql_id' is required");
    out.args = values_from_pb(s.args(), at(where, "args"));
    for (int i = 0; i < s.named_args_size(); ++i) {
        const auto& a = s.named_args(i);
        const std::string w = at(at(where, "named_args"), static_cast<std::size_t>(i));
        if (!a.has_value()) fail(w, "missing field 'value'");
        out.named_args.push_back({text_in(a.name(), at(w, "name")), from_pb(a.value(), at(w, "value"))});
    }
    out.want_rows = s.has_want_rows() ? s.want_rows() : true;
    if (s.has_replication_index()) out.replication_index = s.replication_index();
    return out;
}

void to_pb(const batch& b, pb::Batch* out) {
    out->mutable_steps()->Reserve(static_cast<int>(b.steps.size()));
    for (const auto& step : b.steps) {
        auto* st = out->add_steps();
        if (step.condition) cond_to_pb(*step.condition, st->mutable_condition());
        to_pb(step.stmt, st->mutable_stmt());
    }
    if (b.replication_index) out->set_replication_index(*b.replication_index);
}

batch from_pb(const pb::Batch& b, std::string_view where) {
    batch out;
    out.steps.reserve(static_cast<std::size_t>(b.steps_size()));
    const std::string steps = at(where, "steps");
    for (int i = 0; i < b.steps_size(); ++i) {
        const auto& st = b.steps(i);
        const std::string w = at(steps, static_cast<std::size_t>(i));
        batch_step step;
        if (st.has_condition()) step.condition = cond_from_pb(st.condition(), at(w, "condition"), 1);
        if (!st.has_stmt()) fail(w, "missing field 'stmt'");
        step.stmt = from_pb(st.stmt(), at(w, "stmt"));
        out.steps.push_back(std::move(step));
    }
    if (b.has_replication_index()) out.replication_index = b.replication_index();
    return out;
}

// ------------------------------------------------------------------------------------------------------ results
void to_pb(const error& e, pb::Error* out) {
    text_out(out->mutable_message(), e.message);
    if (!e.code.empty()) text_out(out->mutable_code(), e.code);
}

error from_pb(const pb::Error& e, std::string_view where) {
    error out;
    out.message = text_in(e.message(), at(where, "message"));
    if (e.has_code()) out.code = text_in(e.code(), at(where, "code"));
    return out;
}

void to_pb(const stmt_result& r, pb::StmtResult* out) {
    for (const auto& c : r.cols) col_to_pb(c, out->add_cols());
    out->mutable_rows()->Reserve(static_cast<int>(r.rows.size()));
    for (const auto& row : r.rows) values_to_pb(row, out->add_rows());
    out->set_affected_row_count(r.affected_row_count);
    if (r.last_insert_rowid) out->set_last_insert_rowid(*r.last_insert_rowid);
    if (r.replication_index) out->set_replication_index(*r.replication_index);
    if (r.rows_read) out->set_rows_read(*r.rows_read);
    if (r.rows_written) out->set_rows_written(*r.rows_written);
    if (r.query_duration_ms) out->set_query_duration_ms(*r.query_duration_ms);
}

stmt_result from_pb(const pb::StmtResult& r, std::string_view where) {
    stmt_result out;
    const std::string cols = at(where, "cols");
    for (int i = 0; i < r.cols_size(); ++i) out.cols.push_back(col_from_pb(r.cols(i), at(cols, static_cast<std::size_t>(i))));
    const std::string rows = at(where, "rows");
    out.rows.reserve(static_cast<std::size_t>(r.rows_size()));
    for (int i = 0; i < r.rows_size(); ++i)
        out.rows.push_back(values_from_pb(r.rows(i).values(), at(rows, static_cast<std::size_t>(i))));
    out.affected_row_count = r.affected_row_count();
    if (r.has_last_insert_rowid()) out.last_insert_rowid = r.last_insert_rowid();
    if (r.has_replication_index()) out.replication_index = r.replication_index();
    if (r.has_rows_read()) out.rows_read = r.rows_read();
    if (r.has_rows_written()) out.rows_written = r.rows_written();
    if (r.has_query_duration_ms()) out.query_duration_ms = r.query_duration_ms();
    return out;
}

void to_pb(const batch_result& r, pb::BatchResult* out) {
    // Maps keyed by step index (sqld's encoding), so null entries of the struct's vectors are simply absent.
    for (std::size_t i = 0; i < r.step_results.size(); ++i)
        if (r.step_results[i]) to_pb(*r.step_results[i], &(*out->mutable_step_results())[static_cast<std::uint32_t>(i)]);
    for (std::size_t i = 0; i < r.step_errors.size(); ++i)
        if (r.step_errors[i]) to_pb(*r.step_errors[i], &(*out->mutable_step_errors())[static_cast<std::uint32_t>(i)]);
}

batch_result from_pb(const pb::BatchResult& r, std::string_view where) {
    // The vectors get one entry per step up to the highest index present in either map, as JSON peers send them;
    // an index beyond what any batch can hold is a protocol violation rather than a huge allocation.
    std::size_t n = 0;
    for (const auto& [k, v] : r.step_results()) n = std::max<std::size_t>(n, std::size_t{k} + 1);
    for (const auto& [k, v] : r.step_errors()) n = std::max<std::size_t>(n, std::size_t{k} + 1);
    if (n > std::size_t{1} << 24) fail(where, "step index out of range");
    batch_result out;
    out.step_results.resize(n);
    out.step_errors.resize(n);
    for (const auto& [k, v] : r.step_results()) out.step_results[k] = from_pb(v, at(at(where, "step_results"), k));
    for (const auto& [k, v] : r.step_errors()) out.step_errors[k] = from_pb(v, at(at(where, "step_errors"), k));
    return out;
}

void to_pb(const describe_result& r, pb::DescribeResult* out) {
    for (const auto& p : r.params) {
        auto* x = out->add_params();
        if (p.name) text_out(x->mutable_name(), *p.name);
    }
    for (const auto& c : r.cols) {
        auto* x = out->add_cols();
        text_out(x->mutable_name(), c.name);
        if (c.decltype_) text_out(x->mutable_decltype_(), *c.decltype_);
    }
    out->set_is_explain(r.is_explain);
    out->set_is_readonly(r.is_readonly);
}

describe_result from_pb(const pb::DescribeResult& r, std::string_view where) {
    describe_result out;
    for (int i = 0; i < r.params_size(); ++i) {
        describe_param p;
        if (r.params(i).has_name()) p.name = text_in(r.params(i).name(), at(at(where, "params"), static_cast<std::size_t>(i)));
        out.params.push_back(std::move(p));
    }
    for (int i = 0; i < r.cols_size(); ++i) {
        const std::string w = at(at(where, "cols"), static_cast<std::size_t>(i));
        column c;
        c.name = text_in(r.cols(i).name(), w);
        if (r.cols(i).has_decltype_()) c.decltype_ = text_in(r.cols(i).decltype_(), w);
        out.cols.push_back(std::move(c));
    }
    out.is_explain = r.is_explain();
    out.is_readonly = r.is_readonly();
    return out;
}

// ------------------------------------------------------------------------------------------------ cursor entries
void to_pb(const cursor_entry& e, pb::CursorEntry* out) {
    struct visitor {
        pb::CursorEntry* out;
        void operator()(const step_begin_entry& s) const {
            auto* x = out->mutable_step_begin();
            x->set_step(s.step);
            for (const auto& c : s.cols) col_to_pb(c, x->add_cols());
        }
        void operator()(const step_end_entry& s) const {
            auto* x = out->mutable_step_end();
            x->set_affected_row_count(s.affected_row_count);
            if (s.last_insert_rowid) x->set_last_insert_rowid(*s.last_insert_rowid);
        }
        void operator()(const step_error_entry& s) const {
            auto* x = out->mutable_step_error();
            x->set_step(s.step);
            to_pb(s.error, x->mutable_error());
        }
        void operator()(const row_entry& s) const { values_to_pb(s.row, out->mutable_row()); }
        void operator()(const error_entry& s) const { to_pb(s.error, out->mutable_error()); }
    };
    std::visit(visitor{out}, e);
}

cursor_entry from_pb(const pb::CursorEntry& e, std::string_view where) {
    switch (e.entry_case()) {
    case pb::CursorEntry::kStepBegin: {
        step_begin_entry s;
        s.step = e.step_begin().step();
        const std::string w = at(where, "cols");
        for (int i = 0; i < e.step_begin().cols_size(); ++i)
            s.cols.push_back(col_from_pb(e.step_begin().cols(i), at(w, static_cast<std::size_t>(i))));
        return s;
    }
    case pb::CursorEntry::kStepEnd: {
        step_end_entry s;
        s.affected_row_count = e.step_end().affected_row_count();
        if (e.step_end().has_last_insert_rowid()) s.last_insert_rowid = e.step_end().last_insert_rowid();
        return s;
    }
    case pb::CursorEntry::kStepError:
        return step_error_entry{e.step_error().step(), from_pb(e.step_error().error(), at(where, "error"))};
    case pb::CursorEntry::kRow: return row_entry{values_from_pb(e.row().values(), at(where, "row"))};
    case pb::CursorEntry::kError: return error_entry{from_pb(e.error(), at(where, "error"))};
    case pb::CursorEntry::ENTRY_NOT_SET: break;
    }
    fail(where, "cursor entry without a kind");
}

} // namespace libsql::hrana::pbc
