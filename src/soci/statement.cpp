// Statements and the exchange of values between SOCI's into/use elements and libsql-cpp's statements.
#include "soci/backend.hpp"

#include <soci/blob.h>
#include <soci/rowid.h>
#include <soci/type-wrappers.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>

namespace libsql::soci_backend {

namespace sd = ::soci::details;
using ::soci::soci_error;

// --- conversions, as SQLite's sqlite3_column_*() make them

std::int64_t to_int64(const value& v) {
    switch (v.type()) {
    case value_type::null: return 0;
    case value_type::integer: return v.view().as_integer();
    case value_type::real: {
        const double d = v.view().as_real();
        if (std::isnan(d)) return 0;
        if (d <= -9223372036854775808.0) return INT64_MIN;
        if (d >= 9223372036854775807.0) return INT64_MAX;
        return static_cast<std::int64_t>(d);
    }
    case value_type::text:
    case value_type::blob: {
        const std::string s = to_text(v);
        const char* p = s.c_str();
        char* end = nullptr;
        const long long n = std::strtoll(p, &end, 10);
        // "12.5" or "1e3" read as numbers, like SQLite's text-to-integer conversion.
        if (end && (*end == '.' || *end == 'e' || *end == 'E')) return static_cast<std::int64_t>(std::strtod(p, nullptr));
        return n;
    }
    }
    return 0;
}

double to_double(const value& v) {
    switch (v.type()) {
    case value_type::null: return 0.0;
    case value_type::integer: return static_cast<double>(v.view().as_integer());
    case value_type::real: return v.view().as_real();
    case value_type::text:
    case value_type::blob: return std::strtod(to_text(v).c_str(), nullptr);
    }
    return 0.0;
}

std::string to_text(const value& v) {
    const value_view w = v.view();
    switch (v.type()) {
    case value_type::null: return {};
    case value_type::integer: return std::to_string(w.as_integer());
    case value_type::real: {
        // SQLite's own rendering of a REAL as text: 15 significant digits, and ".0" on integral values.
        char buf[40];
        std::snprintf(buf, sizeof buf, "%.15g", w.as_real());
        std::string s(buf);
        if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
        return s;
    }
    case value_type::text: return std::string(w.as_text());
    case value_type::blob: {
        const auto b = w.as_blob();
        return std::string(reinterpret_cast<const char*>(b.data()), b.size());
    }
    }
    return {};
}

void parse_tm(std::string_view text, std::tm& out) {
    // Up to six numbers (year, month, day, hour, minute, second), any non-digits between them.
    int parts[6] = {1900, 1, 1, 0, 0, 0};
    std::size_t i = 0;
    for (int& part : parts) {
        while (i < text.size() && !std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
        if (i == text.size()) break;
        long n = 0;
        while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
            n = n * 10 + (text[i] - '0');
            ++i;
            if (n > 100000) break;
        }
        part = static_cast<int>(n);
    }
    out = std::tm{};
    out.tm_year = parts[0] - 1900;
    out.tm_mon = parts[1] - 1;
    out.tm_mday = parts[2];
    out.tm_hour = parts[3];
    out.tm_min = parts[4];
    out.tm_sec = parts[5];
    out.tm_isdst = -1;
    // Normalise and fill tm_wday/tm_yday the way SOCI's parse does (mktime, local time).
    std::tm copy = out;
    std::mktime(&copy);
    out.tm_wday = copy.tm_wday;
    out.tm_yday = copy.tm_yday;
}

std::string format_tm(const std::tm& t) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%d-%02d-%02d %02d:%02d:%02d", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, t.tm_hour,
                  t.tm_min, t.tm_sec);
    return buf;
}

namespace {

value text_value(std::string_view s) { return value(value_view::text(s)); }

/// The value of one use element of the given exchange type.
value to_sql(void* data, exchange_type type) {
    switch (type) {
    case sd::x_char: return text_value(std::string_view(static_cast<const char*>(data), 1));
    case sd::x_stdstring: return text_value(*static_cast<const std::string*>(data));
    case sd::x_longstring: return text_value(static_cast<const ::soci::long_string*>(data)->value);
    case sd::x_xmltype: return text_value(static_cast<const ::soci::xml_type*>(data)->value);
    case sd::x_short: return value(std::int64_t{*static_cast<const short*>(data)});
    case sd::x_integer: return value(std::int64_t{*static_cast<const int*>(data)});
    case sd::x_long_long: return value(std::int64_t{*static_cast<const long long*>(data)});
    case sd::x_unsigned_long_long:
        // As SOCI's sqlite3 backend: stored as the 64-bit pattern (values above INT64_MAX come back intact when
        // read into an unsigned long long).
        return value(static_cast<std::int64_t>(*static_cast<const unsigned long long*>(data)));
    case sd::x_double: return value(*static_cast<const double*>(data));
    case sd::x_stdtm: return text_value(format_tm(*static_cast<const std::tm*>(data)));
    case sd::x_rowid: {
        auto* rid = static_cast<::soci::rowid*>(data);
        return value(std::int64_t{static_cast<rowid_backend*>(rid->get_backend())->value_});
    }
    case sd::x_blob: {
        auto* b = static_cast<::soci::blob*>(data);
        const std::string& bytes = static_cast<blob_backend*>(b->get_backend())->data_;
        return value(value_view::blob(blob_view(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size())));
    }
    case sd::x_statement: break;
    }
    throw soci_error("libsql: use element of an unsupported type");
}

/// Stores a fetched value into one into element.
void from_sql(const value& v, void* data, exchange_type type) {
    switch (type) {
    case sd::x_char: {
        const std::string s = to_text(v);
        *static_cast<char*>(data) = s.empty() ? '\0' : s[0];
        return;
    }
    case sd::x_stdstring: *static_cast<std::string*>(data) = to_text(v); return;
    case sd::x_longstring: static_cast<::soci::long_string*>(data)->value = to_text(v); return;
    case sd::x_xmltype: static_cast<::soci::xml_type*>(data)->value = to_text(v); return;
    case sd::x_short: *static_cast<short*>(data) = static_cast<short>(to_int64(v)); return;
    case sd::x_integer: *static_cast<int*>(data) = static_cast<int>(to_int64(v)); return;
    case sd::x_long_long: *static_cast<long long*>(data) = to_int64(v); return;
    case sd::x_unsigned_long_long:
        *static_cast<unsigned long long*>(data) = static_cast<unsigned long long>(to_int64(v));
        return;
    case sd::x_double: *static_cast<double*>(data) = to_double(v); return;
    case sd::x_stdtm: parse_tm(to_text(v), *static_cast<std::tm*>(data)); return;
    case sd::x_rowid: {
        auto* rid = static_cast<::soci::rowid*>(data);
        static_cast<rowid_backend*>(rid->get_backend())->value_ = to_int64(v);
        return;
    }
    case sd::x_blob: {
        auto* b = static_cast<::soci::blob*>(data);
        static_cast<blob_backend*>(b->get_backend())->data_ = to_text(v);
        return;
    }
    case sd::x_statement: break;
    }
    throw soci_error("libsql: into element of an unsupported type");
}

/// Calls f(std::vector<T>&) for the vector a vector into/use element points to.
template <class F> decltype(auto) with_vector(void* data, exchange_type type, F&& f) {
    switch (type) {
    case sd::x_char: return f(*static_cast<std::vector<char>*>(data));
    case sd::x_stdstring: return f(*static_cast<std::vector<std::string>*>(data));
    case sd::x_longstring: return f(*static_cast<std::vector<::soci::long_string>*>(data));
    case sd::x_xmltype: return f(*static_cast<std::vector<::soci::xml_type>*>(data));
    case sd::x_short: return f(*static_cast<std::vector<short>*>(data));
    case sd::x_integer: return f(*static_cast<std::vector<int>*>(data));
    case sd::x_long_long: return f(*static_cast<std::vector<long long>*>(data));
    case sd::x_unsigned_long_long: return f(*static_cast<std::vector<unsigned long long>*>(data));
    case sd::x_double: return f(*static_cast<std::vector<double>*>(data));
    case sd::x_stdtm: return f(*static_cast<std::vector<std::tm>*>(data));
    default: break;
    }
    throw soci_error("libsql: vector element of an unsupported type");
}

/// The SOCI type of a column from its declared type, as SOCI's sqlite3 backend names them; other declared types
/// by SQLite's affinity rules; expressions (no declared type) are strings, as with sqlite3.
data_type type_of_declared(std::string decl) {
    static const std::map<std::string, data_type, std::less<>> known = {
        {"blob", ::soci::dt_blob},
        {"date", ::soci::dt_date}, {"time", ::soci::dt_date}, {"datetime", ::soci::dt_date},
        {"timestamp", ::soci::dt_date},
        {"decimal", ::soci::dt_double}, {"double", ::soci::dt_double}, {"doubleprecision", ::soci::dt_double},
        {"float", ::soci::dt_double}, {"number", ::soci::dt_double}, {"numeric", ::soci::dt_double},
        {"real", ::soci::dt_double},
        {"boolean", ::soci::dt_integer}, {"int", ::soci::dt_integer}, {"integer", ::soci::dt_integer},
        {"int2", ::soci::dt_integer}, {"mediumint", ::soci::dt_integer}, {"smallint", ::soci::dt_integer},
        {"tinyint", ::soci::dt_integer}, {"tinyintunsigned", ::soci::dt_integer},
        {"intunsigned", ::soci::dt_integer},
        {"bigint", ::soci::dt_long_long}, {"int8", ::soci::dt_long_long},
        {"char", ::soci::dt_string}, {"character", ::soci::dt_string}, {"clob", ::soci::dt_string},
        {"nativecharacter", ::soci::dt_string}, {"nchar", ::soci::dt_string}, {"nvarchar", ::soci::dt_string},
        {"text", ::soci::dt_string}, {"varchar", ::soci::dt_string}, {"varyingcharacter", ::soci::dt_string},
        {"unsignedbigint", ::soci::dt_unsigned_long_long},
    };
    if (decl.empty()) return ::soci::dt_string;
    // "varchar (20)" -> "varchar": blanks dropped, cut at the first character that is not a letter or digit.
    std::erase_if(decl, [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; });
    const auto cut = std::find_if(decl.begin(), decl.end(), [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); });
    decl.erase(cut, decl.end());
    std::transform(decl.begin(), decl.end(), decl.begin(), [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); });
    if (const auto it = known.find(decl); it != known.end()) return it->second;
    if (decl.find("int") != std::string::npos) return ::soci::dt_long_long;
    if (decl.find("char") != std::string::npos || decl.find("clob") != std::string::npos ||
        decl.find("text") != std::string::npos)
        return ::soci::dt_string;
    if (decl.find("blob") != std::string::npos) return ::soci::dt_blob;
    if (decl.find("date") != std::string::npos || decl.find("time") != std::string::npos) return ::soci::dt_date;
    return ::soci::dt_double;  // NUMERIC or REAL affinity
}

[[noreturn]] void throw_null_without_indicator() {
    throw soci_error("Null value fetched and no indicator defined.");
}

} // namespace

// --- statement

void statement_backend::clean_up() {
    cursor_.reset();
    rows_.clear();
    use_rows_.clear();
    stmt_ = libsql::statement();
    affected_ = -1;
}

void statement_backend::prepare(const std::string& query, statement_type) {
    clean_up();
    columns_.clear();
    sql_ = query;
    stmt_ = guarded("preparing", [&] { return session_.conn_.prepare(query); });
}

void statement_backend::bind_row(std::size_t row) {
    stmt_.clear_bindings();
    const auto& values = use_rows_[row];
    for (std::size_t i = 0; i < values.size(); ++i) stmt_.bind(static_cast<int>(i) + 1, values[i]);
}

exec_fetch_result statement_backend::execute(int number) {
    if (!stmt_) throw soci_error("libsql: no statement prepared");
    cursor_.reset();
    rows_.clear();
    affected_ = -1;
    return guarded("executing", [&]() -> exec_fetch_result {
        if (use_rows_.size() > 1) {
            // Bulk use: the statement once per element; affected rows count them all (so far, when one fails).
            long long total = 0;
            try {
                for (std::size_t r = 0; r < use_rows_.size(); ++r) {
                    bind_row(r);
                    total += stmt_.execute();
                }
            } catch (...) {
                affected_ = total;
                use_rows_.clear();
                throw;
            }
            affected_ = total;
            use_rows_.clear();
            return exec_fetch_result::ef_no_data;
        }
        if (use_rows_.size() == 1) bind_row(0);
        use_rows_.clear();
        // A statement without result columns runs to completion. With data exchange it goes through a cursor
        // anyway: a server without `describe` (tursodb) reports a query's columns only once it has run, and
        // stepping a cursor runs a statement without rows just the same.
        if (stmt_.column_count() == 0 && number == 0) {
            affected_ = stmt_.execute();
            return exec_fetch_result::ef_no_data;
        }
        cursor_.emplace(stmt_.query());
        return load(number);
    });
}

exec_fetch_result statement_backend::fetch(int number) {
    rows_.clear();
    if (!cursor_) return exec_fetch_result::ef_no_data;
    return guarded("fetching", [&] { return load(number); });
}

exec_fetch_result statement_backend::load(int number) {
    rows_.clear();
    const std::size_t wanted = number > 0 ? static_cast<std::size_t>(number) : 0;
    while (rows_.size() < wanted) {
        if (!cursor_->next()) {
            // Finished: resetting now releases the read lock the cursor held.
            cursor_.reset();
            return exec_fetch_result::ef_no_data;
        }
        const row_view r = cursor_->current();
        std::vector<value> out;
        out.reserve(static_cast<std::size_t>(r.size()));
        for (int c = 0; c < r.size(); ++c) out.emplace_back(r.at(c));
        rows_.push_back(std::move(out));
    }
    return exec_fetch_result::ef_success;
}

long long statement_backend::get_affected_rows() {
    if (affected_ >= 0) return affected_;
    return guarded("get_affected_rows", [&] { return static_cast<long long>(session_.conn_.changes()); });
}

std::string statement_backend::get_parameter_name(int index) const {
    if (!stmt_) return {};
    std::string name = guarded("naming a parameter", [&] { return std::string(stmt_.parameter_name(index + 1)); });
    if (!name.empty() && (name[0] == ':' || name[0] == '?' || name[0] == '@' || name[0] == '$')) name.erase(0, 1);
    return name;
}

int statement_backend::prepare_for_describe() {
    return guarded("describing", [&] {
        if (columns_.empty()) {
            for (const column_info& c : stmt_.columns()) columns_.push_back({c.name, type_of_declared(c.declared_type)});
            // The column description query's numbers are expressions (no declared type, so strings otherwise):
            // SOCI's column_info reads them only from integer columns.
            if (sql_ == session_.get_column_descriptions_query()) {
                for (column_desc& c : columns_) {
                    if (c.name == "CHARACTER_MAXIMUM_LENGTH" || c.name == "NUMERIC_PRECISION" || c.name == "NUMERIC_SCALE")
                        c.type = ::soci::dt_integer;
                }
            }
        }
        return static_cast<int>(columns_.size());
    });
}

void statement_backend::describe_column(int col, data_type& type, std::string& name) {
    if (col < 1 || static_cast<std::size_t>(col) > columns_.size()) prepare_for_describe();
    if (col < 1 || static_cast<std::size_t>(col) > columns_.size())
        throw soci_error("libsql: no column " + std::to_string(col) + " to describe");
    const column_desc& c = columns_[static_cast<std::size_t>(col) - 1];
    type = c.type;
    name = c.name;
}

int statement_backend::parameter_index(const std::string& name) {
    return guarded("binding", [&] { return stmt_.parameter_index(":" + name).value_or(0); });
}

void statement_backend::mark_binding(bool by_name) {
    if (by_name ? by_pos_ : by_name_) throw soci_error("Binding for use elements must be either by position or by name.");
    (by_name ? by_name_ : by_pos_) = true;
}

value& statement_backend::use_slot(std::size_t row, int position) {
    if (use_rows_.size() <= row) use_rows_.resize(row + 1);
    auto& r = use_rows_[row];
    if (r.size() < static_cast<std::size_t>(position)) r.resize(static_cast<std::size_t>(position));
    return r[static_cast<std::size_t>(position) - 1];
}

const value& statement_backend::cell(std::size_t row, int position) const {
    const auto& r = rows_.at(row);
    if (position < 1 || static_cast<std::size_t>(position) > r.size())
        throw soci_error("libsql: into element at position " + std::to_string(position) + " but the result has " +
                         std::to_string(r.size()) + " columns");
    return r[static_cast<std::size_t>(position) - 1];
}

// --- into

void into_backend::define_by_pos(int& position, void* data, exchange_type type) {
    data_ = data;
    type_ = type;
    position_ = position++;
}

void into_backend::post_fetch(bool got_data, bool called_from_fetch, indicator* ind) {
    if (called_from_fetch && !got_data) return;  // the end of the rowset: nothing to store
    if (!got_data) return;
    const value& v = st_.cell(0, position_);
    if (v.is_null()) {
        if (!ind) throw_null_without_indicator();
        *ind = ::soci::i_null;
        return;
    }
    if (ind) *ind = ::soci::i_ok;
    from_sql(v, data_, type_);
}

void vector_into_backend::define_by_pos(int& position, void* data, exchange_type type) {
    data_ = data;
    type_ = type;
    position_ = position++;
}

void vector_into_backend::post_fetch(bool got_data, indicator* ind) {
    if (!got_data) return;
    const std::size_t n = st_.rows_.size();
    with_vector(data_, type_, [&](auto& vec) {
        using element = typename std::remove_reference_t<decltype(vec)>::value_type;
        if (vec.size() < n) vec.resize(n);
        for (std::size_t i = 0; i < n; ++i) {
            const value& v = st_.cell(i, position_);
            if (v.is_null()) {
                if (!ind) throw_null_without_indicator();
                ind[i] = ::soci::i_null;
                continue;
            }
            if (ind) ind[i] = ::soci::i_ok;
            element e{};
            from_sql(v, &e, type_);
            vec[i] = std::move(e);
        }
    });
}

void vector_into_backend::resize(std::size_t sz) {
    with_vector(data_, type_, [&](auto& vec) { vec.resize(sz); });
}

std::size_t vector_into_backend::size() {
    return with_vector(data_, type_, [](auto& vec) { return vec.size(); });
}

// --- use

void use_backend::bind_by_pos(int& position, void* data, exchange_type type, bool) {
    st_.mark_binding(false);
    data_ = data;
    type_ = type;
    position_ = position++;
}

void use_backend::bind_by_name(const std::string& name, void* data, exchange_type type, bool) {
    st_.mark_binding(true);
    data_ = data;
    type_ = type;
    position_ = st_.parameter_index(name);
    if (position_ == 0) throw soci_error("Cannot bind to (by name) :" + name);
}

void use_backend::pre_use(const indicator* ind) {
    // One row of values; a bulk run that failed before execute() consumed its rows leaves none behind.
    if (st_.use_rows_.size() > 1) st_.use_rows_.resize(1);
    value& slot = st_.use_slot(0, position_);
    if (ind && *ind == ::soci::i_null) slot = value();
    else slot = to_sql(data_, type_);
}

void vector_use_backend::bind_by_pos(int& position, void* data, exchange_type type) {
    st_.mark_binding(false);
    data_ = data;
    type_ = type;
    position_ = position++;
}

void vector_use_backend::bind_by_name(const std::string& name, void* data, exchange_type type) {
    st_.mark_binding(true);
    data_ = data;
    type_ = type;
    position_ = st_.parameter_index(name);
    if (position_ == 0) throw soci_error("Cannot bind to (by name) :" + name);
}

void vector_use_backend::pre_use(const indicator* ind) {
    with_vector(data_, type_, [&](auto& vec) {
        st_.use_rows_.resize(vec.size());  // exactly one row per element, whatever an earlier run left
        for (std::size_t i = 0; i < vec.size(); ++i) {
            value& slot = st_.use_slot(i, position_);
            if (ind && ind[i] == ::soci::i_null) slot = value();
            else slot = to_sql(&vec[i], type_);
        }
    });
}

std::size_t vector_use_backend::size() {
    return with_vector(data_, type_, [](auto& vec) { return vec.size(); });
}

// --- blob

std::size_t blob_backend::read(std::size_t offset, char* buf, std::size_t to_read) {
    if (offset > data_.size()) throw soci_error("libsql: blob read beyond its end");
    const std::size_t n = std::min(to_read, data_.size() - offset);
    std::memcpy(buf, data_.data() + offset, n);
    return n;
}

std::size_t blob_backend::write(std::size_t offset, const char* buf, std::size_t to_write) {
    if (offset > data_.size()) throw soci_error("libsql: blob write beyond its end");
    if (data_.size() < offset + to_write) data_.resize(offset + to_write);
    std::memcpy(data_.data() + offset, buf, to_write);
    return to_write;
}

std::size_t blob_backend::append(const char* buf, std::size_t to_write) {
    data_.append(buf, to_write);
    return to_write;
}

void blob_backend::trim(std::size_t new_len) { data_.resize(std::min(new_len, data_.size())); }

} // namespace libsql::soci_backend
