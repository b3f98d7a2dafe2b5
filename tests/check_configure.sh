#!/usr/bin/env bash
# A bad manifest must fail the configure step with one line naming the kernel, the field and
# the rule, and generate nothing. Arguments: CMAKE SOURCE_DIR HALIDE_DIR WORK_DIR
set -uo pipefail
cmake=$1 src=$2 halide_dir=$3 work=$4
rm -rf "$work" && mkdir -p "$work"
cat >"$work/bad.json" <<'JSON'
{"version": 1, "kernels": [
  {"name": "fine", "op": "global_avg_pool", "input": [1, 4, 3, 3]},
  {"name": "too_much_padding", "op": "max_pool", "input": [1, 1, 8, 8], "kernel": 2, "padding": 2}]}
JSON
out=$("$cmake" -S "$src" -B "$work/build" -G Ninja -DHalide_DIR="$halide_dir" -DPOOLGEN_BUILD_TESTS=OFF \
      -DPOOLGEN_MANIFEST="$work/bad.json" 2>&1)
rc=$?
echo "$out" | tail -n 12
[ $rc -ne 0 ] || { echo "FAIL: configure accepted a bad manifest"; exit 1; }
grep -q "kernel 'too_much_padding' (kernels\[1\]): field 'padding': must be at most half" <<<"$out" ||
    { echo "FAIL: the configure error does not name the kernel, field and rule"; exit 1; }
if find "$work/build" -name 'registry.cpp' | grep -q .; then echo "FAIL: files were generated"; exit 1; fi
echo "ok: configure failed with the expected message and generated nothing"
