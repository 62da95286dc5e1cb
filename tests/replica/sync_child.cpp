// replica_sync_child DB SYNC_URL: opens DB as an embedded replica of SYNC_URL (bootstrapping it when new) and syncs
// in a loop until killed. The crash test (tests/unit/replica_test.cpp) SIGKILLs it at random moments and checks
// that the replica reopens consistent. Prints "ready" once open and "synced N" after each sync that applied frames.
#include "libsql/database.hpp"

#include <chrono>
#include <cstdio>
#include <exception>
#include <thread>

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s DB SYNC_URL\n", argv[0]);
        return 2;
    }
    libsql::connect_options o;
    o.sync_url = argv[2];
    o.read_your_writes = false;
    for (int attempt = 0;; ++attempt) {
        try {
            libsql::database db(argv[1], o);
            std::printf("ready\n");
            std::fflush(stdout);
            for (;;) {
                try {
                    const auto r = db.sync();
                    if (r.frames_applied != 0) {
                        std::printf("synced %llu\n", static_cast<unsigned long long>(r.replication_index));
                        std::fflush(stdout);
                    }
                } catch (const libsql::error& e) {
                    std::fprintf(stderr, "sync: %s\n", e.what());
                    std::this_thread::sleep_for(std::chrono::milliseconds(20));
                }
            }
        } catch (const std::exception& e) {
            std::fprintf(stderr, "open: %s\n", e.what());
            if (attempt >= 50) return 1;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }
}
