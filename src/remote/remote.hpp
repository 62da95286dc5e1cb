// The remote transport: connections to a libSQL server (libsql serve, sqld, Turso, tursodb --sync-server) over
// Hrana on HTTP or on WebSocket. remote_database probes the server once and keeps what it can do (capabilities);
// over HTTP each remote_connection owns one keep-alive HTTP client and at most one Hrana stream (an interactive
// transaction); over WebSocket each connection leases a socket (ws_client) from its database for as long as it
// lives and keeps one stream on it. remote_statement runs one statement through pipelines or, on Hrana 3, streams rows
// through a cursor (/v3/cursor, or open_cursor/fetch_cursor on the socket).
// docs/REMOTE.md says what differs from local connections, per server kind.
#pragma once

#include "core/database_backend.hpp"
#include "hrana/protocol.hpp"
#include "libsql/connection.hpp"
#include "remote/http.hpp"
#include "remote/ws_client.hpp"

#include <atomic>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace libsql::detail::remote {

// ------------------------------------------------------------------------------------------ what a server does
enum class server_kind : std::uint8_t {
    hrana3,   ///< GET v3 answers 2xx: pipelines on /v3, cursors, get_autocommit (libsql serve, sqld, Turso)
    hrana2,   ///< GET v2 answers 2xx but not v3: pipelines on /v2, no cursors, no get_autocommit
    limited,  ///< only POST v2/pipeline with execute and batch (tursodb --sync-server): see docs/REMOTE.md
};
[[nodiscard]] std::string_view to_string(server_kind k) noexcept;

/// What the server was found to support when the database was opened.
struct capabilities {
    server_kind kind = server_kind::hrana3;
    bool websocket = false;       ///< Hrana over the database's WebSocket (ws_client) instead of HTTP
    int version = 3;              ///< the pipeline path used: v3/pipeline or v2/pipeline
    bool streams = true;          ///< batons hold a server-side connection (false: one shared connection)
    bool cursor = true;           ///< POST v3/cursor
    bool get_autocommit = true;   ///< the get_autocommit request
    bool close = true;            ///< close, sequence, describe, store_sql requests
    bool describe = true;
    bool sequence = true;
    bool named_args = true;       ///< the server binds named_args (we always send positional args anyway)
    bool reports_changes = true;  ///< affected_row_count and last_insert_rowid are real
};

[[nodiscard]] capabilities capabilities_of(server_kind k) noexcept;

// ---------------------------------------------------------------------------------------------- SQL scanning
// Client-side knowledge of SQL text, mirroring SQLite's tokenizer where it matters: parameters, statement
// boundaries (trigger bodies included, as sqlite3_complete() sees them), leading keywords.

struct sql_parameter {
    int index = 0;          ///< 1-based, as SQLite numbers it
    std::size_t begin = 0;  ///< byte range of the token in the text
    std::size_t end = 0;
};
struct sql_parameters {
    int count = 0;                       ///< the largest index
    std::vector<std::string> names;      ///< names[i-1]: ":a", "?3", or "" for a nameless '?'
    std::vector<sql_parameter> tokens;   ///< every parameter token, in text order
};
/// The parameters of one statement, numbered as SQLite numbers them (?, ?NNN, :a, @a, $a, $a::b(c)).
[[nodiscard]] sql_parameters scan_parameters(std::string_view sql);

/// The statements of a text, without their terminating ';'; statements holding only comments are left out.
[[nodiscard]] std::vector<std::string_view> split_statements(std::string_view sql);

/// How a statement changes the transaction state (by its leading keywords).
struct txn_control {
    enum class kind : std::uint8_t { none, begin, savepoint, release, rollback_to, commit, rollback };
    kind what = kind::none;
    std::string name;  ///< savepoint name (unquoted) for savepoint, release and rollback_to
};
[[nodiscard]] txn_control classify_transaction(std::string_view stmt);
/// The first keyword, upper-cased ("" when the statement starts with something else).
[[nodiscard]] std::string first_keyword(std::string_view stmt);
/// A guess from keywords, for servers that cannot describe: SELECT, VALUES, EXPLAIN, and WITH without a write.
[[nodiscard]] bool looks_readonly(std::string_view stmt);
/// Whether the statement may set last_insert_rowid (INSERT or REPLACE, also after WITH).
[[nodiscard]] bool is_insert(std::string_view stmt);
/// CREATE, DROP or ALTER: cached descriptions may be stale afterwards.
[[nodiscard]] bool is_schema_change(std::string_view stmt);
/// INSERT, UPDATE, DELETE or REPLACE by the first keyword.
[[nodiscard]] bool is_dml(std::string_view stmt);
/// is_schema_change, is_dml and is_insert from one look at the statement.
struct statement_kind {
    bool schema = false;
    bool dml = false;
    bool insert = false;
};
[[nodiscard]] statement_kind classify_statement(std::string_view stmt);
/// SQL literal for a value (expanded_sql()).
[[nodiscard]] std::string sql_literal(value_view v);

// ----------------------------------------------------------------------------------------------- the database
/// What describe said about a statement (or what the client could work out itself).
struct description {
    sql_parameters params;
    std::vector<hrana::column> cols;
    bool cols_known = false;  ///< false on servers without describe until the statement has run
    bool is_explain = false;
    bool is_readonly = false;
};

class remote_database final : public database_backend, public std::enable_shared_from_this<remote_database> {
public:
    /// Probes the server (see capabilities). `reported` is the transport errors name (the replica's writes say
    /// replica).
    remote_database(std::string_view url, connect_options options, libsql::transport reported = libsql::transport::remote,
                    std::optional<server_kind> assume = std::nullopt);

    std::shared_ptr<connection_backend> connect() override;
    const std::string& path() const noexcept override { return path_; }
    const connect_options& options() const noexcept override { return options_; }
    libsql::transport transport() const noexcept override { return transport_; }

    [[nodiscard]] const capabilities& caps() const noexcept { return caps_; }
    /// The normalised base URL, ending with '/'.
    [[nodiscard]] const std::string& base_url() const noexcept { return base_url_; }
    [[nodiscard]] const http::options& http_settings() const noexcept { return http_; }
    /// The shared socket when the database speaks Hrana over WebSocket; null over HTTP.
    [[nodiscard]] const std::shared_ptr<ws_client>& ws() const noexcept { return ws_; }
    /// A socket for one connection, for as long as it lives (an idle one, or a new one that connects on first
    /// use): the server runs one message of a socket at a time, so connections sharing one would wait behind
    /// each other's statements, and a COMMIT could wait behind a statement that waits for its lock.
    [[nodiscard]] std::shared_ptr<ws_client> lease_ws();
    /// Takes back a leased socket that has no stream open; kept (a few) for the next lease while it lives.
    void give_back_ws(std::shared_ptr<ws_client> c) noexcept;
    /// Socket clients made so far, the probe's included (tests; each may have reconnected).
    [[nodiscard]] std::uint64_t ws_clients_made() const;

    /// Descriptions cached per SQL text, shared by every connection of this database.
    [[nodiscard]] std::shared_ptr<const description> find_description(std::string_view sql) const;
    void remember_description(std::string_view sql, std::shared_ptr<const description> d);
    void forget_descriptions() noexcept;

private:
    std::string path_;
    connect_options options_;
    libsql::transport transport_;
    std::string base_url_;
    http::options http_;
    capabilities caps_;
    std::shared_ptr<ws_client> ws_;
    ws_client::settings ws_settings_;
    mutable std::mutex ws_pool_m_;
    std::vector<std::shared_ptr<ws_client>> ws_idle_;   ///< leased sockets given back, at most a few
    std::uint64_t ws_made_ = 1;                         ///< the probe's, and every one lease_ws() made
    mutable std::mutex cache_m_;
    std::unordered_map<std::string, std::shared_ptr<const description>> cache_;
};

/// Opens (and probes) a remote database; the replica uses this for its writes and reads caps() from it.
[[nodiscard]] std::shared_ptr<remote_database> open(std::string_view url, const connect_options& options,
                                                    libsql::transport reported = libsql::transport::remote);
/// As open(), but without the probe: speaks to the server as `kind` (tests use it to run the Hrana 2 and limited
/// code paths against libsql serve).
[[nodiscard]] std::shared_ptr<remote_database> open_as(std::string_view url, const connect_options& options, server_kind kind);

/// Whether a URL and options choose WebSocket: ws:// and wss:// always, http(s):// never, libsql:// when
/// connect_options::remote_protocol or the URL's ?transport= (ws, websocket; http) says so. Throws usage_error
/// for a choice that contradicts the scheme or an unknown ?transport= value.
[[nodiscard]] bool uses_websocket(std::string_view url, const connect_options& options);

// --------------------------------------------------------------------------------------------- the connection
class remote_statement;

/// Inside a catch: rethrows a network-level failure (interrupted, timeout, connection_error; same class) with the
/// SQL and, when a stream was open, what became of it. Other exceptions pass unchanged.
[[noreturn]] void rethrow_network_error(std::string_view sql, const libsql::source_location& where, libsql::transport t,
                                        bool lost_stream);

/// Where a statement's cursor entries come from: a /v3/cursor body, or fetch_cursor on the WebSocket.
class cursor_source {
public:
    virtual ~cursor_source() = default;
    /// The next entry; false when the cursor ended. A malformed entry throws hrana::protocol_violation; network
    /// failures throw as the transport does.
    virtual bool next(hrana::cursor_entry& e) = 0;
    /// After the last step's end: frees what the cursor holds (reads the rest of a body, closes the cursor).
    virtual void finish() = 0;
};

/// What a connection and its statements share: the HTTP client, the stream, the counters.
struct session {
    explicit session(std::shared_ptr<remote_database> database);

    std::shared_ptr<remote_database> db;
    const capabilities& caps;
    http::client http;
    std::recursive_mutex m;               ///< one request at a time; held by the calls of this connection
    std::atomic<bool> closed{false};

    // The stream (guarded by m). A baton with in_txn false is a stream left open after a transaction ended or a
    // cursor ran: the next request uses it and closes it.
    std::optional<std::string> baton;
    std::string stream_url;               ///< where the stream's requests go (the server's base_url, or ours)
    // Over WebSocket (db->ws() not null): the stream id on socket generation ws_generation, kept open across
    // statements; the waiter lets interrupt() wake this connection's wait.
    std::shared_ptr<ws_client> ws;        ///< the socket leased for this connection (db->lease_ws())
    bool ws_leased = false;               ///< ws is leased: given back when the connection closes
    std::mutex ws_m;                      ///< guards changes of ws against interrupt() from other threads
    ws_waiter waiter;
    std::optional<std::int32_t> ws_stream;
    std::uint64_t ws_generation = 0;
    bool in_txn = false;
    /// A schema change ran since the last description outside a transaction (descriptions made inside this
    /// transaction may see uncommitted schema: they are not shared).
    bool schema_in_txn = false;
    bool txn_by_savepoint = false;        ///< keyword tracking (v2 / limited): a SAVEPOINT opened the transaction
    std::vector<std::string> savepoints;

    std::atomic<std::int64_t> changes{0};
    std::atomic<std::int64_t> total_changes{0};
    std::atomic<std::int64_t> last_insert_rowid{0};

    // The statement whose /v3/cursor body is being read (it holds the HTTP connection), and every live statement.
    remote_statement* streaming = nullptr;
    std::mutex registry_m;
    std::vector<remote_statement*> statements;

    /// Everything a request needs: the SQL (for errors), where it came from, whether it may open a stream.
    struct call {
        std::string_view sql;
        libsql::source_location where{};
        bool opens_stream = false;  ///< BEGIN or SAVEPOINT: keep the stream afterwards
        bool readonly = false;      ///< may be retried when the outcome is unknown (outside a stream)
    };
    /// Sends one pipeline on the current stream (or a new one) and manages the stream: close appended outside
    /// transactions, get_autocommit inside (v3). Returns exactly one result per request given.
    std::vector<hrana::stream_result> pipeline(std::vector<hrana::stream_request> reqs, const call& c);
    /// Opens a cursor over one statement (/v3/cursor, or open_cursor on the WebSocket).
    std::unique_ptr<cursor_source> open_cursor(hrana::stmt s, const call& c);
    /// pipeline() over HTTP (out of line: g++ 12 warns of null dereferences when it inlines it).
    [[gnu::noinline]] std::vector<hrana::stream_result> http_pipeline(std::vector<hrana::stream_request> reqs, const call& c);
    // The WebSocket forms (remote_ws.cpp).
    std::vector<hrana::stream_result> ws_pipeline(std::vector<hrana::stream_request> reqs, const call& c);
    std::unique_ptr<cursor_source> ws_open_cursor(hrana::stmt s, const call& c);
    void ws_close_stream(bool quiet);
    /// Asks the server whether the stream is in autocommit mode (after a failed statement whose get_autocommit was
    /// not sent with it); leaves in_txn as it was when the question gets no answer.
    void ws_refresh_autocommit(std::uint64_t gen, std::int32_t stream) noexcept;
    /// in_txn from a get_autocommit answer; nothing for an answer of another kind (an error).
    void take_autocommit(const ws_result& r) noexcept;
    /// The socket's generation and whether the stream is new (an open_stream goes first); throws when the
    /// socket that held this connection's open transaction is gone.
    std::pair<std::uint64_t, bool> ws_ensure_stream(const call& c);
    /// Gives the leased socket back (the connection closes), its stream closed.
    void ws_release_leased() noexcept;
    /// Closes the stream, if any (rolling back what it holds). Errors are swallowed when `quiet`.
    void close_stream(bool quiet);
    /// Before a schema change runs: every cached description may be stale, and those made in this transaction from
    /// now on are not shared.
    void schema_changes() noexcept;
    /// Keyword tracking of the transaction state (servers without get_autocommit).
    void track(std::string_view stmt_sql, bool succeeded);
    /// Makes the HTTP connection free: a statement reading a cursor buffers the rest of it.
    void free_http();
    void drop_stream() noexcept;
    [[nodiscard]] error_info info(std::string_view sql, const libsql::source_location& where) const;
    [[noreturn]] void throw_error(const hrana::error& e, std::string_view sql, const libsql::source_location& where) const;
    [[noreturn]] void throw_http(const http::response& r, const std::string& url, std::string_view sql,
                                 const libsql::source_location& where) const;
    void check_open() const;
    void record(const hrana::stmt_result& r, std::string_view sql);
    /// As above, with what the SQL is already known: dml (INSERT, UPDATE, DELETE, REPLACE), insert (is_insert).
    void record(const hrana::stmt_result& r, bool dml, bool insert);
};

class remote_connection final : public connection_backend {
public:
    explicit remote_connection(std::shared_ptr<remote_database> db);
    ~remote_connection() override;

    std::shared_ptr<statement_backend> prepare(std::string_view sql, libsql::source_location where, bool single) override;
    void execute_batch(std::string_view sql, libsql::source_location where) override;
    bool try_execute_transactional_batch(std::string_view sql, libsql::source_location where) override;
    std::int64_t changes() const override;
    std::int64_t total_changes() const override;
    std::int64_t last_insert_rowid() const override;
    bool is_autocommit() const override;
    void busy_timeout(std::chrono::milliseconds ms) override;
    void interrupt() noexcept override;
    void reset() override;
    void close() noexcept override;
    bool is_closed() const noexcept override { return s_->closed.load(std::memory_order_relaxed); }
    void set_authorizer(authorizer_callback cb) override;
    void set_update_hook(update_callback cb) override;
    void set_commit_hook(commit_callback cb) override;
    void set_rollback_hook(rollback_callback cb) override;
    void enable_load_extension(bool on) override;
    void load_extension(const std::string& path, const std::optional<std::string>& entry_point) override;
    int set_limit(libsql::limit which, int value) override;
    libsql::transport transport() const noexcept override { return s_->db->transport(); }

    [[nodiscard]] const std::shared_ptr<session>& state() const noexcept { return s_; }

private:
    [[noreturn]] void unsupported_call(std::string_view what) const;
    std::shared_ptr<session> s_;
};

class remote_statement final : public statement_backend {
public:
    remote_statement(std::shared_ptr<session> s, std::string sql, std::shared_ptr<const description> d,
                     libsql::source_location where);
    ~remote_statement() override;

    int parameter_count() const noexcept override { return d_->params.count; }
    std::string_view parameter_name(int index) const override;
    int parameter_index(std::string_view name) const override;
    void bind_null(int index) override;
    void bind_integer(int index, std::int64_t v) override;
    void bind_real(int index, double v) override;
    void bind_text(int index, const char* data, std::size_t size, bool copy) override;
    void bind_blob(int index, const std::byte* data, std::size_t size, bool copy) override;
    void clear_bindings() override;
    void reset() noexcept override;
    bool step() override;
    std::int64_t run() override;
    std::string_view column_name(int index) const override;
    int column_index(std::string_view name) const override;
    value_view column(int index) const override;
    std::shared_ptr<const std::vector<std::string>> column_names() const override;
    std::vector<column_info> columns() const override;
    bool readonly() const override { return d_->is_readonly; }
    bool is_explain() const override { return d_->is_explain; }
    std::string_view sql() const override { return sql_; }
    std::string expanded_sql() const override;
    libsql::transport transport() const noexcept override { return s_->db->transport(); }

    /// Reads the rest of an open cursor into memory (another request needs the HTTP connection).
    void buffer_rest();
    /// Forgets the current run (connection reset or close).
    void abandon() noexcept;

private:
    friend struct session;
    void bind_value(int index, value v);
    void execute_pipeline(bool want_rows);
    void start_cursor();
    bool next_cursor_row(std::vector<value>& row);
    void set_columns(const std::vector<hrana::column>& cols);
    [[nodiscard]] hrana::stmt make_stmt(bool want_rows) const;
    void finish_cursor() noexcept;
    void record_cursor_end(const hrana::step_end_entry& e);

    std::shared_ptr<session> s_;
    std::string sql_;
    std::shared_ptr<const description> d_;
    txn_control txn_;
    statement_kind kind_;                     // classify_statement(sql_)
    std::exception_ptr pending_;              // a cursor failure met while buffering, thrown when reached
    std::vector<value> binds_;
    bool limited_changes_ = false;    // run the changes() probe around it (limited servers)
    std::int64_t last_affected_ = 0;

    // The current run.
    bool started_ = false;
    std::vector<hrana::column> cols_;
    mutable std::shared_ptr<const std::vector<std::string>> names_;
    std::deque<std::vector<value>> rows_;     // rows received and not yet stepped to
    std::vector<value> current_;
    std::unique_ptr<cursor_source> cursor_;
};

} // namespace libsql::detail::remote
