// The package tests' SOCI consumer (tests/package/consumer_test.sh): a SOCI program outside the project using an
// installed libsql::soci, both through its factory and through SOCI's loader by name. Exit 0 only when it works.
#include <libsql/soci.hpp>

#include <soci/soci.h>

#include <iostream>
#include <string>

int main(int argc, char** argv) try {
    const bool by_name = argc > 1 && std::string(argv[1]) == "--by-name";
    soci::session sql = by_name ? soci::session("libsql", ":memory:") : soci::session(*soci::factory_libsql(), ":memory:");
    sql << "create table t(id integer primary key, name text)";
    std::string name = "consumer";
    sql << "insert into t(name) values(:name)", soci::use(name);
    std::string back;
    int id = 0;
    sql << "select id, name from t", soci::into(id), soci::into(back);
    if (id != 1 || back != name || sql.get_backend_name() != "libsql") {
        std::cerr << "soci consumer: read back " << id << ", '" << back << "'\n";
        return 1;
    }
    try {
        sql << "select * from no_such_table";
        std::cerr << "soci consumer: a missing table raised nothing\n";
        return 1;
    } catch (const soci::libsql_soci_error& e) {
        if (e.result() != 1) {
            std::cerr << "soci consumer: result code " << e.result() << '\n';
            return 1;
        }
    }
    std::cout << "soci consumer" << (by_name ? " (by name)" : "") << ": ok\n";
    return 0;
} catch (const std::exception& e) {
    std::cerr << "soci consumer: " << e.what() << '\n';
    return 1;
}
