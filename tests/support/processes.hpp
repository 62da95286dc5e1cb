// Real peers as child processes for the tests: `libsql serve` (our server) and `tursodb --sync-server` (npm turso).
// Each binds 127.0.0.1 on a port chosen for the test and is stopped (SIGTERM, then SIGKILL) when the object goes.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace libsql::test {

/// Paths the build passes in (tests/CMakeLists.txt): the libsql command and the npm tree with tursodb.
#ifdef LIBSQL_CLI_PATH
inline std::string libsql_cli_path() { return LIBSQL_CLI_PATH; }
#endif
#ifdef LIBSQL_NPM_DIR
inline std::string tursodb_path() {
    return std::string(LIBSQL_NPM_DIR) + "/node_modules/@tursodatabase/cli-linux-x64-gnu/tursodb";
}
inline bool tursodb_available() { return std::filesystem::exists(tursodb_path()); }
#endif

/// A port free at the time of the call (bind to 0, read it back, close).
inline std::uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) throw std::runtime_error("socket() failed");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        ::close(fd);
        throw std::runtime_error("bind() failed");
    }
    const auto port = ntohs(a.sin_port);
    ::close(fd);
    return port;
}

inline bool port_accepts(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return false;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    return ok;
}

/// A child process; stdout is captured through a pipe when capture_stdout is set (read with read_line()).
class child_process {
public:
    child_process(const std::vector<std::string>& argv, bool capture_stdout) {
        std::vector<char*> args;
        for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        int p[2] = {-1, -1};
        if (capture_stdout && ::pipe2(p, O_CLOEXEC) != 0) throw std::runtime_error("pipe() failed");
        const pid_t parent = ::getpid();
        pid_ = ::fork();
        if (pid_ < 0) throw std::runtime_error("fork() failed");
        if (pid_ == 0) {
            // The child dies with the test process, even when that one is killed (a ctest timeout) or aborts (a
            // sanitizer report): a server left behind would hold ctest's output pipe open and hang the run.
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (::getppid() != parent) ::_exit(127);
            if (capture_stdout) ::dup2(p[1], 1);
            ::execv(args[0], args.data());
            ::_exit(127);
        }
        if (capture_stdout) {
            ::close(p[1]);
            out_ = p[0];
        }
    }
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;
    ~child_process() { stop(); }

    /// One line of the child's stdout (without '\n'); empty at end of file.
    std::string read_line() {
        std::string line;
        char c;
        while (out_ >= 0 && ::read(out_, &c, 1) == 1) {
            if (c == '\n') break;
            line.push_back(c);
        }
        return line;
    }
    [[nodiscard]] pid_t pid() const noexcept { return pid_; }
    /// Sends sig; waits up to `grace` for the exit, then SIGKILLs. Returns the wait status (or -1 if already gone).
    int stop(int sig = SIGTERM, std::chrono::milliseconds grace = std::chrono::milliseconds(5000)) {
        if (pid_ <= 0) return -1;
        ::kill(pid_, sig);
        int status = 0;
        const auto deadline = std::chrono::steady_clock::now() + grace;
        while (::waitpid(pid_, &status, WNOHANG) == 0) {
            if (std::chrono::steady_clock::now() > deadline) {
                ::kill(pid_, SIGKILL);
                ::waitpid(pid_, &status, 0);
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        pid_ = -1;
        if (out_ >= 0) ::close(out_);
        out_ = -1;
        return status;
    }
    /// SIGKILL, no grace: for crash tests.
    void kill_now() { stop(SIGKILL, std::chrono::milliseconds(2000)); }

private:
    pid_t pid_ = -1;
    int out_ = -1;
};

#ifdef LIBSQL_CLI_PATH
/// `libsql serve PATH --listen 127.0.0.1:0 [extra...]`; the port comes from its "listening on" line.
class libsql_server {
public:
    explicit libsql_server(const std::string& db_path, std::vector<std::string> extra = {}) {
        std::vector<std::string> argv{libsql_cli_path(), "serve", db_path, "--listen", "127.0.0.1:0"};
        argv.insert(argv.end(), extra.begin(), extra.end());
        proc_ = std::make_unique<child_process>(argv, true);
        const std::string line = proc_->read_line();
        const auto colon = line.rfind(':');
        if (line.find("listening on") == std::string::npos || colon == std::string::npos)
            throw std::runtime_error("libsql serve did not start: '" + line + "'");
        port_ = static_cast<std::uint16_t>(std::stoi(line.substr(colon + 1)));
    }
    [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
    [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    child_process& process() { return *proc_; }

private:
    std::unique_ptr<child_process> proc_;
    std::uint16_t port_ = 0;
};
#endif

#ifdef LIBSQL_NPM_DIR
/// `tursodb FILE --sync-server 127.0.0.1:PORT` on a fresh file (it serves only what is in its own WAL).
class tursodb_server {
public:
    explicit tursodb_server(const std::string& db_path) {
        for (int attempt = 0; attempt < 5; ++attempt) {
            port_ = free_port();
            proc_ = std::make_unique<child_process>(
                std::vector<std::string>{tursodb_path(), db_path, "--sync-server", "127.0.0.1:" + std::to_string(port_)},
                false);
            const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
            while (std::chrono::steady_clock::now() < deadline) {
                if (port_accepts(port_)) return;
                int status = 0;
                if (::waitpid(proc_->pid(), &status, WNOHANG) != 0) break;  // exited (port taken?): try another
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
            }
            proc_.reset();
        }
        throw std::runtime_error("tursodb --sync-server did not start");
    }
    ~tursodb_server() {
        if (proc_) proc_->stop(SIGINT);
    }
    [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
    [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

private:
    std::unique_ptr<child_process> proc_;
    std::uint16_t port_ = 0;
};
#endif

} // namespace libsql::test
