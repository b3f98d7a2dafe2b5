#!/usr/bin/env bash
# Looks at the generated machine code: each multi-target kernel library holds one object per
# ISA; the inner loops must use full-width packed float instructions (zmm for AVX-512, ymm for
# AVX2, xmm packed ops for SSE4.1). Arguments: EXPECT:LIBRARY, EXPECT = max or avg.
set -euo pipefail
fail=0
for arg in "$@"; do
    kind=${arg%%:*}
    lib=${arg#*:}
    [ -f "$lib" ] || { echo "FAIL: missing $lib"; fail=1; continue; }
    dis=$(objdump -d --no-show-raw-insn "$lib")
    for isa in avx512_skylake avx2 sse41; do
        # The object of this ISA, from its "file format" header to the next one.
        case $isa in
            avx512_skylake) pat='avx512_skylake'; reg='%zmm'; pre='v' ;;
            avx2) pat='avx-avx2'; reg='%ymm'; pre='v' ;;
            sse41) pat='linux-sse41-'; reg='%xmm'; pre='' ;;
        esac
        body=$(awk -v p="$pat" '/file format/ { on = index($0, p) > 0 } on' <<<"$dis")
        if [ "$kind" = max ]; then
            ops="^\s+[0-9a-f]+:\s+${pre}(max|cmp[a-z]*)ps\s.*${reg}"
        else
            ops="^\s+[0-9a-f]+:\s+${pre}addps\s.*${reg}"
        fi
        n=$(grep -cE "$ops" <<<"$body" || true)
        if [ "$n" -lt 1 ]; then
            echo "FAIL: $(basename "$lib") [$isa]: no full-width packed ${kind} instruction on ${reg}"
            fail=1
        else
            echo "ok: $(basename "$lib") [$isa]: $n full-width packed ${kind} instructions on ${reg}"
        fi
    done
done
exit $fail
