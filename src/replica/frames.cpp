#include "replica/frames.hpp"

#include "libsql/error.hpp"

#include <cstring>
#include <utility>

namespace libsql::detail::replica {

namespace {

std::uint32_t be32(const unsigned char* p) noexcept {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
}
std::uint32_t le32(const unsigned char* p) noexcept {
    return (std::uint32_t{p[3]} << 24) | (std::uint32_t{p[2]} << 16) | (std::uint32_t{p[1]} << 8) | std::uint32_t{p[0]};
}
void put_be32(unsigned char* p, std::uint32_t v) noexcept {
    p[0] = static_cast<unsigned char>(v >> 24);
    p[1] = static_cast<unsigned char>(v >> 16);
    p[2] = static_cast<unsigned char>(v >> 8);
    p[3] = static_cast<unsigned char>(v);
}

[[noreturn]] void bad(const std::string& what) {
    throw protocol_error("replica sync: " + what, error_info{0, {}, {}, transport::replica, {}});
}

} // namespace

frame_header parse_frame_header(const unsigned char* p) noexcept {
    return frame_header{be32(p), be32(p + 4), be32(p + 8), be32(p + 12), be32(p + 16), be32(p + 20)};
}

void write_frame_header(const frame_header& h, unsigned char* p) noexcept {
    put_be32(p, h.page_number);
    put_be32(p + 4, h.db_size_after_commit);
    put_be32(p + 8, h.salt1);
    put_be32(p + 12, h.salt2);
    put_be32(p + 16, h.checksum1);
    put_be32(p + 20, h.checksum2);
}

void wal_checksum(checksum_order order, const unsigned char* data, std::size_t n, std::uint32_t& s1, std::uint32_t& s2) noexcept {
    std::uint32_t a = s1, b = s2;
    if (order == checksum_order::big) {
        for (std::size_t i = 0; i + 8 <= n; i += 8) {
            a += be32(data + i) + b;
            b += be32(data + i + 4) + a;
        }
    } else {
        for (std::size_t i = 0; i + 8 <= n; i += 8) {
            a += le32(data + i) + b;
            b += le32(data + i + 4) + a;
        }
    }
    s1 = a;
    s2 = b;
}

std::uint32_t page_size_of_header(std::string_view page1) noexcept {
    if (page1.size() < 100 || std::memcmp(page1.data(), "SQLite format 3\0", 16) != 0) return 0;
    const auto* p = reinterpret_cast<const unsigned char*>(page1.data());
    std::uint32_t size = (std::uint32_t{p[16]} << 8) | p[17];
    if (size == 1) size = 65536;
    if (size < 512 || size > 65536 || (size & (size - 1)) != 0) return 0;
    return size;
}

void set_wal_mode_bytes(std::string& page1) noexcept {
    if (page1.size() >= 20) {
        page1[18] = 2;
        page1[19] = 2;
    }
}

frame_stream::frame_stream(std::uint32_t page_size, chain_state chain, std::uint64_t next_frame)
    : page_size_(page_size), chain_(std::move(chain)), next_frame_(next_frame) {
    if (page_size_ < 512 || page_size_ > 65536 || (page_size_ & (page_size_ - 1)) != 0)
        bad("invalid page size " + std::to_string(page_size_));
}

void frame_stream::feed(std::string_view body, std::uint64_t max_frames) {
    const std::size_t fs = frame_size();
    if (body.size() % fs != 0)
        bad("the /sync body (" + std::to_string(body.size()) + " bytes) is not a whole number of " + std::to_string(fs) +
            "-byte frames (24-byte header + " + std::to_string(page_size_) + "-byte page)");
    const std::size_t count = body.size() / fs;
    if (count > max_frames)
        bad("the primary sent " + std::to_string(count) + " frames where at most " + std::to_string(max_frames) +
            " were asked for");
    const auto* p = reinterpret_cast<const unsigned char*>(body.data());
    for (std::size_t i = 0; i < count; ++i) accept(p + i * fs);
}

void frame_stream::accept(const unsigned char* frame) {
    const frame_header h = parse_frame_header(frame);
    const std::string where = "frame " + std::to_string(next_frame_) + ": ";
    if (h.page_number == 0 || h.page_number > max_page_number)
        bad(where + "invalid page number " + std::to_string(h.page_number));
    if (h.db_size_after_commit > max_page_number)
        bad(where + "invalid database size " + std::to_string(h.db_size_after_commit));
    // Salts: every frame of one generation (one WAL) carries the WAL header's salts.
    if (chain_.salt1) {
        if (h.salt1 != *chain_.salt1 || h.salt2 != *chain_.salt2)
            bad(where + "salts differ from the earlier frames of this generation");
    } else {
        chain_.salt1 = h.salt1;
        chain_.salt2 = h.salt2;
    }
    // Checksum: each frame's checksum continues the previous frame's over its first 8 header bytes and its page.
    // The first frame of a generation continues the WAL header's checksum, which we never see: it is not checkable.
    // The byte order (the WAL header's magic) is found on the first checkable frame: only the right order
    // reproduces a 64-bit checksum (a wrong one matches with probability 2^-64), and it is kept from then on.
    const unsigned char* page = frame + frame_header_size;
    if (chain_.checksum1) {
        auto check = [&](checksum_order o) {
            std::uint32_t s1 = *chain_.checksum1, s2 = *chain_.checksum2;
            wal_checksum(o, frame, 8, s1, s2);
            wal_checksum(o, page, page_size_, s1, s2);
            return s1 == h.checksum1 && s2 == h.checksum2;
        };
        if (chain_.order != checksum_order::unknown) {
            if (!check(chain_.order)) bad(where + "checksum mismatch");
        } else if (check(checksum_order::little)) {
            chain_.order = checksum_order::little;
        } else if (check(checksum_order::big)) {
            chain_.order = checksum_order::big;
        } else {
            bad(where + "checksum mismatch (in either byte order)");
        }
    }
    chain_.checksum1 = h.checksum1;
    chain_.checksum2 = h.checksum2;

    std::string data(reinterpret_cast<const char*>(page), page_size_);
    if (h.page_number == 1) {
        if (page_size_of_header(data) != page_size_)
            bad(where + "page 1 does not hold a SQLite header with this database's page size");
        set_wal_mode_bytes(data);
    }
    open_[h.page_number] = std::move(data);
    ++open_frames_;
    ++next_frame_;

    if (h.db_size_after_commit != 0) {
        for (auto& [pgno, bytes] : open_) ready_.pages[pgno] = std::move(bytes);
        open_.clear();
        // Pages past the new end are gone (a shrink); a later growth rewrites every page it adds.
        ready_.pages.erase(ready_.pages.upper_bound(h.db_size_after_commit), ready_.pages.end());
        ready_.db_size = h.db_size_after_commit;
        ready_.commit_frame = next_frame_ - 1;
        ready_.frames += open_frames_;
        ready_.chain = chain_;
        open_frames_ = 0;
    }
}

ready_set frame_stream::take_ready() {
    ready_set out = std::move(ready_);
    ready_ = ready_set{};
    return out;
}

std::uint64_t page_hash(std::string_view page) noexcept {
    // FNV-1a over 8-byte words with a final avalanche: not cryptographic, only "did this page change".
    std::uint64_t h = 0xcbf29ce484222325ULL ^ page.size();
    const auto* p = reinterpret_cast<const unsigned char*>(page.data());
    std::size_t i = 0;
    for (; i + 8 <= page.size(); i += 8) {
        std::uint64_t w;
        std::memcpy(&w, p + i, 8);
        h = (h ^ w) * 0x100000001b3ULL;
        h ^= h >> 29;
    }
    for (; i < page.size(); ++i) h = (h ^ p[i]) * 0x100000001b3ULL;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

} // namespace libsql::detail::replica
