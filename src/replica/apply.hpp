// Applying page images to the replica's file through SQLite's sqlite_dbpage virtual table, and the replica's
// metadata file. See docs/REPLICATION.md.
#pragma once

#include "replica/frames.hpp"

#include "libsql/options.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace libsql::detail {
class local_connection;
}

namespace libsql::detail::replica {

/// Writes `pages` (page number -> image) and sets the database size to `db_size` pages, in one transaction on
/// `conn` (BEGIN IMMEDIATE ... COMMIT): every page but page 1 in ascending order, the truncation when the file
/// shrinks, page 1 last (writing it first makes the engine re-read the schema from a half-written file). Readers on
/// other connections see all of it or none. On failure the transaction is rolled back and the error rethrown.
void apply_pages(local_connection& conn, const std::map<std::uint32_t, std::string>& pages, std::uint32_t db_size);

/// The page count of the database `conn` is open on.
[[nodiscard]] std::uint32_t page_count(local_connection& conn);
/// The current image of one page (empty when past the end).
[[nodiscard]] std::string read_page(local_connection& conn, std::uint32_t pgno);

/// A commit about to be applied (written to the metadata before the local transaction, cleared after).
struct pending_apply {
    std::uint64_t generation = 0;
    std::uint64_t frame = 0;       ///< the commit frame the replica reaches if it went through
    std::uint32_t db_size = 0;
    chain_state chain;             ///< the chain after that frame
    std::vector<std::pair<std::uint32_t, std::uint64_t>> pages;  ///< page number, page_hash of the new image
};

/// The metadata file <db>-libsql-replica (JSON, replaced atomically).
struct metadata {
    std::uint64_t generation = 0;
    std::uint64_t frame = 0;       ///< last applied commit frame within the generation (0: none yet)
    std::uint32_t page_size = 0;
    chain_state chain;
    std::string sync_url;
    std::optional<pending_apply> pending;
};

[[nodiscard]] std::string metadata_path(const std::string& db_path);
/// Reads the metadata; nullopt when the file does not exist; corrupt when it cannot be parsed.
[[nodiscard]] std::optional<metadata> read_metadata(const std::string& path);
/// Writes the metadata durably: a temporary file, fsync, rename over the old one, fsync of the directory.
void write_metadata(const std::string& path, const metadata& m);
/// fsync of a file (by path) and of the directory holding it.
void fsync_path(const std::string& path);
void fsync_parent_dir(const std::string& path);

/// Whether the pages of a pending record are what the database holds now (the commit happened) or not.
[[nodiscard]] bool pending_was_applied(local_connection& conn, const pending_apply& p);

} // namespace libsql::detail::replica
