// A process that rekeys one encrypted file back and forth between two keys, forever, printing a line after each
// rekey. The crash test (tests/unit/rekey_crash_test.cpp) SIGKILLs it at random moments.
//   rekey_child PATH KEY_A KEY_B
#include "libsql/database.hpp"

#include <cstdio>
#include <string>

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: rekey_child PATH KEY_A KEY_B\n");
        return 2;
    }
    const std::string path = argv[1];
    const std::string keys[2] = {argv[2], argv[3]};
    try {
        for (unsigned long n = 1;; ++n) {
            libsql::connect_options o;
            int current = 0;
            o.encryption_key = keys[0];
            try {
                libsql::database probe(path, o);
            } catch (const libsql::encryption_error&) {
                current = 1;
            }
            o.encryption_key = keys[current];
            libsql::database db(path, o);
            db.rekey(keys[1 - current]);
            std::printf("rekeyed %lu\n", n);
            std::fflush(stdout);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "rekey_child: %s\n", e.what());
        return 1;
    }
}
