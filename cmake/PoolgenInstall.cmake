# The installed CMake package: `make install PREFIX=dir` (cmake --install) lays out
#
#   bin/                  poolgen (CLI), poolgen_pool_generator, poolgen-manifest (host tools)
#   lib/                  libpoolgen_runtime.a, libpoolgen_halide_runtime.a (one Halide runtime),
#                         libpoolgen_npy.a and libpoolgen_util.a (.npy I/O, for programs that want it)
#   include/poolgen/      the public headers; include/poolgen/halide/ the Halide runtime headers
#   lib/cmake/poolgen/    poolgenConfig.cmake, poolgenConfigVersion.cmake, exported targets,
#                         PoolgenKernels.cmake (poolgen_add_kernels)
#   share/poolgen/        schedules/ (strategies and db/), src/ (libpoolgen's sources, compiled
#                         by cross builds for their own architecture)
#
# Everything is found relative to the config file, so the prefix can be moved. The generator
# links Halide's libHalide.so: its RUNPATH names the directory of the libHalide.so this build
# used (Halide's location, never the build tree), and poolgenConfig.cmake finds the same
# Halide version (EXACT) for its CMake helpers, GenRT and runtime headers.
include_guard(GLOBAL)
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(POOLGEN_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/poolgen")
set(POOLGEN_INSTALL_DATADIR "${CMAKE_INSTALL_DATADIR}/poolgen")
set(POOLGEN_INSTALL_HALIDE_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}/poolgen/halide")

# poolgen-manifest as an ordinary target for the package (the in-tree configure step keeps
# using the copy compiled at configure time).
add_executable(poolgen_manifest runtime/manifest/manifest_tool.cpp schedules/schedule_db.cpp)
target_link_libraries(poolgen_manifest PRIVATE poolgen_manifest_reader poolgen_util nlohmann_json::nlohmann_json)
target_include_directories(poolgen_manifest PRIVATE schedules)
set_target_properties(poolgen_manifest PROPERTIES OUTPUT_NAME poolgen-manifest EXPORT_NAME manifest_tool)

set_target_properties(poolgen_pool_generator PROPERTIES EXPORT_NAME pool_generator)
set_target_properties(poolgen_runtime PROPERTIES EXPORT_NAME runtime)
set_target_properties(poolgen_npy PROPERTIES EXPORT_NAME npy)
set_target_properties(poolgen_util PROPERTIES EXPORT_NAME util)
foreach (lib IN ITEMS poolgen_npy poolgen_util)
    target_include_directories(${lib} INTERFACE $<INSTALL_INTERFACE:include>)
endforeach ()
set_target_properties(poolgen_halide_runtime PROPERTIES EXPORT_NAME halide_runtime)
set_target_properties(poolgen PROPERTIES EXPORT_NAME cli)
target_compile_features(poolgen_runtime PUBLIC cxx_std_17)
target_include_directories(poolgen_runtime PUBLIC $<INSTALL_INTERFACE:${POOLGEN_INSTALL_HALIDE_INCLUDEDIR}>)

# The installed generator finds libHalide.so where this build found it.
get_target_property(_poolgen_halide_lib Halide::Halide LOCATION)
get_filename_component(POOLGEN_HALIDE_LIBDIR "${_poolgen_halide_lib}" DIRECTORY)
set_target_properties(poolgen_pool_generator PROPERTIES INSTALL_RPATH "${POOLGEN_HALIDE_LIBDIR}")

install(TARGETS poolgen poolgen_pool_generator poolgen_manifest EXPORT poolgenToolTargets
        RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}")
install(TARGETS poolgen_runtime poolgen_halide_runtime poolgen_npy poolgen_util EXPORT poolgenRuntimeTargets
        ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}")
install(EXPORT poolgenToolTargets NAMESPACE poolgen:: DESTINATION "${POOLGEN_INSTALL_CMAKEDIR}")
install(EXPORT poolgenRuntimeTargets NAMESPACE poolgen:: DESTINATION "${POOLGEN_INSTALL_CMAKEDIR}")

foreach (part IN ITEMS spec lib npy util)
    install(DIRECTORY runtime/${part}/include/poolgen DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}" FILES_MATCHING PATTERN "*.h")
endforeach ()
# Halide::Runtime lists its headers in a file set.
get_target_property(_poolgen_halide_files Halide::Runtime HEADER_SET)
set(_poolgen_halide_headers)
foreach (h IN ITEMS HalideRuntime.h HalideBuffer.h HalideRuntimeCuda.h)
    set(_found ${_poolgen_halide_files})
    list(FILTER _found INCLUDE REGEX "/${h}$")
    if (NOT _found)
        message(FATAL_ERROR "poolgen: Halide::Runtime does not list ${h}")
    endif ()
    list(APPEND _poolgen_halide_headers ${_found})
endforeach ()
install(FILES ${_poolgen_halide_headers} DESTINATION "${POOLGEN_INSTALL_HALIDE_INCLUDEDIR}")

# libpoolgen's sources, by name relative to runtime/, for cross builds (poolgenConfig.cmake).
get_target_property(_poolgen_sources poolgen_runtime SOURCES)
get_target_property(_poolgen_source_dir poolgen_runtime SOURCE_DIR)
set(POOLGEN_RUNTIME_SOURCE_NAMES)
foreach (src IN LISTS _poolgen_sources)
    cmake_path(ABSOLUTE_PATH src BASE_DIRECTORY "${_poolgen_source_dir}" NORMALIZE)
    cmake_path(RELATIVE_PATH src BASE_DIRECTORY "${PROJECT_SOURCE_DIR}/runtime" OUTPUT_VARIABLE rel)
    if (NOT rel MATCHES "^\\.\\.")
        list(APPEND POOLGEN_RUNTIME_SOURCE_NAMES "${rel}")
    endif ()
endforeach ()
list(REMOVE_DUPLICATES POOLGEN_RUNTIME_SOURCE_NAMES)
foreach (part IN ITEMS spec lib)
    install(DIRECTORY runtime/${part}/ DESTINATION "${POOLGEN_INSTALL_DATADIR}/src/${part}" FILES_MATCHING PATTERN "*.cpp")
endforeach ()

install(DIRECTORY schedules/ DESTINATION "${POOLGEN_INSTALL_DATADIR}/schedules")
install(DIRECTORY DESTINATION "${POOLGEN_INSTALL_DATADIR}/schedules/db")
install(FILES cmake/PoolgenKernels.cmake DESTINATION "${POOLGEN_INSTALL_CMAKEDIR}")

# Values the config file records: the Halide this build used (a fallback hint only; the
# consumer's CMAKE_PREFIX_PATH or Halide_DIR come first) and the triple of the host build.
set(POOLGEN_HALIDE_VERSION "${Halide_VERSION}")
get_filename_component(POOLGEN_HALIDE_HINT "${Halide_DIR}" ABSOLUTE)
set(POOLGEN_PACKAGE_TRIPLE "${Halide_CMAKE_TARGET}")
set(POOLGEN_INSTALL_BINDIR "${CMAKE_INSTALL_BINDIR}")
set(POOLGEN_INSTALL_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
configure_package_config_file(cmake/poolgenConfig.cmake.in "${PROJECT_BINARY_DIR}/cmake/poolgenConfig.cmake"
    INSTALL_DESTINATION "${POOLGEN_INSTALL_CMAKEDIR}"
    PATH_VARS POOLGEN_INSTALL_BINDIR POOLGEN_INSTALL_INCLUDEDIR POOLGEN_INSTALL_HALIDE_INCLUDEDIR
              POOLGEN_INSTALL_DATADIR POOLGEN_INSTALL_CMAKEDIR)
write_basic_package_version_file("${PROJECT_BINARY_DIR}/cmake/poolgenConfigVersion.cmake"
    VERSION "${PROJECT_VERSION}" COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/cmake/poolgenConfig.cmake" "${PROJECT_BINARY_DIR}/cmake/poolgenConfigVersion.cmake"
        DESTINATION "${POOLGEN_INSTALL_CMAKEDIR}")
