# POOLGEN_SANITIZE: a -fsanitize= list (e.g. "address,undefined" or "thread") for every target
# defined after this file is included: libpoolgen, the registries, the CLI and the tests. The
# Halide generator and the Halide runtime are defined before it and stay uninstrumented, and
# so do the generated kernels (object code emitted by Halide's own LLVM). `make test` builds
# build-asan (address,undefined: the whole suite) and build-tsan (thread: the concurrency test).
include_guard(GLOBAL)
set(POOLGEN_SANITIZE "" CACHE STRING
    "Sanitizers for libpoolgen, the CLI and the tests (-fsanitize= list, e.g. address,undefined); empty: none")
if (POOLGEN_SANITIZE)
    # -O1 after the build type's -O3: what the sanitizers recommend, and it compiles the
    # Catch2 and CLI11 heavy test sources several times faster than -O3 with instrumentation.
    set(_flags "-fsanitize=${POOLGEN_SANITIZE}" -fno-omit-frame-pointer -g1 -O1)
    if (POOLGEN_SANITIZE MATCHES "undefined")
        # Any undefined behaviour fails the test that hit it, not just a line in its log.
        list(APPEND _flags -fno-sanitize-recover=undefined)
    endif ()
    add_compile_options(${_flags})
    add_link_options("-fsanitize=${POOLGEN_SANITIZE}")
    message(STATUS "poolgen: libpoolgen, the CLI and the tests are built with -fsanitize=${POOLGEN_SANITIZE}")
endif ()
