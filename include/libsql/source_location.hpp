// libsql/source_location.hpp: where in the user's code a call was made. libsql::source_location needs a compiler
// builtin that clang 14 lacks, so this is the same idea on the builtins both g++ 12 and clang 14 have.
#pragma once

#include <cstdint>

#if defined(__has_builtin)
#if __has_builtin(__builtin_COLUMN)
#define LIBSQL_BUILTIN_COLUMN() __builtin_COLUMN()
#endif
#endif
#ifndef LIBSQL_BUILTIN_COLUMN
#define LIBSQL_BUILTIN_COLUMN() 0
#endif

namespace libsql {

class source_location {
public:
    constexpr source_location() noexcept = default;
    static constexpr source_location current(const char* file = __builtin_FILE(), const char* function = __builtin_FUNCTION(),
                                             std::uint_least32_t line = __builtin_LINE(),
                                             std::uint_least32_t column = LIBSQL_BUILTIN_COLUMN()) noexcept {
        source_location s;
        s.file_ = file;
        s.function_ = function;
        s.line_ = line;
        s.column_ = column;
        return s;
    }
    [[nodiscard]] constexpr const char* file_name() const noexcept { return file_; }
    [[nodiscard]] constexpr const char* function_name() const noexcept { return function_; }
    [[nodiscard]] constexpr std::uint_least32_t line() const noexcept { return line_; }
    [[nodiscard]] constexpr std::uint_least32_t column() const noexcept { return column_; }

private:
    const char* file_ = "";
    const char* function_ = "";
    std::uint_least32_t line_ = 0;
    std::uint_least32_t column_ = 0;
};

} // namespace libsql
