// Small helpers shared by the tests.
#pragma once
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

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

inline bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// Values on a 1/4 grid (many exact ties), with NaN, +-inf and -0 at the given rate.
inline std::vector<float> random_input(const poolgen::PoolSpec &s, uint32_t seed, double special_rate) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> grid(-20, 20);
    std::uniform_real_distribution<double> u(0, 1);
    std::vector<float> v(static_cast<size_t>(s.input_elements()));
    for (auto &x : v) {
        x = grid(rng) / 4.0f;
        const double p = u(rng);
        if (p < special_rate / 4) x = kNaN;
        else if (p < special_rate / 2) x = -kInf;
        else if (p < 3 * special_rate / 4) x = kInf;
        else if (p < special_rate) x = -0.0f;
    }
    return v;
}

}  // namespace testutil
