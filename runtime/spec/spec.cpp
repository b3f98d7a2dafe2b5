#include "poolgen/spec.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace poolgen {

namespace {

std::string fmt_dims(const std::vector<int64_t> &v) { return join_dims(v, "x"); }

// "dim 1 of 2" style suffix only where it helps: multi-dim parameters.
std::string dim_note(size_t i, size_t rank) {
    if (rank <= 1) return "";
    return " (spatial dim " + std::to_string(i) + ")";
}

std::string bad(const char *field, const std::string &rule) {
    return std::string("field '") + field + "': " + rule;
}

}  // namespace

bool is_max(Op op) { return op == Op::MaxPool || op == Op::AdaptiveMaxPool || op == Op::GlobalMaxPool; }
bool is_adaptive(Op op) { return !is_windowed(op); }
bool is_windowed(Op op) { return op == Op::MaxPool || op == Op::AvgPool || op == Op::LpPool; }
bool is_lp(Op op) { return op == Op::LpPool || op == Op::GlobalLpPool; }
bool is_global(Op op) { return op == Op::GlobalMaxPool || op == Op::GlobalAvgPool || op == Op::GlobalLpPool; }
size_t dtype_size(DType dtype) {
    switch (dtype) {
    case DType::F32: return 4;
    case DType::F16:
    case DType::BF16: return 2;
    case DType::U8:
    case DType::I8: return 1;
    }
    return 0;
}
bool is_quantized(DType dtype) { return dtype == DType::U8 || dtype == DType::I8; }
int64_t quantized_min(DType dtype) { return dtype == DType::U8 ? 0 : dtype == DType::I8 ? -128 : 0; }
int64_t quantized_max(DType dtype) { return dtype == DType::U8 ? 255 : dtype == DType::I8 ? 127 : 0; }

namespace {

uint32_t float_bits(float v) {
    uint32_t b;
    std::memcpy(&b, &v, sizeof b);
    return b;
}

float bits_float(uint32_t b) {
    float v;
    std::memcpy(&v, &b, sizeof v);
    return v;
}

// IEEE binary16 <-> binary32 by their bit fields.
float half_to_float(uint16_t h) {
    const uint32_t sign = uint32_t(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    if (exp == 0x1f) return bits_float(sign | 0x7f800000 | (man << 13));  // inf, NaN (payload kept)
    if (exp == 0) {  // zero or subnormal: man * 2^-24
        const float v = std::ldexp(static_cast<float>(man), -24);
        return sign ? -v : v;
    }
    return bits_float(sign | ((exp + 112) << 23) | (man << 13));
}

uint16_t float_to_half(float v) {
    const uint32_t b = float_bits(v);
    const uint16_t sign = static_cast<uint16_t>((b >> 16) & 0x8000);
    if (std::isnan(v)) return static_cast<uint16_t>(sign | 0x7e00 | ((b >> 13) & 0x3ff));
    const float a = std::fabs(v);
    if (a >= 65520.0f) return static_cast<uint16_t>(sign | 0x7c00);  // rounds past 65504: inf
    if (a < 0x1p-14f) {
        // Subnormal range: a multiple of 2^-24, rounded to nearest even by the FPU (exact
        // scaling, one rounding in nearbyint under the default rounding mode).
        const float m = std::nearbyint(a * 0x1p24f);
        return static_cast<uint16_t>(sign | static_cast<uint16_t>(m));  // m == 1024 is the smallest normal
    }
    // Normal: drop 13 mantissa bits, round half to even; a carry moves into the exponent.
    const uint32_t rest = b & 0x7fffffff;
    const uint32_t rounded = rest + 0xfff + ((rest >> 13) & 1);
    return static_cast<uint16_t>(sign | ((rounded >> 13) - (112u << 10)));
}

float bf16_to_float(uint16_t h) { return bits_float(uint32_t(h) << 16); }

uint16_t float_to_bf16(float v) {
    const uint32_t b = float_bits(v);
    if (std::isnan(v)) return static_cast<uint16_t>((b >> 16) | 0x40);
    return static_cast<uint16_t>((b + 0x7fff + ((b >> 16) & 1)) >> 16);  // overflow carries into inf
}

}  // namespace

float load_element(DType dtype, const void *data, int64_t i) {
    if (dtype == DType::F32) return static_cast<const float *>(data)[i];
    if (dtype == DType::U8) return static_cast<const uint8_t *>(data)[i];
    if (dtype == DType::I8) return static_cast<const int8_t *>(data)[i];
    const uint16_t h = static_cast<const uint16_t *>(data)[i];
    return dtype == DType::F16 ? half_to_float(h) : bf16_to_float(h);
}

void store_element(DType dtype, float v, void *data, int64_t i) {
    if (is_quantized(dtype)) {
        const float lo = static_cast<float>(quantized_min(dtype)), hi = static_cast<float>(quantized_max(dtype));
        const float code = std::isnan(v) ? 0.0f : std::clamp(std::nearbyint(v), lo, hi);
        if (dtype == DType::U8) static_cast<uint8_t *>(data)[i] = static_cast<uint8_t>(code);
        else static_cast<int8_t *>(data)[i] = static_cast<int8_t>(code);
        return;
    }
    if (dtype == DType::F32) static_cast<float *>(data)[i] = v;
    else static_cast<uint16_t *>(data)[i] = dtype == DType::F16 ? float_to_half(v) : float_to_bf16(v);
}

std::vector<uint8_t> store_elements(DType dtype, const float *values, int64_t n) {
    std::vector<uint8_t> bytes(static_cast<size_t>(n) * dtype_size(dtype));
    for (int64_t i = 0; i < n; i++) store_element(dtype, values[i], bytes.data(), i);
    return bytes;
}

std::vector<float> load_elements(DType dtype, const void *data, int64_t n) {
    std::vector<float> values(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; i++) values[static_cast<size_t>(i)] = load_element(dtype, data, i);
    return values;
}

float round_to(DType dtype, float v) {
    if (dtype == DType::F32) return v;
    uint16_t h;  // room for any element
    store_element(dtype, v, &h, 0);
    return load_element(dtype, &h, 0);
}

const char *npy_descr(DType dtype) {
    switch (dtype) {
    case DType::F16: return "<f2";
    case DType::BF16: return "<u2";
    case DType::U8: return "|u1";
    case DType::I8: return "|i1";
    case DType::F32: break;
    }
    return "<f4";
}

double dtype_epsilon(DType dtype) {
    switch (dtype) {
    case DType::F32: return 0x1p-23;
    case DType::F16: return 0x1p-10;
    case DType::BF16: return 0x1p-7;
    case DType::U8:
    case DType::I8: return 0;
    }
    return 1;
}

std::string join_dims(const std::vector<int64_t> &v, const char *sep) {
    std::string s;
    for (size_t i = 0; i < v.size(); i++) {
        if (i) s += sep;
        s += std::to_string(v[i]);
    }
    return s;
}

int64_t pooled_output_size(int64_t n, int64_t k, int64_t s, int64_t pb, int64_t pe, int64_t d, bool ceil_mode) {
    // o = floor((n + pb + pe - d(k-1) - 1 + (ceil ? s-1 : 0)) / s) + 1, floor toward -inf.
    int64_t num = n + pb + pe - d * (k - 1) - 1 + (ceil_mode ? s - 1 : 0);
    int64_t q = num / s;
    if ((num % s != 0) && ((num < 0) != (s < 0))) q -= 1;
    int64_t o = q + 1;
    // Last-window rule: a window must start inside the input or the begin padding.
    if (ceil_mode && (o - 1) * s >= n + pb) o -= 1;
    return o;
}

bool sums_in_element_type(const PoolSpec &s) {
    if (s.dtype == DType::F32 || is_quantized(s.dtype) || s.op != Op::AdaptiveAvgPool || s.rank() != 3) return false;
    return !(s.output_size[0] == 1 && s.output_size[1] == 1 && s.output_size[2] == 1);  // 1x1x1 is mean()
}

bool quantized_channels_last(const PoolSpec &s) {
    if (s.input.size() < 3) return true;
    if (s.op == Op::AvgPool && s.rank() == 3) return true;
    // 1D ops pool a contiguous (N, C, 1, L) copy, whatever the input's memory order.
    if (s.layout == Layout::NHWC && s.rank() != 1) return true;
    int64_t plane = 1;
    for (size_t i = 2; i < s.input.size(); i++) plane *= s.input[i];
    return s.input[1] == 1 || plane == 1;
}

bool quantized_mean(const PoolSpec &s) {
    if (!is_quantized(s.dtype) || s.rank() != 3 || is_max(s.op) || !is_adaptive(s.op) || s.layout != Layout::NCHW) return false;
    return s.output_size.size() == 3 && s.output_size[0] == 1 && s.output_size[1] == 1 && s.output_size[2] == 1;
}

bool avg_keeps_negative_zero(const PoolSpec &s) {
    if (s.onnx_rules()) return true;
    if (s.layout != Layout::NHWC || s.input.size() < 3 || s.input.size() > 4 || s.input[1] <= 1) return false;
    int64_t plane = 1;
    for (size_t i = 2; i < s.input.size(); i++) plane *= s.input[i];
    return plane > 1;
}

void PoolSpec::normalize() {
    const size_t r = input.size() >= 2 ? input.size() - 2 : 0;
    auto broadcast = [r](std::vector<int64_t> &v, int64_t dflt) {
        if (v.empty()) v.assign(r, dflt);
        else if (v.size() == 1 && r > 1) v.assign(r, v[0]);
    };
    if (is_windowed(op)) {
        broadcast(kernel, 0);
        if (stride.empty()) stride = kernel;  // PyTorch: stride=None means stride = kernel
        broadcast(stride, 0);
        broadcast(padding, 0);
        if (padding_end.size() == 1 && r > 1) padding_end.assign(r, padding_end[0]);
        if (padding_end == padding) padding_end.clear();
        broadcast(dilation, 1);
    }
    if (rules == Rules::ONNX && storage_order == 0) storage_order.reset();
    if (is_lp(op) && !p) p = 2;
    if (is_global(op)) output_size.assign(r, 1);
    else if (is_adaptive(op)) broadcast(output_size, 0);
}

Status PoolSpec::validate() const {
    auto err = [](const char *field, const std::string &rule) { return Status::Error(bad(field, rule)); };
    // A spec built by hand may hold any value a cast gives an enum.
    if (!parse_op(to_string(op))) return err("op", "is not one of the ops (enum value " + std::to_string(int(op)) + ")");
    if (!parse_dtype(to_string(dtype))) return err("dtype", "is not one of the dtypes (enum value " + std::to_string(int(dtype)) + ")");
    if (!parse_layout(to_string(layout)))
        return err("layout", "is neither nchw nor nhwc (enum value " + std::to_string(int(layout)) + ")");
    if (!parse_rules(to_string(rules)))
        return err("rules", "is neither pytorch nor onnx (enum value " + std::to_string(int(rules)) + ")");
    if (input.size() < 3 || input.size() > 5)
        return err("input", "must list N, C and 1 to 3 spatial sizes (3 to 5 entries), got " +
                                std::to_string(input.size()) + " entries");
    const size_t r = input.size() - 2;
    static const char *kAxis[] = {"N", "C", "spatial"};
    for (size_t i = 0; i < input.size(); i++) {
        if (input[i] < 1 || input[i] > kMaxDim)
            return err("input", std::string("every size must be between 1 and ") + std::to_string(kMaxDim) +
                                    ", got " + std::to_string(input[i]) + " for " + kAxis[std::min<size_t>(i, 2)] +
                                    (i >= 2 ? " dim " + std::to_string(i - 2) : ""));
    }
    int64_t elements = 1;
    for (int64_t v : input) {
        if (elements > kMaxElements / v)
            return err("input", "tensor of " + fmt_dims(input) + " has more than " + std::to_string(kMaxElements) +
                                    " elements (2^31-1), the largest supported buffer");
        elements *= v;
    }
    if (return_indices && !is_max(op))
        return err("return_indices", std::string("only max ops return indices, not ") + to_string(op));
    if (storage_order) {
        if (!onnx_rules())
            return err("storage_order", "applies under \"rules\": \"onnx\" only (PyTorch's indices count within each plane)");
        if (!return_indices) return err("storage_order", "applies to kernels that return indices");
        if (*storage_order != 0 && *storage_order != 1)
            return err("storage_order", "must be 0 (row-major) or 1 (column-major), got " + std::to_string(*storage_order));
    }
    const bool onnx = onnx_rules();
    if (onnx && dtype != DType::F32)
        return err("dtype", std::string("rules onnx kernels are f32 only (the ONNX import reads float32 models), got ") +
                                to_string(dtype));
    if (is_quantized(dtype) && is_lp(op))
        return err("dtype", std::string(to_string(dtype)) + " kernels pool with max, avg and adaptive ops; " + to_string(op) +
                                " has no quantized form (PyTorch's LPPool raises x to a power, which quantized tensors lack)");
    if (zero_point) {
        if (!is_quantized(dtype))
            return err("zero_point", std::string("applies to u8 and i8 kernels only (a quantized tensor's zero point), not ") +
                                         to_string(dtype));
        if (*zero_point < quantized_min(dtype) || *zero_point > quantized_max(dtype))
            return err("zero_point", std::string("must be in the range of ") + to_string(dtype) + ", " +
                                         std::to_string(quantized_min(dtype)) + " to " + std::to_string(quantized_max(dtype)) +
                                         ", got " + std::to_string(*zero_point));
    }
    if (is_quantized(dtype) && layout == Layout::NHWC && r == 3 && is_adaptive(op) && !is_max(op) && output_size.size() == 3 && output_size[0] == 1 && output_size[1] == 1 && output_size[2] == 1)
        return err("layout", std::string(to_string(dtype)) + " averages of a whole 3D plane (output 1x1x1) need layout nchw: "
                             "PyTorch computes the channels-last one from the dequantized floats, so its codes depend on "
                             "the scale and on its summation order");
    if (p) {
        if (!is_lp(op)) return err("p", std::string("applies to lp_pool and global_lp_pool only, not ") + to_string(op));
        if (*p < 1 || *p > kMaxLpOrder)
            return err("p", "must be an integer from 1 to " + std::to_string(kMaxLpOrder) + " (the Lp norm's order), got " +
                                std::to_string(*p));
    } else if (is_lp(op)) {
        return err("p", "is required for lp ops (normalize() sets the default 2)");
    }

    // Sample shape "CxHxW" as PyTorch prints it in its messages.
    const std::vector<int64_t> sample(input.begin() + 1, input.end());

    if (is_windowed(op)) {
        const bool avg = op == Op::AvgPool, lp = op == Op::LpPool;
        auto check_len = [&](const std::vector<int64_t> &v, const char *field) -> Status {
            if (v.size() != r)
                return err(field, "must be one integer or a list of " + std::to_string(r) + " (one per spatial dim), got " +
                                      std::to_string(v.size()));
            for (int64_t x : v)
                if (x > kMaxDim || x < -kMaxDim)
                    return err(field, "magnitude must be at most " + std::to_string(kMaxDim) + ", got " + std::to_string(x));
            return Status::Ok();
        };
        for (auto [v, f] : {std::pair{&kernel, "kernel"}, {&stride, "stride"}, {&padding, "padding"}, {&dilation, "dilation"}})
            if (Status s = check_len(*v, f); !s.ok()) return s;
        if (!padding_end.empty()) {
            if (Status s = check_len(padding_end, "padding_end"); !s.ok()) return s;
            if (!onnx && padding_end != padding)
                return err("padding_end", "differs from padding: padding unlike at the two ends of a dim needs \"rules\": "
                                          "\"onnx\" (PyTorch pads both ends alike)");
        }
        if (!avg && (divisor_override || !count_include_pad))
            return err(divisor_override ? "divisor_override" : "count_include_pad", "applies to avg_pool only");
        if (!output_size.empty() && op != Op::AdaptiveAvgPool && op != Op::AdaptiveMaxPool)
            return err("output_size", std::string("applies to adaptive ops only, not ") + to_string(op));
        if (lp && !onnx) {
            for (int64_t x : padding)
                if (x != 0)
                    return err("padding", "lp_pool has no padding under PyTorch's rules (PyTorch's LPPool has none; "
                                          "ONNX's LpPool has, with \"rules\": \"onnx\")");
            for (int64_t d : dilation)
                if (d != 1)
                    return err("dilation", "lp_pool has no dilation under PyTorch's rules (PyTorch's LPPool has none; "
                                           "ONNX's LpPool has, with \"rules\": \"onnx\")");
        }
        if (avg) {
            for (int64_t d : dilation)
                if (d != 1 && !onnx)
                    return err("dilation", "avg_pool has no dilation under PyTorch's rules (PyTorch's AvgPool has none; "
                                           "ONNX's AveragePool has, with \"rules\": \"onnx\")");
            if (divisor_override) {
                if (r == 1) return err("divisor_override", "is not available for 1D avg_pool (PyTorch's avg_pool1d has none)");
                if (*divisor_override == 0) return err("divisor_override", "must not be zero");
                if (*divisor_override > kMaxDim || *divisor_override < -kMaxDim)
                    return err("divisor_override", "magnitude must be at most " + std::to_string(kMaxDim));
            }
        }
        // PyTorch's checks, in PyTorch's order. max_pool1d without indices has its own path
        // (kernel, stride, padding, half the raw kernel, dilation). Everything else first checks
        // per dim: stride zero, padding negative, padding > half the effective (dilated) kernel;
        // then kernel, stride and dilation > 0; then padding <= half the RAW kernel
        // (pool2d/pool3d_shape_check), which for max pooling with dilation is the binding rule:
        // k=3, d=2, p=2 is refused in every dimension count.
        auto pad_bound = [&](size_t i, bool effective) -> Status {
            const bool dilated = effective && dilation[i] != 1;
            const int64_t extent = dilated ? dilation[i] * (kernel[i] - 1) + 1 : kernel[i];
            if (padding[i] > extent / 2)  // C++ truncating division, as PyTorch
                return err("padding", "must be at most half of the " +
                                          std::string(dilated ? "effective (dilated) kernel size" : "kernel size") +
                                          ", got padding=" + std::to_string(padding[i]) + " and " +
                                          (dilated ? "effective kernel size " : "kernel=") + std::to_string(extent) +
                                          dim_note(i, r));
            return Status::Ok();
        };
        if (onnx) {
            // onnxruntime's rules: every size positive, each pad non-negative and smaller than the kernel.
            for (size_t i = 0; i < r; i++) {
                if (kernel[i] <= 0)
                    return err("kernel", "must be greater than zero, got " + std::to_string(kernel[i]) + dim_note(i, r));
                if (stride[i] <= 0)
                    return err("stride", "must be greater than zero, got " + std::to_string(stride[i]) + dim_note(i, r));
                if (dilation[i] <= 0)
                    return err("dilation", "must be greater than zero, got " + std::to_string(dilation[i]) + dim_note(i, r));
                for (auto [p, f] : {std::pair{pad_begin(int(i)), "padding"}, {pad_end(int(i)), "padding_end"}}) {
                    if (p < 0) return err(f, "must be non-negative, got " + std::to_string(p) + dim_note(i, r));
                    if (p >= kernel[i])
                        return err(f, "must be smaller than the kernel (ONNX's rule), got " + std::to_string(p) +
                                          " and kernel=" + std::to_string(kernel[i]) + dim_note(i, r));
                }
            }
        } else if (r == 1 && op == Op::MaxPool && !return_indices) {
            if (kernel[0] <= 0) return err("kernel", "must be greater than zero, got " + std::to_string(kernel[0]));
            if (stride[0] <= 0) return err("stride", "must be greater than zero, got " + std::to_string(stride[0]));
            if (padding[0] < 0) return err("padding", "must be non-negative, got " + std::to_string(padding[0]));
            if (Status st = pad_bound(0, false); !st.ok()) return st;
            if (dilation[0] <= 0) return err("dilation", "must be greater than zero, got " + std::to_string(dilation[0]));
        } else {
            for (size_t i = 0; i < r; i++) {
                if (stride[i] == 0) return err("stride", "must not be zero" + dim_note(i, r));
                if (padding[i] < 0)
                    return err("padding", "must be non-negative, got " + std::to_string(padding[i]) + dim_note(i, r));
                if (Status st = pad_bound(i, true); !st.ok()) return st;
            }
            for (size_t i = 0; i < r; i++)
                if (kernel[i] <= 0)
                    return err("kernel", "must be greater than zero, got " + std::to_string(kernel[i]) + dim_note(i, r));
            for (size_t i = 0; i < r; i++)
                if (stride[i] < 0)
                    return err("stride", "must be greater than zero, got " + std::to_string(stride[i]) + dim_note(i, r));
            for (size_t i = 0; i < r; i++)
                if (dilation[i] <= 0)
                    return err("dilation", "must be greater than zero, got " + std::to_string(dilation[i]) + dim_note(i, r));
            for (size_t i = 0; i < r; i++)
                if (Status st = pad_bound(i, false); !st.ok()) return st;
        }
        if ((avg || lp) && r == 3 && !onnx) {  // PyTorch's lp_pool3d is an avg_pool3d
            for (size_t i = 0; i < r; i++)
                if (input[2 + i] < kernel[i])
                    return err("kernel", std::string(to_string(op)) +
                                             " 3D needs every input size >= the kernel (PyTorch's avg_pool3d rule): input " +
                                             fmt_dims(std::vector<int64_t>(input.begin() + 2, input.end())) + ", kernel " +
                                             fmt_dims(kernel));
        }
        std::vector<int64_t> out = sample;
        bool too_small = false;
        for (size_t i = 0; i < r; i++) {
            out[1 + i] = pooled_output_size(input[2 + i], kernel[i], stride[i], pad_begin(int(i)), pad_end(int(i)), dilation[i],
                                            ceil_mode);
            too_small |= out[1 + i] < 1;
        }
        if (too_small)
            return err("kernel", "output size is too small: input " + fmt_dims(sample) + " gives output " + fmt_dims(out) +
                                     " with kernel " + fmt_dims(kernel) + ", stride " + fmt_dims(stride) + ", padding " +
                                     fmt_dims(padding) + (padding_end.empty() ? "" : " (end " + fmt_dims(padding_end) + ")") +
                                     ", dilation " + fmt_dims(dilation) +
                                     (ceil_mode ? ", ceil_mode" : "") + "; every output size must be >= 1");
        // poolgen's limit, not PyTorch's: the kernels compute window positions, and for indices flat
        // plane indices, in 32-bit integers. Every term is bounded by kMaxDim-sized factors above, so
        // this int64 arithmetic cannot overflow: d*(k-1) < 2^62, (o-1)*s <= n + 2p + s.
        for (size_t i = 0; i < r; i++) {
            const int64_t n = input[2 + i], k = kernel[i], st = stride[i], pb = pad_begin(int(i)), pe = pad_end(int(i)),
                          d = dilation[i];
            if (n + pb + pe > kMaxDim)
                return err("padding", "input size plus the padding at both ends must be at most " + std::to_string(kMaxDim) +
                                          " (kernels index with 32-bit integers), got " + std::to_string(n) + " + " +
                                          std::to_string(pb) + " + " + std::to_string(pe) + dim_note(i, r));
            const int64_t span = (out[1 + i] - 1) * st + d * (k - 1);
            if (span > kMaxDim)
                return err(d > 1 ? "dilation" : "kernel",
                           "the windows span " + std::to_string(span + 1) + " positions, more than " +
                               std::to_string(kMaxDim) + " (kernels index with 32-bit integers)" + dim_note(i, r));
        }
        if (return_indices) {
            // Largest flat index (in magnitude) a kernel may form: per dim the largest tap position,
            // the first in-bounds tap of a window in the padding (at most d-1), the last input
            // element, or the most negative tap (-p). Under rules onnx the index also counts the
            // planes before (N*C of them), in either storage order.
            const char *field = *std::max_element(dilation.begin(), dilation.end()) > 1 ? "dilation" : "input";
            for (int order = 0; order < (onnx ? 2 : 1); order++) {
                int64_t flat = 0, plane = 1;
                for (size_t j = 0; j < r; j++) {
                    const size_t i = order ? r - 1 - j : j;
                    const int64_t n = input[2 + i],
                                  hi = (out[1 + i] - 1) * stride[i] - padding[i] + dilation[i] * (kernel[i] - 1);
                    const int64_t top = std::max({hi, dilation[i] - 1, n - 1, padding[i]});
                    if (flat > (kMaxDim - top) / n)
                        return err(field, "window taps reach flat plane indices past " + std::to_string(kMaxDim) +
                                              " (indices are computed with 32-bit integers)");
                    flat = flat * n + top;
                    plane *= n;
                }
                if (onnx && (input[0] * input[1] - 1) > (kMaxDim - flat) / plane)
                    return err(field, "window taps reach tensor indices past " + std::to_string(kMaxDim) +
                                          " (indices are computed with 32-bit integers)");
            }
        }
    } else {
        if (!kernel.empty() || !stride.empty() || !padding.empty() || !padding_end.empty() || !dilation.empty() || ceil_mode)
            return err(!kernel.empty() ? "kernel" : !stride.empty() ? "stride" : !padding.empty() ? "padding"
                                                       : !padding_end.empty() ? "padding_end"
                                                       : !dilation.empty() ? "dilation" : "ceil_mode",
                       std::string("does not apply to ") + to_string(op) + " (its windows come from output_size)");
        if (divisor_override || !count_include_pad)
            return err(divisor_override ? "divisor_override" : "count_include_pad", "applies to avg_pool only");
        if (output_size.size() != r)
            return err("output_size", "must be one integer or a list of " + std::to_string(r) + " (one per spatial dim), got " +
                                          std::to_string(output_size.size()));
        for (size_t i = 0; i < r; i++) {
            if (output_size[i] < 0)
                return err("output_size", "elements must be >= 0, got " + fmt_dims(output_size));
            if (output_size[i] == 0)
                return err("output_size", "elements must be >= 1 (an empty output needs no kernel), got " + fmt_dims(output_size));
            if (output_size[i] > kMaxDim)
                return err("output_size", "elements must be at most " + std::to_string(kMaxDim));
        }
    }
    std::vector<int64_t> out = output_shape();
    int64_t out_elements = 1;
    for (int64_t v : out) {
        if (out_elements > kMaxElements / v)
            return err(is_windowed(op) ? "input" : "output_size",
                       "output of " + fmt_dims(out) + " has more than " + std::to_string(kMaxElements) + " elements (2^31-1)");
        out_elements *= v;
    }
    return Status::Ok();
}

std::vector<int64_t> PoolSpec::output_shape() const {
    // Total on any spec, so that describe() and friends never overflow or index out of range:
    // a dim whose parameters are missing or out of range comes out as 0 (validate() says why).
    auto in_range = [](int64_t v) { return v >= -kMaxDim && v <= kMaxDim; };
    std::vector<int64_t> out = input;
    for (int i = 0; i < rank(); i++) {
        const size_t j = static_cast<size_t>(i);
        if (is_windowed(op)) {
            const bool ok = j < kernel.size() && j < stride.size() && j < padding.size() && j < dilation.size() &&
                            (padding_end.empty() || j < padding_end.size()) && in_range(input[2 + j]) && in_range(kernel[j]) &&
                            stride[j] > 0 && stride[j] <= kMaxDim && in_range(padding[j]) && in_range(pad_end(i)) &&
                            in_range(dilation[j]);
            out[2 + j] = ok ? pooled_output_size(input[2 + j], kernel[j], stride[j], padding[j], pad_end(i), dilation[j], ceil_mode)
                            : 0;
        } else {
            out[2 + j] = j < output_size.size() ? output_size[j] : 0;
        }
    }
    return out;
}

static std::vector<int64_t> to_memory(const std::vector<int64_t> &logical, Layout layout) {
    if (layout == Layout::NCHW || logical.size() < 3) return logical;
    std::vector<int64_t> m;
    m.push_back(logical[0]);
    m.insert(m.end(), logical.begin() + 2, logical.end());
    m.push_back(logical[1]);
    return m;
}

std::vector<int64_t> PoolSpec::input_memory_shape() const { return to_memory(input, layout); }
std::vector<int64_t> PoolSpec::output_memory_shape() const { return to_memory(output_shape(), layout); }

// -1 when a size is negative or the product does not fit int64 (invalid specs only).
static int64_t checked_product(const std::vector<int64_t> &v) {
    int64_t e = 1;
    for (int64_t x : v) {
        if (x < 0 || __builtin_mul_overflow(e, x, &e)) return -1;
    }
    return e;
}

int64_t PoolSpec::input_elements() const { return checked_product(input); }
int64_t PoolSpec::output_elements() const { return checked_product(output_shape()); }

}  // namespace poolgen
