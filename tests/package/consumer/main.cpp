// The package tests' consumer (tests/package/consumer_test.sh): a program outside the project that uses libsql-cpp
// the way an installed, pkg-config'd, add_subdirectory'd or FetchContent'd copy is used. Exit 0 only when it works.
#include <libsql/libsql.hpp>

#include <cstdint>
#include <iostream>

int main() try {
    libsql::database db(":memory:");
    auto conn = db.connect();
    const auto sum = conn.query_value<std::int64_t>("SELECT 1+1");
    if (sum != 2) {
        std::cerr << "consumer: SELECT 1+1 returned " << sum << '\n';
        return 1;
    }
    // An exception thrown inside the library is caught here by its type (a shared library must export the
    // type information).
    try {
        conn.execute("SELECT * FROM no_such_table");
        std::cerr << "consumer: a missing table raised nothing\n";
        return 1;
    } catch (const libsql::error&) {
    }
    std::cout << "consumer: SELECT 1+1 = " << sum << '\n';
    return 0;
} catch (const std::exception& e) {
    std::cerr << "consumer: " << e.what() << '\n';
    return 1;
}
