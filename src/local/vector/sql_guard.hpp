// Runs the body of a vector SQL function and turns what it throws into the function's SQLite error: libSQL's message
// for a vector_error, SQLITE_NOMEM for an allocation failure, `internal_error` for anything else. Shared by the
// vector functions and the DiskANN index's internal functions.
#pragma once

#include "core/vector_format.hpp"

#include <sqlite3.h>

#include <new>

namespace libsql::vec {

template <class F> void guarded(sqlite3_context* ctx, const char* internal_error, F&& body) noexcept {
    try {
        body();
    } catch (const vector_error& e) {
        if (e.nomem) sqlite3_result_error_nomem(ctx);
        else sqlite3_result_error(ctx, e.message.c_str(), static_cast<int>(e.message.size()));
    } catch (const std::bad_alloc&) {
        sqlite3_result_error_nomem(ctx);
    } catch (...) {
        sqlite3_result_error(ctx, internal_error, -1);
    }
}

} // namespace libsql::vec
