#include "replica/replica.hpp"

#include "local/local.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fcntl.h>
#include <thread>
#include <unistd.h>

namespace libsql::detail {

namespace replica {

namespace {

error_info replica_info() { return error_info{0, {}, {}, transport::replica, {}}; }

bool file_missing_or_empty(const std::string& path) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    return ec || size == 0;
}

void remove_quietly(const std::string& path) {
    std::error_code ec;
    std::filesystem::remove(path, ec);
}

/// Reads `n` bytes at `offset` of an open file.
void read_exact(int fd, std::string& out, std::size_t n, std::uint64_t offset, const std::string& path) {
    out.resize(n);
    std::size_t done = 0;
    while (done < n) {
        const auto r = ::pread(fd, out.data() + done, n - done, static_cast<off_t>(offset + done));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) throw io_error("cannot read '" + path + "'", replica_info());
        done += static_cast<std::size_t>(r);
    }
}

class fd_guard {
public:
    explicit fd_guard(int fd) noexcept : fd_(fd) {}
    ~fd_guard() { if (fd_ >= 0) ::close(fd_); }
    fd_guard(const fd_guard&) = delete;
    fd_guard& operator=(const fd_guard&) = delete;
    [[nodiscard]] int get() const noexcept { return fd_; }
private:
    int fd_;
};

/// The page size an exported image declares, checked against its length.
std::uint32_t export_page_size(int fd, std::uint64_t size, const std::string& path) {
    std::string head;
    read_exact(fd, head, 100, 0, path);
    const auto ps = page_size_of_header(head);
    if (ps == 0) throw protocol_error("replica bootstrap: the exported database has no valid SQLite header", replica_info());
    if (size % ps != 0)
        throw protocol_error("replica bootstrap: the exported database (" + std::to_string(size) +
                                 " bytes) is not a whole number of " + std::to_string(ps) + "-byte pages",
                             replica_info());
    return ps;
}

/// GET /export of the current generation; a checkpoint on the primary between /info and /export (404 for a
/// generation that just ended) is followed by asking /info again.
std::uint64_t export_current(sync_client& c, std::uint64_t& generation, const std::string& file) {
    for (int attempt = 0;; ++attempt) {
        try {
            return c.export_to(generation, file);
        } catch (const protocol_error&) {
            if (attempt >= 2) throw;
            const auto now = c.info();
            if (now == generation) throw;
            generation = now;
        }
    }
}

} // namespace

replica_core::replica_core(std::string path, connect_options options)
    : path_(std::move(path)), meta_path_(metadata_path(path_)), options_(std::move(options)) {
    local_options_ = options_;
    local_options_.sync_url.clear();
    local_options_.sync_interval.reset();
    local_options_.url.clear();
    if (local_options_.mode == open_mode::read_write_create) local_options_.mode = open_mode::read_write;
    open();
}

replica_core::~replica_core() = default;

sync_client& replica_core::client() {
    return *client_;  // made in open(), before anything else runs
}

void replica_core::open() {
    if (path_.empty() || path_ == ":memory:" || path_.starts_with("file:"))
        throw usage_error("an embedded replica needs a plain file path (not ':memory:' or a file: URI)");
    std::lock_guard lk(mu_);
    client_ = std::make_unique<sync_client>(options_.sync_url, options_);  // never replaced: cancel_background reads it
    auto meta = read_metadata(meta_path_);
    if (file_missing_or_empty(path_)) {
        if (options_.mode != open_mode::read_write_create)
            throw cant_open("replica '" + path_ + "' does not exist (open_mode forbids creating it)", replica_info());
        bootstrap_new_file();
    } else if (!meta) {
        throw usage_error("'" + path_ + "' exists but is not an embedded replica (no '" + meta_path_ +
                          "'): remove it to bootstrap a replica there, or open it without sync_url");
    } else {
        meta_ = std::move(*meta);
    }
    open_apply_connection();
    resolve_pending();
    if (meta_.sync_url != options_.sync_url) {
        // The same primary may be reached under another address; the lineage is checked by generations and
        // checksums, not by the URL.
        meta_.sync_url = options_.sync_url;
        write_meta();
    }
    index_.store(meta_.frame);
}

void replica_core::bootstrap_new_file() {
    auto& c = client();
    auto generation = c.info();
    const std::string tmp = path_ + ".libsql-bootstrap";
    struct remove_tmp {
        const std::string& p;
        ~remove_tmp() { remove_quietly(p); }  // after the rename there is nothing left to remove
    } cleanup{tmp};
    const auto size = export_current(c, generation, tmp);
    std::uint32_t page_size = 0;
    if (size > 0) {
        const int raw = ::open(tmp.c_str(), O_RDWR | O_CLOEXEC);
        if (raw < 0) throw io_error("cannot open '" + tmp + "': " + std::strerror(errno), replica_info());
        fd_guard fd(raw);
        page_size = export_page_size(fd.get(), size, tmp);
        // The replica runs in WAL mode: file format bytes 18 and 19 = 2.
        const unsigned char wal[2] = {2, 2};
        if (::pwrite(fd.get(), wal, 2, 18) != 2 || ::fsync(fd.get()) != 0)
            throw io_error("cannot write '" + tmp + "'", replica_info());
    }
    meta_ = metadata{};
    meta_.generation = generation;
    meta_.page_size = page_size;
    meta_.sync_url = options_.sync_url;
    write_metadata(meta_path_, meta_);
    for (const char* suffix : {"-wal", "-shm", "-journal"}) remove_quietly(path_ + suffix);
    if (!options_.encryption_key.empty()) {
        // Encrypted at rest: the exported (plain) pages go into a new encrypted file through the pager, never by
        // renaming the export into place.
        bootstrap_encrypted(tmp, size, page_size);
        return;
    }
    if (std::rename(tmp.c_str(), path_.c_str()) != 0)
        throw io_error("cannot move the bootstrapped database to '" + path_ + "': " + std::strerror(errno), replica_info());
    fsync_parent_dir(path_);
}

void replica_core::bootstrap_encrypted(const std::string& export_file, std::uint64_t size, std::uint32_t page_size) {
    remove_quietly(path_);
    connect_options o = local_options_;
    o.mode = open_mode::read_write_create;
    auto conn = std::make_shared<local_connection>(path_, o);
    const auto here = libsql::source_location::current();
    if (page_size != 0) conn->execute_batch("PRAGMA page_size = " + std::to_string(page_size), here);
    // user_version writes page 1, so that the cipher's page layout can be compared below.
    conn->execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA user_version = 0", here);
    if (size == 0) return;
    const int raw = ::open(export_file.c_str(), O_RDONLY | O_CLOEXEC);
    if (raw < 0) throw io_error("cannot open '" + export_file + "': " + std::strerror(errno), replica_info());
    fd_guard fd(raw);
    std::map<std::uint32_t, std::string> pages;
    const auto db_size = static_cast<std::uint32_t>(size / page_size);
    std::string page;
    for (std::uint32_t pgno = 1; pgno <= db_size; ++pgno) {
        read_exact(fd.get(), page, page_size, std::uint64_t{pgno - 1} * page_size, export_file);
        if (pgno == 1) {
            set_wal_mode_bytes(page);
            // The primary's pages keep room for its cipher's per-page data (header byte 20); ours must fit it.
            const auto own = read_page(*conn, 1);
            if (own.size() > 20 && own[20] != page[20])
                throw unsupported("replica bootstrap: the primary's pages reserve " +
                                      std::to_string(static_cast<unsigned char>(page[20])) + " bytes each, the cipher '" +
                                      std::string(to_string(options_.cipher)) + "' needs " +
                                      std::to_string(static_cast<unsigned char>(own[20])) +
                                      ": use a cipher with the same page layout as the primary's (e.g. aes256cbc for both)",
                                  replica_info());
        }
        pages.emplace(pgno, page);
    }
    apply_pages(*conn, pages, db_size);
}

void replica_core::open_apply_connection() {
    connect_options o = local_options_;
    o.mode = open_mode::read_write;
    apply_ = std::make_shared<local_connection>(path_, o);
    apply_->execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL", libsql::source_location::current());
    auto st = apply_->prepare("PRAGMA page_size", libsql::source_location::current(), true);
    if (st->step()) {
        const auto ps = static_cast<std::uint32_t>(st->column(0).as_integer());
        if (meta_.page_size != 0 && meta_.page_size != ps)
            throw corrupt("replica '" + path_ + "': its page size (" + std::to_string(ps) +
                              ") differs from the one its metadata records (" + std::to_string(meta_.page_size) + ")",
                          replica_info());
        meta_.page_size = ps;
    }
}

void replica_core::resolve_pending() {
    if (!meta_.pending) return;
    const auto p = std::move(*meta_.pending);
    meta_.pending.reset();
    // The local transaction either committed entirely or not at all: the pages tell which.
    if (pending_was_applied(*apply_, p)) {
        meta_.generation = p.generation;
        meta_.frame = p.frame;
        meta_.chain = p.chain;
    }
    write_meta();
}

void replica_core::write_meta() {
    write_metadata(meta_path_, meta_);
    meta_dirty_ = false;
}

void replica_core::check_cancel(bool background) const {
    if (background && cancel_.load())
        throw interrupted("replica sync: stopped (the database is closing)", replica_info());
}

std::optional<std::uint64_t> replica_core::replication_index() const noexcept {
    const auto i = index_.load();
    return i == 0 ? std::nullopt : std::optional<std::uint64_t>(i);
}

sync_result replica_core::sync(bool background) {
    if (frozen()) throw usage_error("sync(): this replica was frozen (it is a plain local database now)");
    std::unique_lock lk(mu_);
    if (frozen()) throw usage_error("sync(): this replica was frozen (it is a plain local database now)");
    if (background) {
        if (cancel_.load()) return sync_result{0, meta_.frame};
        background_running_ = true;
    }
    struct clear_flag {
        std::atomic<bool>& f;
        ~clear_flag() { f = false; }
    } guard{background_running_};
    try {
        auto r = sync_locked(background);
        if (background) background_error_ = nullptr;
        return r;
    } catch (...) {
        if (background) background_error_ = std::current_exception();
        // Whatever was applied stays applied; make the metadata say so.
        if (meta_dirty_) {
            try { write_meta(); } catch (...) {}
        }
        throw;
    }
}

sync_result replica_core::sync_locked(bool background) {
    auto& c = client();
    check_cancel(background);
    std::uint64_t server_generation = c.info();
    std::uint64_t frames = 0;
    // Generation after generation up to the server's current one (the server keeps ended generations' frames for a
    // while); a generation that is gone, or a lineage that does not fit, means bootstrapping again. The bound only
    // stops a server that keeps changing generations from holding the sync forever.
    for (int round = 0; round < 64; ++round) {
        check_cancel(background);
        if (meta_.generation > server_generation) {
            rebootstrap(server_generation);  // the primary was replaced or reset: its lineage starts over
            continue;
        }
        bool lost = false;
        std::optional<pull_result> end;
        try {
            end = pull_generation(meta_.generation, background, frames);
        } catch (const protocol_error&) {
            if (meta_.generation == server_generation) throw;
            // An ended generation the server no longer serves (404/410): start over from the current one.
            lost = true;
        }
        // "checkpoint_needed" carries the server's current generation and the last frame of the one asked for.
        if (end) server_generation = std::max(server_generation, end->generation);
        if (end && end->max_frame_no < meta_.frame) lost = true;  // the primary has less than we applied
        if (lost) {
            server_generation = c.info();
            rebootstrap(server_generation);
            continue;
        }
        if (meta_.generation >= server_generation) break;
        if (end && end->max_frame_no == meta_.frame) {
            // All of this generation is here, and the next one starts from its end: continue at its frame 1.
            meta_.generation += 1;
            meta_.frame = 0;
            meta_.chain = chain_state{};
            write_meta();
            index_.store(0);
            continue;
        }
        server_generation = c.info();
        rebootstrap(server_generation);
    }
    if (meta_dirty_) write_meta();
    return sync_result{frames, meta_.frame};
}

std::optional<pull_result> replica_core::pull_generation(std::uint64_t generation, bool background, std::uint64_t& frames) {
    auto& c = client();
    frame_stream stream(meta_.page_size, meta_.chain, meta_.frame + 1);
    for (;;) {
        check_cancel(background);
        const auto start = stream.next_frame();
        auto r = c.pull(generation, start, start + pull_batch);
        if (r.end) return r;  // an unfinished transaction's frames are dropped; the next sync asks again
        if (r.body.empty()) return std::nullopt;
        stream.feed(r.body, pull_batch);
        r.body.clear();
        if (stream.has_ready()) frames += apply_ready(stream.take_ready(), generation);
    }
}

std::uint64_t replica_core::apply_ready(ready_set ready, std::uint64_t generation) {
    pending_apply p;
    p.generation = generation;
    p.frame = ready.commit_frame;
    p.db_size = ready.db_size;
    p.chain = ready.chain;
    p.pages.reserve(ready.pages.size());
    for (const auto& [pgno, data] : ready.pages) p.pages.emplace_back(pgno, page_hash(data));
    apply_with_pending(ready.pages, std::move(p));
    return ready.frames;
}

void replica_core::apply_with_pending(const std::map<std::uint32_t, std::string>& pages, pending_apply p) {
    metadata on_disk = meta_;
    on_disk.pending = p;
    write_metadata(meta_path_, on_disk);
    bool applied = false;
    try {
        apply_pages(*apply_, pages, p.db_size);
        applied = true;
    } catch (...) {
        // A failed COMMIT normally means nothing happened, but check the pages rather than trust it.
        try {
            applied = pending_was_applied(*apply_, p);
        } catch (...) {
        }
        if (applied) {
            meta_.generation = p.generation;
            meta_.frame = p.frame;
            meta_.chain = p.chain;
            index_.store(meta_.frame);
        }
        try { write_meta(); } catch (...) {}
        throw;
    }
    meta_.generation = p.generation;
    meta_.frame = p.frame;
    meta_.chain = p.chain;
    // The file on disk holds the pending record, which resolves to this state after a crash: correct, only stale.
    meta_dirty_ = true;
    index_.store(meta_.frame);
}

void replica_core::rebootstrap(std::uint64_t generation) {
    // The open connections stay valid: the exported image is applied through sqlite_dbpage like frames are, as one
    // transaction (only the pages that differ are written).
    auto& c = client();
    const std::string tmp = path_ + ".libsql-export";
    struct remove_tmp {
        const std::string& p;
        ~remove_tmp() { remove_quietly(p); }
    } cleanup{tmp};
    const auto size = export_current(c, generation, tmp);
    std::map<std::uint32_t, std::string> pages;
    std::uint32_t db_size = 0;
    if (size > 0) {
        const int raw = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
        if (raw < 0) throw io_error("cannot open '" + tmp + "': " + std::strerror(errno), replica_info());
        fd_guard fd(raw);
        const auto ps = export_page_size(fd.get(), size, tmp);
        if (ps != meta_.page_size)
            throw unsupported("replica sync: the primary's page size changed (" + std::to_string(meta_.page_size) + " -> " +
                                  std::to_string(ps) + "); remove the replica and open it again to bootstrap afresh",
                              replica_info());
        db_size = static_cast<std::uint32_t>(size / ps);
        std::string page;
        for (std::uint32_t pgno = 1; pgno <= db_size; ++pgno) {
            read_exact(fd.get(), page, ps, std::uint64_t{pgno - 1} * ps, tmp);
            if (pgno == 1) set_wal_mode_bytes(page);
            if (read_page(*apply_, pgno) != page) pages.emplace(pgno, page);
        }
    }
    pending_apply p;
    p.generation = generation;
    p.frame = 0;
    p.db_size = db_size;
    for (const auto& [pgno, data] : pages) p.pages.emplace_back(pgno, page_hash(data));
    apply_with_pending(pages, std::move(p));
    meta_.chain = chain_state{};
    write_meta();
}

sync_result replica_core::sync_until(std::uint64_t index) {
    sync_result total;
    for (;;) {
        const auto r = sync();
        total.frames_applied += r.frames_applied;
        total.replication_index = r.replication_index;
        // One sync pulls everything the primary has; when that is still short of the index, there is nothing more.
        if (r.replication_index >= index || r.frames_applied == 0) return total;
    }
}

std::uint64_t replica_core::flush_replicator() {
    std::lock_guard lk(mu_);
    if (meta_dirty_ && !frozen()) write_meta();
    return meta_.frame;
}

void replica_core::freeze() {
    std::lock_guard lk(mu_);
    if (frozen()) return;
    frozen_.store(true, std::memory_order_release);
    if (apply_) {
        apply_->close();
        apply_.reset();
    }
    remove_quietly(meta_path_);
    remove_quietly(meta_path_ + ".tmp");
    fsync_parent_dir(meta_path_);
}

std::shared_ptr<database_backend> replica_core::remote_database() {
    std::lock_guard lk(remote_mu_);
    if (!remote_) {
        connect_options o = options_;
        o.sync_url.clear();
        o.sync_interval.reset();
        o.url = options_.sync_url;
        o.encryption_key.clear();  // the local file's key; the primary's encryption is its own (remote_encryption_key)
        remote_ = open_remote_database(options_.sync_url, o);
    }
    return remote_;
}

void replica_core::cancel_background() noexcept {
    cancel_.store(true);
    // Only a sync the background thread runs is aborted; the client is shared under mu_, so interrupt it only while
    // that thread holds it (a foreground sync may at worst see one interrupted request).
    if (background_running_.load() && client_) client_->interrupt();
}

std::exception_ptr replica_core::last_background_error() const {
    std::lock_guard lk(mu_);
    return background_error_;
}

namespace {

class replica_database final : public database_backend {
public:
    replica_database(std::string_view path, const connect_options& options)
        : core_(std::make_shared<replica_core>(std::string(path), options)) {
        if (options.sync_interval) {
            if (options.sync_interval->count() <= 0) throw usage_error("sync_interval must be positive");
            interval_ = *options.sync_interval;
            worker_ = std::thread([this] { run_background(); });
        }
    }
    ~replica_database() override { stop_background(); }

    std::shared_ptr<connection_backend> connect() override {
        if (core_->frozen()) return std::make_shared<local_connection>(core_->path(), core_->local_options());
        return make_replica_connection(core_);
    }
    const std::string& path() const noexcept override { return core_->path(); }
    const connect_options& options() const noexcept override { return core_->options(); }
    libsql::transport transport() const noexcept override { return core_->frozen() ? transport::local : transport::replica; }

    sync_result sync() override { return core_->sync(); }
    sync_result sync_until(std::uint64_t index) override { return core_->sync_until(index); }
    std::optional<std::uint64_t> replication_index() const override { return core_->replication_index(); }
    std::uint64_t flush_replicator() override { return core_->flush_replicator(); }
    void freeze() override {
        stop_background();
        core_->freeze();
    }

private:
    void run_background() {
        std::unique_lock lk(mu_);
        while (!stop_) {
            if (cv_.wait_for(lk, interval_, [&] { return stop_; })) break;
            lk.unlock();
            try {
                if (!core_->frozen()) (void)core_->sync(true);
            } catch (...) {
                // Kept by the core (last_background_error) and retried at the next interval; an explicit sync()
                // reports its own errors.
            }
            lk.lock();
        }
    }
    void stop_background() noexcept {
        if (!worker_.joinable()) return;
        {
            std::lock_guard lk(mu_);
            stop_ = true;
        }
        cv_.notify_all();
        core_->cancel_background();
        worker_.join();
    }

    std::shared_ptr<replica_core> core_;
    std::chrono::milliseconds interval_{0};
    std::mutex mu_;
    std::condition_variable cv_;
    bool stop_ = false;
    std::thread worker_;
};

} // namespace

} // namespace replica

std::shared_ptr<database_backend> open_replica_database(std::string_view path, const connect_options& options) {
    return std::make_shared<replica::replica_database>(path, options);
}

} // namespace libsql::detail
