// `libsql shell`: see shell.hpp and docs/SHELL.md. Only the public libsql API is used, so every transport (local
// file, remote server, embedded replica) behaves and prints the same.
#include "shell.hpp"

#include "libsql/adapter.hpp"
#include "libsql/database.hpp"
#include "libsql/error.hpp"

#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <mutex>
#include <thread>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

// libedit's readline compatibility header is C and expects FILE to be declared.
#include <editline/readline.h>

namespace libsql::cli {

std::optional<output_mode> parse_output_mode(std::string_view name) noexcept {
    if (name == "table") return output_mode::table;
    if (name == "csv") return output_mode::csv;
    if (name == "json") return output_mode::json;
    if (name == "line") return output_mode::line;
    return std::nullopt;
}

std::string_view to_string(output_mode mode) noexcept {
    switch (mode) {
    case output_mode::table: return "table";
    case output_mode::csv: return "csv";
    case output_mode::json: return "json";
    case output_mode::line: return "line";
    }
    return "table";
}

// --- statement splitting: sqlite3_complete()'s state machine (see sqlite's complete.c), plus the offsets where
// each statement ends.

namespace {

enum token : std::uint8_t { tk_semi, tk_ws, tk_other, tk_explain, tk_create, tk_temp, tk_trigger, tk_end };

// States: 0 invalid (nothing yet), 1 start (after a ';'), 2 normal, 3 explain, 4 create, 5 trigger (inside its
// body), 6 semi (a ';' inside a trigger body), 7 end (END seen after such a ';').
constexpr std::array<std::array<std::uint8_t, 8>, 8> transitions{{
    //  semi ws other explain create temp trigger end
    {{1, 0, 2, 3, 4, 2, 2, 2}},  // 0 invalid
    {{1, 1, 2, 3, 4, 2, 2, 2}},  // 1 start
    {{1, 2, 2, 2, 2, 2, 2, 2}},  // 2 normal
    {{1, 3, 3, 2, 4, 2, 2, 2}},  // 3 explain
    {{1, 4, 2, 2, 2, 4, 5, 2}},  // 4 create
    {{6, 5, 5, 5, 5, 5, 5, 5}},  // 5 trigger
    {{6, 6, 5, 5, 5, 5, 5, 7}},  // 6 semi
    {{1, 7, 5, 5, 5, 5, 5, 5}},  // 7 end
}};

bool is_id_char(char c) noexcept {
    const auto u = static_cast<unsigned char>(c);
    return std::isalnum(u) != 0 || c == '_' || c == '$' || u >= 0x80;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
    }
    return true;
}

token classify_word(std::string_view w) noexcept {
    if (iequals(w, "explain")) return tk_explain;
    if (iequals(w, "create")) return tk_create;
    if (iequals(w, "temp") || iequals(w, "temporary")) return tk_temp;
    if (iequals(w, "trigger")) return tk_trigger;
    if (iequals(w, "end")) return tk_end;
    return tk_other;
}

bool is_blank(std::string_view s) noexcept {
    return std::all_of(s.begin(), s.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; });
}

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())) != 0) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())) != 0) s.remove_suffix(1);
    return s;
}

} // namespace

sql_split split_sql(std::string_view text) {
    sql_split out;
    std::size_t i = 0;
    std::size_t start = 0;
    std::uint8_t state = 0;
    bool has_tokens = false;  // the statement being read has a token other than blanks, comments and ';'
    const std::size_t n = text.size();
    while (i < n) {
        token tk = tk_other;
        const char c = text[i];
        switch (c) {
        case ';':
            tk = tk_semi;
            ++i;
            break;
        case ' ': case '\t': case '\n': case '\r': case '\f': case '\v':
            tk = tk_ws;
            ++i;
            break;
        case '/':
            if (i + 1 < n && text[i + 1] == '*') {
                const auto close = text.find("*/", i + 2);
                if (close == std::string_view::npos) {  // an unterminated comment: wait for more
                    out.rest = start;
                    out.rest_pending = true;
                    return out;
                }
                i = close + 2;
                tk = tk_ws;
            } else {
                ++i;
            }
            break;
        case '-':
            if (i + 1 < n && text[i + 1] == '-') {
                const auto eol = text.find('\n', i + 2);
                i = eol == std::string_view::npos ? n : eol + 1;
                tk = tk_ws;
            } else {
                ++i;
            }
            break;
        case '[': case '`': case '"': case '\'': {
            const char close_char = c == '[' ? ']' : c;
            const auto close = text.find(close_char, i + 1);
            if (close == std::string_view::npos) {  // an unterminated string or identifier: wait for more
                out.rest = start;
                out.rest_pending = true;
                return out;
            }
            i = close + 1;  // a doubled quote reads as two adjacent strings, which is the same for completeness
            break;
        }
        default:
            if (is_id_char(c)) {
                const std::size_t b = i;
                while (i < n && is_id_char(text[i])) ++i;
                tk = classify_word(text.substr(b, i - b));
            } else {
                ++i;
            }
            break;
        }
        const std::uint8_t next = transitions[state][tk];
        if (tk == tk_semi && next == 1) {
            if (has_tokens) out.statements.push_back({start, i});
            start = i;
            has_tokens = false;
        } else if (tk != tk_ws && tk != tk_semi) {
            has_tokens = true;
        }
        state = next;
    }
    out.rest = start;
    out.rest_pending = has_tokens;
    return out;
}

namespace {

// --- value formatting, shared by every transport

/// The shortest text that reads back as the same double, always with a '.' or an exponent so that it cannot be
/// mistaken for an integer: 1.0, 0.1, 1.0e+20, 1.5e-07, Inf, -Inf, NaN.
std::string format_real(double d) {
    if (std::isnan(d)) return "NaN";
    if (std::isinf(d)) return d < 0 ? "-Inf" : "Inf";
    std::array<char, 64> buf{};
    const auto res = std::to_chars(buf.data(), buf.data() + buf.size(), d);
    std::string s(buf.data(), res.ptr);
    if (s.find('.') == std::string::npos) {
        const auto e = s.find('e');
        if (e == std::string::npos) s += ".0";
        else s.insert(e, ".0");
    }
    return s;
}

std::string format_integer(std::int64_t v) {
    std::array<char, 32> buf{};
    const auto res = std::to_chars(buf.data(), buf.data() + buf.size(), v);
    return {buf.data(), res.ptr};
}

std::string hex(libsql::blob_view b) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string s;
    s.reserve(b.size() * 2);
    for (const std::byte x : b) {
        const auto u = std::to_integer<unsigned>(x);
        s += digits[u >> 4];
        s += digits[u & 0xF];
    }
    return s;
}

/// A value as text for table, line and csv: integers in decimal, reals by format_real, text verbatim, blobs as
/// X'HEX'; null as null_text.
std::string plain_text(libsql::value_view v, std::string_view null_text) {
    switch (v.type()) {
    case libsql::value_type::null: return std::string(null_text);
    case libsql::value_type::integer: return format_integer(v.as_integer());
    case libsql::value_type::real: return format_real(v.as_real());
    case libsql::value_type::text: return std::string(v.as_text());
    case libsql::value_type::blob: return "X'" + hex(v.as_blob()) + "'";
    }
    return {};
}

void append_json_string(std::string& out, std::string_view s) {
    out += '"';
    for (const char c : s) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
            if (static_cast<unsigned char>(c) < 0x20) {
                std::array<char, 8> buf{};
                std::snprintf(buf.data(), buf.size(), "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
                out += buf.data();
            } else {
                out += c;
            }
        }
    }
    out += '"';
}

void append_json_value(std::string& out, libsql::value_view v) {
    switch (v.type()) {
    case libsql::value_type::null: out += "null"; return;
    case libsql::value_type::integer: out += format_integer(v.as_integer()); return;
    case libsql::value_type::real: {
        const double d = v.as_real();
        // JSON has no infinities or NaN: a number too large for a double stands for infinity (as SQLite's JSON
        // functions do); NaN becomes null.
        if (std::isnan(d)) out += "null";
        else if (std::isinf(d)) out += d < 0 ? "-9e999" : "9e999";
        else out += format_real(d);
        return;
    }
    case libsql::value_type::text: append_json_string(out, v.as_text()); return;
    case libsql::value_type::blob: append_json_string(out, hex(v.as_blob())); return;
    }
}

bool csv_needs_quotes(std::string_view s) noexcept {
    return s.find_first_of(",\"\r\n") != std::string_view::npos;
}

void append_csv_field(std::string& out, libsql::value_view v) {
    if (v.is_null()) return;  // NULL: an empty field; the empty string is "" so that the two differ
    if (v.type() == libsql::value_type::text && v.as_text().empty()) {
        out += "\"\"";
        return;
    }
    const std::string s = plain_text(v, "");
    if (!csv_needs_quotes(s)) {
        out += s;
        return;
    }
    out += '"';
    for (const char c : s) {
        if (c == '"') out += '"';
        out += c;
    }
    out += '"';
}

void append_csv_text(std::string& out, std::string_view s) {
    if (!csv_needs_quotes(s)) {
        out += s;
        return;
    }
    out += '"';
    for (const char c : s) {
        if (c == '"') out += '"';
        out += c;
    }
    out += '"';
}

/// Display width in code points (UTF-8 continuation bytes do not count).
std::size_t display_width(std::string_view s) noexcept {
    return static_cast<std::size_t>(
        std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

// --- result printers

/// Prints one statement's rows in one mode. Rows arrive one at a time; table mode keeps them to size its columns.
class result_printer {
public:
    result_printer(output_mode mode, bool header, std::string& out) : mode_(mode), header_(header), out_(out) {}

    void row(const libsql::row_view& r) {
        if (rows_ == 0) start(r);
        switch (mode_) {
        case output_mode::table: {
            std::vector<cell> cells;
            cells.reserve(names_.size());
            for (int i = 0; i < r.size(); ++i) {
                const auto v = r.at(i);
                const bool number = v.type() == libsql::value_type::integer || v.type() == libsql::value_type::real;
                cells.push_back({plain_text(v, "NULL"), number});
                widen(static_cast<std::size_t>(i), cells.back().text);
            }
            table_.push_back(std::move(cells));
            break;
        }
        case output_mode::csv:
            for (int i = 0; i < r.size(); ++i) {
                if (i > 0) out_ += ',';
                append_csv_field(out_, r.at(i));
            }
            out_ += '\n';
            break;
        case output_mode::json:
            out_ += rows_ == 0 ? "[{" : ",\n{";
            for (int i = 0; i < r.size(); ++i) {
                if (i > 0) out_ += ',';
                append_json_string(out_, names_[static_cast<std::size_t>(i)]);
                out_ += ':';
                append_json_value(out_, r.at(i));
            }
            out_ += '}';
            break;
        case output_mode::line: {
            if (rows_ > 0) out_ += '\n';
            for (int i = 0; i < r.size(); ++i) {
                const auto& name = names_[static_cast<std::size_t>(i)];
                out_.append(name_width_ - display_width(name), ' ');
                out_ += name;
                out_ += " = ";
                out_ += plain_text(r.at(i), "NULL");
                out_ += '\n';
            }
            break;
        }
        }
        ++rows_;
    }

    /// Ends the result: nothing is printed for a statement that returned no rows.
    void finish() {
        if (rows_ == 0) return;
        if (mode_ == output_mode::json) out_ += "]\n";
        if (mode_ != output_mode::table) return;
        const std::string rule = separator();
        out_ += rule;
        out_ += '|';
        for (std::size_t i = 0; i < names_.size(); ++i) pad(names_[i], widths_[i], false);
        out_ += '\n';
        out_ += rule;
        for (const auto& cells : table_) {
            out_ += '|';
            for (std::size_t i = 0; i < cells.size(); ++i) pad(cells[i].text, widths_[i], cells[i].right);
            out_ += '\n';
        }
        out_ += rule;
    }

private:
    struct cell {
        std::string text;
        bool right;  ///< numbers are right-aligned, everything else left-aligned
    };

    void start(const libsql::row_view& r) {
        names_.clear();
        for (int i = 0; i < r.size(); ++i) names_.emplace_back(r.column_name(i));
        widths_.assign(names_.size(), 0);
        for (std::size_t i = 0; i < names_.size(); ++i) widen(i, names_[i]);
        name_width_ = 0;
        for (const auto& nm : names_) name_width_ = std::max(name_width_, display_width(nm));
        if (mode_ == output_mode::csv && header_) {
            for (std::size_t i = 0; i < names_.size(); ++i) {
                if (i > 0) out_ += ',';
                append_csv_text(out_, names_[i]);
            }
            out_ += '\n';
        }
    }
    void widen(std::size_t column, std::string_view text) {
        widths_[column] = std::max(widths_[column], display_width(text));
    }
    [[nodiscard]] std::string separator() const {
        std::string s = "+";
        for (const auto w : widths_) {
            s.append(w + 2, '-');
            s += '+';
        }
        s += '\n';
        return s;
    }
    void pad(std::string_view text, std::size_t width, bool right) {
        const std::size_t fill = width - display_width(text);
        out_ += ' ';
        if (right) out_.append(fill, ' ');
        out_ += text;
        if (!right) out_.append(fill, ' ');
        out_ += " |";
    }

    output_mode mode_;
    bool header_;
    std::string& out_;
    std::size_t rows_ = 0;
    std::vector<std::string> names_;
    std::vector<std::size_t> widths_;
    std::size_t name_width_ = 0;
    std::vector<std::vector<cell>> table_;
};

// --- the shell

struct cpu_times {
    double user = 0;
    double sys = 0;
};

cpu_times cpu_now() noexcept {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
    return {seconds(u.ru_utime), seconds(u.ru_stime)};
}

/// The arguments of a dot command: words separated by blanks; '...' or "..." quote a word with blanks.
std::vector<std::string> split_words(std::string_view line) {
    std::vector<std::string> words;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i])) != 0) ++i;
        if (i >= line.size()) break;
        std::string w;
        if (line[i] == '\'' || line[i] == '"') {
            const char q = line[i++];
            while (i < line.size() && line[i] != q) w += line[i++];
            if (i < line.size()) ++i;
        } else {
            while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i])) == 0) w += line[i++];
        }
        words.push_back(std::move(w));
    }
    return words;
}

/// True when the statement is itself an EXPLAIN (".eqp on" shows no plan for those, as sqlite3 does).
bool starts_with_explain(std::string_view sql) {
    std::size_t i = 0;
    // Skip blanks and comments.
    while (i < sql.size()) {
        if (std::isspace(static_cast<unsigned char>(sql[i])) != 0) {
            ++i;
        } else if (sql.substr(i, 2) == "--") {
            const auto eol = sql.find('\n', i);
            i = eol == std::string_view::npos ? sql.size() : eol + 1;
        } else if (sql.substr(i, 2) == "/*") {
            const auto close = sql.find("*/", i + 2);
            i = close == std::string_view::npos ? sql.size() : close + 2;
        } else {
            break;
        }
    }
    std::size_t j = i;
    while (j < sql.size() && is_id_char(sql[j])) ++j;
    return iequals(sql.substr(i, j - i), "explain");
}

constexpr std::string_view help_text =
    ".eqp on|off            Print the query plan of each statement before running it\n"
    ".exit ?CODE?           Leave the shell (with exit code CODE, default 0)\n"
    ".freeze                Turn the embedded replica into a plain local database\n"
    ".headers on|off        Print the header row in csv mode (default on)\n"
    ".help                  Show this message\n"
    ".mode ?MODE?           Show or set the output mode: table, csv, json or line\n"
    ".quit                  Leave the shell\n"
    ".read FILE             Run the SQL and dot commands in FILE\n"
    ".schema ?PATTERN?      Print the CREATE statements (of tables whose name matches the LIKE PATTERN)\n"
    ".sync                  Sync the embedded replica: prints the frames applied and the replication index\n"
    ".tables ?PATTERN?      List the tables and views (whose name matches the LIKE PATTERN)\n"
    ".timer on|off          Print the time each statement took\n";

/// Ctrl-C in the interactive shell: SIGINT is blocked in every thread (the library's included, so it must exist
/// before the database opens) and a watcher thread takes it with sigwait(), then calls the callback from an ordinary
/// thread context, where connection::interrupt() is allowed. A signal handler could not call it safely for every
/// transport.
class interrupt_watcher {
public:
    explicit interrupt_watcher(std::function<void()> on_interrupt) : on_interrupt_(std::move(on_interrupt)) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        pthread_sigmask(SIG_BLOCK, &set, &previous_);
        thread_ = std::thread([this, set] {
            for (;;) {
                int sig = 0;
                if (sigwait(&set, &sig) != 0) continue;
                if (stop_.load()) return;
                on_interrupt_();
            }
        });
    }
    interrupt_watcher(const interrupt_watcher&) = delete;
    interrupt_watcher& operator=(const interrupt_watcher&) = delete;
    ~interrupt_watcher() {
        stop_.store(true);
        pthread_kill(thread_.native_handle(), SIGINT);
        thread_.join();
        pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
    }

private:
    std::function<void()> on_interrupt_;
    std::atomic<bool> stop_{false};
    sigset_t previous_{};
    std::thread thread_;
};

/// Where input lines come from: the terminal (libedit), a pipe or a file.
using line_source = std::function<std::optional<std::string>(bool continuation)>;

enum class error_policy : std::uint8_t {
    keep_going,  ///< report and continue (interactive; scripts on stdin without --bail)
    stop,        ///< report and stop (SQL on the command line; --bail)
};

class shell {
public:
    explicit shell(const shell_options& o) : opts_(o), mode_(o.mode), header_(o.header) {}

    int run() {
        const bool tty = opts_.commands.empty() && isatty(STDIN_FILENO) != 0;
        std::optional<interrupt_watcher> watcher;
        if (tty) {
            watcher.emplace([this] {
                const std::lock_guard lock{conn_mutex_};
                if (running_) conn_.interrupt();
            });
        }
        try {
            libsql::connect_options co;
            co.auth_token = opts_.auth_token;
            co.sync_url = opts_.sync_url;
            co.encryption_key = opts_.encryption_key;
            if (const auto c = libsql::encryption_cipher_from_name(opts_.cipher)) co.cipher = *c;
            co.tls_ca_file = opts_.tls_ca_file;
            co.tls_cert_file = opts_.tls_cert_file;
            co.tls_key_file = opts_.tls_key_file;
            co.tls_verify = opts_.tls_verify;
            db_.emplace(opts_.target, co);
            conn_ = db_->connect();
            if (!opts_.sync_url.empty()) db_->sync();
        } catch (const std::exception& e) {
            report(e.what());
            return 1;
        }

        if (!opts_.commands.empty()) {
            policy_ = error_policy::stop;
            for (const auto& cmd : opts_.commands) {
                bool go_on = true;
                if (!cmd.empty() && cmd.front() == '.') {
                    go_on = dot_command(cmd, 0);
                } else {
                    go_on = run_text(cmd, true);
                }
                if (!go_on || quit_) break;
            }
            return errors_ > 0 ? 1 : exit_code_;
        }

        if (!tty) {
            policy_ = opts_.bail ? error_policy::stop : error_policy::keep_going;
            process(stdin_lines(), 0);
            return errors_ > 0 ? 1 : exit_code_;
        }
        policy_ = opts_.bail ? error_policy::stop : error_policy::keep_going;
        interactive();
        return exit_code_;
    }

private:
    // --- input

    static line_source stdin_lines() {
        return [](bool) -> std::optional<std::string> {
            std::string line;
            if (!std::getline(std::cin, line)) return std::nullopt;
            return line;
        };
    }

    void interactive() {
        std::string history;
        if (const char* h = std::getenv("LIBSQL_HISTORY"); h != nullptr && *h != '\0') {
            history = h;
        } else if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
            history = std::string(home) + "/.libsql_history";
        }
        using_history();
        stifle_history(2000);
        if (!history.empty()) read_history(history.c_str());

        // Without the URL's query string, which may hold a token (?authToken=...).
        const std::string shown = opts_.target.substr(0, opts_.target.find('?'));
        std::printf("libsql shell: connected to %s (%s). Enter \".help\" for usage hints.\n", shown.c_str(),
                    std::string(libsql::to_string(db_->transport())).c_str());
        std::fflush(stdout);
        process(
            [](bool continuation) -> std::optional<std::string> {
                std::unique_ptr<char, decltype(&std::free)> line(readline(continuation ? "   ...> " : "libsql> "),
                                                                  &std::free);
                if (!line) {
                    std::fputc('\n', stdout);
                    return std::nullopt;
                }
                if (line.get()[0] != '\0') add_history(line.get());
                return std::string(line.get());
            },
            0);
        if (!history.empty()) write_history(history.c_str());
    }

    /// Reads lines until the source ends or the user quits. Returns false when processing must stop (.quit, or an
    /// error under error_policy::stop).
    bool process(const line_source& next_line, int depth) {
        std::string buffer;
        bool pending = false;
        while (!quit_) {
            auto line = next_line(pending);
            if (!line) break;
            if (!pending && !line->empty() && line->front() == '.') {
                if (!dot_command(*line, depth)) return false;
                continue;
            }
            buffer += *line;
            buffer += '\n';
            const auto split = split_sql(buffer);
            bool ok = true;
            for (const auto& s : split.statements) {
                if (!execute(std::string_view(buffer).substr(s.begin, s.end - s.begin))) {
                    ok = false;
                    break;  // the rest of this input chunk is dropped, as sqlite3 does
                }
            }
            if (!ok) {
                buffer.clear();
                pending = false;
                if (policy_ == error_policy::stop) return false;
                continue;
            }
            pending = split.rest_pending;
            buffer = pending ? buffer.substr(split.rest) : std::string();
        }
        if (quit_) return false;
        // Input ended inside a statement: run what there is (a last statement without ';' is fine; an unterminated
        // string is the engine's error to report).
        if (pending && !is_blank(buffer)) {
            if (!execute(trim(buffer)) && policy_ == error_policy::stop) return false;
        }
        return true;
    }

    /// Runs every statement of a text (SQL given on the command line), including a last one without ';'.
    bool run_text(std::string_view text, bool stop_on_error) {
        const auto split = split_sql(text);
        for (const auto& s : split.statements) {
            if (!execute(text.substr(s.begin, s.end - s.begin)) && stop_on_error) return false;
        }
        if (split.rest_pending) {
            if (!execute(trim(text.substr(split.rest))) && stop_on_error) return false;
        }
        return true;
    }

    // --- running SQL

    bool execute(std::string_view sql) {
        try {
            if (eqp_ && !starts_with_explain(sql)) print_plan(sql);
            const auto wall0 = std::chrono::steady_clock::now();
            const auto cpu0 = cpu_now();
            running_ = true;
            struct not_running {
                std::atomic<bool>& flag;
                ~not_running() { flag = false; }
            } done{running_};
            {
                auto st = conn_.prepare(sql);
                auto rows = st.query();
                result_printer printer(mode_, header_, out_);
                while (rows.next()) {
                    printer.row(rows.current());
                    if (out_.size() > 64 * 1024) flush();
                }
                printer.finish();
            }
            if (timer_) {
                const auto cpu1 = cpu_now();
                const double real =
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
                std::array<char, 128> buf{};
                std::snprintf(buf.data(), buf.size(), "Run Time: real %.3f user %.6f sys %.6f\n", real,
                              cpu1.user - cpu0.user, cpu1.sys - cpu0.sys);
                out_ += buf.data();
            }
            flush();
            return true;
        } catch (const std::exception& e) {
            report(e.what());
            return false;
        }
    }

    void print_plan(std::string_view sql) {
        libsql::query_plan plan;
        try {
            plan = libsql::explain_query_plan(conn_, sql);
        } catch (const std::exception&) {
            // A statement that cannot be planned (a syntax error, or a server without EXPLAIN) shows no plan; the
            // statement itself then reports what is wrong, once.
            return;
        }
        if (plan.nodes.empty()) return;
        out_ += plan.to_string();
    }

    void flush() {
        if (out_.empty()) return;
        std::fwrite(out_.data(), 1, out_.size(), stdout);
        std::fflush(stdout);
        out_.clear();
    }

    void report(std::string_view message) {
        flush();
        std::fprintf(stderr, "Error: %.*s\n", static_cast<int>(message.size()), message.data());
        std::fflush(stderr);
        ++errors_;
    }

    /// Runs a query whose rows are printed by fn (for the dot commands).
    template <class Fn> bool for_each_row(std::string_view sql, const std::string& arg, Fn fn) {
        try {
            auto st = conn_.prepare(sql);
            auto rows = arg.empty() ? st.query() : st.query(arg);
            while (rows.next()) fn(rows.current());
            flush();
            return true;
        } catch (const std::exception& e) {
            report(e.what());
            return false;
        }
    }

    // --- dot commands

    /// Returns false when processing must stop.
    bool dot_command(std::string_view line, int depth) {
        const auto words = split_words(line.substr(1));
        const std::string cmd = words.empty() ? std::string() : words[0];
        const std::size_t argc = words.size();
        bool ok = true;
        auto on_off = [&](bool& flag) {
            if (argc != 2 || (words[1] != "on" && words[1] != "off")) {
                report("usage: ." + cmd + " on|off");
                return false;
            }
            flag = words[1] == "on";
            return true;
        };

        if (cmd == "quit" || cmd == "exit" || cmd == "q") {
            if (cmd == "exit" && argc > 1) exit_code_ = std::atoi(words[1].c_str());
            quit_ = true;
            return false;
        } else if (cmd == "help") {
            out_ += help_text;
            flush();
        } else if (cmd == "mode") {
            if (argc == 1) {
                out_ += "current output mode: " + std::string(to_string(mode_)) + "\n";
                flush();
            } else if (const auto m = parse_output_mode(words[1]); m && argc == 2) {
                mode_ = *m;
            } else {
                report("unknown mode '" + words[1] + "': use table, csv, json or line");
                ok = false;
            }
        } else if (cmd == "headers" || cmd == "header") {
            ok = on_off(header_);
        } else if (cmd == "timer") {
            ok = on_off(timer_);
        } else if (cmd == "eqp") {
            ok = on_off(eqp_);
        } else if (cmd == "tables") {
            const std::string pattern = argc > 1 ? words[1] : std::string();
            std::string sql =
                "SELECT name FROM sqlite_schema WHERE type IN ('table','view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'";
            if (!pattern.empty()) sql += " AND name LIKE ?";
            sql += " ORDER BY name";
            ok = for_each_row(sql, pattern, [&](const libsql::row_view& r) {
                out_ += r.get<std::string_view>(0);
                out_ += '\n';
            });
        } else if (cmd == "schema") {
            const std::string pattern = argc > 1 ? words[1] : std::string();
            std::string sql =
                "SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'";
            if (!pattern.empty()) sql += " AND tbl_name LIKE ?";
            sql += " ORDER BY tbl_name, CASE type WHEN 'table' THEN 0 WHEN 'view' THEN 1 WHEN 'index' THEN 2 ELSE 3 END, name";
            ok = for_each_row(sql, pattern, [&](const libsql::row_view& r) {
                out_ += r.get<std::string_view>(0);
                out_ += ";\n";
            });
        } else if (cmd == "read") {
            if (argc != 2) {
                report("usage: .read FILE");
                ok = false;
            } else if (depth >= 16) {
                report(".read: files nested too deeply (16 levels)");
                ok = false;
            } else {
                std::ifstream in(words[1], std::ios::binary);
                if (!in) {
                    report("cannot open '" + words[1] + "'");
                    ok = false;
                } else {
                    const auto errors_before = errors_;
                    const bool go_on = process(
                        [&in](bool) -> std::optional<std::string> {
                            std::string l;
                            if (!std::getline(in, l)) return std::nullopt;
                            return l;
                        },
                        depth + 1);
                    if (!go_on) return false;
                    ok = errors_ == errors_before;
                }
            }
        } else if (cmd == "sync") {
            try {
                const auto r = db_->sync();
                out_ += format_integer(static_cast<std::int64_t>(r.frames_applied)) + " frames applied, replication index " +
                        format_integer(static_cast<std::int64_t>(r.replication_index)) + "\n";
                flush();
            } catch (const std::exception& e) {
                report(e.what());
                ok = false;
            }
        } else if (cmd == "freeze") {
            try {
                // Connections opened afterwards are plain local ones: drop ours first, then reconnect.
                const std::lock_guard lock{conn_mutex_};
                conn_ = libsql::connection();
                db_->freeze();
                conn_ = db_->connect();
                out_ += "frozen: " + opts_.target + " is now a plain local database\n";
                flush();
            } catch (const std::exception& e) {
                report(e.what());
                ok = false;
                try {
                    const std::lock_guard lock{conn_mutex_};
                    if (!conn_.is_open()) conn_ = db_->connect();
                } catch (const std::exception&) {
                }
            }
        } else {
            report("unknown command or invalid arguments: \"" + cmd + "\". Enter \".help\" for help");
            ok = false;
        }
        return ok || policy_ == error_policy::keep_going;
    }

    const shell_options& opts_;
    output_mode mode_;
    bool header_;
    bool timer_ = false;
    bool eqp_ = false;
    bool quit_ = false;
    int exit_code_ = 0;
    std::size_t errors_ = 0;
    error_policy policy_ = error_policy::keep_going;
    std::optional<libsql::database> db_;
    std::mutex conn_mutex_;        ///< conn_ is replaced (.freeze) while the interrupt watcher may read it
    std::atomic<bool> running_{false};  ///< a statement runs: Ctrl-C interrupts it
    libsql::connection conn_;
    std::string out_;
};

} // namespace

int run_shell(const shell_options& options) {
    shell sh(options);
    return sh.run();
}

} // namespace libsql::cli
