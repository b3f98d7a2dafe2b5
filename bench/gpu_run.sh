#!/usr/bin/env bash
# Everything a GPU machine has to run, in one command: the CUDA checks, then `poolgen bench
# --device cuda` and PyTorch's CUDA pooling for every given poolgen binary (each built by
# `make build MANIFEST=... BUILD=...` on any machine; only the driver's libcuda is needed here).
# Usage: bench/gpu_run.sh OUT_DIR POOLGEN [POOLGEN...]   (e.g. build/poolgen build-bench/poolgen)
#        bench/gpu_run.sh OUT_DIR        (builds configs/bench.json in build-bench/ and the real
#                                         networks' layers, configs/networks_gpu.json, in
#                                         build-networks/, then runs both)
# Files: OUT_DIR/<build>_{check,cuda_tests,bench,torch,table}.txt and the two JSON files per build.
set -uo pipefail
[ $# -ge 1 ] || { echo "usage: $0 OUT_DIR [POOLGEN...]" >&2; exit 2; }
out=$1
shift
mkdir -p "$out"
here=$(cd "$(dirname "$0")" && pwd)
if [ $# -eq 0 ]; then
    root=$(dirname "$here")
    for pair in bench.json:build-bench networks_gpu.json:build-networks; do
        make -C "$root" build MANIFEST="configs/${pair%%:*}" BUILD="${pair##*:}" >"$out/${pair##*:}_build.txt" 2>&1 ||
            { tail -20 "$out/${pair##*:}_build.txt"; echo "FAIL: building configs/${pair%%:*}" >&2; exit 1; }
        set -- "$@" "$root/${pair##*:}/poolgen"
    done
fi
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$out/gpu.txt"
status=0
for poolgen in "$@"; do
    tag=$(basename "$(dirname "$poolgen")")
    echo "== $tag: check"
    { "$poolgen" list --device cuda && "$poolgen" check --device cuda; } 2>&1 | tee "$out/${tag}_check.txt" || status=1
    tests="$(dirname "$poolgen")/tests/poolgen_tests"
    if [ -x "$tests" ]; then
        echo "== $tag: CUDA test cases"
        # The whole log is kept: a failing case's expansion is what the next session needs.
        "$tests" "[.cuda]" 2>&1 | tee "$out/${tag}_cuda_tests.txt" | tail -5 | tee -a "$out/${tag}_check.txt" || status=1
    fi
    echo "== $tag: bench"
    "$poolgen" bench --device cuda --json "$out/${tag}_cuda.json" 2>&1 | tee "$out/${tag}_bench.txt" || status=1
    echo "== $tag: PyTorch"
    python3 "$here/torch_cuda_anchor.py" --poolgen "$poolgen" --check --json "$out/${tag}_torch.json" 2>&1 |
        tee "$out/${tag}_torch.txt" || status=1
    if [ -s "$out/${tag}_cuda.json" ] && [ -s "$out/${tag}_torch.json" ]; then
        python3 "$here/results_table.py" --cuda "$out/${tag}_cuda.json" "$out/${tag}_torch.json" 2>&1 |
            tee "$out/${tag}_table.txt" || status=1
    fi
done
exit $status
