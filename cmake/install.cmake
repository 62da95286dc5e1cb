# Installing and packaging (docs/INSTALL.md): the public headers, the library, the `libsql` command when built, a CMake
# package (libsqlConfig.cmake, target libsql::libsql), libsql.pc for pkg-config, and CPack's Debian package. Every
# file is relocatable: `cmake --install build --prefix DIR` and CPack's /usr give working packages from one configure.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(LIBSQL_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/libsql" CACHE STRING
    "Where libsqlConfig.cmake goes, relative to the prefix")
set(LIBSQL_INSTALL_PKGCONFIGDIR "${CMAKE_INSTALL_LIBDIR}/pkgconfig" CACHE STRING
    "Where libsql.pc goes, relative to the prefix")
get_target_property(libsql_type libsql TYPE)
set(libsql_static OFF)
if(libsql_type STREQUAL "STATIC_LIBRARY")
  set(libsql_static ON)
endif()

install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/libsql" DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
        FILES_MATCHING PATTERN "*.hpp")
set_target_properties(libsql PROPERTIES EXPORT_NAME libsql)
install(TARGETS libsql EXPORT libsqlTargets
        ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}"
        LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}"
        RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}")  # the include directory: libsql's INSTALL_INTERFACE
# The SOCI backend: libsoci_libsql.so.4.0 beside the library (where SOCI's loader finds it when the prefix is a
# system one, or through SOCI_BACKENDS_PATH), and libsql::soci in an export set of its own, loaded by libsqlConfig.cmake
# only when SOCI is found (component soci).
set(libsql_with_soci OFF)
if(TARGET libsql_soci)
  set(libsql_with_soci ON)
  if(NOT libsql_static)  # a shared libsql: the backend finds it beside itself
    set_target_properties(libsql_soci PROPERTIES INSTALL_RPATH "\$ORIGIN")
  endif()
  install(TARGETS libsql_soci EXPORT libsqlSociTargets
          LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}")
  install(EXPORT libsqlSociTargets NAMESPACE libsql:: DESTINATION "${LIBSQL_INSTALL_CMAKEDIR}"
          FILE libsqlSociTargets.cmake)
  install(FILES "${PROJECT_SOURCE_DIR}/cmake/FindSOCI.cmake" DESTINATION "${LIBSQL_INSTALL_CMAKEDIR}")
endif()
if(TARGET libsql_cli)
  if(NOT libsql_static)  # the installed command finds the installed shared library beside it
    file(RELATIVE_PATH libsql_bin_to_lib "/${CMAKE_INSTALL_BINDIR}" "/${CMAKE_INSTALL_LIBDIR}")
    set_target_properties(libsql_cli PROPERTIES INSTALL_RPATH "\$ORIGIN/${libsql_bin_to_lib}")
  endif()
  install(TARGETS libsql_cli RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}")
endif()

# The CMake package. A static libsql::libsql names its dependencies' imported targets (link-only), so the config
# file finds them again; a shared one carries them inside.
install(EXPORT libsqlTargets NAMESPACE libsql:: DESTINATION "${LIBSQL_INSTALL_CMAKEDIR}" FILE libsqlTargets.cmake)
configure_package_config_file("${PROJECT_SOURCE_DIR}/cmake/libsqlConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/package/libsqlConfig.cmake" INSTALL_DESTINATION "${LIBSQL_INSTALL_CMAKEDIR}")
# 0.x: a minor release may break the API, so only the same major.minor is compatible.
write_basic_package_version_file("${PROJECT_BINARY_DIR}/package/libsqlConfigVersion.cmake"
  VERSION "${PROJECT_VERSION}" COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/package/libsqlConfig.cmake" "${PROJECT_BINARY_DIR}/package/libsqlConfigVersion.cmake"
        DESTINATION "${LIBSQL_INSTALL_CMAKEDIR}")

# libsql.pc. The prefix is found from the .pc file's own place (${pcfiledir}), so the same file serves every prefix.
# Libs.private names the libraries a static libsql needs as plain -l flags (not Requires.private: `pkg-config
# --static` would then demand the static dependencies of those libraries themselves, which a system rarely has).
function(libsql_pc_flags out)
  set(flags)
  foreach(lib IN LISTS ARGN)
    if(lib MATCHES "^/.*/lib([^/]+)\\.(so|a)(\\.[0-9.]+)?$")
      get_filename_component(dir "${lib}" DIRECTORY)
      if(NOT dir IN_LIST CMAKE_CXX_IMPLICIT_LINK_DIRECTORIES)
        list(APPEND flags "-L${dir}")
      endif()
      list(APPEND flags "-l${CMAKE_MATCH_1}")
    elseif(lib MATCHES "^-")
      list(APPEND flags "${lib}")
    elseif(lib)
      list(APPEND flags "-l${lib}")
    endif()
  endforeach()
  list(REMOVE_DUPLICATES flags)
  list(JOIN flags " " flags)
  set(${out} "${flags}" PARENT_SCOPE)
endfunction()
cmake_path(RELATIVE_PATH CMAKE_INSTALL_PREFIX BASE_DIRECTORY "${CMAKE_INSTALL_PREFIX}/${LIBSQL_INSTALL_PKGCONFIGDIR}"
           OUTPUT_VARIABLE libsql_pc_to_prefix)
string(REGEX REPLACE "/$" "" libsql_pc_to_prefix "${libsql_pc_to_prefix}")
get_target_property(libsql_pc_name libsql OUTPUT_NAME)
set(libsql_pc_libs_private "")
if(libsql_static)
  get_target_property(libsql_boost_json Boost::json LOCATION)
  libsql_pc_flags(libsql_pc_libs_private ${libsql_boost_json} ${OPENSSL_SSL_LIBRARY}
                  ${OPENSSL_CRYPTO_LIBRARY} ${PROTOBUF_LITE_LINK_LIBRARIES} ${CMAKE_THREAD_LIBS_INIT} ${CMAKE_DL_LIBS} m)
  if(NOT CMAKE_THREAD_LIBS_INIT)
    string(APPEND libsql_pc_libs_private " -pthread")
  endif()
endif()
configure_file("${PROJECT_SOURCE_DIR}/cmake/libsql.pc.in" "${PROJECT_BINARY_DIR}/package/libsql.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/package/libsql.pc" DESTINATION "${LIBSQL_INSTALL_PKGCONFIGDIR}")

# `cpack -G DEB`: one package with everything above. A static library makes it a development package: it depends on
# the -dev packages of the libraries a program linking it needs; the command and a shared library need the runtime
# ones.
if(libsql_static)
  set(libsql_deb_depends "libboost-json1.81-dev, libssl-dev, libprotobuf-dev")
else()
  set(libsql_deb_depends "libboost-json1.81.0, libssl3, libprotobuf-lite32")
endif()
string(APPEND libsql_deb_depends ", libstdc++6 (>= 12), libc6 (>= 2.34)")
if(libsql_with_soci)
  string(APPEND libsql_deb_depends ", libsoci-dev (>= 4.0.3), libsoci-dev (<< 4.1)")
endif()
if(TARGET libsql_cli)
  string(APPEND libsql_deb_depends ", libsodium23, libedit2")
endif()
set(LIBSQL_PACKAGE_CONTACT "Seed d17f8e1a maintainers <maintainers@users.noreply.r-seed-d17f8e1a.example>" CACHE STRING
    "The Debian package's maintainer")
set(CPACK_PACKAGE_NAME libsql-cpp)
set(CPACK_PACKAGE_VENDOR "libsql-cpp")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_CONTACT "${LIBSQL_PACKAGE_CONTACT}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "libSQL/Turso client library for C++, with the libsql command")
set(CPACK_PACKAGE_DESCRIPTION "One C++20 API over a local SQLite-format file (SQLite 3.53.4 with SQLite3MultipleCiphers \
encryption), a remote libSQL server over Hrana (HTTP, WebSocket) and embedded replicas; a connection pool; the \
`libsql` command (serve, shell, migrate). Headers, library, CMake package (libsql::libsql) and libsql.pc.")
set(CPACK_DEBIAN_PACKAGE_DEPENDS "${libsql_deb_depends}")
set(CPACK_DEBIAN_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
# As Debian's own packages: the command and the shared libraries without their debug information (CMake leaves a
# static library as it is, since stripping would take its symbol table).
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_GENERATOR DEB)
set(CPACK_SOURCE_GENERATOR "")
include(CPack)
