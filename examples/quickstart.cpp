#include <libsql/libsql.hpp>
#include <iostream>
int main() {
    libsql::database db(":memory:");
    auto conn = db.connect();
    conn.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT)");
    conn.execute("INSERT INTO t(name) VALUES (?)", "hello");
    std::cout << conn.query_value<std::string>("SELECT name FROM t") << "\n";
}
