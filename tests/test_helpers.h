// Small helpers shared by the tests.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "HalideRuntime.h"
#include "poolgen/reference.h"
#include "poolgen/spec.h"

namespace testutil {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

inline poolgen::PoolSpec max2d(std::vector<int64_t> input, std::vector<int64_t> k, std::vector<int64_t> s = {},
                               std::vector<int64_t> p = {}, std::vector<int64_t> d = {}, bool ceil = false) {
    poolgen::PoolSpec spec;
    spec.op = poolgen::Op::MaxPool;
    spec.input = std::move(input);
    spec.kernel = std::move(k);
    spec.stride = std::move(s);
    spec.padding = std::move(p);
    spec.dilation = std::move(d);
    spec.ceil_mode = ceil;
    spec.normalize();
    return spec;
}

inline poolgen::PoolSpec avg(std::vector<int64_t> input, std::vector<int64_t> k, std::vector<int64_t> s = {},
                             std::vector<int64_t> p = {}, bool ceil = false, bool cip = true) {
    poolgen::PoolSpec spec;
    spec.op = poolgen::Op::AvgPool;
    spec.input = std::move(input);
    spec.kernel = std::move(k);
    spec.stride = std::move(s);
    spec.padding = std::move(p);
    spec.ceil_mode = ceil;
    spec.count_include_pad = cip;
    spec.normalize();
    return spec;
}

// A 1D spec under ONNX's rules: begin and end pads, dilation (averages too).
inline poolgen::PoolSpec onnx1d(poolgen::Op op, int64_t n, int64_t k, int64_t s, int64_t pb, int64_t pe, int64_t d = 1,
                                bool ceil = false, bool cip = true) {
    poolgen::PoolSpec spec;
    spec.op = op;
    spec.rules = poolgen::Rules::ONNX;
    spec.input = {1, 1, n};
    spec.kernel = {k};
    spec.stride = {s};
    spec.padding = {pb};
    spec.padding_end = {pe};
    spec.dilation = {d};
    spec.ceil_mode = ceil;
    spec.count_include_pad = cip;
    spec.normalize();
    return spec;
}

inline bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// Values on a 1/8 grid (many exact ties), with NaN, +-inf and -0 at the given rate: the
// runtime's own test data.
inline std::vector<float> random_input(const poolgen::PoolSpec &s, uint32_t seed, double special_rate) {
    return poolgen::reference::sample_input(s, seed, special_rate);
}

// Values stored as the spec's dtype: the bytes a kernel reads (test-grid values are exact in
// f16 and bf16), and an output of the kernel's dtype widened back to float.
inline std::vector<uint8_t> as_elements(const poolgen::PoolSpec &s, const std::vector<float> &v) {
    return poolgen::store_elements(s.dtype, v.data(), static_cast<int64_t>(v.size()));
}
inline std::vector<float> as_floats(const poolgen::PoolSpec &s, const std::vector<uint8_t> &bytes) {
    return poolgen::load_elements(s.dtype, bytes.data(), static_cast<int64_t>(bytes.size() / poolgen::dtype_size(s.dtype)));
}
// The halide_buffer_t element type of a dtype.
inline halide_type_t halide_type_of(poolgen::DType d) {
    using poolgen::DType;
    switch (d) {
    case DType::F16: return halide_type_t(halide_type_float, 16);
    case DType::BF16: return halide_type_t(halide_type_bfloat, 16);
    case DType::U8: return halide_type_t(halide_type_uint, 8);
    case DType::I8: return halide_type_t(halide_type_int, 8);
    case DType::F32: break;
    }
    return halide_type_t(halide_type_float, 32);
}
// Room for n elements of the spec's dtype, each byte `fill`.
inline std::vector<uint8_t> element_buffer(const poolgen::PoolSpec &s, int64_t n, uint8_t fill = 0) {
    return std::vector<uint8_t>(static_cast<size_t>(n) * poolgen::dtype_size(s.dtype), fill);
}

}  // namespace testutil
