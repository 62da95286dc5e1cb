// The legacy Turso sync protocol served from the server's WAL. See replication.hpp for the model and
// docs/SERVER.md for the policy; the libsql engine's client (libsql/src/sync.rs, 0.9.x) decides the details:
//  - a 400 (or 500) answer to /sync is read as JSON and its "generation" is taken as the server's CURRENT generation:
//    when it is greater than the generation asked for, the engine checkpoints locally and continues at frame 1 of
//    the next generation; when it is equal, the pull is over. So "generation" is always the current generation and
//    "max_frame_no" is the last frame of the generation that was asked for.
//  - a 200 answer must carry at least one whole frame (24 + 4096 bytes for the engine).
//  - any other status is an error for the engine (it never skips frames silently).
#include "server/replication.hpp"

#include "libsql/error.hpp"

#include <boost/json.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <tuple>
#include <utility>
#include <vector>

namespace libsql::server {

namespace {

constexpr std::uint32_t wal_magic_le = 0x377f0682;
constexpr std::uint32_t wal_magic_be = 0x377f0683;
constexpr std::uint32_t wal_version = 3007000;
constexpr std::size_t max_remembered_generations = 1000;
constexpr std::uint64_t frames_per_read = 256;

std::uint32_t get_be32(const char* p) noexcept {
    const auto* u = reinterpret_cast<const unsigned char*>(p);
    return (std::uint32_t{u[0]} << 24) | (std::uint32_t{u[1]} << 16) | (std::uint32_t{u[2]} << 8) | std::uint32_t{u[3]};
}

std::uint32_t get_le32(const char* p) noexcept {
    const auto* u = reinterpret_cast<const unsigned char*>(p);
    return (std::uint32_t{u[3]} << 24) | (std::uint32_t{u[2]} << 16) | (std::uint32_t{u[1]} << 8) | std::uint32_t{u[0]};
}

/// A file descriptor, closed on scope exit.
class fd_guard {
public:
    explicit fd_guard(int fd) noexcept : fd_(fd) {}
    ~fd_guard() {
        if (fd_ >= 0) ::close(fd_);
    }
    fd_guard(const fd_guard&) = delete;
    fd_guard& operator=(const fd_guard&) = delete;
    [[nodiscard]] int get() const noexcept { return fd_; }

private:
    int fd_;
};

[[noreturn]] void fail_io(const std::string& what, const std::string& path, int err) {
    throw libsql::io_error(what + " " + path + ": " + std::strerror(err));
}

/// Reads exactly length bytes at offset (appending to out); false when the file ends first.
bool pread_all(int fd, std::uint64_t offset, std::uint64_t length, std::string& out, const std::string& path) {
    const std::size_t base = out.size();
    out.resize(base + length);
    std::uint64_t done = 0;
    while (done < length) {
        const ssize_t n = ::pread(fd, out.data() + base + done, length - done, static_cast<off_t>(offset + done));
        if (n < 0) {
            if (errno == EINTR) continue;
            const int err = errno;
            out.resize(base);
            fail_io("cannot read", path, err);
        }
        if (n == 0) {
            out.resize(base);
            return false;
        }
        done += static_cast<std::uint64_t>(n);
    }
    return true;
}

void write_all(int fd, std::string_view data, const std::string& path) {
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            fail_io("cannot write", path, errno);
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
}

void fsync_dir_of(const std::string& path) noexcept {
    auto dir = std::filesystem::path(path).parent_path();
    if (dir.empty()) dir = ".";
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)::fsync(fd);
        ::close(fd);
    }
}

/// Writes a file atomically: a temporary beside it, fsync, rename, fsync of the directory.
void write_atomically(const std::string& path, const std::function<void(int fd, const std::string& tmp)>& fill) {
    const std::string tmp = path + ".tmp";
    const int raw = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (raw < 0) fail_io("cannot create", tmp, errno);
    {
        fd_guard fd(raw);
        fill(fd.get(), tmp);
        if (::fsync(fd.get()) != 0) fail_io("cannot fsync", tmp, errno);
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) fail_io("cannot rename to", path, errno);
    fsync_dir_of(path);
}

/// A flat JSON object built by hand (the values here are numbers, booleans and plain ASCII messages).
class json_out {
public:
    json_out& num(std::string_view key, std::uint64_t v) { return raw(key, std::to_string(v)); }
    json_out& boolean(std::string_view key, bool v) { return raw(key, v ? "true" : "false"); }
    json_out& str(std::string_view key, std::string_view v) {
        std::string quoted = "\"";
        for (const char c : v) {
            if (c == '"' || c == '\\') quoted += '\\';
            if (static_cast<unsigned char>(c) >= 0x20) quoted += c;
        }
        quoted += '"';
        return raw(key, quoted);
    }
    json_out& raw(std::string_view key, std::string_view json) {
        text_ += text_.empty() ? "{\"" : ",\"";
        text_ += key;
        text_ += "\":";
        text_ += json;
        return *this;
    }
    [[nodiscard]] std::string done() const { return text_.empty() ? "{}" : text_ + "}"; }

private:
    std::string text_;
};

http_reply json_reply(int status, const json_out& body) { return {status, "application/json", body.done()}; }

http_reply checkpoint_needed(std::uint64_t current_generation, std::uint64_t max_frame_no) {
    return json_reply(400, json_out{}.str("status", "checkpoint_needed").num("generation", current_generation).num("max_frame_no", max_frame_no));
}

} // namespace

// ---------------------------------------------------------------------------------------------------- WAL format
std::optional<wal_header> parse_wal_header(std::string_view b) noexcept {
    if (b.size() < wal_header_bytes) return std::nullopt;
    wal_header h;
    h.magic = get_be32(b.data());
    h.version = get_be32(b.data() + 4);
    h.page_size = get_be32(b.data() + 8);
    h.checkpoint_seq = get_be32(b.data() + 12);
    h.salt1 = get_be32(b.data() + 16);
    h.salt2 = get_be32(b.data() + 20);
    h.cksum1 = get_be32(b.data() + 24);
    h.cksum2 = get_be32(b.data() + 28);
    if (h.magic != wal_magic_le && h.magic != wal_magic_be) return std::nullopt;
    if (h.version != wal_version) return std::nullopt;
    if (h.page_size < 512 || h.page_size > 65536 || (h.page_size & (h.page_size - 1)) != 0) return std::nullopt;
    std::uint32_t s1 = 0;
    std::uint32_t s2 = 0;
    wal_checksum(b.substr(0, 24), h.big_endian_checksums(), s1, s2);
    if (s1 != h.cksum1 || s2 != h.cksum2) return std::nullopt;
    return h;
}

void wal_checksum(std::string_view data, bool big_endian, std::uint32_t& s1, std::uint32_t& s2) noexcept {
    const char* p = data.data();
    const char* end = p + (data.size() & ~std::size_t{7});
    if (big_endian) {
        for (; p < end; p += 8) {
            s1 += get_be32(p) + s2;
            s2 += get_be32(p + 4) + s1;
        }
    } else {
        for (; p < end; p += 8) {
            s1 += get_le32(p) + s2;
            s2 += get_le32(p + 4) + s1;
        }
    }
}

void read_file_range(const std::string& path, std::uint64_t offset, std::uint64_t length, std::string& out) {
    const int raw = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (raw < 0) fail_io("cannot open", path, errno);
    fd_guard fd(raw);
    if (!pread_all(fd.get(), offset, length, out, path)) throw libsql::io_error("short read from " + path);
}

wal_index::wal_index(std::string wal_path) : path_(std::move(wal_path)) {}

void wal_index::reset() noexcept {
    header_.reset();
    committed_ = 0;
    s1_ = 0;
    s2_ = 0;
}

std::uint64_t wal_index::frame_size() const noexcept {
    return header_ ? wal_frame_header_bytes + header_->page_size : 0;
}

std::uint64_t wal_index::refresh() {
    const int raw = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (raw < 0) {
        if (errno != ENOENT) fail_io("cannot open", path_, errno);
        if (committed_ > 0) throw libsql::corrupt("the WAL file " + path_ + " vanished under indexed frames");
        reset();
        return 0;
    }
    fd_guard fd(raw);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) fail_io("cannot stat", path_, errno);
    const auto size = static_cast<std::uint64_t>(st.st_size);

    std::string head;
    const bool have_head = size >= wal_header_bytes && pread_all(fd.get(), 0, wal_header_bytes, head, path_);
    const auto h = have_head ? parse_wal_header(head) : std::nullopt;
    const bool same = h && header_ && h->magic == header_->magic && h->page_size == header_->page_size &&
                      h->salt1 == header_->salt1 && h->salt2 == header_->salt2;
    if (!same) {
        if (committed_ > 0)
            throw libsql::corrupt("the WAL file " + path_ + " was reset under indexed frames (another process checkpointed it?)");
        reset();
        if (!h) return 0;
        header_ = h;
        s1_ = h->cksum1;
        s2_ = h->cksum2;
    }

    const std::uint64_t fs = frame_size();
    const bool be = header_->big_endian_checksums();
    std::uint32_t s1 = s1_;
    std::uint32_t s2 = s2_;
    std::uint64_t frame = committed_;
    std::uint64_t offset = wal_header_bytes + committed_ * fs;
    std::string buf;
    while (offset + fs <= size) {
        const std::uint64_t count = std::min(frames_per_read, (size - offset) / fs);
        buf.clear();
        if (!pread_all(fd.get(), offset, count * fs, buf, path_)) break;  // shrank meanwhile: stop at what is valid
        for (std::uint64_t i = 0; i < count; ++i) {
            const char* f = buf.data() + i * fs;
            const std::uint32_t pgno = get_be32(f);
            const std::uint32_t db_size = get_be32(f + 4);
            if (pgno == 0 || get_be32(f + 8) != header_->salt1 || get_be32(f + 12) != header_->salt2) return committed_;
            wal_checksum(std::string_view(f, 8), be, s1, s2);
            wal_checksum(std::string_view(f + wal_frame_header_bytes, fs - wal_frame_header_bytes), be, s1, s2);
            if (s1 != get_be32(f + 16) || s2 != get_be32(f + 20)) return committed_;
            ++frame;
            if (db_size != 0) {
                committed_ = frame;
                s1_ = s1;
                s2_ = s2;
            }
        }
        offset += count * fs;
    }
    return committed_;
}

// ---------------------------------------------------------------------------------------------------- the log
replication_log::replication_log(replication_options options)
    : opts_(std::move(options)), state_path_(opts_.db_path + "-libsql-generation"), index_(opts_.db_path + "-wal") {
    namespace json = boost::json;
    std::uint64_t previous = 0;
    std::error_code ec;
    if (std::filesystem::exists(state_path_, ec)) {
        std::string text;
        const auto size = std::filesystem::file_size(state_path_, ec);
        if (ec) fail_io("cannot stat", state_path_, ec.value());
        read_file_range(state_path_, 0, size, text);
        try {
            const json::value doc = json::parse(text);
            const json::object& o = doc.as_object();
            previous = o.at("generation").to_number<std::uint64_t>();
            for (const auto& v : o.at("ended").as_array()) {
                const json::object& e = v.as_object();
                ended_generation g;
                g.max_frame_no = e.at("max_frame_no").to_number<std::uint64_t>();
                if (const auto* s1 = e.if_contains("salt1")) g.salts = std::pair{s1->to_number<std::uint32_t>(), e.at("salt2").to_number<std::uint32_t>()};
                if (const auto* a = e.if_contains("archived")) g.archived = a->as_bool();
                ended_[e.at("generation").to_number<std::uint64_t>()] = g;
            }
        } catch (const std::exception& e) {
            throw libsql::error("the replication state file " + state_path_ + " is unreadable (" + e.what() +
                                "); remove it to start over from generation 1 (existing replicas must then be rebuilt)");
        }
    }

    // Whatever the WAL still holds was written by the previous run. If its generation never recorded its end (a
    // crash), the frames up to the last valid commit are that generation's final frames: exactly what SQLite's
    // recovery will keep. A WAL whose salts are those of an ended generation belongs to it (a crash during a
    // checkpoint, after the state was written): the generation after it then ended empty.
    index_.refresh();
    if (previous > 0 && ended_.count(previous) == 0) {
        const auto& h = index_.header();
        const bool belongs_to_ended = h && std::any_of(ended_.begin(), ended_.end(), [&](const auto& kv) {
            return kv.second.salts && kv.second.salts->first == h->salt1 && kv.second.salts->second == h->salt2;
        });
        generation_ = previous;
        if (belongs_to_ended) {
            ended_[previous] = ended_generation{};
        } else {
            end_current_locked();
        }
        say("generation " + std::to_string(previous) + " (interrupted) ended at frame " +
            std::to_string(ended_[previous].max_frame_no));
    }
    generation_ = previous + 1;
    prune_archives_locked();
    write_state();
    index_.reset();
}

replication_log::~replication_log() = default;

void replication_log::say(const std::string& message) const {
    if (opts_.log) opts_.log(message);
}

std::string replication_log::archive_path(std::uint64_t generation) const {
    return opts_.db_path + "-libsql-wal-" + std::to_string(generation);
}

void replication_log::started() {
    std::lock_guard lk(index_m_);
    index_.reset();
    say("replication: generation " + std::to_string(generation_) + " begins");
}

void replication_log::set_page_decryptor(std::uint32_t page_size, page_decryptor decrypt) {
    std::lock_guard lk(plain_m_);
    page_size_ = page_size;
    decrypt_ = std::move(decrypt);
}

void replication_log::decrypt_frames(std::uint64_t g, const std::string& path, std::uint64_t start, std::string& body) {
    std::string head;
    read_file_range(path, 0, wal_header_bytes, head);
    const auto h = parse_wal_header(head);
    if (!h) throw libsql::corrupt("the WAL " + path + " has no valid header");
    if (h->page_size != page_size_)
        throw libsql::corrupt("the WAL " + path + " has pages of " + std::to_string(h->page_size) + " bytes, the database " +
                              std::to_string(page_size_));
    const std::uint64_t fs = wal_frame_header_bytes + h->page_size;
    const bool be = h->big_endian_checksums();
    std::lock_guard lk(plain_m_);
    auto& sums = plain_sums_[g];
    // The chain after frame f over the plaintext: frame 1 continues the header's checksum (the header is not
    // encrypted), each later frame the one before.
    auto chain = [&](const char* frame, char* page, std::uint64_t f) {
        std::uint32_t s1 = h->cksum1, s2 = h->cksum2;
        if (f > 1) std::tie(s1, s2) = sums[f - 2];
        const auto pgno = static_cast<std::uint32_t>((static_cast<unsigned char>(frame[0]) << 24) |
                                                     (static_cast<unsigned char>(frame[1]) << 16) |
                                                     (static_cast<unsigned char>(frame[2]) << 8) |
                                                     static_cast<unsigned char>(frame[3]));
        decrypt_(pgno, page);
        wal_checksum(std::string_view(frame, 8), be, s1, s2);
        wal_checksum(std::string_view(page, h->page_size), be, s1, s2);
        if (sums.size() == f - 1) sums.emplace_back(s1, s2);
        return std::pair{s1, s2};
    };
    std::string buf;
    while (sums.size() + 1 < start) {
        const std::uint64_t f = sums.size() + 1;
        const std::uint64_t count = std::min<std::uint64_t>(frames_per_read, start - f);
        buf.clear();
        read_file_range(path, wal_header_bytes + (f - 1) * fs, count * fs, buf);
        for (std::uint64_t k = 0; k < count; ++k) (void)chain(buf.data() + k * fs, buf.data() + k * fs + wal_frame_header_bytes, f + k);
    }
    const std::uint64_t n = body.size() / fs;
    for (std::uint64_t k = 0; k < n; ++k) {
        char* frame = body.data() + k * fs;
        const auto [s1, s2] = chain(frame, frame + wal_frame_header_bytes, start + k);
        for (int i = 0; i < 4; ++i) {
            frame[16 + i] = static_cast<char>((s1 >> (24 - 8 * i)) & 0xff);
            frame[20 + i] = static_cast<char>((s2 >> (24 - 8 * i)) & 0xff);
        }
    }
}

std::uint64_t replication_log::generation() const {
    std::lock_guard lk(index_m_);
    return generation_;
}

std::uint64_t replication_log::committed_frames() {
    std::lock_guard lk(index_m_);
    if (closed_) return index_.committed_frames();
    return index_.refresh();
}

void replication_log::write_state() const {
    std::string ended = "[";
    for (const auto& [g, e] : ended_) {
        json_out o;
        o.num("generation", g).num("max_frame_no", e.max_frame_no).boolean("archived", e.archived);
        if (e.salts) o.num("salt1", e.salts->first).num("salt2", e.salts->second);
        if (ended.size() > 1) ended += ',';
        ended += o.done();
    }
    ended += ']';
    const std::string text = json_out{}.num("format", 1).num("generation", generation_).raw("ended", ended).done() + "\n";
    write_atomically(state_path_, [&](int fd, const std::string& tmp) { write_all(fd, text, tmp); });
}

/// Records the current generation's final frame and keeps its committed frames in an archive.
void replication_log::end_current_locked() {
    const std::uint64_t n = index_.refresh();
    ended_generation e;
    e.max_frame_no = n;
    if (const auto& h = index_.header()) e.salts = std::pair{h->salt1, h->salt2};
    if (n > 0) {
        const std::uint64_t total = wal_header_bytes + n * index_.frame_size();
        write_atomically(archive_path(generation_), [&](int fd, const std::string& tmp) {
            constexpr std::uint64_t chunk = 4 * 1024 * 1024;
            std::string buf;
            for (std::uint64_t at = 0; at < total; at += chunk) {
                buf.clear();
                read_file_range(index_.path(), at, std::min(chunk, total - at), buf);
                write_all(fd, buf, tmp);
            }
        });
        e.archived = true;
    }
    ended_[generation_] = e;
}

void replication_log::prune_archives_locked() {
    std::size_t kept = 0;
    for (auto it = ended_.rbegin(); it != ended_.rend(); ++it) {
        if (!it->second.archived) continue;
        if (kept < opts_.kept_archives) {
            ++kept;
            continue;
        }
        std::error_code ec;
        std::filesystem::remove(archive_path(it->first), ec);
        it->second.archived = false;
    }
    while (ended_.size() > max_remembered_generations) {
        if (ended_.begin()->second.archived) {
            std::error_code ec;
            std::filesystem::remove(archive_path(ended_.begin()->first), ec);
        }
        ended_.erase(ended_.begin());
    }
}

http_reply replication_log::info() const {
    return json_reply(200, json_out{}.num("current_generation", generation()));
}

http_reply replication_log::export_db(std::uint64_t generation) {
    std::shared_lock files(files_m_);
    {
        std::lock_guard lk(index_m_);
        if (closed_) return json_reply(503, json_out{}.str("error", "the server is shutting down"));
        if (generation != generation_)
            return json_reply(404, json_out{}
                                       .str("status", "generation_not_found")
                                       .str("error", "only the current generation can be exported; ask /info")
                                       .num("generation", generation_));
    }
    // No checkpoint runs while files_m_ is held, and only checkpoints write the database file: it is the
    // generation's starting image.
    http_reply r{200, "application/octet-stream", {}};
    std::error_code ec;
    const auto size = std::filesystem::file_size(opts_.db_path, ec);
    if (ec) fail_io("cannot stat", opts_.db_path, ec.value());
    read_file_range(opts_.db_path, 0, size, r.body);
    std::lock_guard lk(plain_m_);
    if (decrypt_) {
        if (page_size_ == 0 || r.body.size() % page_size_ != 0)
            throw libsql::corrupt(opts_.db_path + " is not a whole number of " + std::to_string(page_size_) + "-byte pages");
        for (std::size_t i = 0; i < r.body.size() / page_size_; ++i)
            decrypt_(static_cast<std::uint32_t>(i + 1), r.body.data() + i * page_size_);
    }
    return r;
}

http_reply replication_log::frames(std::uint64_t generation, std::uint64_t start, std::uint64_t end) {
    if (start == 0 || end <= start)
        return json_reply(400, json_out{}.str("error", "expected /sync/{generation}/{start}/{end} with 1 <= start < end"));
    std::shared_lock files(files_m_);
    std::string path;
    std::uint64_t last = 0;   // the last frame that may be served
    std::uint64_t frame_size = 0;
    {
        std::lock_guard lk(index_m_);
        if (closed_) return json_reply(503, json_out{}.str("error", "the server is shutting down"));
        if (generation == generation_) {
            last = index_.refresh();
            if (start > last) return checkpoint_needed(generation_, last);
            path = index_.path();
            frame_size = index_.frame_size();
        } else {
            const auto it = generation < generation_ ? ended_.find(generation) : ended_.end();
            if (it == ended_.end())
                return json_reply(404, json_out{}
                                           .str("status", "generation_not_found")
                                           .str("error", "unknown generation " + std::to_string(generation) +
                                                             "; bootstrap again from /export/" + std::to_string(generation_))
                                           .num("generation", generation_));
            last = it->second.max_frame_no;
            if (start > last) return checkpoint_needed(generation_, last);
            if (!it->second.archived)
                return json_reply(410, json_out{}
                                           .str("status", "generation_gone")
                                           .str("error", "the frames of generation " + std::to_string(generation) +
                                                             " are no longer kept; bootstrap again from /export/" +
                                                             std::to_string(generation_))
                                           .num("generation", generation_)
                                           .num("max_frame_no", last));
            path = archive_path(generation);
        }
    }
    if (frame_size == 0) {
        std::string head;
        read_file_range(path, 0, wal_header_bytes, head);
        const auto h = parse_wal_header(head);
        if (!h) throw libsql::corrupt("the archive " + path + " has no valid WAL header");
        frame_size = wal_frame_header_bytes + h->page_size;
    }
    const std::uint64_t stop = std::min({end, last + 1, start + opts_.max_frames_per_request});
    http_reply r{200, "application/octet-stream", {}};
    read_file_range(path, wal_header_bytes + (start - 1) * frame_size, (stop - start) * frame_size, r.body);
    bool encrypted = false;
    {
        std::lock_guard lk(plain_m_);
        encrypted = static_cast<bool>(decrypt_);
    }
    if (encrypted) decrypt_frames(generation, path, start, r.body);
    return r;
}

bool replication_log::checkpoint_due() {
    std::lock_guard lk(index_m_);
    if (closed_) return false;
    return index_.refresh() >= std::max<std::uint64_t>(1, opts_.checkpoint_frames);
}

bool replication_log::checkpoint(const std::function<bool()>& truncate) {
    std::unique_lock files(files_m_);
    std::lock_guard lk(index_m_);
    if (closed_) return false;
    if (index_.refresh() == 0) return false;  // nothing committed: nothing to end
    const auto saved = ended_;
    const std::uint64_t g = generation_;
    // Archive and record the end BEFORE the checkpoint: after a crash at any point the state file never claims
    // less than what was served.
    end_current_locked();
    generation_ = g + 1;
    write_state();
    bool ok = false;
    std::string why;
    try {
        ok = truncate();
        if (!ok) why = "the WAL could not be emptied (a reader outside this server?)";
    } catch (const std::exception& e) {
        why = e.what();
    }
    if (!ok) {
        std::error_code ec;
        std::filesystem::remove(archive_path(g), ec);
        ended_ = saved;
        generation_ = g;
        write_state();
        say("replication: checkpoint failed, generation " + std::to_string(g) + " goes on: " + why);
        return false;
    }
    const std::uint64_t n = ended_[g].max_frame_no;
    index_.reset();
    prune_archives_locked();
    {
        std::lock_guard plk(plain_m_);
        std::erase_if(plain_sums_, [&](const auto& e) {
            const auto it = ended_.find(e.first);
            return e.first != generation_ && (it == ended_.end() || !it->second.archived);
        });
    }
    write_state();
    say("replication: generation " + std::to_string(g) + " ended at frame " + std::to_string(n) + "; generation " +
        std::to_string(generation_) + " begins");
    return true;
}

void replication_log::close() {
    std::unique_lock files(files_m_);
    std::lock_guard lk(index_m_);
    if (closed_) return;
    closed_ = true;
    try {
        end_current_locked();
        prune_archives_locked();
        write_state();
        say("replication: generation " + std::to_string(generation_) + " ended at frame " +
            std::to_string(ended_[generation_].max_frame_no) + " (server stopping)");
    } catch (const std::exception& e) {
        // The next start treats the WAL as an interrupted generation's: nothing served is lost.
        say(std::string("replication: cannot record the end of the generation: ") + e.what());
    }
}

} // namespace libsql::server
