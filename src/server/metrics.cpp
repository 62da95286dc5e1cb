// GET /metrics (see metrics.hpp).
#include "server/metrics.hpp"

#include <cstdio>

namespace libsql::server {

namespace {

constexpr std::array<const char*, 5> kind_names{"pipeline", "cursor", "websocket", "replication", "other"};
constexpr std::array<const char*, 5> class_names{"1xx", "2xx", "3xx", "4xx", "5xx"};

void line(std::string& out, const std::string& name, const std::string& labels, double value) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", value);
    out += name;
    if (!labels.empty()) out += "{" + labels + "}";
    out += ' ';
    out += buf;
    out += '\n';
}

void head(std::string& out, const char* name, const char* type, const char* help) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

} // namespace

void server_metrics::request_done(request_kind kind, unsigned status, std::chrono::nanoseconds took,
                                  std::uint64_t bytes_in, std::uint64_t bytes_out) noexcept {
    const auto k = static_cast<std::size_t>(kind);
    const std::size_t c = status >= 100 && status < 600 ? status / 100 - 1 : 4;
    requests_[k][c].fetch_add(1, std::memory_order_relaxed);
    auto& h = latency_[k];
    const double seconds = std::chrono::duration<double>(took).count();
    std::size_t b = 0;
    while (b < bounds.size() && seconds > bounds[b]) ++b;
    h.buckets[b].fetch_add(1, std::memory_order_relaxed);
    h.sum_ns.fetch_add(static_cast<std::uint64_t>(took.count() > 0 ? took.count() : 0), std::memory_order_relaxed);
    h.count.fetch_add(1, std::memory_order_relaxed);
    bytes_in_.fetch_add(bytes_in, std::memory_order_relaxed);
    bytes_out_.fetch_add(bytes_out, std::memory_order_relaxed);
}

std::string server_metrics::render(const service_gauges& g) const {
    std::string out;
    head(out, "libsql_requests_total", "counter", "HTTP requests answered and WebSocket messages handled, by kind and status class");
    for (std::size_t k = 0; k < kinds; ++k)
        for (std::size_t c = 0; c < classes; ++c) {
            const auto n = requests_[k][c].load(std::memory_order_relaxed);
            if (n != 0)
                line(out, "libsql_requests_total", std::string("kind=\"") + kind_names[k] + "\",status=\"" + class_names[c] + "\"",
                     static_cast<double>(n));
        }
    head(out, "libsql_request_duration_seconds", "histogram", "Time from a request's headers (or a message) to its reply");
    for (std::size_t k = 0; k < kinds; ++k) {
        const auto& h = latency_[k];
        const std::string kind = std::string("kind=\"") + kind_names[k] + "\"";
        std::uint64_t cumulative = 0;
        for (std::size_t b = 0; b <= bounds.size(); ++b) {
            cumulative += h.buckets[b].load(std::memory_order_relaxed);
            char le[32];
            if (b < bounds.size()) std::snprintf(le, sizeof le, "%g", bounds[b]);
            else std::snprintf(le, sizeof le, "+Inf");
            line(out, "libsql_request_duration_seconds_bucket", kind + ",le=\"" + le + "\"", static_cast<double>(cumulative));
        }
        line(out, "libsql_request_duration_seconds_sum", kind, static_cast<double>(h.sum_ns.load(std::memory_order_relaxed)) / 1e9);
        line(out, "libsql_request_duration_seconds_count", kind, static_cast<double>(h.count.load(std::memory_order_relaxed)));
    }
    head(out, "libsql_received_bytes_total", "counter", "Request bodies and WebSocket messages received");
    line(out, "libsql_received_bytes_total", {}, static_cast<double>(bytes_in_.load(std::memory_order_relaxed)));
    head(out, "libsql_sent_bytes_total", "counter", "Response bodies and WebSocket messages sent");
    line(out, "libsql_sent_bytes_total", {}, static_cast<double>(bytes_out_.load(std::memory_order_relaxed)));
    head(out, "libsql_open_connections", "gauge", "Open HTTP and WebSocket connections");
    line(out, "libsql_open_connections", {}, static_cast<double>(open_connections_.load(std::memory_order_relaxed)));
    head(out, "libsql_open_streams", "gauge", "Open Hrana streams (HTTP batons and WebSocket streams)");
    line(out, "libsql_open_streams", {}, static_cast<double>(g.open_streams));
    head(out, "libsql_replication_generation", "gauge", "The current replication generation (0: replication off)");
    line(out, "libsql_replication_generation", {}, static_cast<double>(g.replication_generation));
    head(out, "libsql_replication_index", "gauge", "Committed WAL frames of the current generation");
    line(out, "libsql_replication_index", {}, static_cast<double>(g.replication_index));
    head(out, "libsql_checkpoints_total", "counter", "Checkpoints that ended a generation");
    line(out, "libsql_checkpoints_total", {}, static_cast<double>(g.checkpoints));
    return out;
}

} // namespace libsql::server
