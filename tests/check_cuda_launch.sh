#!/usr/bin/env bash
# The CUDA launches the generator plans stay within CUDA's limits, which a GPU would only report
# at run time (cuLaunchKernel: invalid argument): at most 1024 threads per block, grid y and z at
# most 65535, x at most 2^31-1. Shapes whose natural grid passes the limits (N*C planes, long
# channels-last 1D) next to ones that fit. Reads the launch from the lowered statement.
# Arguments: GENERATOR WORK_DIR
set -uo pipefail
gen=$1 work=$2
mkdir -p "$work"
target=target=x86-64-linux-cuda-cuda_capability_80-strict_float
fail=0
check() {
    local name=$1
    shift
    if ! "$gen" -g poolgen_pool -e stmt -o "$work" -f "$name" "$target" "$@" >"$work/$name.log" 2>&1; then
        echo "FAIL: $name: the generator failed: $(tail -3 "$work/$name.log")"
        fail=1
        return
    fi
    # halide_cuda_run(state, "entry", blocksX, blocksY, blocksZ, threadsX, threadsY, threadsZ, ...)
    local launches
    launches=$(grep -a -o 'halide_cuda_run([^"]*"[^"]*", [0-9]*, [0-9]*, [0-9]*, [0-9]*, [0-9]*, [0-9]*' "$work/$name.stmt" |
               sed 's/.*", //; s/,//g')
    if [ -z "$launches" ]; then
        echo "FAIL: $name: no constant halide_cuda_run launch in $work/$name.stmt"
        fail=1
        return
    fi
    while read -r bx by bz tx ty tz; do
        if [ "$bx" -gt 2147483647 ] || [ "$by" -gt 65535 ] || [ "$bz" -gt 65535 ] ||
           [ $((tx * ty * tz)) -gt 1024 ] || [ "$tz" -gt 64 ]; then
            echo "FAIL: $name: grid ${bx}x${by}x${bz}, block ${tx}x${ty}x${tz} is past CUDA's limits"
            fail=1
        else
            echo "ok: $name: grid ${bx}x${by}x${bz}, block ${tx}x${ty}x${tz}"
        fi
    done <<<"$launches"
}
# 128*512 = 65536 planes of 7x7 outputs (VGG's last pool at batch 128), values and indices.
check vgg_b128 op=max_pool shape=128x512x14x14 kernel=2x2 stride=2x2 padding=0x0 dilation=1x1
check vgg_b128_indices op=max_pool shape=128x512x14x14 kernel=2x2 stride=2x2 padding=0x0 dilation=1x1 return_indices=true
check vgg_b128_nhwc op=max_pool layout=nhwc shape=128x512x14x14 kernel=2x2 stride=2x2 padding=0x0 dilation=1x1
check avg_planes op=avg_pool shape=256x300x6x6 kernel=3x3 stride=3x3 padding=0x0
# Channels-last 1D: 600000 output positions, 8 per block along y.
check audio_nhwc op=avg_pool layout=nhwc shape=1x64x1200000 kernel=2 stride=2 padding=0
check adaptive_planes op=adaptive_avg_pool shape=70000x1x9x9 output_size=3x3
check resnet18_stem op=max_pool shape=1x64x112x112 kernel=3x3 stride=2x2 padding=1x1 dilation=1x1
check gap_b32 op=global_avg_pool shape=32x2048x7x7 output_size=1x1
# Split reductions: EfficientNet-B0's first SE squeeze in one kernel (nchw) and in two (nhwc).
check se_b32 op=global_avg_pool shape=32x32x112x112 output_size=1x1
check se_b32_nhwc op=global_avg_pool layout=nhwc shape=32x32x112x112 output_size=1x1
exit $fail
