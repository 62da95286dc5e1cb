// The session, the connection string, errors and the factory of the "libsql" SOCI backend.
#include "soci/backend.hpp"

#include <soci/backend-loader.h>
#include <soci/connection-parameters.h>

#include <cctype>
#include <charconv>
#include <chrono>
#include <string>
#include <utility>

namespace soci {

libsql_soci_error::libsql_soci_error(const std::string& message, int extended_result, std::string code_name,
                                     error_category category)
    : soci_error(message), extended_result_(extended_result), code_name_(std::move(code_name)), category_(category) {}

} // namespace soci

namespace libsql::soci_backend {

namespace {

using ::soci::soci_error;

soci_error::error_category category_of(const libsql::error& e) {
    if (dynamic_cast<const constraint_violation*>(&e)) return soci_error::constraint_violation;
    if (dynamic_cast<const connection_error*>(&e) || dynamic_cast<const timeout*>(&e) ||
        dynamic_cast<const cant_open*>(&e))
        return soci_error::connection_error;
    if (dynamic_cast<const auth_error*>(&e) || dynamic_cast<const readonly*>(&e)) return soci_error::no_privilege;
    if (dynamic_cast<const sql_error*>(&e)) return soci_error::invalid_statement;
    if (dynamic_cast<const no_rows*>(&e)) return soci_error::no_data;
    if (dynamic_cast<const io_error*>(&e) || dynamic_cast<const out_of_memory*>(&e) ||
        dynamic_cast<const corrupt*>(&e))
        return soci_error::system_error;
    return soci_error::unknown;
}

bool parse_bool(std::string_view key, std::string_view v) {
    if (v == "1" || v == "true" || v == "yes" || v == "on") return true;
    if (v == "0" || v == "false" || v == "no" || v == "off") return false;
    throw soci_error("libsql: option " + std::string(key) + "=" + std::string(v) + ": expected true or false");
}

std::chrono::milliseconds parse_ms(std::string_view key, std::string_view v) {
    long long n = 0;
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || end != v.data() + v.size() || n < 0)
        throw soci_error("libsql: option " + std::string(key) + "=" + std::string(v) +
                         ": expected a number of milliseconds");
    return std::chrono::milliseconds(n);
}

} // namespace

void rethrow_as_soci(const libsql::error& e, const char* where) {
    std::string code(e.code_name());
    if (code.empty()) code = e.hrana_code();
    throw ::soci::libsql_soci_error(std::string("libsql: ") + where + ": " + e.what(), e.extended_code(),
                                    std::move(code), category_of(e));
}

connect_spec parse_connect_string(std::string_view text) {
    // Tokens separated by blanks; a value may be quoted with ' or " (no escapes inside), as SOCI's own backends
    // accept. A first token without '=' is the path or URL; so is db= (or dbname=).
    connect_spec spec;
    bool have_target = false;
    std::size_t i = 0;
    auto skip_blanks = [&] { while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i; };
    auto read_value = [&]() -> std::string {
        if (i < text.size() && (text[i] == '\'' || text[i] == '"')) {
            const char q = text[i++];
            const std::size_t close = text.find(q, i);
            if (close == std::string_view::npos)
                throw soci_error("libsql: unterminated quote in the connection string");
            std::string v(text.substr(i, close - i));
            i = close + 1;
            return v;
        }
        const std::size_t start = i;
        while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
        return std::string(text.substr(start, i - start));
    };
    for (skip_blanks(); i < text.size(); skip_blanks()) {
        const std::size_t start = i;
        std::size_t key_end = start;
        while (key_end < text.size() && (std::isalnum(static_cast<unsigned char>(text[key_end])) || text[key_end] == '_'))
            ++key_end;
        const bool is_option = key_end > start && key_end < text.size() && text[key_end] == '=';
        if (!is_option) {
            if (have_target) throw soci_error("libsql: connection string: two paths given (" + spec.target +
                                              " and " + std::string(text.substr(start)) + ")");
            spec.target = read_value();
            have_target = true;
            continue;
        }
        const std::string key(text.substr(start, key_end - start));
        i = key_end + 1;
        const std::string v = read_value();
        auto& o = spec.options;
        if (key == "db" || key == "dbname" || key == "url") {
            if (have_target) throw soci_error("libsql: connection string: two paths given");
            spec.target = v;
            have_target = true;
        } else if (key == "auth_token" || key == "authToken" || key == "token") {
            o.auth_token = v;
        } else if (key == "sync_url" || key == "syncUrl") {
            o.sync_url = v;
        } else if (key == "sync_interval") {
            o.sync_interval = parse_ms(key, v);
        } else if (key == "read_your_writes") {
            o.read_your_writes = parse_bool(key, v);
        } else if (key == "encryption_key" || key == "encryptionKey") {
            o.encryption_key = v;
        } else if (key == "cipher") {
            const auto c = encryption_cipher_from_name(v);
            if (!c) throw soci_error("libsql: unknown cipher '" + v + "'");
            o.cipher = *c;
        } else if (key == "remote_encryption_key") {
            o.remote_encryption_key = v;
        } else if (key == "busy_timeout" || key == "timeout") {
            o.busy_timeout = parse_ms(key, v);
        } else if (key == "connect_timeout") {
            o.connect_timeout = parse_ms(key, v);
        } else if (key == "request_timeout") {
            o.request_timeout = parse_ms(key, v);
        } else if (key == "mode") {
            if (v == "rwc" || v == "read_write_create") o.mode = open_mode::read_write_create;
            else if (v == "rw" || v == "read_write") o.mode = open_mode::read_write;
            else if (v == "ro" || v == "read_only") o.mode = open_mode::read_only;
            else throw soci_error("libsql: option mode=" + v + ": expected rwc, rw or ro");
        } else if (key == "readonly") {
            if (parse_bool(key, v)) o.mode = open_mode::read_only;
        } else if (key == "protocol" || key == "transport") {
            if (v == "http") o.protocol = remote_protocol::http;
            else if (v == "ws" || v == "websocket") o.protocol = remote_protocol::websocket;
            else if (v == "auto") o.protocol = remote_protocol::automatic;
            else throw soci_error("libsql: option " + key + "=" + v + ": expected http, ws or auto");
        } else if (key == "tls_ca_file") {  // the names of the shell's --tls-* options
            o.tls_ca_file = v;
        } else if (key == "tls_cert_file") {
            o.tls_cert_file = v;
        } else if (key == "tls_key_file") {
            o.tls_key_file = v;
        } else if (key == "tls_verify") {
            o.tls_verify = parse_bool(key, v);
        } else if (key == "enable_load_extension") {
            o.enable_load_extension = parse_bool(key, v);
        } else {
            throw soci_error("libsql: unknown option '" + key + "' in the connection string");
        }
    }
    if (spec.target.empty()) throw soci_error("libsql: the connection string names no database (a path or URL)");
    return spec;
}

session_backend::session_backend(const ::soci::connection_parameters& params) {
    const connect_spec spec = parse_connect_string(params.get_connect_string());
    guarded("connecting", [&] {
        db_.emplace(spec.target, spec.options);
        conn_ = db_->connect();
    });
}

session_backend::~session_backend() {
    // The statements SOCI still holds were cleaned up before the session; closing rolls back an open transaction.
    conn_.close();
}

void session_backend::begin() {
    guarded("begin", [&] { conn_.execute("BEGIN"); });
}

void session_backend::commit() {
    guarded("commit", [&] { conn_.execute("COMMIT"); });
}

void session_backend::rollback() {
    guarded("rollback", [&] {
        // After a failed statement SQLite may have rolled back already; ROLLBACK then would fail for nothing.
        if (!conn_.is_autocommit()) conn_.execute("ROLLBACK");
    });
}

bool session_backend::get_last_insert_id(::soci::session&, const std::string&, long long& value) {
    value = guarded("get_last_insert_id", [&] { return conn_.last_insert_rowid(); });
    return true;
}

std::string session_backend::get_column_descriptions_query() const {
    // pragma_table_info's declared types, split as information_schema reports them: the name ("varchar") as
    // DATA_TYPE, and the numbers SQLite's grammar allows after it ("(20)", "(10, 2)") as the length of a text or
    // binary type, or the precision and scale of any other. In SQL, so that it runs on the server for a remote
    // connection; its three numeric columns are typed by statement_backend::prepare_for_describe.
    return "select name as \"COLUMN_NAME\","
           " trim(case when p > 0 then substr(type, 1, p - 1) else type end) as \"DATA_TYPE\","
           " case when is_text then n1 else 0 end as \"CHARACTER_MAXIMUM_LENGTH\","
           " case when is_text then 0 else n1 end as \"NUMERIC_PRECISION\","
           " case when is_text then 0 else n2 end as \"NUMERIC_SCALE\","
           " case when \"notnull\" = 0 then 'YES' else 'NO' end as \"IS_NULLABLE\""
           " from (select cid, name, type, \"notnull\", p,"
           "   (type not like '%int%' and (type like '%char%' or type like '%clob%' or type like '%text%'))"
           "     or type like '%blob%' or type like '%binary%' as is_text,"
           "   cast(case when c > 0 then substr(args, 1, c - 1) else args end as integer) as n1,"
           "   case when c > 0 then cast(substr(args, c + 1) as integer) else 0 end as n2"
           "  from (select cid, name, type, \"notnull\", p, args, instr(args, ',') as c"
           "   from (select cid, name, type, \"notnull\", p,"
           "     case when p > 0 then substr(type, p + 1, instr(type, ')') - p - 1) else '' end as args"
           "    from (select cid, name, type, \"notnull\", instr(type, '(') as p from pragma_table_info(:t)))))"
           " order by cid";
}

std::string session_backend::create_column_type(data_type dt, int precision, int) {
    switch (dt) {
    case ::soci::dt_xml:
    case ::soci::dt_string:
        return precision > 0 ? "varchar(" + std::to_string(precision) + ")" : "text";
    case ::soci::dt_double: return "real";
    case ::soci::dt_date: return "datetime";
    case ::soci::dt_integer: return "integer";
    case ::soci::dt_long_long: return "bigint";
    case ::soci::dt_unsigned_long_long: return "unsigned big int";
    case ::soci::dt_blob: return "blob";
    }
    throw ::soci::soci_error("libsql: this data_type is not supported in create_column");
}

session_backend* factory::make_session(const ::soci::connection_parameters& params) const {
    return new session_backend(params);
}

} // namespace libsql::soci_backend

namespace {
const libsql::soci_backend::factory the_factory;
}

extern "C" {

LIBSQL_SOCI_DECL soci::backend_factory const* soci::factory_libsql() { return &the_factory; }

LIBSQL_SOCI_DECL void soci::register_factory_libsql() { soci::dynamic_backends::register_backend("libsql", the_factory); }

}
