// bench_remote: the cost of a request over the network, libsql-cpp against two anchors, in one run.
//
//   bench_remote [--ops N] [--batches B] [--txns T] [--reps R] [--warmup W] [--tursodb-ops N]
//                [--servers serve,tursodb] [--clients libsql,curl,node,libsql-ws,node-ws] [--no-node]
//                [--node-script PATH]
//
//   --ops N          R1 and R2 requests per run (default 2000); --batches B: R3 batches per run (default 100);
//   --txns T         R4 transactions per run (default 200)
//   --tursodb-ops N  at most N requests (N/10 batches) per run against tursodb, which answers every request with
//                    Connection: close and takes ~10 ms each (default 200)
//
// Servers, each started by this program on 127.0.0.1 with a fresh file and stopped at the end:
//   serve    `libsql serve` (this project's Hrana server), POST /v3/pipeline
//   tursodb  `tursodb FILE --sync-server` (npm turso@0.6.0), POST /v2/pipeline (execute and batch only)
//
// Clients, interleaved within every repetition (the order rotates from one repetition to the next):
//   libsql-cpp      libsql::database(url).connect(), its natural API
//   curl            plain libcurl on one keep-alive easy handle, POSTing JSON bodies built before the measured section
//                   (no JSON parsing of the reply: a floor for any client)
//   @libsql/client  0.18.0 in Node (bench/remote_client.mjs, one long-lived node process); it cannot talk to tursodb
//                   at all (protocols.md §6), which a one-shot probe shows: the table prints its error there
//   libsql-cpp ws, @libsql/client ws   the same two clients over Hrana-over-WebSocket (ws://, same port; serve only)
//
// Workloads (per request):
//   R1  SELECT v FROM kv WHERE id = ?   one row by key (1000 rows); N requests
//       libsql-cpp: conn.query_row(sql, id)   curl: [execute, close]   node: client.execute({sql, args: [id]})
//   R2  INSERT INTO ins(k, v) VALUES (?, ?)   one row; N requests
//       libsql-cpp: conn.execute(sql, k, v)   curl: [execute, close]   node: client.execute({sql, args})
//   R3  100 INSERTs as one atomic batch, one round trip in every client; B batches
//       libsql-cpp: conn.execute_transactional_batch(text of 100 literal INSERT statements)
//       curl: one `batch` request: BEGIN IMMEDIATE, the 100 INSERTs each conditioned on the step before, COMMIT,
//             ROLLBACK unless COMMIT ran (+ close on serve)
//       node: client.batch([the same 100 literal statements], "write") (store_sql ×100 + batch + close)
//   R4  an interactive transaction of 10 INSERTs (serve only); T transactions
//       libsql-cpp: conn.transaction(), 10 × conn.execute(insert), commit()
//       curl: BEGIN, 10 × execute, COMMIT + close: 12 pipelines on one stream, each with the previous baton
//       node: client.transaction("write"), 10 × tx.execute, tx.commit()
//   On tursodb the curl bodies carry no `close` (it refuses every request type but execute and batch).
//
// Figures: wall time per request, the median over R repetitions; client CPU per request (user + system):
// getrusage(RUSAGE_SELF) of this process around the measured section for the C++ clients (the servers are
// separate processes), process.cpuUsage() for node. Each repetition opens its client anew and first runs W
// unmeasured requests (connection set-up, version probe, JIT). Targets (issue 4): libsql-cpp CPU within 20% of
// curl's (cpu/curl <= 1.20); libsql-cpp wall time no slower than @libsql/client (wall/node <= 1.00).
// At the end the rows every client inserted are counted on each server (nothing lost, nothing doubled).
#include "libsql/libsql.hpp"

#include "support/processes.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(LIBSQL_BENCH_CALLGRIND) && __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define LIBSQL_BENCH_HAVE_CALLGRIND 1
#endif

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace fs = std::filesystem;

namespace {

constexpr const char* select_sql = "SELECT v FROM kv WHERE id = ?";
constexpr const char* insert_sql = "INSERT INTO ins(k, v) VALUES (?, ?)";
constexpr std::int64_t key_count = 1000;
constexpr std::int64_t batch_size = 100;

enum class workload { select, insert, batch, txn };
constexpr std::int64_t txn_size = 10;  // statements in one R4 interactive transaction
enum class server_kind { serve, tursodb };

const char* name_of(workload w) {
    switch (w) {
    case workload::select: return "select";
    case workload::insert: return "insert";
    case workload::batch: return "batch";
    case workload::txn: return "txn";
    }
    return "?";
}
const char* title_of(workload w) {
    switch (w) {
    case workload::select: return "R1 SELECT one row by key";
    case workload::insert: return "R2 INSERT one row";
    case workload::batch: return "R3 100-INSERT batch";
    case workload::txn: return "R4 10-statement transaction";
    }
    return "?";
}
std::int64_t rows_per_op(workload w) {
    return w == workload::batch ? batch_size : w == workload::txn ? txn_size : 1;
}

struct scratch_dir {
    fs::path path;
    scratch_dir() : path(fs::temp_directory_path() / ("bench_remote." + std::to_string(::getpid()))) {
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~scratch_dir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    scratch_dir(const scratch_dir&) = delete;
    scratch_dir& operator=(const scratch_dir&) = delete;
};

double cpu_seconds() {
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    const auto tv = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
    return tv(u.ru_utime) + tv(u.ru_stime);
}

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

/// One measured section, per request.
struct sample {
    double wall_us = 0;
    double cpu_us = 0;
};

/// Times fn() (which runs n requests) by the wall clock and this process's CPU. Under
/// `valgrind --tool=callgrind --instr-atstart=no --collect-atstart=no` only this section is counted, and each one
/// is dumped on its own, its dump named by `label` (client and workload): see bench/README.md.
sample measure(std::size_t n, const char* label, const std::function<void()>& fn) {
    const double c0 = cpu_seconds();
    const auto t0 = std::chrono::steady_clock::now();
#ifdef LIBSQL_BENCH_HAVE_CALLGRIND
    CALLGRIND_START_INSTRUMENTATION;
    CALLGRIND_TOGGLE_COLLECT;
#endif
    fn();
#ifdef LIBSQL_BENCH_HAVE_CALLGRIND
    CALLGRIND_TOGGLE_COLLECT;
    CALLGRIND_DUMP_STATS_AT(label);
    CALLGRIND_STOP_INSTRUMENTATION;
#else
    (void)label;
#endif
    const auto t1 = std::chrono::steady_clock::now();
    const double c1 = cpu_seconds();
    const double dn = static_cast<double>(n);
    return {std::chrono::duration<double, std::micro>(t1 - t0).count() / dn, (c1 - c0) * 1e6 / dn};
}

// --- the statements, as SQL text and as the JSON bodies the curl anchor posts

std::string value_text(std::int64_t k) { return "value-" + std::to_string(k); }

/// The text of one R3 batch: 100 literal INSERT statements (the same text every client sends).
std::vector<std::string> batch_statements(std::int64_t start) {
    std::vector<std::string> out;
    for (std::int64_t i = 0; i < batch_size; ++i) {
        const auto k = start + i;
        out.push_back("INSERT INTO ins(k, v) VALUES (" + std::to_string(k) + ", '" + value_text(k) + "')");
    }
    return out;
}
std::string batch_text(std::int64_t start) {
    std::string text;
    for (const auto& s : batch_statements(start)) text += s + ";\n";
    return text;
}

std::string json_int(std::int64_t v) { return R"({"type":"integer","value":")" + std::to_string(v) + R"("})"; }
std::string json_text(const std::string& s) { return R"({"type":"text","value":")" + s + R"("})"; }  // no escapes needed

/// A pipeline body around the given requests; `close` ends the stream on serve, tursodb refuses it.
std::string pipeline(const std::string& requests, server_kind s) {
    return R"({"baton":null,"requests":[)" + requests + (s == server_kind::serve ? R"(,{"type":"close"}]})" : "]}");
}
std::string execute_body(const char* sql, const std::string& args, server_kind s, bool want_rows) {
    return pipeline(R"({"type":"execute","stmt":{"sql":")" + std::string(sql) + R"(","args":[)" + args +
                        R"(],"want_rows":)" + (want_rows ? "true" : "false") + "}}",
                    s);
}
/// One request of an interactive transaction: its pipeline carries the baton of the previous answer.
std::string stream_body(const std::string& baton, const std::string& request, bool close) {
    return R"({"baton":)" + (baton.empty() ? std::string("null") : "\"" + baton + "\"") + R"(,"requests":[)" + request +
           (close ? R"(,{"type":"close"}]})" : "]}");
}
std::string stmt_request(const char* sql, const std::string& args) {
    return R"({"type":"execute","stmt":{"sql":")" + std::string(sql) + R"(","args":[)" + args + R"(],"want_rows":false}})";
}
/// The baton of a pipeline answer ("" when none).
std::string baton_of(const std::string& body) {
    const auto at = body.find(R"("baton":")");
    if (at == std::string::npos) return {};
    const auto end = body.find('"', at + 9);
    return body.substr(at + 9, end - at - 9);
}
std::string select_body(std::int64_t id, server_kind s) { return execute_body(select_sql, json_int(id), s, true); }
std::string insert_body(std::int64_t k, server_kind s) {
    return execute_body(insert_sql, json_int(k) + "," + json_text(value_text(k)), s, false);
}
/// BEGIN IMMEDIATE; each INSERT only if the step before succeeded; COMMIT if the last INSERT did; ROLLBACK unless
/// COMMIT succeeded: atomic, in one request.
std::string batch_body(std::int64_t start, server_kind s) {
    std::string steps = R"({"stmt":{"sql":"BEGIN IMMEDIATE","want_rows":false}})";
    int step = 0;
    for (const auto& sql : batch_statements(start)) {
        steps += R"(,{"condition":{"type":"ok","step":)" + std::to_string(step++) + R"(},"stmt":{"sql":")" + sql +
                 R"(","want_rows":false}})";
    }
    steps += R"(,{"condition":{"type":"ok","step":)" + std::to_string(step++) +
             R"(},"stmt":{"sql":"COMMIT","want_rows":false}})";
    steps += R"(,{"condition":{"type":"not","cond":{"type":"ok","step":)" + std::to_string(step) +
             R"(}},"stmt":{"sql":"ROLLBACK","want_rows":false}})";
    return pipeline(R"({"type":"batch","batch":{"steps":[)" + steps + "]}}", s);
}

// --- the curl anchor

class curl_client {
public:
    explicit curl_client(const std::string& url) : h_(curl_easy_init()) {
        if (!h_) throw std::runtime_error("curl_easy_init failed");
        headers_ = curl_slist_append(headers_, "Content-Type: application/json");
        headers_ = curl_slist_append(headers_, "Expect:");
        curl_easy_setopt(h_, CURLOPT_URL, url.c_str());
        curl_easy_setopt(h_, CURLOPT_POST, 1L);
        curl_easy_setopt(h_, CURLOPT_HTTPHEADER, headers_);
        curl_easy_setopt(h_, CURLOPT_TCP_NODELAY, 1L);
        curl_easy_setopt(h_, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h_, CURLOPT_WRITEFUNCTION, &curl_client::on_data);
        curl_easy_setopt(h_, CURLOPT_WRITEDATA, &response_);
        response_.reserve(64 * 1024);
    }
    curl_client(const curl_client&) = delete;
    curl_client& operator=(const curl_client&) = delete;
    ~curl_client() {
        curl_easy_cleanup(h_);
        curl_slist_free_all(headers_);
    }

    /// POSTs body (not copied); throws on a transport failure, a non-200 status or a Hrana error result.
    const std::string& post(const std::string& body) {
        response_.clear();
        curl_easy_setopt(h_, CURLOPT_POSTFIELDS, body.data());
        curl_easy_setopt(h_, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
        const CURLcode rc = curl_easy_perform(h_);
        if (rc != CURLE_OK) throw std::runtime_error(std::string("curl: ") + curl_easy_strerror(rc));
        long status = 0;
        curl_easy_getinfo(h_, CURLINFO_RESPONSE_CODE, &status);
        if (status != 200) throw std::runtime_error("curl: HTTP " + std::to_string(status) + ": " + response_);
        // A failed request or batch step carries an error object; no value the benchmark reads contains either.
        if (response_.find(R"("type":"error")") != std::string::npos || response_.find(R"("message":)") != std::string::npos)
            throw std::runtime_error("curl: error result: " + response_.substr(0, 300));
        return response_;
    }

private:
    static std::size_t on_data(char* data, std::size_t size, std::size_t n, void* out) {
        static_cast<std::string*>(out)->append(data, size * n);
        return size * n;
    }

    CURL* h_;
    curl_slist* headers_ = nullptr;
    std::string response_;
};

// --- the node child: one line per command on its stdin, one line per answer on its stdout

class node_client {
public:
    node_client(const std::string& script, const std::string& npm_dir) {
        int in[2], out[2];
        if (::pipe(in) != 0 || ::pipe(out) != 0) throw std::runtime_error("pipe() failed");
        pid_ = ::fork();
        if (pid_ < 0) throw std::runtime_error("fork() failed");
        if (pid_ == 0) {
            ::dup2(in[0], 0);
            ::dup2(out[1], 1);
            ::close(in[0]);
            ::close(in[1]);
            ::close(out[0]);
            ::close(out[1]);
            ::execlp("node", "node", script.c_str(), "--npm-dir", npm_dir.c_str(), static_cast<char*>(nullptr));
            std::perror("bench_remote: cannot run node");
            ::_exit(127);
        }
        ::close(in[0]);
        ::close(out[1]);
        to_ = ::fdopen(in[1], "w");
        from_ = ::fdopen(out[0], "r");
    }
    node_client(const node_client&) = delete;
    node_client& operator=(const node_client&) = delete;
    ~node_client() {
        if (to_) {
            std::fputs("quit\n", to_);
            std::fclose(to_);
        }
        if (from_) std::fclose(from_);
        int status = 0;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (::waitpid(pid_, &status, WNOHANG) == 0) {
            if (std::chrono::steady_clock::now() > deadline) {
                ::kill(pid_, SIGKILL);
                ::waitpid(pid_, &status, 0);
                break;
            }
            ::usleep(10000);
        }
    }

    /// The answer line to one command ("ok ..." or "err ...").
    std::string ask(const std::string& command) {
        std::fputs((command + "\n").c_str(), to_);
        std::fflush(to_);
        std::string line;
        int c;
        while ((c = std::fgetc(from_)) != EOF && c != '\n') line.push_back(static_cast<char>(c));
        if (line.empty()) throw std::runtime_error("node exited without an answer");
        return line;
    }

private:
    pid_t pid_ = -1;
    FILE* to_ = nullptr;
    FILE* from_ = nullptr;
};

/// `node remote_client.mjs probe URL` once: "ok" or "err MESSAGE".
std::string node_probe(const std::string& script, const std::string& npm_dir, const std::string& url) {
    const std::string cmd = "node '" + script + "' --npm-dir '" + npm_dir + "' probe '" + url + "' 2>&1";
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) return "err cannot run node";
    std::string out;
    char buf[512];
    while (std::fgets(buf, sizeof buf, p)) out += buf;
    ::pclose(p);
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out;
}

// --- one server and what ran against it

struct target {
    server_kind kind;
    std::string name;
    std::string base_url;  // http://127.0.0.1:PORT
    std::string pipeline_url;
    std::int64_t next_key = 1'000'000;  // insert keys handed out so far (each run reserves its own range)
    std::int64_t inserted = 0;          // rows inserted by runs that succeeded, warm-ups included
    bool partial = false;               // an inserting run failed part-way: its rows are not counted
    std::string node_na;                // why @libsql/client is n/a here (empty: it works)

    /// Reserves keys for `ops` operations of w; returns the first.
    std::int64_t reserve(workload w, std::size_t ops) {
        const auto first = next_key;
        next_key += static_cast<std::int64_t>(ops) * rows_per_op(w);
        return first;
    }
};

struct options {
    std::size_t ops = 2000;
    std::size_t batches = 100;
    std::size_t txns = 200;
    std::size_t reps = 5;
    std::size_t warmup = 20;
    std::size_t tursodb_ops = 200;  // tursodb takes ~10 ms a request (a new TCP connection each): fewer there
    bool serve = true;
    bool tursodb = true;
    bool node = true;
    bool run_client[5] = {true, true, true, true, true};  // libsql-cpp, curl, @libsql/client, and both over ws (--clients)
    std::string node_script;
    std::string npm_dir = LIBSQL_NPM_DIR;
};

void setup_tables(target& t) {
    curl_client c(t.pipeline_url);
    const auto exec = [&](const std::string& sql) {
        c.post(pipeline(R"({"type":"execute","stmt":{"sql":")" + sql + R"(","want_rows":false}})", t.kind));
    };
    exec("CREATE TABLE kv(id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
    exec("CREATE TABLE ins(k INTEGER NOT NULL, v TEXT NOT NULL)");
    std::string steps;
    for (std::int64_t id = 1; id <= key_count; ++id) {
        if (!steps.empty()) steps += ",";
        steps += R"({"stmt":{"sql":"INSERT INTO kv(id, v) VALUES ()" + std::to_string(id) + ", '" + value_text(id) +
                 R"j(')","want_rows":false}})j";
    }
    c.post(pipeline(R"({"type":"batch","batch":{"steps":[)" + steps + "]}}", t.kind));
}

/// Rows in ins and distinct keys there, counted through curl.
std::pair<std::int64_t, std::int64_t> count_inserted(const target& t) {
    curl_client c(t.pipeline_url);
    const std::string& r = c.post(pipeline(
        R"({"type":"execute","stmt":{"sql":"SELECT count(*), count(DISTINCT k) FROM ins"}})", t.kind));
    // ..."rows":[[{"type":"integer","value":"N"},{"type":"integer","value":"M"}]]...
    std::vector<std::int64_t> v;
    for (std::size_t at = r.find(R"("value":")"); at != std::string::npos && v.size() < 2;
         at = r.find(R"("value":")", at + 1))
        v.push_back(std::stoll(r.substr(at + 9)));
    if (v.size() != 2) throw std::runtime_error("unexpected count reply: " + r.substr(0, 300));
    return {v[0], v[1]};
}

// --- the three clients: each runs `n` measured operations of w after `warmup` unmeasured ones

/// ws://HOST:PORT for http://HOST:PORT.
std::string ws_of(const std::string& http_url) { return "ws://" + http_url.substr(std::string_view("http://").size()); }

sample run_libsql(target& t, workload w, std::size_t n, std::size_t warmup, bool ws) {
    const auto start = t.reserve(w, warmup + n);
    libsql::database db(ws ? ws_of(t.base_url) : t.base_url);
    auto conn = db.connect();
    std::vector<std::string> texts;
    if (w == workload::batch)
        for (std::size_t i = 0; i < warmup + n; ++i)
            texts.push_back(batch_text(start + static_cast<std::int64_t>(i) * batch_size));
    std::size_t checksum = 0;
    const auto op = [&](std::size_t i) {
        const auto k = start + static_cast<std::int64_t>(i);
        switch (w) {
        case workload::select: {
            const auto row = conn.query_row(select_sql, 1 + k % key_count);
            checksum += row.get<std::string>(0).size();
            break;
        }
        case workload::insert:
            (void)conn.execute(insert_sql, k, value_text(k));
            break;
        case workload::batch:
            conn.execute_transactional_batch(texts[i]);
            break;
        case workload::txn: {
            auto tx = conn.transaction();
            const auto first = start + static_cast<std::int64_t>(i) * txn_size;
            for (std::int64_t j = 0; j < txn_size; ++j) (void)conn.execute(insert_sql, first + j, value_text(first + j));
            tx.commit();
            break;
        }
        }
    };
    for (std::size_t i = 0; i < warmup; ++i) op(i);
    const std::string label = std::string(ws ? "libsql-ws." : "libsql.") + name_of(w);
    const auto s = measure(n, label.c_str(), [&] {
        for (std::size_t i = warmup; i < warmup + n; ++i) op(i);
    });
    if (w == workload::select && checksum == 0) throw std::runtime_error("libsql-cpp read nothing");
    return s;
}

sample run_curl(target& t, workload w, std::size_t n, std::size_t warmup) {
    const auto start = t.reserve(w, warmup + n);
    std::vector<std::string> bodies;
    bodies.reserve(warmup + n);
    for (std::size_t i = 0; i < warmup + n; ++i) {
        const auto k = start + static_cast<std::int64_t>(i);
        switch (w) {
        case workload::select: bodies.push_back(select_body(1 + k % key_count, t.kind)); break;
        case workload::insert: bodies.push_back(insert_body(k, t.kind)); break;
        case workload::batch: bodies.push_back(batch_body(start + static_cast<std::int64_t>(i) * batch_size, t.kind)); break;
        case workload::txn: break;  // the bodies carry batons: built as the answers come
        }
    }
    curl_client c(t.pipeline_url);  // one keep-alive handle per run, like one connection of the other clients
    std::size_t bytes = 0;
    // R4: BEGIN, 10 INSERTs, COMMIT + close: 12 requests on one stream, each with the baton of the answer before.
    const auto txn = [&](std::size_t i) {
        const auto first = start + static_cast<std::int64_t>(i) * txn_size;
        std::string baton = baton_of(c.post(stream_body({}, R"({"type":"execute","stmt":{"sql":"BEGIN","want_rows":false}})", false)));
        for (std::int64_t j = 0; j < txn_size; ++j) {
            const auto k = first + j;
            baton = baton_of(c.post(stream_body(baton, stmt_request(insert_sql, json_int(k) + "," + json_text(value_text(k))), false)));
        }
        bytes += c.post(stream_body(baton, R"({"type":"execute","stmt":{"sql":"COMMIT","want_rows":false}})", true)).size();
    };
    for (std::size_t i = 0; i < warmup; ++i) {
        if (w == workload::txn) txn(i);
        else (void)c.post(bodies[i]);
    }
    const std::string label = std::string("curl.") + name_of(w);
    const auto s = measure(n, label.c_str(), [&] {
        for (std::size_t i = warmup; i < warmup + n; ++i) {
            if (w == workload::txn) txn(i);
            else bytes += c.post(bodies[i]).size();
        }
    });
    if (bytes == 0) throw std::runtime_error("curl read nothing");
    return s;
}

sample run_node(node_client& node, target& t, workload w, std::size_t n, std::size_t warmup, bool ws) {
    const auto start = t.reserve(w, warmup + n);
    const std::string answer = node.ask("run " + (ws ? ws_of(t.base_url) : t.base_url) + " " + name_of(w) + " " + std::to_string(n) + " " +
                                        std::to_string(start) + " " + std::to_string(warmup) + " " +
                                        std::to_string(key_count));
    unsigned long long wall_ns = 0, cpu_us = 0;
    if (std::sscanf(answer.c_str(), "ok %llu %llu", &wall_ns, &cpu_us) != 2)
        throw std::runtime_error("@libsql/client: " + answer);
    const double dn = static_cast<double>(n);
    return {static_cast<double>(wall_ns) / 1e3 / dn, static_cast<double>(cpu_us) / dn};
}

std::size_t parse_count(const char* text, const char* what) {
    char* end = nullptr;
    const unsigned long long v = std::strtoull(text, &end, 10);
    if (end == text || *end != '\0' || v == 0) {
        std::fprintf(stderr, "bench_remote: %s expects a positive integer, got '%s'\n", what, text);
        std::exit(2);
    }
    return static_cast<std::size_t>(v);
}

[[noreturn]] void usage() {
    std::fprintf(stderr,
                 "usage: bench_remote [--ops N] [--batches B] [--txns T] [--reps R] [--warmup W] [--tursodb-ops N]\n"
                 "                    [--servers serve,tursodb] [--clients libsql,curl,node,libsql-ws,node-ws]\n"
                 "                    [--no-node]\n"
                 "                    [--node-script PATH]\n");
    std::exit(2);
}

} // namespace

int main(int argc, char** argv) {
    options o;
    // The source tree is two levels above the npm directory the build passes in (build/npm).
    o.node_script = (fs::path(o.npm_dir).parent_path().parent_path() / "bench" / "remote_client.mjs").string();
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        const bool has_value = i + 1 < argc;
        if (arg == "--ops" && has_value) o.ops = parse_count(argv[++i], "--ops");
        else if (arg == "--batches" && has_value) o.batches = parse_count(argv[++i], "--batches");
        else if (arg == "--txns" && has_value) o.txns = parse_count(argv[++i], "--txns");
        else if (arg == "--reps" && has_value) o.reps = parse_count(argv[++i], "--reps");
        else if (arg == "--warmup" && has_value) o.warmup = parse_count(argv[++i], "--warmup");
        else if (arg == "--tursodb-ops" && has_value) o.tursodb_ops = parse_count(argv[++i], "--tursodb-ops");
        else if (arg == "--servers" && has_value) {
            const std::string_view v = argv[++i];
            o.serve = v.find("serve") != std::string_view::npos;
            o.tursodb = v.find("tursodb") != std::string_view::npos;
            if (!o.serve && !o.tursodb) usage();
        } else if (arg == "--clients" && has_value) {
            const std::string_view v = argv[++i];
            // Comma-separated: libsql, curl, node, libsql-ws, node-ws.
            const auto has = [&](std::string_view name) {
                for (std::size_t at = 0; at <= v.size();) {
                    const auto comma = std::min(v.find(',', at), v.size());
                    if (v.substr(at, comma - at) == name) return true;
                    at = comma + 1;
                }
                return false;
            };
            o.run_client[0] = has("libsql");
            o.run_client[1] = has("curl");
            o.run_client[2] = has("node");
            o.run_client[3] = has("libsql-ws");
            o.run_client[4] = has("node-ws");
            o.node = o.node && (o.run_client[2] || o.run_client[4]);
        } else if (arg == "--no-node") o.node = false;
        else if (arg == "--node-script" && has_value) o.node_script = argv[++i];
        else usage();
    }
    if (o.tursodb && !libsql::test::tursodb_available()) {
        std::fprintf(stderr, "bench_remote: tursodb is not installed at %s (scripts/setup): skipping it\n",
                     libsql::test::tursodb_path().c_str());
        o.tursodb = false;
    }
    if (o.node && !fs::exists(o.node_script)) {
        std::fprintf(stderr, "bench_remote: %s is missing: no @libsql/client column\n", o.node_script.c_str());
        o.node = false;
    }

    curl_global_init(CURL_GLOBAL_DEFAULT);
    int failures = 0;
    try {
        scratch_dir dir;
        // Declared before the targets that point at them; stopped (SIGTERM / SIGINT) when main's scope ends.
        std::unique_ptr<libsql::test::libsql_server> serve;
        std::unique_ptr<libsql::test::tursodb_server> turso;
        std::vector<target> targets;
        if (o.serve) {
            serve = std::make_unique<libsql::test::libsql_server>((dir.path / "serve.db").string(),
                                                                  std::vector<std::string>{"--log-level", "error"});
            targets.push_back(target{server_kind::serve, "libsql serve", serve->url(), serve->url() + "/v3/pipeline", 1'000'000, 0, false, {}});
        }
        if (o.tursodb) {
            turso = std::make_unique<libsql::test::tursodb_server>((dir.path / "turso.db").string());
            targets.push_back(target{server_kind::tursodb, "tursodb", turso->url(), turso->url() + "/v2/pipeline", 1'000'000, 0, false, {}});
        }
        std::unique_ptr<node_client> node;
        if (o.node) node = std::make_unique<node_client>(o.node_script, o.npm_dir);

        for (auto& t : targets) {
            setup_tables(t);
            if (o.node && t.kind == server_kind::tursodb) {
                // Verified every run rather than assumed: the official client's first request fails there.
                const std::string r = node_probe(o.node_script, o.npm_dir, t.base_url);
                t.node_na = r.rfind("err ", 0) == 0 ? r.substr(4) : (r == "ok" ? "" : r);
            }
        }

        // 0-2 over HTTP, 3-4 over WebSocket (ws://, the same server and port).
        const std::vector<std::string> client_names{"libsql-cpp", "curl", "@libsql/client", "libsql-cpp ws",
                                                    "@libsql/client ws"};
        const auto is_node = [](std::size_t ci) { return ci == 2 || ci == 4; };
        // results[target][workload][client] -> samples; errors likewise (the first one is kept).
        std::map<std::tuple<std::size_t, int, std::size_t>, std::vector<sample>> results;
        std::map<std::tuple<std::size_t, int, std::size_t>, std::string> errors;
        const std::vector<workload> workloads{workload::select, workload::insert, workload::batch, workload::txn};

        for (std::size_t rep = 0; rep < o.reps; ++rep) {
            for (std::size_t ti = 0; ti < targets.size(); ++ti) {
                auto& t = targets[ti];
                for (const auto w : workloads) {
                    // R4 only on serve: tursodb has no streams (and no WebSocket).
                    if (w == workload::txn && t.kind != server_kind::serve) continue;
                    std::size_t n = w == workload::batch ? o.batches : w == workload::txn ? o.txns : o.ops;
                    if (t.kind == server_kind::tursodb)
                        n = std::min(n, w == workload::batch ? std::max<std::size_t>(1, o.tursodb_ops / 10) : o.tursodb_ops);
                    const std::size_t warm =
                        w == workload::batch || w == workload::txn ? std::max<std::size_t>(2, o.warmup / 10) : o.warmup;
                    for (std::size_t k = 0; k < client_names.size(); ++k) {
                        const std::size_t ci = (k + rep) % client_names.size();  // rotate who goes first
                        const auto key = std::make_tuple(ti, static_cast<int>(w), ci);
                        if (errors.count(key)) continue;  // failed once: not again
                        if (!o.run_client[ci] || (is_node(ci) && (!node || !t.node_na.empty()))) continue;
                        if (ci >= 3 && t.kind != server_kind::serve) continue;  // tursodb serves no WebSocket
                        try {
                            sample s = ci == 0   ? run_libsql(t, w, n, warm, false)
                                       : ci == 1 ? run_curl(t, w, n, warm)
                                       : ci == 2 ? run_node(*node, t, w, n, warm, false)
                                       : ci == 3 ? run_libsql(t, w, n, warm, true)
                                                 : run_node(*node, t, w, n, warm, true);
                            results[key].push_back(s);
                            if (w != workload::select)
                                t.inserted += static_cast<std::int64_t>(warm + n) * rows_per_op(w);
                        } catch (const std::exception& e) {
                            errors[key] = e.what();
                            if (w != workload::select) t.partial = true;
                            ++failures;
                        }
                    }
                }
            }
        }

        std::printf("bench_remote: %zu requests (R1, R2), %zu batches of %lld (R3) and %zu transactions of %lld "
                    "statements (R4, serve only) per run (tursodb: at most %zu and %zu), median of %zu runs, clients "
                    "interleaved; microseconds per request (R3: per batch, R4: per transaction)\n\n",
                    o.ops, o.batches, static_cast<long long>(batch_size), o.txns, static_cast<long long>(txn_size),
                    o.tursodb_ops, std::max<std::size_t>(1, o.tursodb_ops / 10), o.reps);
        std::printf("%-13s %-28s %-18s %10s %10s %9s %10s %8s\n", "server", "workload", "client", "wall us", "cpu us",
                    "cpu/curl", "wall/node", "http/ws");
        for (std::size_t ti = 0; ti < targets.size(); ++ti) {
            const auto& t = targets[ti];
            for (const auto w : workloads) {
                if (w == workload::txn && t.kind != server_kind::serve) continue;
                double wall[5] = {0, 0, 0, 0, 0}, cpu[5] = {0, 0, 0, 0, 0};
                bool have[5] = {false, false, false, false, false};
                const std::size_t clients = t.kind == server_kind::serve ? 5 : 3;
                for (std::size_t ci = 0; ci < clients; ++ci) {
                    const auto it = results.find(std::make_tuple(ti, static_cast<int>(w), ci));
                    if (it == results.end() || it->second.empty() || errors.count(std::make_tuple(ti, static_cast<int>(w), ci))) continue;
                    std::vector<double> ws, cs;
                    for (const auto& s : it->second) {
                        ws.push_back(s.wall_us);
                        cs.push_back(s.cpu_us);
                    }
                    wall[ci] = median(ws);
                    cpu[ci] = median(cs);
                    have[ci] = true;
                }
                for (std::size_t ci = 0; ci < clients; ++ci) {
                    const char* server = ci == 0 ? t.name.c_str() : "";
                    const char* what = ci == 0 ? title_of(w) : "";
                    const auto key = std::make_tuple(ti, static_cast<int>(w), ci);
                    if (have[ci]) {
                        char ratio_cpu[32] = "", ratio_wall[32] = "", ratio_ws[32] = "";
                        if (ci == 0 && have[1] && cpu[1] > 0)
                            std::snprintf(ratio_cpu, sizeof ratio_cpu, "%.2f%s", cpu[0] / cpu[1], cpu[0] / cpu[1] > 1.20 ? "!" : "");
                        // libsql-cpp against @libsql/client on the same transport.
                        const std::size_t peer = ci == 0 ? 2 : 4;
                        if ((ci == 0 || ci == 3) && have[peer] && wall[peer] > 0)
                            std::snprintf(ratio_wall, sizeof ratio_wall, "%.2f%s", wall[ci] / wall[peer],
                                          wall[ci] / wall[peer] > 1.0 ? "!" : "");
                        // The same client over HTTP against over WebSocket (target for R4: >= 3).
                        const std::size_t over_http = ci == 3 ? 0 : 2;
                        if (ci >= 3 && have[over_http] && wall[ci] > 0) {
                            const double r = wall[over_http] / wall[ci];
                            std::snprintf(ratio_ws, sizeof ratio_ws, "%.2f%s", r, ci == 3 && w == workload::txn && r < 3.0 ? "!" : "");
                        }
                        std::printf("%-13s %-28s %-18s %10.1f %10.1f %9s %10s %8s\n", server, what, client_names[ci].c_str(),
                                    wall[ci], cpu[ci], ratio_cpu, ratio_wall, ratio_ws);
                    } else if (is_node(ci) && !t.node_na.empty()) {
                        std::printf("%-13s %-28s %-18s %10s  n/a: %.170s\n", server, what, client_names[ci].c_str(), "",
                                    t.node_na.c_str());
                    } else if (!o.run_client[ci] || (is_node(ci) && !node)) {
                        std::printf("%-13s %-28s %-18s %10s  not run (--clients, --no-node or no script)\n", server,
                                    what, client_names[ci].c_str(), "");
                    } else {
                        const auto e = errors.find(key);
                        std::printf("%-13s %-28s %-18s %10s  failed: %.170s\n", server, what, client_names[ci].c_str(), "",
                                    e != errors.end() ? e->second.c_str() : "no result");
                    }
                }
            }
        }
        std::printf("\ncpu/curl: libsql-cpp CPU / curl CPU (target <= 1.20); wall/node: libsql-cpp wall / "
                    "@libsql/client wall on the same transport (target <= 1.00); http/ws: the same client's wall time "
                    "over HTTP / over WebSocket (target for libsql-cpp R4 >= 3.00); '!' marks a missed target.\n");

        // Nothing lost, nothing doubled: every insert any client was asked for (successful runs) is there once.
        for (auto& t : targets) {
            const auto [rows, distinct] = count_inserted(t);
            std::printf("%s: %lld rows in ins, %lld distinct keys; successful runs inserted %lld%s\n", t.name.c_str(),
                        static_cast<long long>(rows), static_cast<long long>(distinct),
                        static_cast<long long>(t.inserted), t.partial ? " (plus what failed runs left)" : "");
            if (rows != distinct || (!t.partial && rows != t.inserted)) {
                std::printf("  MISMATCH: rows lost or inserted twice\n");
                ++failures;
            }
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_remote: %s\n", e.what());
        curl_global_cleanup();
        return 1;
    }
    curl_global_cleanup();
    return failures == 0 ? 0 : 1;
}
