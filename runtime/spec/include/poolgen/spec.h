// PoolSpec: what one pooling kernel computes, with PyTorch's validation rules and
// output-shape arithmetic. Shared by the manifest tool, the generator and the runtime.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "poolgen/status.h"

namespace poolgen {

// Lp pooling: (sum of x^p over the window)^(1/p), PyTorch's LPPool (rules pytorch) or ONNX's
// LpPool and GlobalLpPool (rules onnx: |x|^p, pads count as zeros); see docs/semantics.md.
enum class Op { MaxPool, AvgPool, AdaptiveMaxPool, AdaptiveAvgPool, GlobalMaxPool, GlobalAvgPool, LpPool, GlobalLpPool };
// Element types. f16 and bf16 kernels compute in float32 and round to their type where PyTorch
// does (docs/semantics.md "Half and bfloat16"). u8 and i8 hold the integer codes of PyTorch's
// quint8 and qint8 tensors, pooled by its quantized kernels' rules ("Eight-bit codes").
enum class DType { F32, F16, BF16, U8, I8 };
enum class Layout { NCHW, NHWC };  // channels-first / channels-last, for any spatial rank
enum class Device { Auto, CPU, CUDA };
// Whose rules a kernel follows where PyTorch's and ONNX's differ (docs/onnx.md): which pads
// are allowed (asymmetric, up to kernel-1), dilated average pooling, and max pooling's indices
// (ONNX: over the whole tensor, in `storage_order`). PyTorch's is the default.
enum class Rules { PyTorch, ONNX };

const char *to_string(Op op);
const char *to_string(DType dtype);
const char *to_string(Layout layout);
const char *to_string(Device device);
const char *to_string(Rules rules);
std::optional<Op> parse_op(const std::string &s);
std::optional<DType> parse_dtype(const std::string &s);
std::optional<Layout> parse_layout(const std::string &s);
std::optional<Device> parse_device(const std::string &s);
std::optional<Rules> parse_rules(const std::string &s);

bool is_max(Op op);       // max_pool, adaptive_max_pool, global_max_pool
bool is_adaptive(Op op);  // adaptive_* and global_* (windows from output_size)
bool is_windowed(Op op);  // max_pool, avg_pool, lp_pool (kernel/stride/padding/...)
bool is_lp(Op op);        // lp_pool, global_lp_pool
bool is_global(Op op);    // global_* (output_size all ones)
size_t dtype_size(DType dtype);
bool is_quantized(DType dtype);  // u8, i8
// The codes' range: [0, 255] for u8, [-128, 127] for i8 (0 for the float types).
int64_t quantized_min(DType dtype);
int64_t quantized_max(DType dtype);

// Element conversions for the runtime, the reference and the tools. f16/bf16 widen exactly;
// narrowing rounds to nearest even, overflows to infinity, and turns a NaN into a quiet NaN of
// the same sign with the top bits of its payload (as x86's vcvtps2ph does for f16). u8/i8 codes
// widen exactly; narrowing rounds to nearest even and saturates (a NaN gives 0).
float load_element(DType dtype, const void *data, int64_t i);
void store_element(DType dtype, float v, void *data, int64_t i);
// Arrays of them: n values stored as dtype elements (raw bytes), and n elements widened.
std::vector<uint8_t> store_elements(DType dtype, const float *values, int64_t n);
std::vector<float> load_elements(DType dtype, const void *data, int64_t n);
// v rounded to dtype and widened back (v itself for f32).
float round_to(DType dtype, float v);
// The .npy dtype that holds it: "<f4", "<f2", bf16's raw bits as "<u2" (NumPy has no bf16),
// "|u1", "|i1".
const char *npy_descr(DType dtype);
// The type's machine epsilon: 2^-23 (f32), 2^-10 (f16), 2^-7 (bf16); 0 for u8/i8, whose
// results are exact.
double dtype_epsilon(DType dtype);

// Largest accepted size or window parameter; larger values are rejected before any arithmetic.
constexpr int64_t kMaxDim = 2147483647;
// Largest Lp order: every order up to it is exactly a float32, as is 1/p's rounding of it.
constexpr int64_t kMaxLpOrder = 16777216;  // 2^24
// Every buffer must index with 32-bit offsets.
constexpr int64_t kMaxElements = 2147483647;

struct PoolSpec {
    Op op = Op::MaxPool;
    DType dtype = DType::F32;
    Layout layout = Layout::NCHW;
    Rules rules = Rules::PyTorch;
    std::vector<int64_t> input;  // logical N, C, spatial... (NCL, NCHW, NCDHW)

    // max_pool / avg_pool; one entry per spatial dim after normalize().
    // `padding` is each dim's padding before the input; `padding_end` after it, empty when the
    // same (rules onnx only may differ). avg_pool's dilation is not 1 under rules onnx only.
    std::vector<int64_t> kernel, stride, padding, padding_end, dilation;
    bool ceil_mode = false;
    bool count_include_pad = true;             // avg_pool
    std::optional<int64_t> divisor_override;   // avg_pool
    bool return_indices = false;               // max ops
    // Indices under rules onnx count over the whole tensor (N and C included): row-major (0,
    // the default) or with the spatial dims column-major (1). Absent under rules pytorch.
    std::optional<int64_t> storage_order;
    // lp_pool, global_lp_pool: the norm's order, an integer >= 1 (2 when absent, ONNX's default).
    std::optional<int64_t> p;
    // u8/i8: the quantized tensor's zero point, in the type's range (0 when absent). Only the
    // averages read it; the codes' scale never changes them (docs/semantics.md).
    std::optional<int64_t> zero_point;

    // adaptive ops: one entry per spatial dim (global ops: all ones after normalize()).
    std::vector<int64_t> output_size;

    int rank() const { return static_cast<int>(input.size()) - 2; }  // spatial dims
    int64_t pad_begin(int dim) const { return padding[dim]; }
    int64_t pad_end(int dim) const { return padding_end.empty() ? padding[dim] : padding_end[dim]; }
    bool onnx_rules() const { return rules == Rules::ONNX; }

    // Fills PyTorch's defaults: stride = kernel when empty, padding 0, dilation 1,
    // scalars (one entry) broadcast to every spatial dim, global ops' output_size = 1s; a
    // padding_end equal to padding is dropped, and so is storage_order 0 under rules onnx.
    void normalize();

    // PyTorch's rules, in PyTorch's order; the message names the field and the rule.
    // Call on a normalized spec.
    Status validate() const;

    // Logical output shape (N, C, spatial...) by PyTorch's arithmetic. Meaningful for valid
    // specs; on others it never fails, and a dim it cannot compute is 0.
    std::vector<int64_t> output_shape() const;

    // Shapes as laid out in memory (N, spatial..., C for nhwc), outermost first.
    std::vector<int64_t> input_memory_shape() const;
    std::vector<int64_t> output_memory_shape() const;
    int64_t input_elements() const;   // -1 if a size is negative or the count overflows int64
    int64_t output_elements() const;

    // Canonical one-line description, e.g.
    // "max_pool f32 nchw in=1x64x112x112 k=3x3 s=2x2 p=1x1 d=1x1 -> 1x64x56x56".
    std::string describe() const;
    // Internal kernel name: semantics first, then "__<target>" is appended by callers.
    std::string canonical_name() const;

    bool operator==(const PoolSpec &other) const;
    bool operator!=(const PoolSpec &other) const { return !(*this == other); }
};

// The pooling output size for one dim: floor (or ceil) of (n + pb + pe - d(k-1) - 1) / s, plus
// one, and the ceil-mode last-window rule (a window must start inside the input or the begin
// padding), which PyTorch (pb = pe) and onnxruntime both apply. Assumes stride > 0 and values
// within kMaxDim.
int64_t pooled_output_size(int64_t n, int64_t k, int64_t s, int64_t pb, int64_t pe, int64_t d, bool ceil_mode);

// avg_pool: whether PyTorch's CPU result is its channels-last kernel's, which stores the
// quotient as it is (a -0 quotient stays -0), rather than its channels-first kernel's, which
// stores 0 + quotient (+0). PyTorch takes the channels-last kernel for a channels_last 1D/2D
// tensor that is not also plain contiguous: more than one channel and more than one spatial
// element. avg_pool3d has no channels-last CPU kernel in current PyTorch.
// Under rules onnx the quotient is kept as it is (onnxruntime divides in place).
bool avg_keeps_negative_zero(const PoolSpec &s);

// adaptive_avg_pool 3D in f16/bf16 (not global): PyTorch's CPU kernel sums in the element type,
// rounding after every addition, and rounds after each of its three divisions; its CUDA kernel
// sums in float32 (docs/semantics.md). CPU variants and the reference follow the CPU kernel.
bool sums_in_element_type(const PoolSpec &s);

// u8/i8 averages: whether PyTorch's quantized channels-last kernel's rule applies (else its
// channels-first kernel's). PyTorch picks the kernel from the strides: channels-last when the
// tensor is channels-last contiguous, which a contiguous tensor also is when C == 1 or its
// plane is a single element; avg_pool3d always; 1D ops pool a contiguous copy, so a 1D nhwc
// input takes the channels-first rule unless C == 1 or L == 1. See docs/semantics.md
// "Eight-bit codes".
bool quantized_channels_last(const PoolSpec &s);
// u8/i8 adaptive_avg_pool 3D to 1x1x1 (and global_avg_pool 3D) of a channels-first tensor:
// PyTorch's mean(), rne(sum / n) on the raw codes.
bool quantized_mean(const PoolSpec &s);

std::string join_dims(const std::vector<int64_t> &v, const char *sep = "x");

}  // namespace poolgen
