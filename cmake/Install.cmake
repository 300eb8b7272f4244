# What `cmake --install` puts where, and the shared library it needs.
#
#   lib/libvkattn.a                 static (target vkattn, exported as vkattn::vkattn_static)
#   lib/libvkattn.so.0.1.0 (+ .so.0 SONAME link, .so dev link)
#                                   shared (target vkattn_shared, exported as vkattn::vkattn_shared)
#   bin/vkattn                      the command, when VKATTN_BUILD_CLI
#   include/vkattn/                 vkattn.hpp and friends, vkattn.h (C)
#   lib/cmake/vkattn/               find_package(vkattn CONFIG): vkattn::vkattn is the shared
#                                   library, or the static one when VKATTN_USE_STATIC_LIBS is set
#   lib/pkgconfig/vkattn.pc         -lvkattn; --static adds the private libraries
#
# Components, for packagers who split runtime and development files: `runtime` (the .so.0
# and the command) and `devel` (everything else). `cmake --install` with no component
# installs both.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# --- shared library: the same objects as the static one (see the top-level CMakeLists.txt).
add_library(vkattn_shared SHARED
  $<TARGET_OBJECTS:vkattn_objects> $<TARGET_OBJECTS:vkattn_vulkan>)
target_include_directories(vkattn_shared
  PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include> $<INSTALL_INTERFACE:include>)
target_link_libraries(vkattn_shared PRIVATE Threads::Threads ${CMAKE_DL_LIBS})
# The ABI is versioned by the major version (0 while the API settles): libvkattn.so.0.
set_target_properties(vkattn_shared PROPERTIES
  OUTPUT_NAME vkattn
  VERSION ${PROJECT_VERSION}
  SOVERSION ${PROJECT_VERSION_MAJOR}
  EXPORT_NAME vkattn_shared
  LINKER_LANGUAGE CXX)
# Export only the public API (vkattn_* C functions and vkattn:: C++ symbols) under a version
# node, and refuse undefined symbols so a missing source shows at link time, not at dlopen.
if(CMAKE_SYSTEM_NAME STREQUAL "Linux")
  set(_vkattn_map "${CMAKE_CURRENT_LIST_DIR}/vkattn.map")
  target_link_options(vkattn_shared PRIVATE
    "LINKER:--version-script=${_vkattn_map}" "LINKER:--no-undefined")
  set_property(TARGET vkattn_shared APPEND PROPERTY LINK_DEPENDS "${_vkattn_map}")
endif()
set_target_properties(vkattn PROPERTIES EXPORT_NAME vkattn_static LINKER_LANGUAGE CXX)

# --- install rules
set(VKATTN_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/vkattn" CACHE STRING
    "Where vkattnConfig.cmake is installed, relative to the prefix")

install(TARGETS vkattn vkattn_shared EXPORT vkattnTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT devel
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime NAMELINK_COMPONENT devel
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/vkattn"
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT devel
  FILES_MATCHING PATTERN "*.hpp" PATTERN "*.h")
if(TARGET vkattn_cli)
  install(TARGETS vkattn_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
endif()

install(EXPORT vkattnTargets NAMESPACE vkattn:: DESTINATION ${VKATTN_INSTALL_CMAKEDIR}
  COMPONENT devel)
configure_package_config_file(cmake/vkattnConfig.cmake.in
  "${PROJECT_BINARY_DIR}/vkattnConfig.cmake"
  INSTALL_DESTINATION ${VKATTN_INSTALL_CMAKEDIR})
# 0.x releases may break the ABI between minors; the package still promises what the
# project asks of SameMajorVersion, and the SONAME (libvkattn.so.0) tracks the same number.
write_basic_package_version_file("${PROJECT_BINARY_DIR}/vkattnConfigVersion.cmake"
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES "${PROJECT_BINARY_DIR}/vkattnConfig.cmake"
              "${PROJECT_BINARY_DIR}/vkattnConfigVersion.cmake"
  DESTINATION ${VKATTN_INSTALL_CMAKEDIR} COMPONENT devel)

# --- pkg-config. A static link from C also needs the C++ runtime: take it from the
# compiler's own implicit link libraries rather than hard-coding -lstdc++.
set(VKATTN_PC_LIBS_PRIVATE "")
foreach(lib IN LISTS CMAKE_CXX_IMPLICIT_LINK_LIBRARIES)
  if(NOT lib IN_LIST CMAKE_C_IMPLICIT_LINK_LIBRARIES AND NOT lib MATCHES "^-")
    string(APPEND VKATTN_PC_LIBS_PRIVATE " -l${lib}")
  endif()
endforeach()
foreach(lib IN LISTS CMAKE_DL_LIBS)
  string(APPEND VKATTN_PC_LIBS_PRIVATE " -l${lib}")
endforeach()
string(APPEND VKATTN_PC_LIBS_PRIVATE " -pthread")
string(STRIP "${VKATTN_PC_LIBS_PRIVATE}" VKATTN_PC_LIBS_PRIVATE)
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(VKATTN_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
else()
  set(VKATTN_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(VKATTN_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(VKATTN_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
# The prefix is the one given at install time (`cmake --install --prefix P`), not the
# configure-time default, so the file is finished by the install step itself.
set(VKATTN_PC_PREFIX "@VKATTN_PC_PREFIX@")
configure_file(cmake/vkattn.pc.in "${PROJECT_BINARY_DIR}/vkattn.pc.in" @ONLY)
install(CODE "
  set(VKATTN_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  configure_file(\"${PROJECT_BINARY_DIR}/vkattn.pc.in\" \"${PROJECT_BINARY_DIR}/vkattn.pc\" @ONLY)
" COMPONENT devel)
install(FILES "${PROJECT_BINARY_DIR}/vkattn.pc"
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT devel)
