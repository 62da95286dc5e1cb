// SOCI's dynamic backend loader finds libsoci_libsql.so.4.0 by the backend's name: this program links SOCI's core
// only (not libsoci_libsql), so soci::session("libsql", ...) has to dlopen the backend from SOCI_BACKENDS_PATH and
// resolve its factory_libsql symbol. SOCI's own sqlite3 backend is loaded into the same process on the same file, which
// shows that the engine inside libsoci_libsql (hidden symbols) and the system's libsqlite3 do not clash.
#include <soci/soci.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>

#include <unistd.h>

namespace {
int failures = 0;
void check(bool ok, const char* what) {
    if (!ok) {
        std::cerr << "FAILED: " << what << "\n";
        ++failures;
    }
}
} // namespace

int main() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "libsql-soci-loader-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) return 2;
    const std::string db = tmpl + "/loader.db";
    try {
        {
            soci::session sql("libsql", db + " busy_timeout=1000");
            check(sql.get_backend_name() == "libsql", "the backend's name is libsql");
            sql << "create table t(id integer primary key, name text)";
            std::string name = "written by libsql";
            sql << "insert into t(name) values(:n)", soci::use(name);
            std::string version;
            sql << "select sqlite_version()", soci::into(version);
            std::cout << "libsql backend: engine SQLite " << version << "\n";
        }
        {
            soci::session lite("sqlite3", "db=" + db);
            check(lite.get_backend_name() == "sqlite3", "the sqlite3 backend loads beside it");
            std::string name;
            lite << "select name from t where id = 1", soci::into(name);
            check(name == "written by libsql", "sqlite3 reads what libsql wrote");
            lite << "insert into t(name) values('written by sqlite3')";
        }
        {
            soci::session sql("libsql", db);
            int n = 0;
            sql << "select count(*) from t", soci::into(n);
            check(n == 2, "libsql reads what sqlite3 wrote");
        }
        const auto backends = soci::dynamic_backends::list_all();
        check(std::find(backends.begin(), backends.end(), "libsql") != backends.end(), "libsql is listed as loaded");
    } catch (const std::exception& e) {
        std::cerr << "FAILED: " << e.what() << "\n";
        ++failures;
    }
    std::filesystem::remove_all(tmpl);
    if (failures == 0) std::cout << "soci loader: ok\n";
    return failures == 0 ? 0 : 1;
}
