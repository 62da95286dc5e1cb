// SQLite WAL frames as the legacy Turso sync protocol (/sync/{generation}/{start}/{end}) carries them: parsing,
// validation (sizes, page numbers, salts, the cumulative checksum) and buffering until commit frames. No SQLite,
// no network: the applier (apply.hpp) and the sync loop (replica_database.cpp) build on this.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace libsql::detail::replica {

inline constexpr std::size_t frame_header_size = 24;
/// The largest page number a frame may carry (SQLite's own SQLITE_MAX_PAGE_COUNT ceiling is 0xfffffffe; a
/// 2^31-page database of 512-byte pages is already 1 TiB, so anything above this is a broken peer).
inline constexpr std::uint32_t max_page_number = 0x7fffffffU;

/// The 24-byte big-endian SQLite WAL frame header.
struct frame_header {
    std::uint32_t page_number = 0;
    std::uint32_t db_size_after_commit = 0;  ///< != 0 only on a transaction's commit frame
    std::uint32_t salt1 = 0;
    std::uint32_t salt2 = 0;
    std::uint32_t checksum1 = 0;
    std::uint32_t checksum2 = 0;
};

[[nodiscard]] frame_header parse_frame_header(const unsigned char* p) noexcept;
void write_frame_header(const frame_header& h, unsigned char* p) noexcept;

/// Which byte order the primary's WAL checksums use (the WAL header's magic says; we never see that header).
enum class checksum_order : std::uint8_t { unknown, little, big };

/// SQLite's WAL checksum (walChecksumBytes): continues (s1, s2) over `n` bytes (n a multiple of 8).
void wal_checksum(checksum_order order, const unsigned char* data, std::size_t n, std::uint32_t& s1, std::uint32_t& s2) noexcept;

/// Where a generation's frame chain stands after the last frame accepted: the salts every frame of the
/// generation carries, the last frame's checksum (the chain continues from it) and the checksum byte order once
/// known. Persisted in the replica's metadata so that the chain is checked across syncs and restarts.
struct chain_state {
    std::optional<std::uint32_t> salt1, salt2;
    std::optional<std::uint32_t> checksum1, checksum2;
    checksum_order order = checksum_order::unknown;
    friend bool operator==(const chain_state&, const chain_state&) = default;
};

/// The page size a database header declares (bytes 16-17; 1 means 65536); 0 when the header is not SQLite's or the
/// size is not a power of two between 512 and 65536.
[[nodiscard]] std::uint32_t page_size_of_header(std::string_view page1) noexcept;

/// Makes a page-1 image fit a WAL-mode replica: file format bytes 18 and 19 set to 2 (WAL).
void set_wal_mode_bytes(std::string& page1) noexcept;

/// All complete transactions received since the last take_ready(), merged: the last version of each page, pages
/// past the final size dropped.
struct ready_set {
    std::map<std::uint32_t, std::string> pages;
    std::uint32_t db_size = 0;          ///< database size in pages after the last commit
    std::uint64_t commit_frame = 0;     ///< frame number (within the generation) of the last commit frame
    std::uint64_t frames = 0;           ///< frames these transactions consisted of
    chain_state chain;                  ///< the chain as it stands after that commit frame
};

/// Validates frames as they arrive and buffers each transaction until its commit frame. Any malformed input throws
/// libsql::protocol_error; the object is then unusable (the caller drops it and keeps its persisted state).
class frame_stream {
public:
    /// `next_frame`: the frame number (1-based within the generation) of the first frame that will be fed.
    frame_stream(std::uint32_t page_size, chain_state chain, std::uint64_t next_frame);

    /// Feeds a /sync response body: whole frames only. `max_frames`: how many the request asked for.
    void feed(std::string_view body, std::uint64_t max_frames);
    /// Complete transactions are buffered and not yet taken.
    [[nodiscard]] bool has_ready() const noexcept { return ready_.commit_frame != 0; }
    ready_set take_ready();
    /// The frame number the next frame fed will have.
    [[nodiscard]] std::uint64_t next_frame() const noexcept { return next_frame_; }
    /// Frames of an unfinished transaction are buffered.
    [[nodiscard]] bool in_transaction() const noexcept { return open_frames_ != 0; }
    [[nodiscard]] std::uint32_t page_size() const noexcept { return page_size_; }
    [[nodiscard]] std::size_t frame_size() const noexcept { return frame_header_size + page_size_; }

private:
    void accept(const unsigned char* frame);

    std::uint32_t page_size_;
    chain_state chain_;
    std::uint64_t next_frame_;
    std::map<std::uint32_t, std::string> open_;  // the unfinished transaction's pages
    std::uint64_t open_frames_ = 0;
    ready_set ready_;
};

/// A 64-bit hash of a page image (for the crash-recovery check of the metadata's pending record).
[[nodiscard]] std::uint64_t page_hash(std::string_view page) noexcept;

} // namespace libsql::detail::replica
