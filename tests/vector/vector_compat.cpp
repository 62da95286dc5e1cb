// Runs the cases tests/vector/vector_cases.mjs generated with npm libsql@0.5.29 on libsql-cpp's engine and
// compares every result byte for byte (blobs, text, the bits of reals, NULL) and every error (code name and
// message). Usage: vector_compat CASES_FILE [--remote N]. Exit code 0 when all agree. With --remote, every Nth
// case runs through `libsql serve` (started here on a scratch file) over HTTP instead of a local connection.
//
// Two allowances, both where libSQL's output is not defined: the alignment padding of float8 blobs (libSQL
// leaves it uninitialised, we write zeros), and float1bit blobs whose trailing-bits byte exceeds the blob's bits
// (libSQL goes on with a negative dimension count and reads out of bounds; we fail with our own message).
#include "libsql/database.hpp"
#include "libsql/error.hpp"
#include "libsql/params.hpp"
#ifdef LIBSQL_CLI_PATH
#include "support/processes.hpp"
#endif

#include <bit>
#include <filesystem>
#include <memory>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::string unhex(std::string_view h) {
    std::string out;
    out.reserve(h.size() / 2);
    for (std::size_t i = 0; i + 1 < h.size(); i += 2) out.push_back(static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
    return out;
}

std::string hex(std::string_view s) {
    static const char* d = "0123456789abcdef";
    std::string out;
    for (char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        out.push_back(d[c >> 4]);
        out.push_back(d[c & 15]);
    }
    return out;
}

std::vector<std::string> split(const std::string& line) {
    std::vector<std::string> out;
    std::size_t start = 0;
    for (;;) {
        const std::size_t tab = line.find('\t', start);
        out.push_back(line.substr(start, tab - start));
        if (tab == std::string::npos) return out;
        start = tab + 1;
    }
}

std::string token_of(libsql::value_view v) {
    switch (v.type()) {
    case libsql::value_type::null: return "n";
    case libsql::value_type::integer: return "i:" + std::to_string(v.as_integer());
    case libsql::value_type::real: {
        char buf[32];
        std::snprintf(buf, sizeof buf, "r:%016llx", static_cast<unsigned long long>(std::bit_cast<std::uint64_t>(v.as_real())));
        return buf;
    }
    case libsql::value_type::text: return "t:" + hex(v.as_text());
    case libsql::value_type::blob: {
        const auto b = v.as_blob();
        return "b:" + hex(std::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
    }
    }
    return "?";
}

/// float8 blobs: the alignment padding is libSQL's uninitialised memory; zero it in the expectation.
std::string mask_f8_padding(const std::string& token) {
    if (token.rfind("b:", 0) != 0) return token;
    std::string bytes = unhex(std::string_view(token).substr(2));
    const std::size_t n = bytes.size();
    if (n < 11 || n % 2 == 0 || bytes[n - 1] != 4) return token;
    const std::size_t pad = static_cast<unsigned char>(bytes[n - 2]);
    if (pad > 3 || n < 11 + pad) return token;
    const std::size_t dims = n - 11 - pad;
    for (std::size_t i = dims; i < dims + pad; ++i) bytes[i] = 0;
    return "b:" + hex(bytes);
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 2 && argc != 4) {
        std::cerr << "usage: vector_compat CASES_FILE [--remote N]\n";
        return 2;
    }
    const long every = argc == 4 ? std::stol(argv[3]) : 1;
    std::ifstream in(argv[1]);
    if (!in) {
        std::cerr << "cannot read " << argv[1] << "\n";
        return 2;
    }
    std::string target = ":memory:";
#ifdef LIBSQL_CLI_PATH
    std::filesystem::path scratch;
    std::unique_ptr<libsql::test::libsql_server> server;
    if (argc == 4) {
        scratch = std::filesystem::temp_directory_path() / ("vector-compat-" + std::to_string(::getpid()));
        std::filesystem::create_directories(scratch);
        server = std::make_unique<libsql::test::libsql_server>((scratch / "served.db").string());
        target = server->url();
    }
    struct cleanup {
        std::filesystem::path dir;
        ~cleanup() { if (!dir.empty()) std::filesystem::remove_all(dir); }
    } remove_scratch{scratch};
#else
    if (argc == 4) {
        std::cerr << "built without the server: --remote is not available\n";
        return 2;
    }
#endif
    libsql::database db(target);
    libsql::connection conn = db.connect();
    long line_no = 0;
    std::string line;
    long cases = 0, failures = 0, undefined_in_libsql = 0, blobs = 0, errors = 0, reals = 0;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        if (line_no++ % every != 0) continue;
        const std::vector<std::string> f = split(line);
        if (f.size() < 3 || f[f.size() - 2] != "=>") {
            std::cerr << "malformed case line " << cases + 1 << "\n";
            return 2;
        }
        ++cases;
        const std::string sql = unhex(f[0]);
        libsql::params p;
        for (std::size_t i = 1; i + 2 < f.size(); ++i) {
            const std::string& a = f[i];
            if (a.rfind("t:", 0) == 0) p.add(unhex(std::string_view(a).substr(2)));
            else if (a.rfind("b:", 0) == 0) {
                const std::string raw = unhex(std::string_view(a).substr(2));
                libsql::blob b(raw.size());
                for (std::size_t k = 0; k < raw.size(); ++k) b[k] = static_cast<std::byte>(raw[k]);
                p.add(b);
            } else { std::cerr << "unknown argument token " << a << "\n"; return 2; }
        }
        std::string expected = f.back();
        if (sql.find("vector8(") != std::string::npos) expected = mask_f8_padding(expected);
        std::string got;
        try {
            libsql::statement st = conn.prepare(sql);
            st.bind(p);
            const libsql::row r = st.query_row();
            got = token_of(r.at(0));
        } catch (const libsql::error& e) {
            // what() is the engine's message, then " [CODE_NAME] in: SQL"
            std::string msg = e.what();
            if (const std::size_t at = msg.rfind(" [" + std::string(e.code_name()) + "]"); at != std::string::npos) msg.resize(at);
            if (msg.rfind("vector: float1bit vector blob has more trailing bits than bits", 0) == 0) {
                ++undefined_in_libsql;
                continue;
            }
            // vector_extract and the distances ignore libSQL's own size check and read uninitialised memory
            if (msg.rfind("vector: unexpected data part size", 0) == 0 &&
                (sql.find("vector_extract") != std::string::npos || sql.find("vector_distance") != std::string::npos)) {
                ++undefined_in_libsql;
                continue;
            }
            got = "e:" + std::string(e.code_name()) + ":" + hex(msg);
            // a 1025-character number: libSQL prints its buffer without a terminator, then whatever follows
            const std::string too_long = "vector: float string length exceeded";
            if (msg.rfind(too_long, 0) == 0 && msg.size() > 1 && expected.rfind("e:SQLITE_ERROR:", 0) == 0) {
                const std::string prefix = "e:SQLITE_ERROR:" + hex(msg.substr(0, msg.size() - 1));
                if (expected.rfind(prefix, 0) == 0) {
                    ++undefined_in_libsql;
                    continue;
                }
            }
        }
        if (expected.rfind("b:", 0) == 0) ++blobs;
        else if (expected.rfind("e:", 0) == 0) ++errors;
        else if (expected.rfind("r:", 0) == 0) ++reals;
        if (got != expected) {
            if (++failures <= 25) {
                auto show = [](const std::string& t) {
                    if (t.rfind("e:", 0) == 0) {
                        const std::size_t c = t.find(':', 2);
                        return t.substr(0, c + 1) + unhex(std::string_view(t).substr(c + 1));
                    }
                    if (t.rfind("t:", 0) == 0) return "t:" + unhex(std::string_view(t).substr(2)).substr(0, 3000);
                    return t.substr(0, 3000);
                };
                std::cerr << "MISMATCH case " << cases << ": " << sql.substr(0, 120);
                for (std::size_t i = 1; i + 2 < f.size(); ++i) std::cerr << "  arg " << f[i].substr(0, 80);
                std::cerr << "\n  libSQL:     " << show(expected) << "\n  libsql-cpp: " << show(got) << "\n";
            }
        }
    }
    std::cout << (argc == 4 ? "remote (libsql serve): " : "local: ") << cases << " cases (" << blobs << " blobs, " << reals << " reals, " << errors << " errors), " << failures
              << " mismatches, " << undefined_in_libsql << " skipped where libSQL reads out of bounds\n";
    if (cases < 20000 / every) {
        std::cerr << "too few cases: the generator did not run fully\n";
        return 1;
    }
    return failures == 0 ? 0 : 1;
}
