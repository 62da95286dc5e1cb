// The HTTP layer of the remote client and the replica's sync client, on libcurl.
//
// One client owns one easy handle driven through its own multi handle. The multi interface lets one code path serve
// whole requests and streamed bodies (the write callback pauses the transfer when the caller has enough buffered),
// and lets interrupt() wake the transfer from another thread with curl_multi_wakeup(). The multi handle holds the
// connection cache, so the keep-alive connection survives from one request to the next.
//
// Retries. libcurl resends a request by itself when a reused connection gives no response byte at all, even when
// the whole request went out (transfer.c, Curl_retry_request). For a write that is a duplicate execution, so for
// retry::if_unsent the pre-request callback (called right before every attempt goes out) refuses any second attempt
// of libcurl's own, and the failure reports an unknown outcome. This loses nothing in practice: libcurl checks an
// idle connection before reusing it (a closed one is replaced, not retried), so its own resend only follows the race
// where the server drops the connection just as the request goes out, and then whether it read the request is
// unknown. Our own single retry (retry::if_unsent) happens only when libcurl reports that nothing at all was sent.
// Bodies go through CURLOPT_POSTFIELDS: headers and a small body leave in one send().
#include "remote/http.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <mutex>
#include <utility>

namespace libsql::detail::http {

namespace {

constexpr const char* client_version = "libsql-cpp-0.1.0";
constexpr std::size_t stream_buffer_limit = 64 * 1024;  // a paused stream holds at most this plus one curl chunk

void global_init() {
    static std::once_flag once;
    std::call_once(once, [] {
        const CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
        if (rc != CURLE_OK)
            throw libsql::connection_error(std::string("libcurl initialisation failed: ") + curl_easy_strerror(rc));
    });
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
        s.remove_suffix(1);
    return s;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

struct slist_deleter {
    void operator()(curl_slist* l) const noexcept { curl_slist_free_all(l); }
};
using slist_ptr = std::unique_ptr<curl_slist, slist_deleter>;

void append(slist_ptr& list, const std::string& header) {
    curl_slist* next = curl_slist_append(list.get(), header.c_str());
    if (next == nullptr) throw std::bad_alloc();
    (void)list.release();
    list.reset(next);
}

/// Failures of an established connection (what a dead or dropped keep-alive connection produces).
bool connection_level(CURLcode rc) noexcept {
    switch (rc) {
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SEND_FAIL_REWIND:
        return true;
    default:
        return false;
    }
}

/// TLS failures: the handshake, an untrusted or mismatched certificate, unreadable CA/certificate/key files, and a
/// server that refused our (missing) client certificate with an alert.
bool tls_level(CURLcode rc, const char* errbuf) noexcept {
    switch (rc) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_USE_SSL_FAILED:
        return true;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
        // TLS 1.3: the server checks the client's certificate after the client's handshake is done, so its
        // refusal arrives as an alert on the first read.
        return errbuf != nullptr && std::string_view(errbuf).find("alert") != std::string_view::npos;
    default:
        return false;
    }
}

} // namespace

/// State of the one transfer in progress (request() or a body_reader).
struct transfer {
    std::string method;
    std::string url;
    retry policy = retry::idempotent;
    bool streaming = false;
    // attempts curl made (pre-request callback), whether the latest one went out on a reused connection
    int attempts = 0;
    bool reused = false;
    bool resend_vetoed = false;
    // response
    long status = 0;
    bool headers_done = false;
    std::string content_type;
    std::string location;
    std::string body;          ///< received bytes; a stream consumes from `consumed`
    std::size_t consumed = 0;
    std::size_t accepted = 0;  ///< body chunks accepted since the reader last asked for more
    bool paused = false;
    bool done = false;
    CURLcode result = CURLE_OK;

    [[nodiscard]] std::size_t buffered() const noexcept { return body.size() - consumed; }
};

struct client::impl {
    options opts;
    CURL* easy = nullptr;
    CURLM* multi = nullptr;
    slist_ptr base_headers;
    std::string cached_content_type;
    slist_ptr cached_headers;  ///< base_headers plus Content-Type: cached_content_type
    char errbuf[CURL_ERROR_SIZE] = {};
    std::atomic<bool> interrupt_requested{false};
    std::atomic<std::uint64_t> connections{0};
    bool in_multi = false;
    bool reader_alive = false;
    transfer cur;
    std::string stream_body;  ///< a stream's request body: curl may still read it after request_stream() returns

    class reader;

    explicit impl(options o) : opts(std::move(o)) {
        global_init();
        easy = curl_easy_init();
        multi = curl_multi_init();
        if (easy == nullptr || multi == nullptr) {
            cleanup();
            throw std::bad_alloc();
        }
        append(base_headers, "Expect:");
        append(base_headers, std::string("x-libsql-client-version: ") + client_version);
        for (const auto& h : opts.headers) {
            if (h.find_first_of("\r\n") != std::string::npos) {
                cleanup();
                throw libsql::usage_error("an HTTP header contains a line break", info());
            }
            append(base_headers, h);
        }
        curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, 2L);
        curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
        curl_easy_setopt(easy, CURLOPT_USERAGENT, client_version);
        curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
        curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);
        curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
        curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(easy, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);  // a proxy's CONNECT reply is not the response
        curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(opts.connect_timeout.count()));
        curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &impl::on_write);
        curl_easy_setopt(easy, CURLOPT_WRITEDATA, this);
        curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &impl::on_header);
        curl_easy_setopt(easy, CURLOPT_HEADERDATA, this);
        curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, &impl::on_progress);
        curl_easy_setopt(easy, CURLOPT_XFERINFODATA, this);
        curl_easy_setopt(easy, CURLOPT_PREREQFUNCTION, &impl::on_prereq);
        curl_easy_setopt(easy, CURLOPT_PREREQDATA, this);
        // https://: curl copies these strings.
        if (!opts.tls.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, opts.tls.ca_file.c_str());
        if (!opts.tls.verify) {
            curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
            curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
        }
        if (!opts.tls.cert_file.empty()) {
            curl_easy_setopt(easy, CURLOPT_SSLCERT, opts.tls.cert_file.c_str());
            curl_easy_setopt(easy, CURLOPT_SSLCERTTYPE, "PEM");
        }
        if (!opts.tls.key_file.empty()) {
            curl_easy_setopt(easy, CURLOPT_SSLKEY, opts.tls.key_file.c_str());
            curl_easy_setopt(easy, CURLOPT_SSLKEYTYPE, "PEM");
        }
    }

    ~impl() { cleanup(); }
    impl(const impl&) = delete;
    impl& operator=(const impl&) = delete;

    void cleanup() noexcept {
        if (in_multi) curl_multi_remove_handle(multi, easy);
        in_multi = false;
        if (multi != nullptr) curl_multi_cleanup(multi);  // closes the cached connection
        if (easy != nullptr) curl_easy_cleanup(easy);
        multi = nullptr;
        easy = nullptr;
    }

    [[nodiscard]] error_info info() const {
        error_info i;
        i.transport = opts.transport;
        return i;
    }

    // ---- callbacks -------------------------------------------------------------------------------------------

    // Callbacks run inside libcurl (C): nothing may be thrown through it. A failed allocation fails the transfer.
    static std::size_t on_write(char* data, std::size_t size, std::size_t n, void* self) noexcept {
        try {
            return write_body(static_cast<impl*>(self)->cur, data, size * n);
        } catch (...) {
            return 0;  // CURLE_WRITE_ERROR
        }
    }

    static std::size_t write_body(transfer& t, const char* data, std::size_t len) {
        // A stream accepts at least one chunk per request for more, then pauses once it holds enough.
        if (t.streaming && t.accepted > 0 && t.buffered() >= stream_buffer_limit) {
            t.paused = true;
            return CURL_WRITEFUNC_PAUSE;
        }
        if (t.streaming && t.consumed > 0 && t.consumed >= t.body.size() / 2) {
            t.body.erase(0, t.consumed);
            t.consumed = 0;
        }
        t.body.append(data, len);
        ++t.accepted;
        return len;
    }

    static std::size_t on_header(char* data, std::size_t size, std::size_t n, void* self) noexcept {
        try {
            return read_header(static_cast<impl*>(self)->cur, std::string_view(data, size * n));
        } catch (...) {
            return 0;  // CURLE_WRITE_ERROR
        }
    }

    static std::size_t read_header(transfer& t, std::string_view line) {
        const std::size_t len = line.size();
        if (line.size() >= 5 && line.substr(0, 5) == "HTTP/") {  // a status line: a new response begins
            t.status = 0;
            t.content_type.clear();
            t.location.clear();
            t.headers_done = false;
            const auto sp = line.find(' ');
            if (sp != std::string_view::npos) {
                long s = 0;
                for (std::size_t i = sp + 1;
                     i < line.size() && i < sp + 4 && std::isdigit(static_cast<unsigned char>(line[i])); ++i)
                    s = s * 10 + (line[i] - '0');
                t.status = s;
            }
            return len;
        }
        if (trim(line).empty()) {
            if (t.status >= 200) t.headers_done = true;
            return len;
        }
        const auto colon = line.find(':');
        if (colon == std::string_view::npos) return len;
        const auto name = trim(line.substr(0, colon));
        const auto value = trim(line.substr(colon + 1));
        if (iequals(name, "content-type")) {
            t.content_type = lower(trim(value.substr(0, value.find(';'))));
        } else if (iequals(name, "location")) {
            t.location = std::string(value);
        }
        return len;
    }

    static int on_progress(void* self, curl_off_t, curl_off_t, curl_off_t, curl_off_t) noexcept {
        return static_cast<impl*>(self)->interrupt_requested.load(std::memory_order_relaxed) ? 1 : 0;
    }

    static int on_prereq(void* self, char*, char*, int, int) noexcept {
        auto* me = static_cast<impl*>(self);
        auto& t = me->cur;
        long connects = 0;
        curl_easy_getinfo(me->easy, CURLINFO_NUM_CONNECTS, &connects);
        ++t.attempts;
        if (t.attempts > 1 && t.policy == retry::if_unsent) {
            // libcurl is resending on its own after the previous attempt failed on a reused connection, which the
            // server may or may not have read: a write is not repeated.
            t.resend_vetoed = true;
            return CURL_PREREQFUNC_ABORT;
        }
        t.reused = connects == 0;
        return CURL_PREREQFUNC_OK;
    }

    // ---- driving a transfer ----------------------------------------------------------------------------------

    const slist_ptr& headers_for(std::string_view content_type) {
        if (!cached_headers || cached_content_type != content_type) {
            slist_ptr list;
            for (const curl_slist* h = base_headers.get(); h != nullptr; h = h->next) append(list, h->data);
            // An empty content type sends none ("Name:" with no value removes a header in libcurl).
            append(list, content_type.empty() ? std::string("Content-Type:")
                                              : "Content-Type: " + std::string(content_type));
            cached_headers = std::move(list);
            cached_content_type = std::string(content_type);
        }
        return cached_headers;
    }

    void check_idle() const {
        if (reader_alive)
            throw libsql::usage_error("an HTTP response body is still being read on this connection: finish or "
                                      "destroy its reader before sending another request",
                                      info());
    }

    /// Sets the easy handle up for one attempt and adds it to the multi handle.
    void start(std::string_view method, const std::string& url, std::string_view body, retry policy,
               std::string_view content_type, bool streaming) {
        check_idle();
        if (method.empty() || method.find_first_of(" \r\n") != std::string_view::npos)
            throw libsql::usage_error("invalid HTTP method '" + std::string(method) + "'", info());
        if (content_type.find_first_of("\r\n") != std::string_view::npos)
            throw libsql::usage_error("an HTTP content type contains a line break", info());
        cur = transfer{};
        cur.method = method;
        cur.url = url;
        cur.policy = policy;
        cur.streaming = streaming;
        errbuf[0] = '\0';

        curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
        // Streams keep their own deadlines (the caller's reading pace must not count), see wait_deadline().
        curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, streaming ? 0L : static_cast<long>(opts.request_timeout.count()));
        curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, static_cast<const char*>(nullptr));
        curl_easy_setopt(easy, CURLOPT_NOBODY, 0L);
        const bool get_like = method == "GET" || method == "HEAD";
        if (get_like && body.empty()) {
            curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
            if (method == "HEAD") curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
            curl_easy_setopt(easy, CURLOPT_HTTPHEADER, base_headers.get());
        } else {
            curl_easy_setopt(easy, CURLOPT_POST, 1L);
            curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body.empty() ? "" : body.data());
            curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
            if (method != "POST") curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, std::string(method).c_str());
            curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers_for(content_type).get());
        }
        const CURLMcode mc = curl_multi_add_handle(multi, easy);
        if (mc != CURLM_OK)
            throw libsql::connection_error("cannot start HTTP request to " + url + ": " + curl_multi_strerror(mc),
                                           info());
        in_multi = true;
    }

    /// Removes the easy handle from the multi handle. An unfinished transfer's connection is closed, not reused.
    void finish() noexcept {
        if (!in_multi) return;
        long connects = 0;
        if (curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK && connects > 0)
            connections.fetch_add(static_cast<std::uint64_t>(connects), std::memory_order_relaxed);
        curl_multi_remove_handle(multi, easy);
        in_multi = false;
    }

    [[noreturn]] void throw_interrupted() {
        finish();
        throw libsql::interrupted("HTTP " + cur.method + " " + cur.url + " was interrupted", info());
    }

    /// Runs the transfer until `satisfied()` or the end of the transfer; throws on interrupt or deadline.
    template <typename Pred>
    void pump(Pred satisfied, std::chrono::steady_clock::time_point deadline, bool has_deadline) {
        while (true) {
            if (interrupt_requested.load(std::memory_order_relaxed)) throw_interrupted();
            int running = 0;
            const CURLMcode mc = curl_multi_perform(multi, &running);
            if (mc != CURLM_OK) {
                finish();
                throw libsql::connection_error("HTTP " + cur.method + " " + cur.url +
                                                   " failed: " + curl_multi_strerror(mc) +
                                                   "; the request may have reached the server: the outcome is unknown",
                                               info());
            }
            int queued = 0;
            while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
                if (msg->msg == CURLMSG_DONE && msg->easy_handle == easy) {
                    cur.done = true;
                    cur.result = msg->data.result;
                }
            }
            if (cur.done || satisfied()) return;
            int wait_ms = 1000;
            if (has_deadline) {
                const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now());
                if (left.count() <= 0) {
                    finish();
                    throw libsql::timeout("HTTP " + cur.method + " " + cur.url + " timed out after " +
                                              std::to_string(opts.request_timeout.count()) +
                                              " ms waiting for the server",
                                          info());
                }
                wait_ms = static_cast<int>(std::min<long long>(wait_ms, left.count() + 1));
            }
            curl_multi_poll(multi, nullptr, 0, wait_ms, nullptr);
        }
    }

    [[nodiscard]] bool has_deadline() const noexcept { return opts.request_timeout.count() > 0; }
    [[nodiscard]] std::chrono::steady_clock::time_point wait_deadline() const {
        return std::chrono::steady_clock::now() + opts.request_timeout;
    }

    /// True when the failed attempt may be sent again under its policy.
    [[nodiscard]] bool may_retry() const {
        const CURLcode rc = cur.result;
        if (cur.policy == retry::idempotent) return connection_level(rc) || rc == CURLE_COULDNT_CONNECT;
        // if_unsent: a reused connection that failed before any byte of this request went out.
        if (cur.resend_vetoed || cur.attempts != 1 || !cur.reused) return false;
        if (rc != CURLE_SEND_ERROR && rc != CURLE_RECV_ERROR && rc != CURLE_GOT_NOTHING) return false;
        long request_size = -1;
        curl_off_t uploaded = -1;
        curl_easy_getinfo(easy, CURLINFO_REQUEST_SIZE, &request_size);
        curl_easy_getinfo(easy, CURLINFO_SIZE_UPLOAD_T, &uploaded);
        return request_size == 0 && uploaded == 0;
    }

    /// Throws the exception for a finished, failed attempt (the handle is already out of the multi handle).
    [[noreturn]] void throw_failure(long request_size) {
        const CURLcode rc = cur.result;
        if (rc == CURLE_ABORTED_BY_CALLBACK && !cur.resend_vetoed && interrupt_requested.load())
            throw libsql::interrupted("HTTP " + cur.method + " " + cur.url + " was interrupted", info());
        std::string msg = "HTTP " + cur.method + " " + cur.url + " failed: ";
        if (cur.resend_vetoed) {
            // libcurl's own text would speak of its internal resend, which we refused.
            msg += "the connection was closed after the request was sent, before any response, and the request was "
                   "not sent again";
        } else {
            msg += curl_easy_strerror(rc);
            if (errbuf[0] != '\0') msg += std::string(" (") + errbuf + ")";
        }
        // The pre-request callback runs right before a request goes out: without it nothing was sent. A connect
        // failure after it ran is libcurl's own resend of a request that did go out, so its outcome is unknown.
        const bool unsent = cur.attempts == 0 || (rc == CURLE_SEND_ERROR && request_size == 0 && cur.attempts <= 1);
        msg += unsent ? "; the request was not sent"
                      : "; the request may have reached the server: the outcome is unknown";
        if (rc == CURLE_OPERATION_TIMEDOUT) throw libsql::timeout(msg, info());
        if (tls_level(rc, errbuf)) throw libsql::tls_error(msg, info());
        throw libsql::connection_error(msg, info());
    }

    /// One request with its retry: returns once the response headers are in (and, unless streaming, the body).
    void run(std::string_view method, const std::string& url, std::string_view body, retry policy,
             std::string_view content_type, bool streaming) {
        interrupt_requested.store(false, std::memory_order_relaxed);
        for (int attempt = 0;; ++attempt) {
            start(method, url, body, policy, content_type, streaming);
            const auto deadline = has_deadline() ? wait_deadline() : std::chrono::steady_clock::time_point{};
            if (streaming)
                pump([this] { return cur.headers_done; }, deadline, has_deadline());
            else
                pump([] { return false; }, deadline, false);  // curl enforces CURLOPT_TIMEOUT_MS itself
            if (!cur.done) return;  // a stream with its headers in
            if (cur.result == CURLE_OK) {
                finish();
                return;
            }
            const bool again = attempt == 0 && may_retry();
            long request_size = -1;
            curl_easy_getinfo(easy, CURLINFO_REQUEST_SIZE, &request_size);
            finish();
            if (interrupt_requested.load(std::memory_order_relaxed)) throw_interrupted();
            if (!again) throw_failure(request_size);
        }
    }
};

// ---- body_reader ---------------------------------------------------------------------------------------------

class client::impl::reader final : public body_reader {
public:
    explicit reader(client::impl* owner) : owner_(owner) {
        owner_->reader_alive = true;
        status_ = owner_->cur.status;
        content_type_ = owner_->cur.content_type;
    }
    ~reader() override {
        owner_->finish();  // mid-body: the connection is closed
        owner_->cur.body.clear();
        owner_->cur.body.shrink_to_fit();
        owner_->stream_body.clear();
        owner_->reader_alive = false;
    }
    reader(const reader&) = delete;
    reader& operator=(const reader&) = delete;

    [[nodiscard]] long status() const noexcept override { return status_; }
    [[nodiscard]] const std::string& content_type() const noexcept override { return content_type_; }

    bool next_line(std::string& line) override {
        auto& t = owner_->cur;
        std::size_t searched = 0;
        while (true) {
            const std::string_view avail(t.body.data() + t.consumed, t.buffered());
            const auto nl = avail.find('\n', searched);
            if (nl != std::string_view::npos) {
                line.assign(avail.substr(0, nl));
                t.consumed += nl + 1;
                return true;
            }
            searched = avail.size();
            if (!more()) {
                if (t.buffered() == 0) return false;
                line.assign(t.body.data() + t.consumed, t.buffered());
                t.consumed = t.body.size();
                return true;
            }
            // more() may have compacted the buffer: `searched` counts from `consumed`, which stays valid
        }
    }

    bool read_some(std::string& out, std::size_t max) override {
        auto& t = owner_->cur;
        if (t.buffered() == 0 && !more()) return false;
        const std::size_t k = std::min(max, t.buffered());
        out.append(t.body.data() + t.consumed, k);
        t.consumed += k;
        return true;
    }

private:
    /// Gets more body bytes into the buffer; false at the end of the body.
    bool more() {
        if (failure_) std::rethrow_exception(failure_);
        auto& t = owner_->cur;
        if (t.done) return false;
        try {
            const std::size_t before = t.buffered();
            t.accepted = 0;
            if (t.paused) {
                t.paused = false;
                curl_easy_pause(owner_->easy, CURLPAUSE_CONT);  // may deliver the held chunk right here
            }
            if (t.accepted == 0)
                owner_->pump([&t] { return t.accepted > 0; }, owner_->wait_deadline(), owner_->has_deadline());
            if (t.done && t.result != CURLE_OK) {
                const CURLcode rc = t.result;
                const std::string err = owner_->errbuf;
                owner_->finish();
                if (rc == CURLE_ABORTED_BY_CALLBACK && owner_->interrupt_requested.load())
                    throw libsql::interrupted(
                        "HTTP " + t.method + " " + t.url + " was interrupted while reading the response",
                        owner_->info());
                std::string msg = "HTTP " + t.method + " " + t.url +
                                  ": the connection failed while reading the response body: " +
                                  curl_easy_strerror(rc);
                if (!err.empty()) msg += " (" + err + ")";
                if (rc == CURLE_OPERATION_TIMEDOUT) throw libsql::timeout(msg, owner_->info());
                if (tls_level(rc, err.c_str())) throw libsql::tls_error(msg, owner_->info());
                throw libsql::connection_error(msg, owner_->info());
            }
            if (t.done) owner_->finish();
            return t.buffered() > before || !t.done;
        } catch (...) {
            failure_ = std::current_exception();
            throw;
        }
    }

    client::impl* owner_;
    long status_ = 0;
    std::string content_type_;
    std::exception_ptr failure_;
};

// ---- client --------------------------------------------------------------------------------------------------

client::client(options o) : impl_(std::make_unique<impl>(std::move(o))) {}
client::~client() = default;

response client::request(std::string_view method, const std::string& url, std::string_view body, retry policy,
                         std::string_view content_type) {
    impl_->run(method, url, body, policy, content_type, false);
    response r;
    r.status = impl_->cur.status;
    r.content_type = std::move(impl_->cur.content_type);
    r.location = std::move(impl_->cur.location);
    r.body = std::move(impl_->cur.body);
    impl_->cur.body = std::string();
    return r;
}

std::unique_ptr<body_reader> client::request_stream(std::string_view method, const std::string& url,
                                                    std::string_view body, retry policy,
                                                    std::string_view content_type) {
    impl_->check_idle();  // before stream_body changes: it may belong to a live reader
    impl_->stream_body.assign(body);
    impl_->run(method, url, impl_->stream_body, policy, content_type, true);
    return std::make_unique<impl::reader>(impl_.get());
}

void client::interrupt() noexcept {
    impl_->interrupt_requested.store(true, std::memory_order_relaxed);
    curl_multi_wakeup(impl_->multi);
}

const options& client::settings() const noexcept { return impl_->opts; }

std::uint64_t client::connections_opened() const noexcept {
    return impl_->connections.load(std::memory_order_relaxed);
}

// ---- URLs ----------------------------------------------------------------------------------------------------

std::string normalize_base_url(std::string_view url) {
    const auto bad = [&](const std::string& why) {
        error_info info;
        info.transport = libsql::transport::remote;
        return libsql::usage_error("cannot use URL '" + std::string(url) + "': " + why, info);
    };
    for (const char c : url)
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) throw bad("it contains a space or control character");
    const auto sep = url.find("://");
    if (sep == std::string_view::npos) throw bad("expected libsql://, https://, http://, wss:// or ws://");
    const std::string scheme = lower(url.substr(0, sep));
    std::string_view rest = url.substr(sep + 3);
    if (const auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
    std::string_view query;
    if (const auto q = rest.find('?'); q != std::string_view::npos) {
        query = rest.substr(q + 1);
        rest = rest.substr(0, q);
    }
    const auto slash = rest.find('/');
    const std::string_view authority = rest.substr(0, slash);
    std::string path(slash == std::string_view::npos ? std::string_view("/") : rest.substr(slash));
    if (path.back() != '/') path.push_back('/');

    std::string_view host = authority;
    if (const auto at = host.rfind('@'); at != std::string_view::npos) host = host.substr(at + 1);
    std::string_view port;
    if (!host.empty() && host.front() == '[') {
        const auto close = host.find(']');
        if (close == std::string_view::npos) throw bad("unterminated IPv6 address");
        port = host.substr(close + 1);
        host = host.substr(0, close + 1);
        if (!port.empty() && port.front() != ':') throw bad("unexpected text after the IPv6 address");
        if (!port.empty()) port.remove_prefix(1);
    } else if (const auto colon = host.find(':'); colon != std::string_view::npos) {
        port = host.substr(colon + 1);
        host = host.substr(0, colon);
    }
    if (host.empty() || host == "[]") throw bad("no host");
    if (!std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) || port.size() > 5)
        throw bad("invalid port");

    std::string out_scheme;
    if (scheme == "http" || scheme == "https") {
        out_scheme = scheme;
    } else if (scheme == "ws") {
        out_scheme = "http";
    } else if (scheme == "wss") {
        out_scheme = "https";
    } else if (scheme == "libsql") {
        out_scheme = "https";
        // ?tls=0 selects plain HTTP, as @libsql/client does.
        std::string_view q = query;
        while (!q.empty()) {
            const auto amp = q.find('&');
            const auto param = q.substr(0, amp);
            q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
            const auto eq = param.find('=');
            if (param.substr(0, eq) != "tls") continue;
            const auto value = eq == std::string_view::npos ? std::string_view{} : param.substr(eq + 1);
            if (value == "0")
                out_scheme = "http";
            else if (value == "1")
                out_scheme = "https";
            else
                throw bad("tls must be 0 or 1");
        }
    } else {
        throw bad("unsupported scheme '" + scheme + "' (expected libsql, https, http, wss or ws)");
    }
    return out_scheme + "://" + std::string(authority) + path;
}

} // namespace libsql::detail::http
