// placeholder until embedded replicas land
#include "core/database_backend.hpp"
namespace libsql::detail {
std::shared_ptr<database_backend> open_replica_database(std::string_view, const connect_options&) {
    throw unsupported("embedded replicas are not available in this build yet", error_info{0, {}, {}, transport::replica, {}});
}
} // namespace libsql::detail
