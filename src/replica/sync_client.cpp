#include "replica/sync_client.hpp"

#include <boost/json.hpp>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <thread>
#include <unistd.h>

namespace libsql::detail::replica {

namespace {

error_info replica_info() { return error_info{0, {}, {}, transport::replica, {}}; }

http::options http_options(const connect_options& o) {
    http::options h;
    h.connect_timeout = o.connect_timeout;
    h.request_timeout = o.request_timeout;
    h.transport = transport::replica;
    h.tls = tls_settings_of(o);
    if (!o.auth_token.empty()) h.headers.push_back("Authorization: Bearer " + o.auth_token);
    if (!o.remote_encryption_key.empty()) h.headers.push_back("x-turso-encryption-key: " + o.remote_encryption_key);
    return h;
}

std::string excerpt(std::string_view body) {
    std::string s(body.substr(0, 200));
    for (char& c : s)
        if (static_cast<unsigned char>(c) < 0x20) c = ' ';
    return s;
}

[[noreturn]] void http_failure(const std::string& what, long status, std::string_view body) {
    const std::string msg = "replica sync: " + what + " failed with HTTP " + std::to_string(status) +
                            (body.empty() ? std::string() : ": " + excerpt(body));
    if (status == 401 || status == 403) throw auth_error(msg, replica_info());
    throw protocol_error(msg, replica_info());
}

std::uint64_t json_u64(const boost::json::object& o, const char* key) {
    const auto* v = o.if_contains(key);
    if (v && v->is_uint64()) return v->as_uint64();
    if (v && v->is_int64() && v->as_int64() >= 0) return static_cast<std::uint64_t>(v->as_int64());
    throw protocol_error(std::string("replica sync: the server's answer has no valid \"") + key + "\"", replica_info());
}

} // namespace

sync_client::sync_client(const std::string& sync_url, const connect_options& options)
    : base_(http::normalize_base_url(sync_url)), http_(http_options(options)) {}

http::response sync_client::get(const std::string& path) {
    // Server errors (5xx without the protocol's JSON) are retried with backoff, as the official engine does.
    for (int attempt = 0;; ++attempt) {
        auto r = http_.request("GET", base_ + path, {}, http::retry::idempotent);
        if ((r.status == 301 || r.status == 302 || r.status == 307 || r.status == 308) && !r.location.empty())
            r = http_.request("GET", r.location, {}, http::retry::idempotent);
        const bool protocol_json = r.content_type == "application/json" && r.body.find("checkpoint_needed") != std::string::npos;
        if (r.status >= 500 && !protocol_json && attempt < 3) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100 << attempt));
            continue;
        }
        return r;
    }
}

std::uint64_t sync_client::info() {
    const auto r = get("info");
    if (r.status != 200) {
        if (r.status == 404)
            throw protocol_error("replica sync: " + base_ + "info answered 404: the server does not speak the libSQL sync "
                                 "protocol (GET /info, /export, /sync)", replica_info());
        http_failure("GET /info", r.status, r.body);
    }
    boost::system::error_code ec;
    const auto v = boost::json::parse(r.body, ec);
    if (ec || !v.is_object()) throw protocol_error("replica sync: /info did not return a JSON object: " + excerpt(r.body), replica_info());
    const auto g = json_u64(v.as_object(), "current_generation");
    if (g == 0) throw protocol_error("replica sync: /info reported generation 0", replica_info());
    return g;
}

std::uint64_t sync_client::export_to(std::uint64_t generation, const std::string& file) {
    auto reader = http_.request_stream("GET", base_ + "export/" + std::to_string(generation), {}, http::retry::idempotent);
    if (reader->status() != 200) {
        std::string body;
        while (body.size() < 4096 && reader->read_some(body, 4096)) {
        }
        http_failure("GET /export/" + std::to_string(generation), reader->status(), body);
    }
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw io_error("cannot create '" + file + "': " + std::strerror(errno), replica_info());
    std::uint64_t total = 0;
    try {
        std::string chunk;
        for (;;) {
            chunk.clear();
            const bool more = reader->read_some(chunk, 1 << 20);
            std::size_t done = 0;
            while (done < chunk.size()) {
                const auto w = ::write(fd, chunk.data() + done, chunk.size() - done);
                if (w < 0) {
                    if (errno == EINTR) continue;
                    throw io_error("cannot write '" + file + "': " + std::strerror(errno), replica_info());
                }
                done += static_cast<std::size_t>(w);
            }
            total += chunk.size();
            if (!more) break;
        }
        if (::fsync(fd) != 0) throw io_error("fsync of '" + file + "' failed: " + std::strerror(errno), replica_info());
    } catch (...) {
        ::close(fd);
        throw;
    }
    ::close(fd);
    return total;
}

pull_result sync_client::pull(std::uint64_t generation, std::uint64_t start, std::uint64_t end) {
    const std::string path = "sync/" + std::to_string(generation) + "/" + std::to_string(start) + "/" + std::to_string(end);
    auto r = get(path);
    pull_result out;
    if (r.status == 200) {
        out.body = std::move(r.body);
        return out;
    }
    if ((r.status == 400 || r.status == 500) && r.body.find("checkpoint_needed") != std::string::npos) {
        boost::system::error_code ec;
        const auto v = boost::json::parse(r.body, ec);
        if (!ec && v.is_object()) {
            const auto& o = v.as_object();
            const auto* st = o.if_contains("status");
            if (st && st->is_string() && st->as_string() == "checkpoint_needed") {
                out.end = true;
                out.generation = json_u64(o, "generation");
                out.max_frame_no = json_u64(o, "max_frame_no");
                return out;
            }
        }
    }
    http_failure("GET /" + path, r.status, r.body);
}

} // namespace libsql::detail::replica
