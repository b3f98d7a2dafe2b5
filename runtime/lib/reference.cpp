#include "poolgen/reference.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <exception>
#include <limits>
#include <random>

namespace poolgen::reference {

namespace {

// Up to 3 spatial dims; unused leading dims have size 1 so every rank runs the same loops.
struct Geometry {
    int64_t N, C;
    int64_t in[3], out[3];
    int r;  // spatial rank
};

Geometry geometry(const PoolSpec &s) {
    Geometry g{};
    g.N = s.input[0];
    g.C = s.input[1];
    g.r = s.rank();
    const auto out = s.output_shape();
    for (int i = 0; i < 3; i++) {
        const int src = i - (3 - g.r);  // align spatial dims to the right (D, H, W)
        g.in[i] = src >= 0 ? s.input[2 + src] : 1;
        g.out[i] = src >= 0 ? out[2 + src] : 1;
    }
    return g;
}

// Offset of logical element (n, c, d, h, w) in a dense array of the given layout.
int64_t offset(Layout layout, int64_t N, int64_t C, const int64_t *sz, int64_t n, int64_t c, int64_t d, int64_t h,
               int64_t w) {
    (void)N;
    const int64_t plane = (d * sz[1] + h) * sz[2] + w;
    const int64_t plane_size = sz[0] * sz[1] * sz[2];
    if (layout == Layout::NCHW) return (n * C + c) * plane_size + plane;
    return (n * plane_size + plane) * C + c;
}

// Window of output position o along one dim: taps start, start+step, ... (count taps),
// and for averages the divisor contribution. Written from PyTorch's formulas (docs/semantics.md).
struct Window {
    int64_t start, step, count;  // taps, possibly outside [0, n)
    int64_t pool;                // avg: taps inside the padded input
    int64_t real;                // avg: taps inside the input
};

Window window(const PoolSpec &s, int dim /* spatial index, outer first */, int64_t o) {
    const int64_t n = s.input[2 + dim];
    Window w{};
    if (is_windowed(s.op)) {
        const int64_t k = s.kernel[dim], st = s.stride[dim], pb = s.pad_begin(dim), pe = s.pad_end(dim);
        w.start = o * st - pb;
        w.step = s.dilation[dim];
        w.count = k;
        if (s.op != Op::MaxPool) {
            // Taps past the end padding (a ceil_mode window's overhang) do not exist: they
            // count in neither divisor. Windows start before n + pe, so the rest is a prefix.
            w.pool = w.real = 0;
            for (int64_t j = 0; j < k; j++) {
                const int64_t pos = w.start + j * w.step;
                w.pool += pos < n + pe;
                w.real += pos >= 0 && pos < n;
            }
            w.count = w.pool;
        }
    } else {
        const int64_t m = s.output_size[dim];
        w.start = (o * n) / m;                  // floor(o * n / m)
        const int64_t end = ((o + 1) * n + m - 1) / m;  // ceil((o+1) * n / m)
        w.step = 1;
        w.count = end - w.start;
        w.pool = w.real = w.count;
    }
    return w;
}

Status check_args(const PoolSpec &spec, const void *input, const void *output, const int64_t *indices) {
    Status st = spec.validate();
    if (!st.ok()) return st;
    if (!input || !output) return Status::Error("reference: input and output must not be null");
    if (indices && !spec.return_indices)
        return Status::Error("reference: indices given but the spec does not return indices");
    return Status::Ok();
}

template <typename Visit>
void for_each_output(const PoolSpec &s, Visit visit) {
    const Geometry g = geometry(s);
    for (int64_t n = 0; n < g.N; n++)
        for (int64_t c = 0; c < g.C; c++)
            for (int64_t od = 0; od < g.out[0]; od++)
                for (int64_t oh = 0; oh < g.out[1]; oh++)
                    for (int64_t ow = 0; ow < g.out[2]; ow++) visit(g, n, c, od, oh, ow);
}

// Windows per aligned dim (size-1 dims get a single tap at 0).
void windows(const PoolSpec &s, const Geometry &g, const int64_t o[3], Window win[3]) {
    for (int i = 0; i < 3; i++) {
        const int dim = i - (3 - g.r);
        if (dim < 0) win[i] = Window{0, 1, 1, 1, 1};
        else win[i] = window(s, dim, o[i]);
    }
}

// Calls visit(d, h, w) for each tap of an average or adaptive window inside the input, in
// PyTorch's scan order (D, then H, then W).
template <typename Visit>
void for_each_real_tap(const Geometry &g, const Window win[3], Visit visit) {
    for (int64_t a = 0; a < win[0].count; a++)
        for (int64_t b = 0; b < win[1].count; b++)
            for (int64_t e = 0; e < win[2].count; e++) {
                const int64_t d = win[0].start + a * win[0].step, h = win[1].start + b * win[1].step,
                              w = win[2].start + e * win[2].step;
                if (d < 0 || d >= g.in[0] || h < 0 || h >= g.in[1] || w < 0 || w >= g.in[2]) continue;
                visit(d, h, w);
            }
}

// avg_pool's divisor: divisor_override, else the clipped window or its real elements.
int64_t avg_divisor(const PoolSpec &s, const Window win[3]) {
    if (s.divisor_override) return *s.divisor_override;
    if (!s.count_include_pad) return win[0].real * win[1].real * win[2].real;
    return win[0].pool * win[1].pool * win[2].pool;
}

// lp ops: each tap's term, x^p (PyTorch's input.pow(p): x*x and x*x*x for 2 and 3) or, under
// rules onnx, |x|^p. In f16/bf16 PyTorch rounds the term to the type; its bf16 cube rounds x*x
// first, its f16 cube does not.
float lp_term(const PoolSpec &s, float x) {
    const float b = s.onnx_rules() ? std::fabs(x) : x;
    const DType t = s.dtype;
    switch (*s.p) {
    case 1: return b;
    case 2: return round_to(t, b * b);
    case 3: return round_to(t, (t == DType::BF16 ? round_to(t, b * b) : b * b) * b);
    default: return round_to(t, std::pow(b, static_cast<float>(*s.p)));
    }
}

// lp ops: the p-th root of the window's sum. PyTorch's LPPool is avg_pool of x^p (padding 0, so
// the divisor is the window clipped to the input), sign(q) * relu(|q|) (a -0 becomes +0), times
// the kernel's size, then pow(1/p) (sqrt for p = 2, nothing for p = 1; a negative base gives
// NaN). A global lp pool is the same with the whole plane as its kernel. ONNX's: sum^(1/p).
// In f16/bf16 each of PyTorch's steps rounds to the type, and so does its exponent 1/p.
float lp_result(const PoolSpec &s, float sum, int64_t clipped, int64_t kernel_size) {
    const DType t = s.dtype;
    float v = sum;
    if (!s.onnx_rules())
        v = round_to(t, (0.0f + round_to(t, sum / static_cast<float>(clipped))) * static_cast<float>(kernel_size));
    if (*s.p == 1) return v;
    if (*s.p == 2) return round_to(t, std::sqrt(v));
    return round_to(t, std::pow(v, round_to(t, static_cast<float>(1.0 / static_cast<double>(*s.p)))));
}

// max ops' index of input element (n, c, d, h, w): within its plane, row-major (PyTorch); under
// rules onnx over the whole tensor, the plane's elements row-major (storage_order 0) or with
// the spatial dims column-major (1).
int64_t max_index(const PoolSpec &s, const Geometry &g, int64_t n, int64_t c, int64_t d, int64_t h, int64_t w) {
    const int64_t row_major = (d * g.in[1] + h) * g.in[2] + w;
    if (!s.onnx_rules()) return row_major;
    const int64_t plane = g.in[0] * g.in[1] * g.in[2];
    const int64_t within = s.storage_order.value_or(0) == 1 ? (w * g.in[1] + h) * g.in[0] + d : row_major;
    return (n * g.C + c) * plane + within;
}

// The smallest positive value of the type: the absolute rounding step near zero.
double smallest_step(DType t) { return t == DType::F16 ? 0x1p-24 : std::numeric_limits<float>::denorm_min(); }

// lp ops: a bound on |result - exact| for any float32 summation order. The root's argument A
// (ONNX: the sum of terms; PyTorch: the sum over the clipped count times the kernel size) is
// off by at most E = (taps + term roundings + 2) * FLT_EPSILON * sum(|x|^p) * scale. x^(1/p) is
// concave, so the root is off by at most E^(1/p), and by at most E / (p (A - E)^(1 - 1/p)) where
// A > E; plus two roundings of the root itself. A true sum of either sign within E of zero may
// give NaN under PyTorch's rules with p > 1 in one order and a number in another: the test data
// (a 1/8 grid) keep small windows' sums exact. In f16/bf16, where every step also rounds to the
// type, the type's epsilon stands for FLT_EPSILON throughout (each rounding is one of those).
double lp_bound(const PoolSpec &s, const Geometry &g, const Window win[3], const float *input, int64_t n, int64_t c) {
    const double p = static_cast<double>(*s.p), eps = dtype_epsilon(s.dtype);
    double terms = 0, sum = 0;
    int64_t taps = 0;
    for_each_real_tap(g, win, [&](int64_t d, int64_t h, int64_t w) {
        const double x = input[offset(s.layout, g.N, g.C, g.in, n, c, d, h, w)];
        const double t = std::pow(s.onnx_rules() ? std::fabs(x) : x, p);
        terms += std::fabs(t);
        sum += t;
        taps++;
    });
    double scale = 1;
    if (!s.onnx_rules()) {
        int64_t kernel_size = 1;
        for (int i = 3 - g.r; i < 3; i++) kernel_size *= s.op == Op::LpPool ? s.kernel[i - (3 - g.r)] : g.in[i];
        scale = static_cast<double>(kernel_size) / static_cast<double>(win[0].pool * win[1].pool * win[2].pool);
    }
    const double term_roundings = p <= 3 ? p - 1 : 4;  // products, or pow's few ulps
    const double e = (static_cast<double>(taps) + term_roundings + 2) * eps * terms * scale;
    const double a = std::fabs(sum) * scale, tiny = smallest_step(s.dtype);
    if (p == 1) return e + eps * a + tiny;
    double root_error = std::pow(e, 1 / p);
    if (a > e) root_error = std::min(root_error, e / (p * std::pow(a - e, 1 - 1 / p)));
    return root_error + 2 * eps * std::pow(a + e, 1 / p) + tiny;
}

// u8/i8 averages: the result code of a window whose codes sum to `sum` over `size` real taps,
// by PyTorch's quantized kernels (docs/semantics.md "Eight-bit codes"). z is the zero point,
// S = sum - size * z; every float step is one float32 operation, rne is nearbyint (ties to even).
//   channels-first avg_pool:   clamp(rne(S * (1/d) + z)), the sum with z in float32
//   channels-last avg_pool:    clamp(rne(S * (1/d)) + z), z added to the integer
//   channels-first adaptive:   rne(sum * (((1/k0) / k1) / k2)), the raw codes, no zero point
//   channels-last adaptive:    clamp(rne(S * (1/size)) + z)
//   3D channels-first to 1x1x1: rne(sum / size), PyTorch's mean()
float quantized_average(const PoolSpec &s, const Window win[3], int r, int64_t sum, int64_t size) {
    const int64_t z = s.zero_point.value_or(0);
    const bool channels_last = quantized_channels_last(s);
    const float S = static_cast<float>(sum - size * z);
    float code;
    if (is_windowed(s.op)) {
        const float m = 1.0f / static_cast<float>(avg_divisor(s, win));
        code = channels_last ? std::nearbyint(S * m) + static_cast<float>(z) : std::nearbyint(S * m + static_cast<float>(z));
    } else if (quantized_mean(s)) {
        code = std::nearbyint(static_cast<float>(sum) / static_cast<float>(size));
    } else if (channels_last) {
        code = std::nearbyint(S * (1.0f / static_cast<float>(size))) + static_cast<float>(z);
    } else {
        float m = 1.0f;
        for (int i = 3 - r; i < 3; i++) m = m / static_cast<float>(win[i].count);
        code = std::nearbyint(static_cast<float>(sum) * m);
    }
    // + 0: a code is an integer, and rne(-0.4) is -0.
    return std::clamp(code, static_cast<float>(quantized_min(s.dtype)), static_cast<float>(quantized_max(s.dtype))) + 0.0f;
}

}  // namespace

Status run(const PoolSpec &s, const float *input, float *output, int64_t *indices) {
    Status st = check_args(s, input, output, indices);
    if (!st.ok()) return st;
    const bool max = is_max(s.op);
    for_each_output(s, [&](const Geometry &g, int64_t n, int64_t c, int64_t od, int64_t oh, int64_t ow) {
        const int64_t o[3] = {od, oh, ow};
        Window win[3];
        windows(s, g, o, win);
        const int64_t dst = offset(s.layout, g.N, g.C, g.out, n, c, od, oh, ow);
        if (max) {
            // PyTorch: start from -inf at the first in-bounds tap (starts advanced past the
            // padding by whole steps); take v when v > best or v is NaN.
            int64_t first[3];
            for (int i = 0; i < 3; i++) {
                first[i] = win[i].start;
                while (first[i] < 0) first[i] += win[i].step;
            }
            float best = -std::numeric_limits<float>::infinity();
            int64_t best_index = max_index(s, g, n, c, first[0], first[1], first[2]);
            for (int64_t a = 0; a < win[0].count; a++)
                for (int64_t b = 0; b < win[1].count; b++)
                    for (int64_t e = 0; e < win[2].count; e++) {
                        const int64_t d = win[0].start + a * win[0].step;
                        const int64_t h = win[1].start + b * win[1].step;
                        const int64_t w = win[2].start + e * win[2].step;
                        if (d < 0 || d >= g.in[0] || h < 0 || h >= g.in[1] || w < 0 || w >= g.in[2]) continue;
                        const float v = input[offset(s.layout, g.N, g.C, g.in, n, c, d, h, w)];
                        if (v > best || std::isnan(v)) {
                            best = v;
                            best_index = max_index(s, g, n, c, d, h, w);
                        }
                    }
            // u8/i8: a window of nothing but padding gives the type's smallest code.
            output[dst] = is_quantized(s.dtype) ? std::max(best, static_cast<float>(quantized_min(s.dtype))) : best;
            if (indices) indices[dst] = best_index;
        } else if (is_quantized(s.dtype)) {
            int64_t sum = 0, size = 0;
            for_each_real_tap(g, win, [&](int64_t d, int64_t h, int64_t w) {
                sum += static_cast<int64_t>(input[offset(s.layout, g.N, g.C, g.in, n, c, d, h, w)]);
                size++;
            });
            output[dst] = quantized_average(s, win, g.r, sum, size);
        } else {
            // f32 sums, except where PyTorch sums in the element type (sums_in_element_type).
            const DType sum_type = sums_in_element_type(s) ? s.dtype : DType::F32;
            float sum = 0.0f;
            for_each_real_tap(g, win, [&](int64_t d, int64_t h, int64_t w) {
                const float x = input[offset(s.layout, g.N, g.C, g.in, n, c, d, h, w)];
                sum = round_to(sum_type, sum + (is_lp(s.op) ? lp_term(s, x) : x));
            });
            if (is_lp(s.op)) {
                int64_t kernel_size = 1;
                for (int i = 3 - g.r; i < 3; i++) kernel_size *= s.op == Op::LpPool ? s.kernel[i - (3 - g.r)] : g.in[i];
                output[dst] = lp_result(s, sum, win[0].pool * win[1].pool * win[2].pool, kernel_size);
                return;
            }
            if (is_adaptive(s.op)) {
                // PyTorch divides by one window extent at a time: sum / kd / kh / kw.
                float mean = sum;
                for (int i = 3 - g.r; i < 3; i++) mean = round_to(sum_type, mean / static_cast<float>(win[i].count));
                output[dst] = round_to(s.dtype, mean);
                return;
            }
            // PyTorch's channels-first kernel computes 0 + quotient (a -0 quotient gives +0);
            // its channels-last kernel keeps the quotient as it is. Which one runs: see
            // avg_keeps_negative_zero (nhwc 1D/2D with C > 1 and more than one spatial element).
            // A dilated window (rules onnx) may hold no input element: onnxruntime gives 0.
            const int64_t divisor = avg_divisor(s, win);
            const float q = divisor == 0 ? 0.0f : sum / static_cast<float>(divisor);
            // f16/bf16: PyTorch rounds the quotient to the type, then adds it to the zeroed output.
            const float r = round_to(s.dtype, q);
            output[dst] = avg_keeps_negative_zero(s) ? r : 0.0f + r;
        }
    });
    return Status::Ok();
}

Status error_bounds(const PoolSpec &s, const float *input, std::vector<double> *bounds) {
    Status st = check_args(s, input, input, nullptr);
    if (!st.ok()) return st;
    if (!bounds) return Status::Error("reference: bounds must not be null");
    bounds->assign(static_cast<size_t>(s.output_elements()), 0.0);
    if (is_max(s.op) || is_quantized(s.dtype)) return Status::Ok();  // exact
    for_each_output(s, [&](const Geometry &g, int64_t n, int64_t c, int64_t od, int64_t oh, int64_t ow) {
        const int64_t o[3] = {od, oh, ow};
        Window win[3];
        windows(s, g, o, win);
        if (is_lp(s.op)) {
            const size_t dst = static_cast<size_t>(offset(s.layout, g.N, g.C, g.out, n, c, od, oh, ow));
            (*bounds)[dst] = lp_bound(s, g, win, input, n, c);
            return;
        }
        double abs_sum = 0;
        int64_t taps = 0;
        for_each_real_tap(g, win, [&](int64_t d, int64_t h, int64_t w) {
            abs_sum += std::fabs(static_cast<double>(input[offset(s.layout, g.N, g.C, g.in, n, c, d, h, w)]));
            taps++;
        });
        // Adaptive windows have pool == real == their size, so this is their divisor too.
        const int64_t divisor = avg_divisor(s, win);
        const size_t dst = static_cast<size_t>(offset(s.layout, g.N, g.C, g.out, n, c, od, oh, ow));
        // Summation error of any order, plus the final division's half-ulp, in float32 units.
        // A divisor of 0 (a dilated window missing the input) has an exact 0 result.
        // f16/bf16: two results within B32 of each other, each rounded to the type, differ by at
        // most B32 plus one ulp of the type at their size (<= eps * sum|x| / |divisor|). Sums
        // rounded in the type (sums_in_element_type) against float32 sums: each of the taps'
        // additions and three divisions rounds by at most half an ulp of the type.
        const double scale = std::fabs(static_cast<double>(divisor ? divisor : 1));
        const double taps_d = static_cast<double>(taps), mean_size = abs_sum / scale;
        const double b32 = (taps_d + 1.0) * FLT_EPSILON * mean_size;
        if (s.dtype == DType::F32) (*bounds)[dst] = b32 + std::numeric_limits<float>::denorm_min();
        else if (sums_in_element_type(s)) (*bounds)[dst] = (taps_d + 4.0) * dtype_epsilon(s.dtype) * mean_size + smallest_step(s.dtype);
        else (*bounds)[dst] = b32 + dtype_epsilon(s.dtype) * mean_size * (1.0 + (taps_d + 1.0) * FLT_EPSILON) + smallest_step(s.dtype);
    });
    return Status::Ok();
}

std::vector<float> sample_input(const PoolSpec &s, uint64_t seed, double special_rate) {
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<int> grid(-80, 80);
    std::uniform_real_distribution<double> u01(0, 1);
    // No exception may leave the API: a size that cannot be computed or allocated gives nothing.
    const int64_t n = s.input_elements();
    std::vector<float> v;
    if (n < 0) return v;
    try {
        v.resize(static_cast<size_t>(n));
    } catch (const std::exception &) {
        return {};
    }
    if (is_quantized(s.dtype)) {
        // Codes over the whole range, with the extremes (saturation) more often than chance.
        const int lo = static_cast<int>(quantized_min(s.dtype)), hi = static_cast<int>(quantized_max(s.dtype));
        std::uniform_int_distribution<int> code(lo, hi);
        for (auto &x : v) {
            const double p = u01(rng);
            x = static_cast<float>(special_rate > 0 && p < special_rate ? (p < special_rate / 2 ? lo : hi) : code(rng));
        }
        return v;
    }
    const float specials[] = {std::numeric_limits<float>::quiet_NaN(), -std::numeric_limits<float>::infinity(),
                              std::numeric_limits<float>::infinity(), -0.0f};
    for (auto &x : v) {
        x = grid(rng) / 8.0f;
        if (special_rate <= 0) continue;
        const double p = u01(rng);
        if (p < special_rate) x = specials[std::min(3, static_cast<int>(4 * p / special_rate))];
    }
    return v;
}

std::vector<float> sample_input(const PoolSpec &s, uint64_t seed, bool specials) {
    return sample_input(s, seed, specials ? 4.0 / 200 : 0.0);
}

std::vector<uint8_t> sample_elements(const PoolSpec &s, uint64_t seed, bool specials) {
    const std::vector<float> v = sample_input(s, seed, specials);
    try {
        return store_elements(s.dtype, v.data(), static_cast<int64_t>(v.size()));
    } catch (const std::exception &) {
        return {};
    }
}

}  // namespace poolgen::reference
