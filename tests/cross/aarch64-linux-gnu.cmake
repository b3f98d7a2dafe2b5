# CMake toolchain file: Debian's aarch64 cross toolchain (g++-aarch64-linux-gnu). Programs
# built with it run on aarch64 Linux, or here under qemu-user:
#   qemu-aarch64 -L /usr/aarch64-linux-gnu ./program
# Packages (poolgen, Halide: host tools) are searched on the build machine too.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(POOLGEN_CROSS_TRIPLE aarch64-linux-gnu)
set(CMAKE_C_COMPILER ${POOLGEN_CROSS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${POOLGEN_CROSS_TRIPLE}-g++)

set(CMAKE_FIND_ROOT_PATH /usr/${POOLGEN_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
