// The reference loops: PyTorch's pooling formulas written as plain nested loops, the
// specification in code. Deliberately simple; never derived from the generated kernels.
#pragma once
#include <cstdint>
#include <vector>

#include "poolgen/spec.h"
#include "poolgen/status.h"

namespace poolgen::reference {

// Dense arrays in the spec's memory layout (nhwc: N, spatial..., C). `indices` may be null;
// when given, the spec must return indices. Validates the spec first. f16/bf16 specs take and
// give their values widened to float (load_element); the outputs are rounded to the type where
// PyTorch rounds, so each is exactly a value of the type.
Status run(const PoolSpec &spec, const float *input, float *output, int64_t *indices = nullptr);

// For averages: a bound on the rounding error of any float32 summation order of each output,
// (taps + 1) * FLT_EPSILON * sum(|x|) / |divisor|, laid out like the output; f16/bf16 add the
// type's rounding (docs/semantics.md). Zero for max ops.
Status error_bounds(const PoolSpec &spec, const float *input, std::vector<double> *bounds);

// Test data for checks and benchmarks, in the spec's memory layout: values on a 1/8 grid in
// [-10, 10] (windows hold ties), with NaN, -inf, +inf and -0 each at rate 1/200 when `specials`.
// u8/i8: codes drawn over the type's range, with its two extremes at that rate when `specials`.
// Deterministic for a seed. Empty when the spec's input size is invalid or cannot be allocated.
std::vector<float> sample_input(const PoolSpec &spec, uint64_t seed, bool specials);
// The same values with NaN, -inf, +inf and -0 together at `special_rate` (each a quarter of it).
std::vector<float> sample_input(const PoolSpec &spec, uint64_t seed, double special_rate);
// sample_input's values stored in the spec's dtype (every value on the grid is exact in f16 and
// bf16): the bytes a kernel reads.
std::vector<uint8_t> sample_elements(const PoolSpec &spec, uint64_t seed, bool specials);

}  // namespace poolgen::reference
