#!/usr/bin/env bash
# Assembles the PTX embedded in every CUDA kernel with ptxas for Ampere (sm_80) and Hopper
# (sm_90). Arguments: PTXAS PTX_FILE...  (PTXAS empty: ptxas not found, skipped.)
set -uo pipefail
ptxas=$1
shift
if [ -z "$ptxas" ] || [ ! -x "$ptxas" ]; then
    echo "[SKIP] ptxas not found (install the CUDA toolkit to validate the PTX)"
    exit 0
fi
[ $# -gt 0 ] || { echo "FAIL: no PTX files given"; exit 1; }
fail=0
for ptx in "$@"; do
    [ -s "$ptx" ] || { echo "FAIL: missing or empty $ptx"; fail=1; continue; }
    grep -q '^\.target sm_80' "$ptx" || { echo "FAIL: $(basename "$ptx") does not target sm_80"; fail=1; }
    for arch in sm_80 sm_90; do
        if out=$("$ptxas" -arch=$arch -o /dev/null "$ptx" 2>&1); then
            echo "ok: $(basename "$ptx") assembles for $arch"
        else
            echo "FAIL: $(basename "$ptx") for $arch: $out"
            fail=1
        fi
    done
done
exit $fail
