#!/usr/bin/env bash
# Runs one libFuzzer target for a while. Usage: FUZZER SECONDS WORK_DIR SEED_DIR DICT ARTIFACT_DIR
# New inputs go to WORK_DIR (in the build tree); the committed seeds in SEED_DIR are only read.
# A crash, leak, sanitizer report or failed invariant leaves its input in ARTIFACT_DIR and fails.
# POOLGEN_FUZZ_SECONDS overrides SECONDS (e.g. `make fuzz FUZZ_SECONDS=600`).
set -uo pipefail
fuzzer=$1 seconds=${POOLGEN_FUZZ_SECONDS:-$2} work=$3 seeds=$4 dict=$5 artifacts=$6
mkdir -p "$work" "$artifacts"
args=(-max_total_time="$seconds" -timeout=30 -rss_limit_mb=2560 -print_final_stats=1
      -artifact_prefix="$artifacts/")
[ -f "$dict" ] && args+=(-dict="$dict")
log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$fuzzer" "${args[@]}" "$work" "$seeds" >"$log" 2>&1
rc=$?
if [ $rc -ne 0 ]; then
    tail -n 80 "$log"
    echo "FAIL: $(basename "$fuzzer") exited with $rc; reproduce with: $fuzzer $artifacts/<crash-file>"
else
    # Seeds loaded, a few progress lines, the final statistics.
    grep -E '^(INFO: seed|INFO: .*files found|#[0-9]+.*(INITED|DONE)|Done [0-9]+ runs|stat::)' "$log"
fi
exit $rc
