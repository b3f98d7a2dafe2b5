#!/usr/bin/env bash
# `poolgen bench --device cuda`. Without a usable GPU (CI): one clear line naming the reason, a
# non-zero exit that is not a crash, and no results file. With one: a short run must verify the
# kernels and write poolgen and copy rows. Either way, kernels without a CUDA variant and unknown
# devices are refused. Arguments: POOLGEN_CLI OUT_DIR CPU_ONLY_KERNEL CUDA_KERNEL...
set -uo pipefail
cli=$1 out=$2 cpu_only=$3
shift 3
mkdir -p "$out"
json="$out/bench_cuda.json"
rm -f "$json"
fail=0
gpu=1
for k in "$@"; do
    grep -q "\"name\": \"$k\".*\"runs_on\": \"cuda\"" <("$cli" list --json --device cuda) || gpu=0
done
"$cli" bench "$@" --device cuda --min-time 0.002 --repeats 1 --cold-mb 4 --json "$json" >"$out/bench.txt" 2>"$out/err.txt"
rc=$?
if [ $gpu = 0 ]; then
    [ $rc = 1 ] || { echo "FAIL: without a GPU, exit status $rc (expected 1)"; fail=1; }
    [ "$(wc -l <"$out/err.txt")" = 1 ] || { echo "FAIL: expected one line on stderr:"; cat "$out/err.txt"; fail=1; }
    grep -q "^poolgen: error: kernel '.*': cannot run on cuda: " "$out/err.txt" ||
        { echo "FAIL: unclear error: $(cat "$out/err.txt")"; fail=1; }
    [ ! -e "$json" ] || { echo "FAIL: $json written by a failed run"; fail=1; }
else
    [ $rc = 0 ] || { echo "FAIL: bench --device cuda exit status $rc: $(cat "$out/err.txt")"; fail=1; }
    for k in "$@"; do
        for impl in poolgen copy; do
            grep -q "{\"kernel\": \"$k\", \"impl\": \"$impl\", \"device\": \"cuda\", \"threads\": 1, \"median_ms\": [0-9.e+-]*, \"gbps\": [0-9.e+-]*}" "$json" ||
                { echo "FAIL: no $impl row for $k in $json"; fail=1; }
        done
    done
    grep -q '"machine": {"device": "cuda", "gpu": ' "$json" || { echo "FAIL: no machine object"; fail=1; }
fi
"$cli" bench "$cpu_only" --device cuda >/dev/null 2>"$out/err2.txt" && { echo "FAIL: cpu-only kernel accepted"; fail=1; }
grep -q "kernel '$cpu_only' has no CUDA variant" "$out/err2.txt" || { echo "FAIL: unclear error: $(cat "$out/err2.txt")"; fail=1; }
"$cli" bench "$1" --device tpu >/dev/null 2>"$out/err3.txt" && { echo "FAIL: --device tpu accepted"; fail=1; }
grep -q "device must be cpu or cuda" "$out/err3.txt" || { echo "FAIL: unclear error: $(cat "$out/err3.txt")"; fail=1; }
if [ $fail = 0 ]; then
    if [ $gpu = 0 ]; then echo "ok: without a GPU: $(cat "$out/err.txt")"; else echo "ok: bench --device cuda rows and JSON for $*"; fi
fi
exit $fail
