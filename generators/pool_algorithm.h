// The pooling algorithm in pieces, each one rule of PyTorch's semantics (docs/semantics.md)
// that can be read, and tested, on its own: window geometry, the max rule, the sum forms, the
// divisor and the signed-zero rule. generators/pool_generator.cpp assembles them into one
// pipeline per kernel; the schedules (schedules/) never change what these compute.
//
// Positions are logical: spatial dims outer -> inner (d, h, w), then channel and batch;
// memory_order() turns them into a Func's arguments.
#pragma once
#include <vector>

#include "Halide.h"
#include "poolgen/spec.h"

namespace poolgen::algorithm {

// ---- Layout.

// The spatial variables, outer -> inner: (w), (h, w) or (d, h, w).
std::vector<Halide::Var> spatial_vars(int rank);

// A Func's arguments in memory order, innermost first: c, w, h, (d), n for channels-last,
// w, h, (d), c, n for channels-first.
std::vector<Halide::Expr> memory_order(const PoolSpec &s, const std::vector<Halide::Expr> &spatial, const Halide::Expr &c,
                                       const Halide::Expr &n);
std::vector<Halide::Var> memory_order(const PoolSpec &s, const std::vector<Halide::Var> &spatial, const Halide::Var &c,
                                      const Halide::Var &n);

// ---- Element types: f16/bf16 kernels widen the input to float32, compute in float32, and
// round to the type where PyTorch does (docs/semantics.md "Half and bfloat16").

Halide::Type element_type(DType dtype);
// The type taps are reduced in: float32, except for u8/i8 codes. Their max without indices runs
// on the codes themselves; with indices on float32 (exact), so the index rule is the float one;
// their sums in uint16 (u8) or int16 (i8) where every window's sum fits, else int32, or int64
// where a window's codes could pass int32.
Halide::Type value_type(const PoolSpec &s);
// The input as value_type (the input itself for f32): exact for f16 and bf16. bf16 is converted
// in integer instructions on every target; f16 too with `soft_f16` (x86 without F16C, where
// Halide 21's own emulation turns a NaN into an infinity), else by the target's instructions.
Halide::Func widened_input(const PoolSpec &s, const Halide::Func &input, bool soft_f16);
// A float32 value stored as the element type: round to nearest even; a NaN stays a NaN. u8/i8:
// a result (a code, or the max's -inf for a window of nothing but padding) saturated to the type.
Halide::Expr to_element(const PoolSpec &s, const Halide::Expr &v, bool soft_f16);
// A float32 value rounded to the element type and widened back (v itself for f32).
Halide::Expr round_to_element(const PoolSpec &s, const Halide::Expr &v);

// ---- Window geometry, one spatial dim at a time.

// The window of output position `o` along one spatial dim: tap t is at input position
// first + t * step, for t in [0, taps); a tap counts only below `end` (and, windowed, at or
// above 0).
struct Window {
    Halide::Expr first;  // the first tap's input position (may be negative: padding)
    Halide::Expr step;   // the distance between taps (the dilation; 1 for adaptive ops)
    Halide::Expr end;    // exclusive bound on tap positions: windowed, the input size; adaptive, the window's end
    int taps = 1;        // taps per window (adaptive: the largest window), the reduction's extent
    int min_taps = 0;    // adaptive: every window has at least this many taps
    bool adaptive = false;
    bool needs_check = false;  // some tap of some window falls outside [0, n) or past its window's end
};

// max_pool/avg_pool: first = o * stride - padding, step = dilation, kernel taps.
Window windowed_window(const PoolSpec &s, int dim, const Halide::Expr &o);
// Adaptive and global ops: [floor(o * n / m), ceil((o + 1) * n / m)), in int64 where the
// products pass int32.
Window adaptive_window(const PoolSpec &s, int dim, const Halide::Expr &o);
// One window per spatial dim, at the spatial variables.
std::vector<Window> windows(const PoolSpec &s, const std::vector<Halide::Var> &spatial);
bool any_check(const std::vector<Window> &w);

// The input position of tap t.
Halide::Expr tap_position(const Window &w, const Halide::Expr &t);
// Whether tap t, at `pos`, is one of the window's: windowed, inside [0, end); adaptive, below
// the window's end (the first min_taps taps always are, which keeps the test off them).
Halide::Expr tap_in_bounds(const Window &w, const Halide::Expr &t, const Halide::Expr &pos);
// The position a tap is loaded from: clamped into the input where the tap may be outside.
Halide::Expr load_position(const Window &w, const Halide::Expr &pos, int input_size);

// The reduction's domain "win": one dim per spatial dim, innermost first. With `skip_innermost`
// (the rows sum) the innermost dim has one iteration: its taps are summed in a stage of their own.
Halide::RDom window_domain(const std::vector<Window> &w, bool skip_innermost);

// ---- The taps' values.

// The value that stands for a tap outside the input, in value_type: -inf for max (it never
// wins; u8/i8 codes: the type's smallest), 0 for sums.
Halide::Expr pad_value(const PoolSpec &s);

// Windowed ops read the input through `padded`: the padding value outside [0, n) of every
// spatial dim, when any window reaches there (Halide's constant_exterior), else a plain
// wrapper of the input that a schedule may stage.
Halide::Func padded_input(const PoolSpec &s, const Halide::Func &input, const std::vector<Window> &w);

// Each tap's value at positions `pos` (taps `t`): windowed, the padded view; adaptive, the
// input, with pad_value() for taps past the window's end.
Halide::Expr tap_value(const PoolSpec &s, const Halide::Func &input, const Halide::Func &padded, const std::vector<Window> &w,
                       const std::vector<Halide::Expr> &t, const std::vector<Halide::Expr> &pos, const Halide::Expr &c,
                       const Halide::Expr &n);

// ---- The max rule: take v if v > best or v is NaN; padding never wins, ties keep the first
// tap, NaN the last.

Halide::Expr max_takes(const Halide::Expr &v, const Halide::Expr &best);

// With indices: the index of an input position in its plane, ((d * H) + h) * W + w; under
// rules onnx in the whole tensor, (n * C + c) * D*H*W plus the position in its plane,
// row-major or (storage_order 1) ((w * H) + h) * D + d.
Halide::Expr flat_index(const PoolSpec &s, const std::vector<Halide::Expr> &pos, const Halide::Expr &c, const Halide::Expr &n);
// The index before any tap is taken: the window's first in-bounds tap, PyTorch's start advanced
// past the padding by whole dilation steps.
Halide::Expr first_in_bounds_tap(const PoolSpec &s, int dim, const Window &w);

// Each defines `pooled` at `args` as the reduction over the domain `v` varies in and returns
// the result: (value, int64 index) with indices; one value otherwise. fused and split give the
// same bits: one running value, or the last NaN and the first maximum of the other taps.
std::vector<Halide::Expr> max_with_indices(Halide::Func pooled, const std::vector<Halide::Var> &args, const Halide::Expr &v,
                                           const Halide::Expr &start_index, const Halide::Expr &tap_index);
Halide::Expr max_fused(Halide::Func pooled, const std::vector<Halide::Var> &args, const Halide::Expr &v);
Halide::Expr max_split(Halide::Func pooled, const std::vector<Halide::Var> &args, const Halide::Expr &v);

// ---- The window sums.

// PyTorch's order: ((0 + t0) + t1) + ..., taps innermost dim fastest. With `round` (a spec
// whose sums_in_element_type) every partial sum is rounded to the element type, as PyTorch's
// CPU kernel sums in that type.
Halide::Expr sum_pytorch(Halide::Func pooled, const std::vector<Halide::Var> &args, const Halide::Expr &v,
                         const PoolSpec *round = nullptr);

// Rows: windowed averages of rank >= 2. Each window row summed first in `rowsum` (at input
// rows, reused by every window that overlaps them), then the rows over `domain`
// (window_domain(w, true)). Not PyTorch's rounding; within the checker's float32 bound.
bool rows_sum_applies(const PoolSpec &s);
Halide::Expr sum_rows(const PoolSpec &s, Halide::Func rowsum, Halide::Func pooled, const Halide::Func &padded,
                      const std::vector<Window> &w, const Halide::RDom &domain, const std::vector<Halide::Var> &spatial,
                      const Halide::Var &c, const Halide::Var &n);

// Pairs: a 2D global average over a channels-first plane of >= 2 elements (PyTorch's mean(),
// whose order is its own): two running sums over alternate elements of the plane, over
// `domain` (pairs_domain), then their sum and the odd element left over.
bool pairs_sum_applies(const PoolSpec &s);
int plane_taps(const PoolSpec &s);  // elements of one input plane, for global 2D ops
Halide::RDom pairs_domain(const PoolSpec &s);
Halide::Expr sum_pairs(const PoolSpec &s, Halide::Func pooled, const std::vector<Halide::Var> &args, const Halide::Func &input,
                       const Halide::RDom &domain, const Halide::Var &c, const Halide::Var &n);

// Parts: a global average (output all ones, PyTorch's mean(): no order is PyTorch's) summed in
// parts first (Pipeline::split_form), then the parts in order. Channels-first (rank >= 2), the
// columns: part w sums the input column at innermost position w over the other spatial dims
// (whole rows of vectors along w); channels-last, `blocks` contiguous blocks of rows in scan
// order (pixels for 1D; each one task's stream). Within the checker's float32 bound.
bool parts_sum_applies(const PoolSpec &s);

// ---- The divisor and the mean.

// Windowed: divisor_override, or the window's taps inside the padded input (count_include_pad),
// or inside the input itself (padding excluded); dilated windows (rules onnx) count their taps.
Halide::Expr windowed_divisor(const PoolSpec &s, const std::vector<Window> &w);
// Windowed: sum / divisor, then the signed-zero rule.
Halide::Expr windowed_mean(const PoolSpec &s, const Halide::Expr &sum, const std::vector<Window> &w);
// Adaptive: divided by one window extent at a time (sum / kh / kw), as PyTorch rounds it; with
// `round` each quotient also rounded to the element type (sums_in_element_type).
Halide::Expr adaptive_mean(const Halide::Expr &sum, const std::vector<Window> &w, const PoolSpec *round = nullptr);
// u8/i8 averages: the result code from the window's sum of codes, by PyTorch's quantized
// kernels (poolgen::quantized_channels_last, quantized_mean; docs/semantics.md "Eight-bit
// codes"), saturated, as int32.
Halide::Expr quantized_result(const PoolSpec &s, const Halide::Expr &sum, const std::vector<Window> &w);
// A quotient of -0 stays -0 only where PyTorch's kernel divides in place
// (poolgen::avg_keeps_negative_zero); elsewhere it is added to a zeroed output and becomes +0.
Halide::Expr signed_zero(const PoolSpec &s, const Halide::Expr &q);

// ---- Lp pooling: a sum of terms, then its root.

// x^y for y > 0 as C's powf gives it (special cases included), y a float as PyTorch and
// onnxruntime pass it.
Halide::Expr lp_pow(const Halide::Expr &x, float y);
// Each input element's term: x^p under PyTorch's rules (its pow: x*x and x*x*x for 2 and 3),
// |x|^p under ONNX's, rounded to the element type (f16/bf16; a bf16 cube rounds x*x first, as
// PyTorch's does). The sums read these in place of the input.
Halide::Func lp_terms(const PoolSpec &s, const Halide::Func &input);
// The window's result from the sum of its terms: PyTorch's ((0 + sum / clipped window) * kernel
// size)^(1/p), the clipped window as avg_pool's divisor with padding 0 (a global pool: the
// plane); ONNX's sum^(1/p). The root is sqrt for p = 2 and nothing for p = 1. f16/bf16: each of
// PyTorch's steps (the average, the product, the root) rounds to the type, and 1/p is the
// type's value nearest it.
Halide::Expr lp_result(const PoolSpec &s, const Halide::Expr &sum, const std::vector<Window> &w);

// ---- The whole algorithm.

// A window's sum made the op's result: windowed_mean, adaptive_mean (its quotients rounded
// with `element_sums`) or lp_result.
Halide::Expr finish_sum(const PoolSpec &s, const Halide::Expr &sum, const std::vector<Window> &w, bool element_sums = false);

// The formulations a kernel may choose between (knobs sum and maxform): each applies only where
// it can (rows_sum_applies, pairs_sum_applies; the fused max without indices).
struct Formulation {
    bool rows_sum = false;
    bool pairs_sum = false;
    bool fused_max = false;
    bool parts_sum = false;  // where parts_sum_applies; `blocks` parts for channels-last
    int blocks = 1;
    int split_chunks = 1;  // > 1: the split reduction below (GPU knob split); rows/pairs then off
    // Sums rounded to the element type where PyTorch's CPU kernel does (sums_in_element_type):
    // CPU targets; GPU targets sum in float32 as PyTorch's CUDA kernels do.
    bool element_sums = false;
    bool soft_f16 = false;  // f16 conversions in integer instructions (widened_input)
};

// ---- The split reduction (GPU strategies): a window's taps, flattened in scan order (innermost
// dim fastest), cut into `chunks` parts of `chunk_taps` (the last part may be short); `partial`
// reduces each part by the op's own rule, `pooled` combines the parts' results by the same rule
// in part order. Max ops: contiguous parts (part k holds taps [k*L, (k+1)*L)), so the combined
// result is the serial one bit for bit (last NaN, first maximum, padding never wins). Sums:
// interleaved parts (taps k, k+K, ...: neighbouring parts read neighbouring addresses), a
// different rounding within the checker's bound.
struct Split {
    int chunks = 1, chunk_taps = 1;
    bool interleaved = false;
    Halide::Var part{"part"};      // partial's first argument: the part
    Halide::RDom part_taps;        // partial's domain: the taps of one part
    Halide::Func partial{"partial"};
};
// The part sizes for `taps` taps cut into at most `chunks` parts (no empty part).
Split split_shape(int taps, int chunks, bool interleaved);

// One kernel's algorithm: the output's value (and index) at `args`, and the stages a schedule
// arranges.
struct Pipeline {
    std::vector<Halide::Var> spatial;  // outer -> inner
    Halide::Var c{"c"}, n{"n"};
    std::vector<Halide::Var> args;     // the output's dims in memory order, innermost first
    std::vector<Window> windows;
    bool rows_sum = false, pairs_sum = false;  // the formulations that apply
    Halide::RDom window;               // the reduction's domain (the pairs' with pairs_sum)
    int window_taps = 1;               // its size
    Halide::Func pooled{"pooled"};     // the reduction
    Halide::Func padded{"padded"};     // windowed ops: the padded view of the input
    Halide::Func rowsum{"rowsum"};     // rows_sum: the window-row sums
    bool split = false;                // split_chunks > 1 or parts_sum: `split_form` holds the parts, `window` is the parts' domain
    Split split_form;
    std::vector<Halide::Expr> result;  // the value, then the int64 index with indices
};

// `input` holds the stored elements (f16/bf16 are widened first); `result` is float32 (and the
// index): the generator stores it with to_element.
Pipeline pool(const PoolSpec &s, const Halide::Func &input, const Formulation &form);

}  // namespace poolgen::algorithm
