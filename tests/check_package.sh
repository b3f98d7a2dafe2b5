#!/usr/bin/env bash
# The installed CMake package, as a downstream project sees it.
#   install  CMAKE BUILD_DIR WORK
#       cmake --install BUILD_DIR into WORK/staging, then moves it to WORK/prefix (the package
#       must not care where it lies); checks the layout, that no installed config file or
#       RUNPATH names the build tree, and that the installed tools start.
#   consumer CMAKE MAKE_PROGRAM WORK HALIDE_PREFIX CONSUMER_SRC
#       configures tests/consumer against WORK/prefix, builds it and runs it.
#   cross    CMAKE MAKE_PROGRAM WORK HALIDE_PREFIX CONSUMER_SRC TOOLCHAIN
#       the same, cross-compiled for aarch64 (POOLGEN_CPU_TARGETS=arm-64-linux) with Debian's
#       g++-aarch64-linux-gnu; checks the kernels hold NEON code and runs the program under
#       qemu-aarch64. Prints [SKIP] and succeeds when those tools are missing.
#   badname  CMAKE MAKE_PROGRAM WORK HALIDE_PREFIX CONSUMER_SRC
#       poolgen_add_kernels with a target name that is no C identifier fails with the rule.
set -uo pipefail
mode=$1
shift

die() { echo "FAIL: $*"; exit 1; }

case $mode in
install)
    cmake=$1 build=$2 work=$3
    rm -rf "$work/staging" "$work/prefix" && mkdir -p "$work" || die "cannot make $work"
    "$cmake" --install "$build" --prefix "$work/staging" >"$work/install.log" 2>&1 ||
        { cat "$work/install.log"; die "cmake --install failed"; }
    mv "$work/staging" "$work/prefix" || die "cannot move the installed tree"
    p=$work/prefix
    for f in bin/poolgen bin/poolgen_pool_generator bin/poolgen-manifest \
             lib/libpoolgen_runtime.a lib/libpoolgen_halide_runtime.a \
             include/poolgen/poolgen.h include/poolgen/spec.h include/poolgen/halide/HalideRuntime.h \
             lib/cmake/poolgen/poolgenConfig.cmake lib/cmake/poolgen/poolgenConfigVersion.cmake \
             lib/cmake/poolgen/PoolgenKernels.cmake share/poolgen/schedules/cpu_strategy.h; do
        [ -e "$p/$f" ] || die "$f is not installed"
    done
    [ -d "$p/share/poolgen/schedules/db" ] || die "share/poolgen/schedules/db is not installed"
    if grep -l -F "$build" "$p"/lib/cmake/poolgen/*.cmake; then die "installed CMake files name the build tree $build"; fi
    for exe in "$p"/bin/*; do
        if readelf -d "$exe" | grep -E 'R(UN)?PATH' | grep -q -F "$build"; then die "$exe: RUNPATH names the build tree"; fi
    done
    # The generator loads libHalide.so through its RUNPATH: it starts and lists its generator.
    gen_out=$("$p/bin/poolgen_pool_generator" 2>&1)
    grep -q 'available Generators are:' <<<"$gen_out" || { echo "$gen_out"; die "the installed generator does not start"; }
    "$p/bin/poolgen" list >/dev/null || die "the installed poolgen CLI does not run"
    echo "ok: installed and moved to $p; no build-tree paths; the tools start"
    ;;
consumer | cross)
    cmake=$1 make_program=$2 work=$3 halide_prefix=$4 src=$5
    prefix=$work/prefix
    [ -f "$prefix/lib/cmake/poolgen/poolgenConfig.cmake" ] || die "no installed package in $prefix (package.install runs first)"
    args=(-DCMAKE_PREFIX_PATH="$prefix;$halide_prefix")
    if [ "$mode" = cross ]; then
        toolchain=$6
        missing=""
        command -v aarch64-linux-gnu-g++ >/dev/null || missing+=" aarch64-linux-gnu-g++ (g++-aarch64-linux-gnu)"
        command -v qemu-aarch64 >/dev/null || missing+=" qemu-aarch64 (qemu-user)"
        [ -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ] || missing+=" the aarch64 libc (libc6-dev-arm64-cross)"
        if [ -n "$missing" ]; then
            echo "[SKIP] aarch64 cross test: missing$missing; \`make test\` as root installs them"
            exit 0
        fi
        args+=(--toolchain "$toolchain" -DPOOLGEN_CPU_TARGETS=arm-64-linux)
    fi
    bin=$work/$mode
    rm -rf "$bin"
    "$cmake" -S "$src" -B "$bin" -G Ninja -DCMAKE_MAKE_PROGRAM="$make_program" -DCMAKE_BUILD_TYPE=Release \
        "${args[@]}" >"$work/$mode.configure.log" 2>&1 ||
        { cat "$work/$mode.configure.log"; die "configuring the consumer against $prefix failed"; }
    "$cmake" --build "$bin" >"$work/$mode.build.log" 2>&1 ||
        { tail -n 40 "$work/$mode.build.log"; die "building the consumer failed"; }
    if [ "$mode" = consumer ]; then
        "$bin/consumer" || die "the consumer's kernels do not match the reference"
    else
        file_arch=$(readelf -h "$bin/consumer" | awk -F: '/Machine/ { gsub(/^ +/, "", $2); print $2 }')
        [ "$file_arch" = AArch64 ] || die "consumer is built for '$file_arch', not AArch64"
        # NEON: 4 x f32 vector compares, max or adds in the kernels' inner loops.
        for lib in libvision_kernels_vgg_maxpool_nhwc__cpu.a libaudio_kernels_frames_avgpool__cpu.a; do
            n=$(aarch64-linux-gnu-objdump -d --no-show-raw-insn "$bin/$lib" |
                grep -cE '\s(fcm[a-z]+|fmax[a-z]*|fadd)\s+v[0-9]+\.4s' || true)
            [ "$n" -ge 1 ] || die "$lib holds no NEON f32x4 instructions"
            echo "ok: $lib: $n NEON f32x4 instructions"
        done
        qemu-aarch64 -L /usr/aarch64-linux-gnu "$bin/consumer" || die "the aarch64 kernels do not match the reference"
    fi
    ;;
badname)
    # poolgen_add_kernels with a target name that is no C identifier: a configure error naming
    # the rule, not a complaint about the (valid) manifest.
    cmake=$1 make_program=$2 work=$3 halide_prefix=$4 src=$5
    proj=$work/badname
    rm -rf "$proj" && mkdir -p "$proj" || die "cannot make $proj"
    cp "$src/vision.json" "$proj/" || die "no vision.json in $src"
    cat >"$proj/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.28)
project(badname LANGUAGES CXX)
find_package(poolgen 0.1 REQUIRED)
poolgen_add_kernels(app-kernels MANIFEST vision.json TARGETS cpu)
CMAKE
    out=$("$cmake" -S "$proj" -B "$proj/build" -G Ninja -DCMAKE_MAKE_PROGRAM="$make_program" \
          -DCMAKE_PREFIX_PATH="$work/prefix;$halide_prefix" 2>&1)
    rc=$?
    [ $rc -ne 0 ] || die "configure accepted the target name 'app-kernels'"
    grep -q "poolgen_add_kernels(app-kernels): the target name must be a C identifier" <<<"$out" ||
        { echo "$out" | tail -n 12; die "the configure error does not name the rule for target names"; }
    if grep -q "is invalid" <<<"$out"; then echo "$out" | tail -n 12; die "the error blames the manifest"; fi
    echo "ok: a target name that is no C identifier is refused with the rule"
    ;;
*)
    die "unknown mode '$mode'"
    ;;
esac
