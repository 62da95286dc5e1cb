// The client side of TLS on Asio SSL, shared by the two transports that include Asio (http_client.cpp and
// ws_transport.cpp); nothing else includes this header.
#pragma once

#include "remote/tls.hpp"

#include <boost/asio/ssl.hpp>

#include <string>

namespace libsql::detail {

/// Sets ctx up from tls: the CA file (or the system's store), the client certificate and key, the verify mode.
/// Returns what failed ("cannot use the CA file 'x': No such file or directory"), or "" when all is loaded.
[[nodiscard]] inline std::string load_client_tls(boost::asio::ssl::context& ctx, const tls_settings& tls) {
    namespace ssl = boost::asio::ssl;
    const char* step = "the CA file";
    const std::string* file = &tls.ca_file;
    try {
        ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                        ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
        if (tls.ca_file.empty()) ctx.set_default_verify_paths();
        else ctx.load_verify_file(tls.ca_file);
        step = "the client certificate";
        file = &tls.cert_file;
        if (!tls.cert_file.empty()) ctx.use_certificate_chain_file(tls.cert_file);
        step = "the client key";
        file = &tls.key_file;
        if (!tls.key_file.empty()) ctx.use_private_key_file(tls.key_file, ssl::context::pem);
    } catch (const boost::system::system_error& e) {
        return std::string("cannot use ") + step + " '" + *file + "': " + e.code().message();
    }
    ctx.set_verify_mode(tls.verify ? ssl::verify_peer : ssl::verify_none);
    return {};
}

/// Host name verification (when tls.verify) and SNI for one connection.
template <class Stream>
void prepare_client_tls(Stream& s, const tls_settings& tls, const std::string& host) {
    if (tls.verify) s.set_verify_callback(boost::asio::ssl::host_name_verification(host));
    // SNI (SSL_set_tlsext_host_name is a macro with a C cast).
    SSL_ctrl(s.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, const_cast<char*>(host.c_str()));
}

} // namespace libsql::detail
