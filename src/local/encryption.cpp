// Encryption at rest on the local engine (SQLite3MultipleCiphers): the cipher names, applying a key to a new
// connection and checking it, the typed error for SQLITE_NOTADB, and rekeying a file. docs/ENCRYPTION.md.
#include "local/local.hpp"
#include "local/page_codec.hpp"

#include "libsql_engine.h"

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace libsql {

namespace {
constexpr std::array<std::string_view, 7> cipher_names{"aes256cbc", "aes128cbc", "chacha20", "sqlcipher",
                                                       "rc4",       "ascon128",  "aegis"};
} // namespace

std::string_view to_string(encryption_cipher c) noexcept {
    const auto i = static_cast<std::size_t>(c);
    return i < cipher_names.size() ? cipher_names[i] : std::string_view("unknown");
}

std::optional<encryption_cipher> encryption_cipher_from_name(std::string_view name) noexcept {
    for (std::size_t i = 0; i < cipher_names.size(); ++i) {
        const auto n = cipher_names[i];
        if (n.size() != name.size()) continue;
        bool same = true;
        for (std::size_t j = 0; j < n.size() && same; ++j) {
            const char a = name[j] >= 'A' && name[j] <= 'Z' ? static_cast<char>(name[j] - 'A' + 'a') : name[j];
            same = a == n[j];
        }
        if (same) return static_cast<encryption_cipher>(i);
    }
    return std::nullopt;
}

} // namespace libsql

namespace libsql::detail {

namespace {

/// Whether the file starts with the plain SQLite header ("SQLite format 3\0"): it is not encrypted.
bool has_plain_header(const char* filename) {
    if (!filename || !*filename) return false;
    std::ifstream in(filename, std::ios::binary);
    char head[16] = {};
    if (!in.read(head, sizeof head)) return false;
    return std::memcmp(head, "SQLite format 3", 16) == 0;
}

std::string hex(std::string_view bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (const char ch : bytes) {
        const auto b = static_cast<unsigned char>(ch);
        out += digits[b >> 4];
        out += digits[b & 15];
    }
    return out;
}

/// A file: URI for path (percent-encoding everything but unreserved characters and '/'), with the query.
std::string file_uri(const std::string& path, const std::string& query) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out = "file:";
    for (const char ch : std::filesystem::absolute(path).string()) {
        const auto b = static_cast<unsigned char>(ch);
        if ((b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') || b == '-' || b == '.' ||
            b == '_' || b == '~' || b == '/') {
            out += ch;
        } else {
            out += '%';
            out += digits[b >> 4];
            out += digits[b & 15];
        }
    }
    return out + "?" + query;
}

void exec(sqlite3* db, const char* sql, const std::string& what) {
    char* err = nullptr;
    const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
        const std::string msg = err ? err : sqlite3_errstr(rc);
        sqlite3_free(err);
        throw_result_code(sqlite3_extended_errcode(db), msg + " (" + what + ")", error_info{});
    }
}

void fsync_path(const std::string& path, bool directory) {
    const int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDWR) | O_CLOEXEC);
    if (fd < 0) {
        if (directory) return;  // some file systems do not open directories; the rename is still atomic
        throw io_error("rekey: cannot open '" + path + "': " + std::strerror(errno));
    }
    const int rc = ::fsync(fd);
    ::close(fd);
    if (rc != 0 && !directory) throw io_error("rekey: cannot fsync '" + path + "'");
}

struct raw_db {
    sqlite3* db = nullptr;
    ~raw_db() { sqlite3_close_v2(db); }
};

} // namespace

void apply_encryption(sqlite3* db, const connect_options& options) {
    if (options.encryption_key.empty()) return;
    const auto name = to_string(options.cipher);
    const int index = sqlite3mc_cipher_index(std::string(name).c_str());
    if (index <= 0 || sqlite3mc_config(db, "cipher", index) != index)
        throw usage_error("encryption cipher '" + std::string(name) + "' is not available in this engine");
    if (options.encryption_key.size() > static_cast<std::size_t>(INT32_MAX)) throw too_big("encryption key too long");
    const int rc = sqlite3_key(db, options.encryption_key.data(), static_cast<int>(options.encryption_key.size()));
    if (rc != SQLITE_OK) throw_result_code(sqlite3_extended_errcode(db), std::string(sqlite3_errmsg(db)) + " (setting the key)", error_info{});
}

void verify_encryption(sqlite3* db, const std::string& name) {
    // Reads page 1 (the schema): a wrong key fails here, before the caller runs anything, and nothing is written.
    sqlite3_stmt* st = nullptr;
    int rc = sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_schema", -1, &st, nullptr);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_OK) return;
    const int ext = sqlite3_extended_errcode(db);
    if ((ext & 0xff) == SQLITE_NOTADB) throw_not_a_database(db, name, true, {}, {});
    throw_result_code(ext, std::string(sqlite3_errmsg(db)) + " (opening '" + name + "')", error_info{});
}

void throw_not_a_database(sqlite3* db, const std::string& name, bool key_given, std::string_view sql,
                          const libsql::source_location& where) {
    const char* file = db ? sqlite3_db_filename(db, "main") : nullptr;
    std::string msg;
    if (key_given && has_plain_header(file)) {
        msg = "'" + name + "' is not encrypted, but an encryption key was given: open it without encryption_key "
              "(database::rekey() encrypts it)";
    } else if (key_given) {
        msg = "wrong encryption key for '" + name + "' (or it was encrypted with another cipher, or it is not a "
              "database)";
    } else {
        msg = "'" + name + "' is encrypted or is not a database: no encryption key was given "
              "(connect_options::encryption_key)";
    }
    msg += ": file is not a database [SQLITE_NOTADB]";
    error_info info{SQLITE_NOTADB, {}, std::string(sql), transport::local, where};
    if (!sql.empty()) msg += " in: " + std::string(sql.substr(0, error::max_sql_length));
    throw encryption_error(msg, std::move(info));
}

void rekey_file(const std::string& path, const connect_options& current, std::string_view new_key) {
    if (new_key.size() > static_cast<std::size_t>(INT32_MAX)) throw too_big("encryption key too long");
    const std::string tmp = path + ".libsql-rekey";
    auto remove_tmp = [&] {
        for (const char* suffix : {"", "-journal", "-wal", "-shm"}) std::remove((tmp + suffix).c_str());
    };
    remove_tmp();
    bool wal = false;
    {
        // The current file, with the current key: checkpointed (its WAL empty), then copied whole into tmp, encrypted
        // with the new key (or plain) by VACUUM INTO. Until the rename below the file is untouched.
        raw_db src;
        int rc = sqlite3_open_v2(path.c_str(), &src.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI | SQLITE_OPEN_EXRESCODE, nullptr);
        if (rc != SQLITE_OK) throw_result_code(src.db ? sqlite3_extended_errcode(src.db) : rc, src.db ? sqlite3_errmsg(src.db) : sqlite3_errstr(rc), error_info{});
        sqlite3_busy_timeout(src.db, static_cast<int>(current.busy_timeout.count()));
        apply_encryption(src.db, current);
        verify_encryption(src.db, path);
        sqlite3_stmt* st = nullptr;
        if (sqlite3_prepare_v2(src.db, "PRAGMA journal_mode", -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
            const auto* m = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
            wal = m && std::strcmp(m, "wal") == 0;
        }
        sqlite3_finalize(st);
        if (wal) exec(src.db, "PRAGMA wal_checkpoint(TRUNCATE)", "rekey: checkpointing");
        const std::string query = new_key.empty() ? std::string("key=")
                                                  : "cipher=" + std::string(to_string(current.cipher)) + "&hexkey=" + hex(new_key);
        const std::string target = file_uri(tmp, query);
        rc = sqlite3_prepare_v2(src.db, "VACUUM INTO ?", -1, &st, nullptr);
        if (rc == SQLITE_OK) rc = sqlite3_bind_text(st, 1, target.data(), static_cast<int>(target.size()), SQLITE_TRANSIENT);
        if (rc == SQLITE_OK) rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE) {
            const std::string msg = sqlite3_errmsg(src.db);
            const int ext = sqlite3_extended_errcode(src.db);
            remove_tmp();
            throw_result_code(ext, msg + " (rekey: writing the re-encrypted copy)", error_info{});
        }
    }
    try {
        // The copy in the journal mode the file had, made durable before it replaces the file.
        raw_db dst;
        int rc = sqlite3_open_v2(tmp.c_str(), &dst.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_EXRESCODE, nullptr);
        if (rc != SQLITE_OK) throw_result_code(rc, "cannot open the re-encrypted copy '" + tmp + "'", error_info{});
        connect_options next = current;
        next.encryption_key = std::string(new_key);
        apply_encryption(dst.db, next);
        verify_encryption(dst.db, tmp);
        if (wal) exec(dst.db, "PRAGMA journal_mode = WAL", "rekey: the copy's journal mode");
        sqlite3_close_v2(std::exchange(dst.db, nullptr));
        fsync_path(tmp, false);
    } catch (...) {
        remove_tmp();
        throw;
    }
    // The old file's WAL is empty (checkpointed) and its wal-index belongs to it: neither may meet the new file.
    for (const char* suffix : {"-wal", "-shm", "-journal"}) std::remove((path + suffix).c_str());
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        remove_tmp();
        throw io_error("rekey: cannot move the re-encrypted copy over '" + path + "': " + std::strerror(err));
    }
    auto dir = std::filesystem::path(path).parent_path();
    fsync_path(dir.empty() ? std::string(".") : dir.string(), true);
}

int decrypt_page(sqlite3* db, std::uint32_t pgno, void* data, int size) noexcept {
    return libsql_engine_decrypt_page(db, "main", pgno, data, size);
}

} // namespace libsql::detail
