// Invariants every valid PoolSpec must satisfy, checked by the fuzz targets after validate()
// accepts a spec. The output size is recomputed here from a second formulation of PyTorch's
// rule (count the window starts), independent of pooled_output_size's formula.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "poolgen/reference.h"
#include "poolgen/spec.h"

#define FUZZ_CHECK(cond)                                                                        \
    do {                                                                                        \
        if (!(cond)) {                                                                          \
            std::fprintf(stderr, "FUZZ_CHECK failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
            std::abort();                                                                       \
        }                                                                                       \
    } while (0)

namespace fuzzcheck {

using poolgen::PoolSpec;

inline bool one_line(const std::string &s) {
    return !s.empty() && s.find('\n') == std::string::npos && s.find('\r') == std::string::npos;
}

// Number of windows by counting starts: start i*s (in padded coordinates) is a window when the
// dilated window fits in the padded input, or in ceil mode when it still starts inside the
// input or the begin padding and would hold part of the padded input.
inline int64_t counted_windows(int64_t n, int64_t k, int64_t s, int64_t pb, int64_t pe, int64_t d, bool ceil) {
    const int64_t eff = d * (k - 1) + 1, padded = n + pb + pe;
    int64_t last = padded - eff;                                    // floor: the window fits
    if (ceil) last = std::min(padded - eff + s - 1, n + pb - 1);   // ceil: starts before n + pb
    return last < 0 ? 0 : last / s + 1;
}

inline int64_t product(const std::vector<int64_t> &v) {
    int64_t e = 1;
    for (int64_t x : v) e *= x;
    return e;
}

// Called only when validate() accepted `s`.
inline void check_valid_spec(const PoolSpec &s) {
    const int r = s.rank();
    FUZZ_CHECK(r >= 1 && r <= 3);
    const std::vector<int64_t> out = s.output_shape();
    FUZZ_CHECK(out.size() == s.input.size());
    FUZZ_CHECK(out[0] == s.input[0] && out[1] == s.input[1]);
    int64_t in_e = 1, out_e = 1;
    for (size_t i = 0; i < out.size(); i++) {
        FUZZ_CHECK(s.input[i] >= 1 && s.input[i] <= poolgen::kMaxDim);
        FUZZ_CHECK(out[i] >= 1);
        FUZZ_CHECK(in_e <= poolgen::kMaxElements / s.input[i]);
        FUZZ_CHECK(out_e <= poolgen::kMaxElements / out[i]);
        in_e *= s.input[i];
        out_e *= out[i];
    }
    FUZZ_CHECK(s.input_elements() == in_e && s.output_elements() == out_e);
    FUZZ_CHECK(product(s.input_memory_shape()) == in_e && product(s.output_memory_shape()) == out_e);
    if (poolgen::is_windowed(s.op)) {
        FUZZ_CHECK(s.kernel.size() == size_t(r) && s.stride.size() == size_t(r) && s.padding.size() == size_t(r) &&
                   s.dilation.size() == size_t(r));
        for (int i = 0; i < r; i++) {
            const int64_t n = s.input[2 + i], k = s.kernel[i], st = s.stride[i], p = s.pad_begin(i), pe = s.pad_end(i),
                          d = s.dilation[i];
            FUZZ_CHECK(k >= 1 && st >= 1 && p >= 0 && pe >= 0 && d >= 1);
            FUZZ_CHECK(s.onnx_rules() ? (p < k && pe < k) : (p == pe && 2 * p <= k));
            FUZZ_CHECK(out[2 + i] == counted_windows(n, k, st, p, pe, d, s.ceil_mode));
            FUZZ_CHECK(out[2 + i] == poolgen::pooled_output_size(n, k, st, p, pe, d, s.ceil_mode));
            // Every window starts inside the input or the left padding ...
            FUZZ_CHECK((out[2 + i] - 1) * st - p < n);
            // ... and an average window always holds a real element (PyTorch divides by it).
            if (s.op == poolgen::Op::AvgPool && d == 1) {
                const int64_t a = (out[2 + i] - 1) * st - p, b = std::min(a + k, n + pe);
                FUZZ_CHECK(std::min(b, n) - std::max(a, int64_t(0)) >= 1);
                FUZZ_CHECK(-p + k >= 1);
            }
        }
        if (s.op == poolgen::Op::AvgPool && s.divisor_override) FUZZ_CHECK(*s.divisor_override != 0);
    } else {
        FUZZ_CHECK(s.output_size.size() == size_t(r));
        for (int i = 0; i < r; i++) FUZZ_CHECK(out[2 + i] == s.output_size[i]);
    }
    if (s.return_indices) FUZZ_CHECK(poolgen::is_max(s.op));
    if (s.storage_order) FUZZ_CHECK(s.onnx_rules() && s.return_indices && (*s.storage_order == 0 || *s.storage_order == 1));
    if (s.zero_point)
        FUZZ_CHECK(poolgen::is_quantized(s.dtype) && *s.zero_point >= poolgen::quantized_min(s.dtype) &&
                   *s.zero_point <= poolgen::quantized_max(s.dtype));
    if (poolgen::is_quantized(s.dtype)) FUZZ_CHECK(!poolgen::is_lp(s.op) && !s.onnx_rules());
    const std::string name = s.canonical_name(), text = s.describe();
    for (char c : name) FUZZ_CHECK((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_');
    FUZZ_CHECK(one_line(text));
}

// Runs the reference loops when the work is small: output elements times window taps.
inline void run_reference_if_small(const PoolSpec &s, uint64_t seed) {
    if (s.input_elements() > 4096 || s.output_elements() > 4096) return;
    double taps = 1;
    const int r = s.rank();
    for (int i = 0; i < r; i++) taps *= poolgen::is_windowed(s.op) ? double(s.kernel[i]) : double(s.input[2 + i]);
    if (taps * double(s.output_elements()) > 2e5) return;
    std::vector<float> in(size_t(s.input_elements()));
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
    for (float &v : in) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        const int c = int(x % 16);
        v = c == 0 ? std::numeric_limits<float>::quiet_NaN() : c == 1 ? -std::numeric_limits<float>::infinity()
                                                            : float(int(x >> 8) % 9) / 2;
    }
    std::vector<float> out(size_t(s.output_elements()));
    std::vector<int64_t> idx(s.return_indices ? out.size() : 0);
    const poolgen::Status st = poolgen::reference::run(s, in.data(), out.data(), s.return_indices ? idx.data() : nullptr);
    FUZZ_CHECK(st.ok());
    std::vector<double> bounds;
    FUZZ_CHECK(poolgen::reference::error_bounds(s, in.data(), &bounds).ok());
    FUZZ_CHECK(bounds.size() == out.size());
    if (!s.return_indices) return;
    // An index names an element of its (n, c) plane holding exactly the output value, unless
    // the window lies entirely in padding (-inf, PyTorch's meaningless index).
    int64_t plane = 1;
    for (int i = 0; i < r; i++) plane *= s.input[2 + i];
    const bool nhwc = s.layout == poolgen::Layout::NHWC;
    const int64_t C = s.input[1], out_plane = s.output_elements() / (s.input[0] * C);
    for (size_t o = 0; o < out.size(); o++) {
        const int64_t n = int64_t(o) / (out_plane * C);
        const int64_t c = nhwc ? int64_t(o) % C : (int64_t(o) / out_plane) % C;
        FUZZ_CHECK(idx[o] >= 0);
        // -inf: a real -inf, or a window entirely in padding whose index may lie past the row end.
        if (out[o] == -std::numeric_limits<float>::infinity()) continue;
        // Rules onnx: the index counts the planes before, and its plane may be column-major.
        int64_t within = idx[o];
        if (s.onnx_rules()) {
            FUZZ_CHECK(idx[o] / plane == n * C + c);
            within = idx[o] % plane;
            if (s.storage_order == 1) {  // ((w * H) + h) * D + d back to ((d * H) + h) * W + w
                int64_t rest = within, row = 0;
                std::vector<int64_t> pos(r);
                for (int i = 0; i < r; i++) {
                    pos[i] = rest % s.input[2 + i];
                    rest /= s.input[2 + i];
                }
                for (int i = 0; i < r; i++) row = row * s.input[2 + i] + pos[i];
                within = row;
            }
        }
        FUZZ_CHECK(within >= 0 && within < plane);
        const int64_t at = nhwc ? (n * plane + within) * C + c : (n * C + c) * plane + within;
        FUZZ_CHECK(std::memcmp(&in[size_t(at)], &out[o], sizeof(float)) == 0 || (std::isnan(in[size_t(at)]) && std::isnan(out[o])));
    }
}

}  // namespace fuzzcheck
