// placeholder until the remote client lands
#include "core/database_backend.hpp"
namespace libsql::detail {
std::shared_ptr<database_backend> open_remote_database(std::string_view url, const connect_options&) {
    throw unsupported("remote connections are not available in this build yet (" + std::string(url) + ")",
                      error_info{0, {}, {}, transport::remote, {}});
}
} // namespace libsql::detail
