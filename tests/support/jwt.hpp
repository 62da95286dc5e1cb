// Ed25519 keys and signed JWTs for tests of servers run with --auth-jwt-key-file, made by Node's crypto as
// tests/interop does: `libsql serve` reads the public key (PEM, SPKI). Each token's claims are a JavaScript object
// literal in which `now` is the current Unix time, e.g. "{exp:now+3600}" or "{exp:now+3600,a:'ro'}".
#pragma once

#include "support/processes.hpp"

#include <chrono>
#include <csignal>
#include <string>
#include <vector>

namespace libsql::test {

/// Writes a fresh key pair's public key to key_file; returns one token per claims literal, signed with its private
/// key. A token is empty if node failed (the test's checks then fail on it).
inline std::vector<std::string> make_signed_tokens(const std::string& key_file, const std::vector<std::string>& claims) {
    std::string script =
        "const c=require('crypto'),fs=require('fs');"
        "const {privateKey,publicKey}=c.generateKeyPairSync('ed25519');"
        "fs.writeFileSync(process.argv[1],publicKey.export({type:'spki',format:'pem'}));"
        "const b=o=>Buffer.from(JSON.stringify(o)).toString('base64url');"
        "const sign=p=>{const h=b({alg:'EdDSA',typ:'JWT'})+'.'+b(p);"
        "return h+'.'+c.sign(null,Buffer.from(h),privateKey).toString('base64url')};"
        "const now=Math.floor(Date.now()/1000);";
    for (const auto& claim : claims) script += "console.log(sign(" + claim + "));";
    child_process node({"/usr/bin/env", "node", "-e", script, key_file}, true);
    std::vector<std::string> tokens;
    tokens.reserve(claims.size());
    for (std::size_t i = 0; i < claims.size(); ++i) tokens.push_back(node.read_line());
    node.stop(SIGTERM, std::chrono::seconds(10));
    return tokens;
}

} // namespace libsql::test
