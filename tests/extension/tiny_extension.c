/* A tiny loadable SQLite extension for the tests: adds half(x) = x / 2.0 and tiny_answer() = 42. */
#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT1

static void half_fn(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
    (void)argc;
    sqlite3_result_double(ctx, sqlite3_value_double(argv[0]) / 2.0);
}

static void answer_fn(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
    (void)argc;
    (void)argv;
    sqlite3_result_int(ctx, 42);
}

#ifdef _WIN32
__declspec(dllexport)
#endif
int sqlite3_tinyextension_init(sqlite3* db, char** err, const sqlite3_api_routines* api) {
    (void)err;
    SQLITE_EXTENSION_INIT2(api);
    int rc = sqlite3_create_function(db, "half", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, 0, half_fn, 0, 0);
    if (rc == SQLITE_OK) rc = sqlite3_create_function(db, "tiny_answer", 0, SQLITE_UTF8, 0, answer_fn, 0, 0);
    return rc;
}

/* A second entry point, to test load_extension(path, entry_point). */
int tiny_alt_init(sqlite3* db, char** err, const sqlite3_api_routines* api) {
    return sqlite3_tinyextension_init(db, err, api);
}
