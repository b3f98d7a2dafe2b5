// libFuzzer target: a PoolSpec drawn field by field from the bytes (small, edge and extreme
// values: 0, -1, 2^31-1, 2^31, INT64_MIN...), normalized and validated. Accepted specs must
// satisfy fuzz_invariants.h (output sizes recounted independently, element counts within
// limits, windows holding real elements) and run through the reference loops when small.
// Also pooled_output_size on arbitrary in-range arguments (UBSan watches its arithmetic).
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <limits>

#include "fuzz_invariants.h"

namespace {

int64_t draw_int(FuzzedDataProvider &in) {
    static const int64_t kEdges[] = {0,
                                     1,
                                     -1,
                                     2,
                                     3,
                                     poolgen::kMaxDim,
                                     poolgen::kMaxDim + 1,
                                     -poolgen::kMaxDim,
                                     -poolgen::kMaxDim - 1,
                                     int64_t(1) << 30,
                                     (int64_t(1) << 30) + 1,
                                     46340,
                                     65536,
                                     std::numeric_limits<int64_t>::max(),
                                     std::numeric_limits<int64_t>::min(),
                                     int64_t(1) << 40};
    switch (in.ConsumeIntegralInRange<int>(0, 7)) {
    case 0: return in.PickValueInArray(kEdges);
    case 1: return in.ConsumeIntegral<int64_t>();
    case 2: return in.ConsumeIntegralInRange<int64_t>(-2, 40);
    default: return in.ConsumeIntegralInRange<int64_t>(0, 9);
    }
}

std::vector<int64_t> draw_vec(FuzzedDataProvider &in, size_t max_len) {
    std::vector<int64_t> v(in.ConsumeIntegralInRange<size_t>(0, max_len));
    for (auto &x : v) x = draw_int(in);
    return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    FuzzedDataProvider in(data, size);
    using poolgen::Op;
    static const Op kOps[] = {Op::MaxPool, Op::AvgPool, Op::AdaptiveMaxPool, Op::AdaptiveAvgPool, Op::GlobalMaxPool,
                              Op::GlobalAvgPool, Op::LpPool, Op::GlobalLpPool};
    if (in.ConsumeBool()) {
        // pooled_output_size's documented domain: stride > 0, every value within kMaxDim.
        const int64_t n = in.ConsumeIntegralInRange<int64_t>(-poolgen::kMaxDim, poolgen::kMaxDim);
        const int64_t k = in.ConsumeIntegralInRange<int64_t>(-poolgen::kMaxDim, poolgen::kMaxDim);
        const int64_t s = in.ConsumeIntegralInRange<int64_t>(1, poolgen::kMaxDim);
        const int64_t p = in.ConsumeIntegralInRange<int64_t>(-poolgen::kMaxDim, poolgen::kMaxDim);
        const int64_t d = in.ConsumeIntegralInRange<int64_t>(-poolgen::kMaxDim, poolgen::kMaxDim);
        const bool ceil = in.ConsumeBool();
        const int64_t pe = in.ConsumeBool() ? p : in.ConsumeIntegralInRange<int64_t>(0, poolgen::kMaxDim);
        const int64_t o = poolgen::pooled_output_size(n, k, s, p, pe, d, ceil);
        if (n >= 1 && k >= 1 && p >= 0 && d >= 1 && p < k && pe < k && o >= 1)
            FUZZ_CHECK(o == fuzzcheck::counted_windows(n, k, s, p, pe, d, ceil));
        return 0;
    }
    poolgen::PoolSpec s;
    s.op = in.PickValueInArray(kOps);
    s.layout = in.ConsumeBool() ? poolgen::Layout::NHWC : poolgen::Layout::NCHW;
    const size_t dims = in.ConsumeIntegralInRange<size_t>(in.ConsumeBool() ? 0 : 3, in.ConsumeBool() ? 7 : 5);
    for (size_t i = 0; i < dims; i++) s.input.push_back(in.ConsumeBool() ? in.ConsumeIntegralInRange<int64_t>(1, 12) : draw_int(in));
    s.kernel = draw_vec(in, 4);
    s.stride = draw_vec(in, 4);
    s.padding = draw_vec(in, 4);
    if (in.ConsumeIntegralInRange<int>(0, 3) == 0) s.padding_end = draw_vec(in, 4);
    s.dilation = draw_vec(in, 4);
    s.output_size = draw_vec(in, 4);
    s.ceil_mode = in.ConsumeBool();
    s.count_include_pad = in.ConsumeIntegralInRange<int>(0, 3) != 0;
    if (in.ConsumeIntegralInRange<int>(0, 3) == 0) s.divisor_override = draw_int(in);
    s.return_indices = in.ConsumeBool();
    if (in.ConsumeIntegralInRange<int>(0, 3) == 0) s.rules = poolgen::Rules::ONNX;
    if (in.ConsumeIntegralInRange<int>(0, 3) == 0) s.storage_order = in.ConsumeIntegralInRange<int64_t>(-1, 2);
    const bool normalize = in.ConsumeIntegralInRange<int>(0, 7) != 0;
    if (normalize) s.normalize();
    const poolgen::Status st = s.validate();
    if (!st.ok()) {
        FUZZ_CHECK(fuzzcheck::one_line(st.message()));
        FUZZ_CHECK(st.message().rfind("field '", 0) == 0);  // every rule names its field
        // The descriptive members are total: no crash, overflow or out-of-range access.
        FUZZ_CHECK(fuzzcheck::one_line(s.describe()));
        (void)s.canonical_name();
        (void)s.input_memory_shape();
        (void)s.output_memory_shape();
        FUZZ_CHECK(s.input_elements() >= -1 && s.output_elements() >= -1);
        return 0;
    }
    fuzzcheck::check_valid_spec(s);
    fuzzcheck::run_reference_if_small(s, size);
    return 0;
}
