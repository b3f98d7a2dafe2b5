// libFuzzer target: bytes -> npy::parse. Accepted arrays have a supported descr, C order, at
// most 2^31-1 elements and exactly elements * item size data bytes; refusals are one line.
#include <cstddef>
#include <cstdint>

#include "fuzz_invariants.h"
#include "poolgen/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    namespace npy = poolgen::npy;
    npy::Array a;
    a.descr = "untouched";
    const poolgen::Status st = npy::parse(data, size, &a);
    if (!st.ok()) {
        FUZZ_CHECK(fuzzcheck::one_line(st.message()));
        FUZZ_CHECK(a.descr == "untouched");  // *out is only written on success
        return 0;
    }
    FUZZ_CHECK(a.item_size() > 0);
    int64_t elements = 1;
    for (int64_t d : a.shape) {
        FUZZ_CHECK(d >= 0);
        FUZZ_CHECK(d == 0 || elements <= poolgen::kMaxElements / d || elements == 0);
        elements *= d;
    }
    FUZZ_CHECK(elements == a.elements());
    FUZZ_CHECK(elements <= poolgen::kMaxElements);
    FUZZ_CHECK(a.data.size() == uint64_t(elements) * a.item_size());
    FUZZ_CHECK(a.data.size() <= size);
    return 0;
}
