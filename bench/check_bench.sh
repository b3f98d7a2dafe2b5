#!/usr/bin/env bash
# Smoke test of `poolgen bench` (CI runs it without anchors): a short run on two kernels must
# verify them, time poolgen, the reference loops and the roofline, and write the JSON form of
# docs/cli.md atomically. Arguments: POOLGEN_CLI OUT_DIR KERNEL...
set -euo pipefail
cli=$1 out=$2
shift 2
mkdir -p "$out"
json="$out/bench.json"
rm -f "$json"
"$cli" bench "$@" --threads 1 --min-time 0.002 --repeats 1 --cold-mb 4 --anchors none --json "$json" >"$out/bench.txt"
fail=0
for k in "$@"; do
    for impl in poolgen reference roofline; do
        grep -q "{\"kernel\": \"$k\", \"impl\": \"$impl\", \"threads\": 1, \"median_ms\": [0-9.e+-]*, \"gbps\": [0-9.e+-]*}" "$json" ||
            { echo "FAIL: no $impl row for $k in $json"; fail=1; }
    done
done
grep -q '"machine": {"cpu": ' "$json" || { echo "FAIL: no machine object"; fail=1; }
grep -q 'geometric mean\|summary' "$out/bench.txt" || { echo "FAIL: no summary"; fail=1; }
# A bad kernel name is one clear error and a non-zero exit.
if "$cli" bench no_such_kernel --anchors none >/dev/null 2>"$out/err.txt"; then echo "FAIL: unknown kernel accepted"; fail=1; fi
grep -q "no kernel named 'no_such_kernel'" "$out/err.txt" || { echo "FAIL: unclear error: $(cat "$out/err.txt")"; fail=1; }
[ $fail = 0 ] && echo "ok: bench rows and JSON for $*"
exit $fail
