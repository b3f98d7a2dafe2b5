// Seeded random inputs from several distributions, for the differential, guard-band and
// concurrency tests: ties, wide exponents, denormals, signed zeros, NaN and infinities.
// Finite magnitudes are capped so that no window sum can overflow float32 (overflow to inf
// depends on summation order, which the checker does not fix for averages).
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "poolgen/spec.h"

namespace testutil {

enum class Dist {
    Grid,         // multiples of 1/4 in [-5, 5]: many exact ties
    Uniform,      // uniform in [-1, 1)
    WideExponent, // random sign, exponent 2^-60 .. 2^60: cancellation and absorption in sums
    AllEqual,     // one value everywhere (ties across whole windows); sometimes -0, inf or NaN
    Denormal,     // subnormal floats, +-0 and a few smallest normals
    SignedZero,   // +0 and -0 only: max must keep the first zero's sign
    NaNHeavy,     // 30% NaN (both signs, several payloads), the rest on the grid
    InfHeavy,     // 30% +-inf, the rest on the grid
    Huge,         // +-[1e30, cap]: large but never overflowing sums
    Ascending,    // strictly increasing in memory order
    Descending,   // strictly decreasing in memory order
    RandomBits,   // any finite bit pattern within the cap, plus NaN/inf payloads
    kCount
};

inline const char *dist_name(Dist d) {
    static const char *names[] = {"grid",    "uniform",   "wide-exponent", "all-equal", "denormal",  "signed-zero",
                                  "nan-heavy", "inf-heavy", "huge",        "ascending", "descending", "random-bits"};
    return names[static_cast<int>(d)];
}

inline float from_bits(uint32_t u) {
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
}

// Taps of the largest window of a spec (product over spatial dims).
inline double max_window_taps(const poolgen::PoolSpec &s) {
    double taps = 1;
    for (int i = 0; i < s.rank(); i++) {
        if (poolgen::is_windowed(s.op)) {
            taps *= double(s.kernel[i]);
        } else {
            const double n = double(s.input[2 + i]), m = double(s.output_size[i]);
            taps *= std::ceil(n / m) + 1;
        }
    }
    return taps;
}

inline std::vector<float> random_values(const poolgen::PoolSpec &s, Dist dist, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u01(0, 1);
    auto chance = [&](double p) { return u01(rng) < p; };
    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    const double cap = std::min(1e35, 1e37 / max_window_taps(s));
    std::vector<float> v(static_cast<size_t>(s.input_elements()));
    auto grid = [&] { return float(int64_t(rng() % 41) - 20) / 4.0f; };
    auto some_nan = [&] {
        static const uint32_t kNaNs[] = {0x7fc00000u, 0xffc00000u, 0x7fc00001u, 0x7fffffffu, 0xffabcdefu};
        return from_bits(kNaNs[rng() % 5]);
    };
    const float equal_value = chance(0.2) ? (chance(0.5) ? -0.0f : (chance(0.5) ? -inf : nan)) : grid();
    for (size_t i = 0; i < v.size(); i++) {
        float x = 0;
        switch (dist) {
        case Dist::Grid: x = grid(); break;
        case Dist::Uniform: x = float(u01(rng) * 2 - 1); break;
        case Dist::WideExponent:
            x = float((chance(0.5) ? -1 : 1) * std::ldexp(1 + u01(rng), int(rng() % 121) - 60));
            break;
        case Dist::AllEqual: x = equal_value; break;
        case Dist::Denormal:
            if (chance(0.1)) x = chance(0.5) ? 0.0f : -0.0f;
            else if (chance(0.05)) x = (chance(0.5) ? 1 : -1) * std::numeric_limits<float>::min();
            else x = from_bits(uint32_t(rng() % 0x007fffffu + 1) | (chance(0.5) ? 0x80000000u : 0u));
            break;
        case Dist::SignedZero: x = chance(0.5) ? 0.0f : -0.0f; break;
        case Dist::NaNHeavy: x = chance(0.3) ? some_nan() : grid(); break;
        case Dist::InfHeavy: x = chance(0.3) ? (chance(0.5) ? inf : -inf) : grid(); break;
        case Dist::Huge: x = float((chance(0.5) ? -1 : 1) * (1e30 + u01(rng) * (cap - 1e30))); break;
        case Dist::Ascending: x = float(i) * 0.5f - 1000.0f; break;
        case Dist::Descending: x = 1000.0f - float(i) * 0.5f; break;
        case Dist::RandomBits: {
            const float r = from_bits(uint32_t(rng()));
            x = std::isfinite(r) && std::fabs(r) > cap ? grid() : r;
            break;
        }
        case Dist::kCount: break;
        }
        v[i] = x;
    }
    return v;
}

}  // namespace testutil
