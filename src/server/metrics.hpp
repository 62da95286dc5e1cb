// Internal to libsql serve: the counters behind GET /metrics (Prometheus text format 0.0.4). Lock-free: the I/O
// thread records, any thread renders.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace libsql::server {

/// What a request was, for the metrics' "kind" label.
enum class request_kind : std::uint8_t { pipeline, cursor, websocket, replication, other };

/// What the service reports beside the front end's own counts.
struct service_gauges {
    std::uint64_t open_streams = 0;
    std::uint64_t replication_generation = 0;   ///< 0: replication off
    std::uint64_t replication_index = 0;        ///< committed WAL frames of the current generation
    std::uint64_t checkpoints = 0;              ///< generations ended by a checkpoint since the start
};

class server_metrics {
public:
    /// One HTTP request answered (status), or one WebSocket message handled (status 200).
    void request_done(request_kind kind, unsigned status, std::chrono::nanoseconds took, std::uint64_t bytes_in,
                      std::uint64_t bytes_out) noexcept;
    void connection_opened() noexcept { open_connections_.fetch_add(1, std::memory_order_relaxed); }
    void connection_closed() noexcept { open_connections_.fetch_sub(1, std::memory_order_relaxed); }

    [[nodiscard]] std::string render(const service_gauges& g) const;

private:
    static constexpr std::size_t kinds = 5;
    static constexpr std::size_t classes = 5;  // 1xx..5xx
    static constexpr std::array<double, 14> bounds{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                   0.1,    0.25,  0.5,    1,     2.5,  5,     10};
    struct histogram {
        std::array<std::atomic<std::uint64_t>, bounds.size() + 1> buckets{};  // the last: above every bound
        std::atomic<std::uint64_t> sum_ns{0};
        std::atomic<std::uint64_t> count{0};
    };
    std::array<std::array<std::atomic<std::uint64_t>, classes>, kinds> requests_{};
    std::array<histogram, kinds> latency_{};
    std::atomic<std::uint64_t> bytes_in_{0};
    std::atomic<std::uint64_t> bytes_out_{0};
    std::atomic<std::int64_t> open_connections_{0};
};

} // namespace libsql::server
