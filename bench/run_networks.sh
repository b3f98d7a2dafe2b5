#!/usr/bin/env bash
# The CPU bench of real networks' pooling layers in one command: builds configs/networks.json
# (strategy defaults and any matching schedules/db entries) in build-networks/ and runs
# `poolgen bench` at 1 and 2 threads against the anchors, then the tables of
# bench/results_table.py. Anchors (oneDNN, libtorch) are used where the build found them.
# Usage: bench/run_networks.sh OUT_DIR [REPEATS] [MIN_TIME]      (defaults 5 and 0.1)
# Files: OUT_DIR/networks_{1,2}t.{json,txt}, OUT_DIR/networks_table.md
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 OUT_DIR [REPEATS] [MIN_TIME]" >&2; exit 2; }
out=$(realpath -m -- "$1") repeats=${2:-5} min_time=${3:-0.1}
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
mkdir -p "$out"
make -C "$root" build MANIFEST=configs/networks.json BUILD=build-networks >"$out/networks_build.txt" 2>&1 ||
    { tail -20 "$out/networks_build.txt"; echo "FAIL: building configs/networks.json" >&2; exit 1; }
cd "$root"
for t in 1 2; do
    build-networks/poolgen bench --threads "$t" --repeats "$repeats" --min-time "$min_time" \
        --json "$out/networks_${t}t.json" | tee "$out/networks_${t}t.txt"
done
python3 "$here/results_table.py" "$out/networks_1t.json" "$out/networks_2t.json" >"$out/networks_table.md"
echo "tables: $out/networks_table.md"
