// TLS settings of the remote client's two transports (both on Asio SSL), taken from
// connect_options. No TLS library types here.
#pragma once

#include "libsql/options.hpp"

#include <string>

namespace libsql::detail {

struct tls_settings {
    std::string ca_file;    ///< PEM CA bundle instead of the system's; empty: the system's
    bool verify = true;     ///< chain and host name
    std::string cert_file;  ///< client certificate chain (PEM), for mutual TLS
    std::string key_file;   ///< its private key (PEM)
};

[[nodiscard]] inline tls_settings tls_settings_of(const connect_options& o) {
    return tls_settings{o.tls_ca_file, o.tls_verify, o.tls_cert_file, o.tls_key_file};
}

} // namespace libsql::detail
