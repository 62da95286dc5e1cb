// The quickstart `scripts/run` runs: an embedded database file, touching each item of the seed roadmap that
// applies to a local connection, printing what it does.
#include <libsql/libsql.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>

namespace {
void say(const std::string& what) { std::cout << "- " << what << '\n'; }
} // namespace

int main(int argc, char** argv) try {
    const std::filesystem::path path = argc > 1 ? argv[1] : "quickstart.db";
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::filesystem::remove(path.string() + suffix);

    // 1. busy_timeout: a connect option, 5000 ms unless set.
    libsql::connect_options options;
    options.busy_timeout = std::chrono::milliseconds(3000);
    libsql::database db(path.string(), options);
    auto conn = db.connect();
    std::cout << "libsql-cpp quickstart on " << path << " (an embedded database file)\n";
    say("busy_timeout applied at connect: " + std::to_string(conn.query_value<int>("PRAGMA busy_timeout")) + " ms");

    // 2. PRAGMA helpers.
    const auto mode = libsql::pragma::set_journal_mode(conn, libsql::pragma::journal_mode::wal);
    libsql::pragma::enable_foreign_keys(conn);
    libsql::pragma::set_synchronous(conn, libsql::pragma::synchronous::normal);
    say("journal mode " + std::string(libsql::pragma::to_string(mode)) + ", foreign keys " +
        (libsql::pragma::foreign_keys(conn) ? "on" : "off"));

    // 4. Batches: schema in one call, all or nothing.
    conn.execute_transactional_batch(R"sql(
        CREATE TABLE authors(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
        CREATE TABLE books(id INTEGER PRIMARY KEY, author_id INTEGER NOT NULL REFERENCES authors(id),
                           title TEXT NOT NULL, year INTEGER, price REAL);
    )sql");
    libsql::pragma::set_user_version(conn, 1);
    say("schema created by execute_transactional_batch; user_version = " +
        std::to_string(libsql::pragma::user_version(conn)));

    // 10. Hooks: count changes as they happen.
    int inserts = 0;
    conn.update_hook([&](libsql::update_kind kind, std::string_view, std::string_view, std::int64_t) {
        if (kind == libsql::update_kind::insert) ++inserts;
    });

    // 5 + 8. A statement prepared once and reused, with named parameters (with or without prefix).
    {
        auto tx = conn.transaction(libsql::transaction_behavior::immediate);
        auto add_author = conn.prepare("INSERT INTO authors(name) VALUES (:name)");
        for (const char* name : {"Ursula K. Le Guin", "Stanisław Lem", "Octavia E. Butler"})
            add_author.execute(libsql::named("name", name));
        auto add_book = conn.prepare(
            "INSERT INTO books(author_id, title, year, price) "
            "VALUES ((SELECT id FROM authors WHERE name = @author), @title, @year, @price)");
        struct book { const char* author; const char* title; int year; std::optional<double> price; };
        for (const book& b : {book{"Ursula K. Le Guin", "The Dispossessed", 1974, 9.99},
                              book{"Ursula K. Le Guin", "The Left Hand of Darkness", 1969, 8.5},
                              book{"Stanisław Lem", "Solaris", 1961, std::nullopt},
                              book{"Octavia E. Butler", "Kindred", 1979, 11.0}})
            add_book.execute(libsql::named("author", b.author), libsql::named("title", b.title),
                             libsql::named("year", b.year), libsql::named("price", b.price));
        tx.commit();
    }
    say("inserted through two reused statements in one transaction; the update hook saw " + std::to_string(inserts) + " inserts");
    conn.update_hook(nullptr);

    // 6. query_row, typed, with std::optional for NULL.
    auto solaris = conn.query_row("SELECT title, year, price FROM books WHERE title = ?", "Solaris");
    auto [title, year, price] = solaris.as<std::string, int, std::optional<double>>();
    say("query_row: " + title + " (" + std::to_string(year) + "), price " + (price ? std::to_string(*price) : "NULL"));

    // Streaming rows.
    std::cout << "- books by decade:\n";
    for (auto r : conn.query("SELECT (year / 10) * 10 AS decade, count(*) AS n FROM books GROUP BY 1 ORDER BY 1"))
        std::cout << "    " << r.get<int>("decade") << "s: " << r.get<int>("n") << '\n';

    // 7. Statement introspection.
    auto st = conn.prepare("SELECT b.title, a.name AS author, b.price * 1.2 AS gross FROM books b JOIN authors a ON a.id = b.author_id WHERE b.year > :after");
    std::cout << "- introspection: " << st.parameter_count() << " parameter (" << st.parameter_name(1) << "), readonly="
              << std::boolalpha << st.readonly() << ", columns:\n";
    for (const auto& c : st.columns())
        std::cout << "    " << c.name << " <- " << (c.table.empty() ? "(expression)" : c.table + "." + c.origin_name)
                  << (c.declared_type.empty() ? "" : " " + c.declared_type) << '\n';

    // Errors are typed and carry the SQLite code.
    try {
        conn.execute("INSERT INTO authors(name) VALUES (?)", "Stanisław Lem");
    } catch (const libsql::unique_violation& e) {
        say(std::string("a duplicate author is a libsql::unique_violation: ") + std::string(e.code_name()));
    }

    // 3. interrupt from another thread stops a running statement; reset returns the connection to a clean state.
    std::thread stopper([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        conn.interrupt();
    });
    try {
        (void)conn.query_value<std::int64_t>("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c");
    } catch (const libsql::interrupted& e) {
        say(std::string("a runaway query was interrupted from another thread: ") + std::string(e.code_name()));
    }
    stopper.join();
    auto open_tx = conn.transaction();
    conn.execute("DELETE FROM books");
    conn.reset();
    say("reset() rolled back an open transaction: " + std::to_string(conn.query_value<int>("SELECT count(*) FROM books")) +
        " books still there, autocommit=" + (conn.is_autocommit() ? "true" : "false"));

    say("tables: " + [&] {
        std::string s;
        for (const auto& t : libsql::pragma::table_list(conn))
            if (t.schema == "main" && !t.name.starts_with("sqlite_")) s += (s.empty() ? "" : ", ") + t.name;
        return s;
    }());
    std::cout << "done.\n";
    return 0;
} catch (const libsql::error& e) {
    std::cerr << "quickstart failed: " << e.what() << '\n';
    return 1;
}
