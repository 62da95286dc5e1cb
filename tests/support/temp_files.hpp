// Temporary files and folders for the tests: unique per process and test, removed afterwards, so that ctest may
// run tests in parallel.
#pragma once

#include <atomic>
#include <filesystem>
#include <string>
#include <system_error>
#include <unistd.h>

#include <gtest/gtest.h>

namespace libsql::test {

inline std::filesystem::path unique_temp_path(const std::string& prefix) {
    static std::atomic<int> counter{0};
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = info ? info->name() : "x";
    for (auto& c : name)
        if (c == '/') c = '_';  // parameterised tests are named "case/param"
    return std::filesystem::temp_directory_path() /
           (prefix + "-" + name + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
}

/// A directory of its own under the system temp dir, removed with everything in it.
class temp_dir {
public:
    explicit temp_dir(const std::string& prefix = "libsql-test") : path_(unique_temp_path(prefix)) {
        std::filesystem::remove_all(path_);
        std::filesystem::create_directories(path_);
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    [[nodiscard]] std::string file(const std::string& name) const { return (path_ / name).string(); }
    [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

private:
    std::filesystem::path path_;
};

/// A database file in the temp directory, removed (with its journal, WAL and shm files, and the files libsql serve
/// and replicas keep beside it) afterwards.
class temp_db_file {
public:
    explicit temp_db_file(const std::string& prefix = "libsql-test") : path_(unique_temp_path(prefix).string() + ".db") {
        remove_all();
    }
    ~temp_db_file() { remove_all(); }
    temp_db_file(const temp_db_file&) = delete;
    temp_db_file& operator=(const temp_db_file&) = delete;
    [[nodiscard]] const std::string& path() const noexcept { return path_; }

private:
    void remove_all() const noexcept {
        std::error_code ec;
        for (const char* suffix : {"", "-journal", "-wal", "-shm", "-libsql-generation", "-libsql-replica"})
            std::filesystem::remove(path_ + suffix, ec);
        // libsql serve's archived generations (<db>-libsql-wal-G) and their temporaries.
        const std::filesystem::path p(path_);
        const std::string prefix = p.filename().string() + "-libsql-";
        for (const auto& e : std::filesystem::directory_iterator(p.has_parent_path() ? p.parent_path() : ".", ec))
            if (e.path().filename().string().starts_with(prefix)) std::filesystem::remove(e.path(), ec);
    }
    std::string path_;
};

} // namespace libsql::test
