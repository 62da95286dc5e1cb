// The legacy Turso sync protocol ("protocol F" in the notes) served from the server's own SQLite WAL: GET /info,
// GET /export/{generation}, GET /sync/{generation}/{start}/{end}. See docs/SERVER.md ("Embedded replicas").
//
// A generation is one lifetime of the WAL file: it starts right after a PRAGMA wal_checkpoint(TRUNCATE) (so the main
// database file is the generation's export and does not change while it lasts, because every connection of the
// service runs with wal_autocheckpoint=0) and ends at the next such checkpoint. Frames are numbered from 1 within a
// generation, exactly as they sit in the -wal file; only frames up to the last valid commit frame are served.
//
// Files beside the database:
//   <db>-libsql-generation   the current generation and the final frame count of ended ones (JSON, replaced
//                            atomically: write temp, fsync, rename)
//   <db>-libsql-wal-<G>      the committed frames of ended generation G (the WAL header and N frames), so that a
//                            replica that was behind when G ended can still finish G; the newest few are kept
#pragma once

#include "server/service.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace libsql::server {

/// The 32-byte header of a SQLite WAL file (stored big-endian).
struct wal_header {
    std::uint32_t magic = 0;
    std::uint32_t version = 0;
    std::uint32_t page_size = 0;
    std::uint32_t checkpoint_seq = 0;
    std::uint32_t salt1 = 0;
    std::uint32_t salt2 = 0;
    std::uint32_t cksum1 = 0;
    std::uint32_t cksum2 = 0;
    /// Magic 0x377f0683: checksums over big-endian words; 0x377f0682: little-endian words.
    [[nodiscard]] bool big_endian_checksums() const noexcept { return (magic & 1U) != 0; }
};

constexpr std::size_t wal_header_bytes = 32;
constexpr std::size_t wal_frame_header_bytes = 24;

/// Parses and checks a WAL header (magic, version, page size, its checksum); nullopt when it is not valid.
[[nodiscard]] std::optional<wal_header> parse_wal_header(std::string_view bytes) noexcept;

/// SQLite's WAL checksum over data (a multiple of 8 bytes), continuing from (s1, s2).
void wal_checksum(std::string_view data, bool big_endian, std::uint32_t& s1, std::uint32_t& s2) noexcept;

/// An incremental index of the valid frames of a WAL file. refresh() reads only what was appended since the last
/// commit frame it accepted; a frame counts when its salts equal the header's and the checksum chain holds, and the
/// index ends at the last such frame that is a commit frame (db size after commit != 0), as SQLite's own recovery
/// does. Not thread-safe: the owner serialises calls.
class wal_index {
public:
    explicit wal_index(std::string wal_path);

    /// Reads the file's new frames; returns the number of the last valid commit frame (0: none). A missing or
    /// empty file, or one without a valid header, has none. Throws libsql::io_error when the file cannot be read,
    /// libsql::corrupt when its header changed under frames already indexed (someone else reset the WAL).
    std::uint64_t refresh();
    /// Forgets everything (the WAL was truncated).
    void reset() noexcept;

    [[nodiscard]] std::uint64_t committed_frames() const noexcept { return committed_; }
    [[nodiscard]] const std::optional<wal_header>& header() const noexcept { return header_; }
    /// 24 + page size; 0 before a header was read.
    [[nodiscard]] std::uint64_t frame_size() const noexcept;
    [[nodiscard]] const std::string& path() const noexcept { return path_; }

private:
    std::string path_;
    std::optional<wal_header> header_;
    std::uint64_t committed_ = 0;
    std::uint32_t s1_ = 0;  // the checksum after the last committed frame (or the header)
    std::uint32_t s2_ = 0;
};

/// Reads `length` bytes at `offset` of a file into out (appending); throws libsql::io_error on failure or a short read.
void read_file_range(const std::string& path, std::uint64_t offset, std::uint64_t length, std::string& out);

struct replication_options {
    std::string db_path;                       ///< the database file (its -wal file is read)
    std::uint64_t checkpoint_frames = 10'000;  ///< checkpoint (and start a new generation) once the WAL has this many
    std::size_t kept_archives = 4;             ///< ended generations whose frames stay servable
    std::uint64_t max_frames_per_request = 1024;  ///< a /sync answer carries at most this many frames
    std::function<void(std::string_view)> log;    ///< what happens (generation changes, problems); may be empty
};

/// Decrypts one page (page_size bytes, page number pgno) in place; throws when it cannot.
using page_decryptor = std::function<void(std::uint32_t pgno, char* page)>;

/// One database's replication log: the generations, the WAL index, the HTTP answers of protocol F. Thread-safe.
class replication_log {
public:
    /// Reads the generation file, ends the previous run's generation (indexing and archiving what its WAL still
    /// holds) and records the new generation, before any connection is opened. The caller then runs
    /// PRAGMA wal_checkpoint(TRUNCATE) and calls started().
    explicit replication_log(replication_options options);
    ~replication_log();
    replication_log(const replication_log&) = delete;
    replication_log& operator=(const replication_log&) = delete;

    /// The startup checkpoint emptied the WAL: the new generation begins.
    void started();
    /// An encrypted database: /export and /sync serve its pages decrypted (frames with their checksum chain
    /// recomputed over the plaintext, as SQLite would have written them unencrypted). The files stay as they are.
    /// Call before started().
    void set_page_decryptor(std::uint32_t page_size, page_decryptor decrypt);

    [[nodiscard]] std::uint64_t generation() const;
    /// The last committed frame of the current generation (reads what the WAL gained).
    [[nodiscard]] std::uint64_t committed_frames();

    /// GET /info: 200 {"current_generation": G}.
    [[nodiscard]] http_reply info() const;
    /// GET /export/{generation}: the database file as it was when the generation began; 404 JSON for any other.
    [[nodiscard]] http_reply export_db(std::uint64_t generation);
    /// GET /sync/{generation}/{start}/{end}: WAL frames [start, end) up to the last commit, or 400 checkpoint_needed.
    [[nodiscard]] http_reply frames(std::uint64_t generation, std::uint64_t start, std::uint64_t end);

    /// Whether the WAL reached the threshold.
    [[nodiscard]] bool checkpoint_due();
    /// Ends the current generation and starts the next one. The caller guarantees that no other connection is in a
    /// transaction; truncate() runs PRAGMA wal_checkpoint(TRUNCATE) and returns whether it emptied the WAL. Returns
    /// whether the generation changed (an empty generation is not ended; a failed truncate leaves everything as
    /// it was).
    bool checkpoint(const std::function<bool()>& truncate);
    /// Records the end of the current generation (the last connection's close checkpoints the WAL next).
    void close();

    struct ended_generation {
        std::uint64_t max_frame_no = 0;
        std::optional<std::pair<std::uint32_t, std::uint32_t>> salts;  ///< of its WAL, when it had one
        bool archived = false;
    };

private:
    void write_state() const;
    void end_current_locked();
    void prune_archives_locked();
    [[nodiscard]] std::string archive_path(std::uint64_t generation) const;
    void say(const std::string& message) const;
    /// Decrypts the frames in body (frames start.. of generation g, read from path) and rewrites their checksums.
    void decrypt_frames(std::uint64_t g, const std::string& path, std::uint64_t start, std::string& body);

    replication_options opts_;
    std::string state_path_;
    mutable std::shared_mutex files_m_;  ///< shared: reading the db file, the WAL, archives; exclusive: checkpoints
    mutable std::mutex index_m_;         ///< guards the index and the fields below
    wal_index index_;
    std::uint64_t generation_ = 0;
    std::map<std::uint64_t, ended_generation> ended_;
    bool closed_ = false;

    std::uint32_t page_size_ = 0;  ///< of the decryptor
    page_decryptor decrypt_;       ///< empty: the database is not encrypted
    std::mutex plain_m_;           ///< guards plain_sums_ (and serialises the decryptor)
    /// Per generation: the plaintext checksum pair after each frame (index f-1), as far as computed.
    std::map<std::uint64_t, std::vector<std::pair<std::uint32_t, std::uint32_t>>> plain_sums_;
};

} // namespace libsql::server
