# FindSOCI: SOCI (https://soci.sourceforge.net) by its headers and libraries, since Debian's libsoci-dev (4.0.3)
# ships no CMake package. Defines SOCI_FOUND, SOCI_VERSION ("4.0.3"), SOCI_ABI_VERSION ("4.0": the suffix SOCI's
# backend loader appends to libsoci_<name>.so), SOCI_LIBRARY_DIR, and the imported targets SOCI::core and, when its
# library is there, SOCI::sqlite3 (SOCI's own SQLite backend, which the SOCI benchmark compares with).
find_path(SOCI_INCLUDE_DIR soci/soci.h)
find_library(SOCI_CORE_LIBRARY NAMES soci_core)
find_library(SOCI_SQLITE3_LIBRARY NAMES soci_sqlite3)

if(SOCI_INCLUDE_DIR AND EXISTS "${SOCI_INCLUDE_DIR}/soci/version.h")
  file(STRINGS "${SOCI_INCLUDE_DIR}/soci/version.h" soci_version_line REGEX "^#define[ \t]+SOCI_VERSION[ \t]+[0-9]+")
  string(REGEX REPLACE ".*SOCI_VERSION[ \t]+([0-9]+).*" "\\1" soci_version_number "${soci_version_line}")
  math(EXPR soci_major "${soci_version_number} / 100000")
  math(EXPR soci_minor "${soci_version_number} / 100 % 1000")
  math(EXPR soci_patch "${soci_version_number} % 100")
  set(SOCI_VERSION "${soci_major}.${soci_minor}.${soci_patch}")
  set(SOCI_ABI_VERSION "${soci_major}.${soci_minor}")
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(SOCI REQUIRED_VARS SOCI_CORE_LIBRARY SOCI_INCLUDE_DIR VERSION_VAR SOCI_VERSION)

# The imported targets are GLOBAL: libsql-cpp as a subproject (add_subdirectory, FetchContent) finds SOCI in its own
# directory, and a consumer linking libsql::soci must see SOCI::core from its own.
if(SOCI_FOUND)
  get_filename_component(SOCI_LIBRARY_DIR "${SOCI_CORE_LIBRARY}" DIRECTORY)
  if(NOT TARGET SOCI::core)
    add_library(SOCI::core UNKNOWN IMPORTED GLOBAL)
    set_target_properties(SOCI::core PROPERTIES IMPORTED_LOCATION "${SOCI_CORE_LIBRARY}"
                          INTERFACE_INCLUDE_DIRECTORIES "${SOCI_INCLUDE_DIR}"
                          INTERFACE_LINK_LIBRARIES "${CMAKE_DL_LIBS}")
  endif()
  if(SOCI_SQLITE3_LIBRARY AND NOT TARGET SOCI::sqlite3)
    add_library(SOCI::sqlite3 UNKNOWN IMPORTED GLOBAL)
    set_target_properties(SOCI::sqlite3 PROPERTIES IMPORTED_LOCATION "${SOCI_SQLITE3_LIBRARY}"
                          INTERFACE_LINK_LIBRARIES SOCI::core)
  endif()
endif()
mark_as_advanced(SOCI_INCLUDE_DIR SOCI_CORE_LIBRARY SOCI_SQLITE3_LIBRARY)
