# poolgen_add_kernels(<target> MANIFEST <file> [TARGETS cpu cuda])
#
# Reads a manifest v1 at configure time (a bad manifest fails the configure step with one
# line naming the kernel, the field and the rule), generates one Halide library per kernel
# and target, and a registry table, and makes <target> an interface library that links them
# with the poolgen runtime. Kernel symbols are <target>_<kernel>__<cpu|cuda>, so several
# kernel sets can be linked into one binary.
#
# Needs: POOLGEN_MANIFEST_TOOL (path of poolgen-manifest), the generator target
# poolgen::pool_generator, the runtime target poolgen::runtime, POOLGEN_HALIDE_RUNTIME and
# POOLGEN_CPU_TARGETS; the in-tree build and poolgenConfig.cmake set them.
include_guard(GLOBAL)

# CUDA kernels carry PTX for compute capability 8.0, which the driver compiles for the GPU it
# runs on: Ampere (sm_80, sm_86) and Hopper (sm_90) alike.
set(POOLGEN_DEFAULT_CUDA_TARGET "x86-64-linux-cuda-cuda_capability_80" CACHE INTERNAL "")

set(POOLGEN_DEFAULT_CPU_TARGETS
    "x86-64-linux-avx512_skylake;x86-64-linux-avx-avx2-f16c-fma-sse41;x86-64-linux-sse41"
    CACHE INTERNAL "")

function(poolgen_add_kernels TARGET)
    cmake_parse_arguments(PARSE_ARGV 1 ARG "" "MANIFEST" "TARGETS")
    if (NOT ARG_MANIFEST)
        message(FATAL_ERROR "poolgen_add_kernels(${TARGET}): MANIFEST <file> is required")
    endif ()
    if (NOT ARG_TARGETS)
        set(ARG_TARGETS cpu cuda)
    endif ()
    foreach (t IN LISTS ARG_TARGETS)
        # opencl: the GPU strategy through Halide's OpenCL backend, for tests on machines without
        # a GPU; not registered (the test calls the kernels itself) and not installed.
        if (NOT t MATCHES "^(cpu|cuda|opencl)$")
            message(FATAL_ERROR "poolgen_add_kernels(${TARGET}): TARGETS entries must be cpu or cuda, got '${t}'")
        endif ()
    endforeach ()
    # The target name prefixes every kernel's C symbol (<target>_<kernel>__cpu).
    string(LENGTH "${TARGET}" _len)
    if (NOT "${TARGET}" MATCHES "^[A-Za-z_][A-Za-z0-9_]*$" OR _len GREATER 64)
        message(FATAL_ERROR "poolgen_add_kernels(${TARGET}): the target name must be a C identifier of at most 64 "
                "characters ([A-Za-z_][A-Za-z0-9_]*), as it prefixes the kernels' symbols; e.g. use "
                "'app_kernels', not 'app-kernels'")
    endif ()
    if (NOT TARGET ${TARGET} AND NOT TARGET ${TARGET}_registry)
    else ()
        message(FATAL_ERROR "poolgen_add_kernels(${TARGET}): a target of that name exists already")
    endif ()
    get_filename_component(manifest "${ARG_MANIFEST}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    if (NOT EXISTS "${manifest}")
        message(FATAL_ERROR "poolgen: manifest '${manifest}' does not exist")
    endif ()
    if (NOT POOLGEN_CPU_TARGETS)
        set(POOLGEN_CPU_TARGETS "${POOLGEN_DEFAULT_CPU_TARGETS}")
    endif ()
    if (NOT POOLGEN_CUDA_TARGET)
        set(POOLGEN_CUDA_TARGET "${POOLGEN_DEFAULT_CUDA_TARGET}")
    endif ()
    if (NOT DEFINED POOLGEN_CUDA)
        set(POOLGEN_CUDA ON)
    endif ()
    # CPU kernels are linked into this build's binaries: their triple must be the toolchain's.
    foreach (t IN LISTS POOLGEN_CPU_TARGETS)
        if (NOT t MATCHES "^(host|cmake)(-|$)" AND NOT t MATCHES "^${Halide_CMAKE_TARGET}(-|$)")
            message(FATAL_ERROR "poolgen_add_kernels(${TARGET}): CPU target '${t}' is not for this build's "
                    "architecture ${Halide_CMAKE_TARGET}; give POOLGEN_CPU_TARGETS for ${Halide_CMAKE_TARGET}, "
                    "or configure with a toolchain file for '${t}'")
        endif ()
    endforeach ()

    set(out "${CMAKE_CURRENT_BINARY_DIR}/${TARGET}.poolgen")
    file(MAKE_DIRECTORY "${out}")
    execute_process(
        COMMAND "${POOLGEN_MANIFEST_TOOL}" emit "${manifest}" --set "${TARGET}"
                --cmake "${out}/kernels.cmake" --registry "${out}/registry.cpp"
                --db "${POOLGEN_SCHEDULE_DB}" --cpu-targets "${POOLGEN_CPU_TARGETS}" --halide-version "${Halide_VERSION}"
        RESULT_VARIABLE rc
        OUTPUT_QUIET)
    # The tool's own one-line error (kernel, field, rule) has gone to stderr unwrapped.
    if (NOT rc EQUAL 0)
        message(FATAL_ERROR "poolgen: manifest ${manifest} is invalid (the line above says why); nothing was generated")
    endif ()
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${manifest}")
    if (POOLGEN_SCHEDULE_DB AND IS_DIRECTORY "${POOLGEN_SCHEDULE_DB}")
        # A new or changed db entry re-runs the configure step.
        file(GLOB _db_files "${POOLGEN_SCHEDULE_DB}/*.json")
        set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${POOLGEN_SCHEDULE_DB}" ${_db_files})
    endif ()
    include("${out}/kernels.cmake")

    set(libs)
    set(defs)
    set(ptx_files)
    # strict_float: IEEE semantics everywhere. Without it LLVM may assume there are no NaNs,
    # and neither the max rule `v > best || isnan(v)` nor PyTorch's rounding would survive.
    foreach (k IN LISTS _poolgen_kernels)
        if ("cpu" IN_LIST ARG_TARGETS AND _poolgen_cpu_${k})
            set(lib ${TARGET}_${k}__cpu)
            # A schedules/db entry may name a Halide autoscheduler instead of strategy knobs.
            set(autoscheduler)
            if (_poolgen_autoscheduler_${k})
                set(autoscheduler AUTOSCHEDULER Halide::${_poolgen_autoscheduler_${k}})
            endif ()
            add_halide_library(${lib}
                               FROM poolgen::pool_generator
                               GENERATOR poolgen_pool
                               FUNCTION_NAME ${lib}
                               TARGETS ${POOLGEN_CPU_TARGETS}
                               FEATURES strict_float
                               USE_RUNTIME ${POOLGEN_HALIDE_RUNTIME}
                               ${autoscheduler}
                               PARAMS ${_poolgen_params_${k}})
            list(APPEND libs ${lib})
            list(APPEND defs POOLGEN_HAS_${k}_CPU)
        endif ()
        if ("cuda" IN_LIST ARG_TARGETS AND _poolgen_cuda_${k} AND POOLGEN_CUDA)
            set(lib ${TARGET}_${k}__cuda)
            add_halide_library(${lib}
                               FROM poolgen::pool_generator
                               GENERATOR poolgen_pool
                               FUNCTION_NAME ${lib}
                               TARGETS ${POOLGEN_CUDA_TARGET}
                               FEATURES strict_float
                               USE_RUNTIME ${POOLGEN_HALIDE_RUNTIME}
                               DEVICE_CODE ptx
                               PARAMS ${_poolgen_params_${k}})
            list(APPEND libs ${lib})
            list(APPEND defs POOLGEN_HAS_${k}_CUDA)
            list(APPEND ptx_files "${ptx}")
        endif ()
    endforeach ()

    set(opencl_kernels)
    foreach (k IN LISTS _poolgen_kernels)
        if ("opencl" IN_LIST ARG_TARGETS AND _poolgen_cuda_${k})
            add_halide_library(${TARGET}_${k}__opencl FROM poolgen::pool_generator GENERATOR poolgen_pool
                               FUNCTION_NAME ${TARGET}_${k}__opencl TARGETS ${POOLGEN_OPENCL_TARGET}
                               FEATURES strict_float USE_RUNTIME ${POOLGEN_OPENCL_RUNTIME} PARAMS ${_poolgen_params_${k}})
            list(APPEND libs ${TARGET}_${k}__opencl)
            list(APPEND opencl_kernels ${k})
        endif ()
    endforeach ()

    add_library(${TARGET}_registry STATIC "${out}/registry.cpp")
    target_compile_definitions(${TARGET}_registry PRIVATE ${defs})
    target_link_libraries(${TARGET}_registry PUBLIC poolgen::runtime)
    set_target_properties(${TARGET}_registry PROPERTIES POSITION_INDEPENDENT_CODE ON)

    add_library(${TARGET} INTERFACE)
    # The registry table registers itself from a static initializer: keep its object.
    target_link_libraries(${TARGET} INTERFACE "$<LINK_LIBRARY:WHOLE_ARCHIVE,${TARGET}_registry>" ${libs} poolgen::runtime)
    set_property(TARGET ${TARGET} PROPERTY POOLGEN_KERNEL_LIBRARIES "${libs}")
    # The PTX embedded in the CUDA kernels, for validation with ptxas.
    set_property(TARGET ${TARGET} PROPERTY POOLGEN_PTX_FILES "${ptx_files}")
    set_property(TARGET ${TARGET} PROPERTY POOLGEN_OPENCL_KERNELS "${opencl_kernels}")
endfunction()
