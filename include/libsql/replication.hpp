// libsql/replication.hpp: what an embedded replica reports about its syncing (seed item 9).
//
//   libsql::connect_options o;
//   o.sync_url = "http://127.0.0.1:8080";
//   libsql::database db("replica.db", o);     // bootstraps from the primary when the file is new
//   auto r = db.sync();                        // pulls what the primary committed since
//   std::printf("%llu frames, index %llu\n", (unsigned long long)r.frames_applied,
//               (unsigned long long)r.replication_index);
#pragma once

#include <cstdint>

namespace libsql {

/// The outcome of one sync: how many WAL frames were applied to the local file, and the replication index (the
/// primary's frame number of the last commit now applied) reached.
struct sync_result {
    std::uint64_t frames_applied = 0;
    std::uint64_t replication_index = 0;
    friend bool operator==(const sync_result&, const sync_result&) = default;
};

} // namespace libsql
