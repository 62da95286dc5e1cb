// Loading SQLite extensions: tests/extension/tiny_extension.c, built as tiny_extension.so, adds half(x) and
// tiny_answer(). Its path comes from the build as LIBSQL_TINY_EXTENSION.
#include "libsql/connection.hpp"

#include "libsql/database.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <string_view>

namespace {

const std::string tiny_extension = LIBSQL_TINY_EXTENSION;

class Extension : public ::testing::Test {
protected:
    libsql::database db{":memory:"};
    libsql::connection conn = db.connect();
};

bool mentions(const std::exception& e, std::string_view what) {
    return std::string_view(e.what()).find(what) != std::string_view::npos;
}

} // namespace

TEST_F(Extension, TheBuiltExtensionExists) {
    ASSERT_TRUE(std::filesystem::exists(tiny_extension)) << tiny_extension;
    // SQLite derives the default entry point from this name: tiny_extension.so -> sqlite3_tinyextension_init.
    EXPECT_EQ(std::filesystem::path(tiny_extension).filename().string(), "tiny_extension.so");
}

TEST_F(Extension, LoadsWithTheDefaultEntryPointAfterEnabling) {
    conn.enable_load_extension(true);
    conn.load_extension(tiny_extension);
    EXPECT_DOUBLE_EQ(conn.query_value<double>("SELECT half(8)"), 4.0);
    EXPECT_DOUBLE_EQ(conn.query_value<double>("SELECT half(?)", 3), 1.5);
    EXPECT_EQ(conn.query_value<int>("SELECT tiny_answer()"), 42);
    // Loading it again is harmless.
    conn.load_extension(tiny_extension);
    EXPECT_EQ(conn.query_value<int>("SELECT tiny_answer()"), 42);
}

TEST_F(Extension, LoadsWithAnExplicitEntryPoint) {
    conn.enable_load_extension(true);
    conn.load_extension(tiny_extension, "tiny_alt_init");
    EXPECT_DOUBLE_EQ(conn.query_value<double>("SELECT half(8)"), 4.0);
    EXPECT_EQ(conn.query_value<int>("SELECT tiny_answer()"), 42);
}

TEST_F(Extension, RefusedUntilEnabled) {
    EXPECT_THROW(conn.load_extension(tiny_extension), libsql::usage_error);
    EXPECT_THROW(conn.load_extension(tiny_extension, "tiny_alt_init"), libsql::usage_error);
    // Nothing was loaded.
    EXPECT_THROW((void)conn.query("SELECT half(8)"), libsql::sql_error);

    // Enabled, then disabled again: refused again.
    conn.enable_load_extension(true);
    conn.enable_load_extension(false);
    EXPECT_THROW(conn.load_extension(tiny_extension), libsql::usage_error);
    EXPECT_THROW((void)conn.query("SELECT tiny_answer()"), libsql::sql_error);
}

TEST_F(Extension, ConnectOptionAllowsLoadingWithoutTheCall) {
    libsql::connect_options options;
    options.enable_load_extension = true;
    libsql::database allowing(":memory:", options);
    auto c = allowing.connect();
    c.load_extension(tiny_extension);
    EXPECT_DOUBLE_EQ(c.query_value<double>("SELECT half(8)"), 4.0);
    EXPECT_EQ(c.query_value<int>("SELECT tiny_answer()"), 42);
    // The option belongs to that database's connections only.
    EXPECT_THROW(conn.load_extension(tiny_extension), libsql::usage_error);
}

TEST_F(Extension, WrongEntryPointIsAnError) {
    conn.enable_load_extension(true);
    try {
        conn.load_extension(tiny_extension, "no_such_entry_point");
        FAIL() << "loaded with an entry point the library does not have";
    } catch (const libsql::usage_error& e) {
        FAIL() << "a failed load is not a usage error: " << e.what();
    } catch (const libsql::error& e) {
        EXPECT_TRUE(mentions(e, "no_such_entry_point")) << e.what();
        EXPECT_TRUE(mentions(e, tiny_extension)) << e.what();
    }
    EXPECT_THROW((void)conn.query("SELECT half(8)"), libsql::sql_error);
    // The connection is unharmed and a correct load still works.
    conn.load_extension(tiny_extension);
    EXPECT_EQ(conn.query_value<int>("SELECT tiny_answer()"), 42);
}

TEST_F(Extension, FunctionsBelongToTheConnectionThatLoadedThem) {
    conn.enable_load_extension(true);
    conn.load_extension(tiny_extension);
    auto other = db.connect();
    EXPECT_THROW((void)other.query("SELECT half(8)"), libsql::sql_error);
    EXPECT_DOUBLE_EQ(conn.query_value<double>("SELECT half(8)"), 4.0);
}

TEST_F(Extension, SqlLoadExtensionFunctionStaysDisabled) {
    // enable_load_extension() opens the C API only: SQL text cannot load libraries (no load_extension() in SQL).
    conn.enable_load_extension(true);
    EXPECT_THROW((void)conn.query_value<std::string>("SELECT load_extension(?)", tiny_extension), libsql::error);
    EXPECT_THROW((void)conn.query("SELECT half(8)"), libsql::sql_error);
}

TEST_F(Extension, ExtensionFunctionsSurviveUntilTheConnectionCloses) {
    conn.enable_load_extension(true);
    conn.load_extension(tiny_extension);
    auto st = conn.prepare("SELECT half(?)");
    EXPECT_DOUBLE_EQ(st.query_row(10).get<double>(0), 5.0);
    conn.close();
    EXPECT_THROW((void)st.query_row(10), libsql::usage_error);
    EXPECT_THROW(conn.load_extension(tiny_extension), libsql::usage_error);
}
