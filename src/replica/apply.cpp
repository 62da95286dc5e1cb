#include "replica/apply.hpp"

#include "local/local.hpp"

#include <boost/json.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fcntl.h>
#include <unistd.h>

namespace libsql::detail::replica {

namespace {

error_info replica_info() { return error_info{0, {}, {}, transport::replica, {}}; }

void exec(local_connection& c, const char* sql) { c.execute_batch(sql, libsql::source_location::current()); }

} // namespace

void apply_pages(local_connection& conn, const std::map<std::uint32_t, std::string>& pages, std::uint32_t db_size) {
    exec(conn, "BEGIN IMMEDIATE");
    try {
        auto ins = conn.prepare("INSERT INTO sqlite_dbpage(pgno, data) VALUES (?, ?)", libsql::source_location::current(), true);
        auto put = [&](std::uint32_t pgno, const std::string* data) {
            ins->bind_integer(1, pgno);
            if (data) ins->bind_blob(2, reinterpret_cast<const std::byte*>(data->data()), data->size(), false);
            else ins->bind_null(2);
            ins->run();
            ins->clear_bindings();
        };
        for (auto it = pages.upper_bound(1); it != pages.end(); ++it)
            if (it->first <= db_size) put(it->first, &it->second);
        if (db_size != 0 && page_count(conn) > db_size) put(db_size + 1, nullptr);
        if (auto one = pages.find(1); one != pages.end()) put(1, &one->second);
        ins.reset();
        exec(conn, "COMMIT");
    } catch (...) {
        try {
            if (!conn.is_autocommit()) exec(conn, "ROLLBACK");
        } catch (...) {
        }
        throw;
    }
}

std::uint32_t page_count(local_connection& conn) {
    auto st = conn.prepare("PRAGMA page_count", libsql::source_location::current(), true);
    if (!st->step()) return 0;
    const auto n = st->column(0).as_integer();
    st->reset();
    return static_cast<std::uint32_t>(n);
}

std::string read_page(local_connection& conn, std::uint32_t pgno) {
    auto st = conn.prepare("SELECT data FROM sqlite_dbpage WHERE pgno = ?", libsql::source_location::current(), true);
    st->bind_integer(1, pgno);
    std::string out;
    if (st->step()) {
        const auto v = st->column(0);
        if (v.type() == value_type::blob) {
            const auto b = v.as_blob();
            out.assign(reinterpret_cast<const char*>(b.data()), b.size());
        }
    }
    st->reset();
    return out;
}

bool pending_was_applied(local_connection& conn, const pending_apply& p) {
    exec(conn, "BEGIN");  // one snapshot for every page read
    try {
        bool same = page_count(conn) == p.db_size;
        for (const auto& [pgno, hash] : p.pages) {
            if (!same) break;
            same = page_hash(read_page(conn, pgno)) == hash;
        }
        exec(conn, "COMMIT");
        return same;
    } catch (...) {
        try { exec(conn, "ROLLBACK"); } catch (...) {}
        throw;
    }
}

// --- metadata

std::string metadata_path(const std::string& db_path) { return db_path + "-libsql-replica"; }

namespace {

namespace json = boost::json;

const char* order_name(checksum_order o) {
    switch (o) {
    case checksum_order::little: return "little";
    case checksum_order::big: return "big";
    default: return "unknown";
    }
}

void put_chain(json::object& o, const chain_state& c) {
    auto opt = [&](const char* k, const std::optional<std::uint32_t>& v) {
        if (v) o[k] = *v;
        else o[k] = nullptr;
    };
    opt("salt1", c.salt1);
    opt("salt2", c.salt2);
    opt("checksum1", c.checksum1);
    opt("checksum2", c.checksum2);
    o["checksum_order"] = order_name(c.order);
}

[[noreturn]] void bad_meta(const std::string& path, const std::string& what) {
    throw corrupt("replica metadata '" + path + "' is damaged: " + what, replica_info());
}

std::uint64_t get_u64(const json::object& o, const char* k, const std::string& path) {
    const auto* v = o.if_contains(k);
    if (!v) bad_meta(path, std::string("missing \"") + k + "\"");
    if (v->is_uint64()) return v->as_uint64();
    if (v->is_int64() && v->as_int64() >= 0) return static_cast<std::uint64_t>(v->as_int64());
    bad_meta(path, std::string("\"") + k + "\" is not a non-negative integer");
}

std::optional<std::uint32_t> get_opt_u32(const json::object& o, const char* k, const std::string& path) {
    const auto* v = o.if_contains(k);
    if (!v || v->is_null()) return std::nullopt;
    const auto n = get_u64(o, k, path);
    if (n > 0xffffffffULL) bad_meta(path, std::string("\"") + k + "\" out of range");
    return static_cast<std::uint32_t>(n);
}

chain_state get_chain(const json::object& o, const std::string& path) {
    chain_state c;
    c.salt1 = get_opt_u32(o, "salt1", path);
    c.salt2 = get_opt_u32(o, "salt2", path);
    c.checksum1 = get_opt_u32(o, "checksum1", path);
    c.checksum2 = get_opt_u32(o, "checksum2", path);
    if (c.salt1.has_value() != c.salt2.has_value() || c.checksum1.has_value() != c.checksum2.has_value())
        bad_meta(path, "incomplete salts or checksum");
    if (const auto* v = o.if_contains("checksum_order"); v && v->is_string()) {
        const auto s = v->as_string();
        if (s == "little") c.order = checksum_order::little;
        else if (s == "big") c.order = checksum_order::big;
    }
    return c;
}

} // namespace

std::optional<metadata> read_metadata(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) {
        if (errno == ENOENT) return std::nullopt;
        throw io_error("cannot read replica metadata '" + path + "': " + std::strerror(errno), replica_info());
    }
    std::string text;
    char buf[65536];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
    std::fclose(f);
    boost::system::error_code ec;
    const json::value v = json::parse(text, ec);
    if (ec || !v.is_object()) bad_meta(path, "not a JSON object");
    const auto& o = v.as_object();
    if (get_u64(o, "version", path) != 1) bad_meta(path, "unknown version");
    metadata m;
    m.generation = get_u64(o, "generation", path);
    m.frame = get_u64(o, "frame", path);
    const auto ps = get_u64(o, "page_size", path);
    if (ps > 65536) bad_meta(path, "page_size out of range");
    m.page_size = static_cast<std::uint32_t>(ps);
    m.chain = get_chain(o, path);
    if (const auto* u = o.if_contains("sync_url"); u && u->is_string()) m.sync_url = std::string(u->as_string());
    if (const auto* p = o.if_contains("pending"); p && !p->is_null()) {
        if (!p->is_object()) bad_meta(path, "\"pending\" is not an object");
        const auto& po = p->as_object();
        pending_apply pa;
        pa.generation = get_u64(po, "generation", path);
        pa.frame = get_u64(po, "frame", path);
        const auto ds = get_u64(po, "db_size", path);
        if (ds > max_page_number) bad_meta(path, "pending db_size out of range");
        pa.db_size = static_cast<std::uint32_t>(ds);
        pa.chain = get_chain(po, path);
        const auto* pages = po.if_contains("pages");
        if (!pages || !pages->is_array()) bad_meta(path, "pending record without \"pages\"");
        for (const auto& e : pages->as_array()) {
            if (!e.is_array() || e.as_array().size() != 2 || !e.as_array()[1].is_string())
                bad_meta(path, "a pending page is not [pgno, \"hash\"]");
            const auto& a = e.as_array();
            std::uint64_t pgno = 0;
            if (a[0].is_uint64()) pgno = a[0].as_uint64();
            else if (a[0].is_int64() && a[0].as_int64() > 0) pgno = static_cast<std::uint64_t>(a[0].as_int64());
            if (pgno == 0 || pgno > max_page_number) bad_meta(path, "a pending page number is out of range");
            const auto hs = a[1].as_string();
            std::uint64_t hash = 0;
            if (hs.size() != 16) bad_meta(path, "a pending page hash is not 16 hex digits");
            for (char c : hs) {
                int d;
                if (c >= '0' && c <= '9') d = c - '0';
                else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
                else bad_meta(path, "a pending page hash is not 16 hex digits");
                hash = (hash << 4) | static_cast<std::uint64_t>(d);
            }
            pa.pages.emplace_back(static_cast<std::uint32_t>(pgno), hash);
        }
        m.pending = std::move(pa);
    }
    return m;
}

void fsync_path(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw io_error("cannot open '" + path + "' to sync it: " + std::strerror(errno), replica_info());
    const int rc = ::fsync(fd);
    const int err = errno;
    ::close(fd);
    if (rc != 0) throw io_error("fsync of '" + path + "' failed: " + std::strerror(err), replica_info());
}

void fsync_parent_dir(const std::string& path) {
    auto dir = std::filesystem::path(path).parent_path();
    if (dir.empty()) dir = ".";
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;  // some file systems do not let directories be opened; the rename is still atomic
    (void)::fsync(fd);
    ::close(fd);
}

void write_metadata(const std::string& path, const metadata& m) {
    json::object o;
    o["version"] = 1;
    if (!m.sync_url.empty()) o["sync_url"] = m.sync_url;
    o["generation"] = m.generation;
    o["frame"] = m.frame;
    o["page_size"] = m.page_size;
    put_chain(o, m.chain);
    if (m.pending) {
        json::object p;
        p["generation"] = m.pending->generation;
        p["frame"] = m.pending->frame;
        p["db_size"] = m.pending->db_size;
        put_chain(p, m.pending->chain);
        json::array pages;
        pages.reserve(m.pending->pages.size());
        for (const auto& [pgno, hash] : m.pending->pages) {
            char hex[17];
            std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
            pages.push_back(json::array{pgno, hex});
        }
        p["pages"] = std::move(pages);
        o["pending"] = std::move(p);
    } else {
        o["pending"] = nullptr;
    }
    const std::string text = json::serialize(o) + "\n";
    const std::string tmp = path + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw io_error("cannot write replica metadata '" + tmp + "': " + std::strerror(errno), replica_info());
    std::size_t done = 0;
    while (done < text.size()) {
        const auto w = ::write(fd, text.data() + done, text.size() - done);
        if (w < 0) {
            if (errno == EINTR) continue;
            const int err = errno;
            ::close(fd);
            throw io_error("cannot write replica metadata '" + tmp + "': " + std::strerror(err), replica_info());
        }
        done += static_cast<std::size_t>(w);
    }
    if (::fsync(fd) != 0) {
        const int err = errno;
        ::close(fd);
        throw io_error("fsync of replica metadata '" + tmp + "' failed: " + std::strerror(err), replica_info());
    }
    ::close(fd);
    if (std::rename(tmp.c_str(), path.c_str()) != 0)
        throw io_error("cannot replace replica metadata '" + path + "': " + std::strerror(errno), replica_info());
    fsync_parent_dir(path);
}

} // namespace libsql::detail::replica
