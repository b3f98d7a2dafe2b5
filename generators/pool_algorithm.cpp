// The pooling algorithm's pieces (see pool_algorithm.h). Every piece builds the same
// expressions for every schedule; the rounding is fixed by strict_float, which every kernel is
// compiled with (no reassociation, no reciprocal multiplies).
#include "pool_algorithm.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <limits>

namespace poolgen::algorithm {

using namespace Halide;

namespace {

int input_size(const PoolSpec &s, int dim) { return static_cast<int>(s.input[2 + dim]); }

}  // namespace

std::vector<Var> spatial_vars(int rank) {
    std::vector<Var> sp;
    const char *names[] = {"d", "h", "w"};
    for (int i = 0; i < rank; i++) sp.emplace_back(names[3 - rank + i]);
    return sp;
}

template <typename T>
static std::vector<T> memory_order_of(const PoolSpec &s, const std::vector<T> &spatial, const T &c, const T &n) {
    const bool nhwc = s.layout == Layout::NHWC;
    const int r = static_cast<int>(spatial.size());
    std::vector<T> args;
    if (nhwc) args.push_back(c);
    for (int i = r - 1; i >= 0; i--) args.push_back(spatial[i]);
    if (!nhwc) args.push_back(c);
    args.push_back(n);
    return args;
}

std::vector<Expr> memory_order(const PoolSpec &s, const std::vector<Expr> &spatial, const Expr &c, const Expr &n) {
    return memory_order_of(s, spatial, c, n);
}

std::vector<Var> memory_order(const PoolSpec &s, const std::vector<Var> &spatial, const Var &c, const Var &n) {
    return memory_order_of(s, spatial, c, n);
}

// ---- Element types.

namespace {

// `body` of a variable bound to `e`: the conversions below read their operand many times, and
// nested roundings (Lp's steps) would otherwise grow the expression geometrically.
Expr with_value(const Expr &e, const std::function<Expr(const Expr &)> &body) {
    const std::string name = Internal::unique_name('v');
    return Internal::Let::make(name, e, body(Internal::Variable::make(e.type(), name)));
}

// bf16 in the bits (its float32 is the same bits followed by 16 zeros): Halide's own bf16
// conversions are emulated on every x86 target and do not lower for CUDA.
Expr bf16_bits_to_float(const Expr &bits) { return reinterpret<float>(cast<uint32_t>(bits) << 16); }

// Round to nearest even; a NaN keeps its sign and top payload bits, made quiet (the rounding's
// carry could turn a NaN with a small payload into an infinity).
Expr float_to_bf16_bits(const Expr &value) {
    return with_value(value, [](const Expr &v) {
        return with_value(reinterpret<uint32_t>(v), [&](const Expr &bits) {
            const Expr rounded = (bits + (0x7fff + ((bits >> 16) & 1))) >> 16;
            return cast<uint16_t>(select(is_nan(v), (bits >> 16) | 0x40, rounded));
        });
    });
}

// f16 in the bits, for targets without conversion instructions (x86 without F16C): Halide 21's
// own emulation there turns a NaN into an infinity. Exact widening; narrowing as
// poolgen::store_element does it (round to nearest even, overflow to infinity, a NaN kept quiet).
Expr f16_bits_to_float(const Expr &bits16) {
    return with_value(cast<uint32_t>(bits16), [](const Expr &b) {
        const Expr sign = (b & 0x8000) << 16, exp = (b >> 10) & 0x1f, man = b & 0x3ff;
        const Expr normal = reinterpret<float>(sign | ((exp + 112) << 23) | (man << 13));
        const Expr special = reinterpret<float>(sign | 0x7f800000 | (man << 13));  // inf, NaN
        // Zero and subnormals: man * 2^-24 (exact), its sign set in the bits (Halide's -x is 0 - x,
        // which makes -0 +0).
        const Expr tiny = reinterpret<float>(sign | reinterpret<uint32_t>(cast<float>(man) * 0x1p-24f));
        return select(exp == 0x1f, special, exp == 0, tiny, normal);
    });
}

Expr float_to_f16_bits(const Expr &value) {
    return with_value(value, [](const Expr &v) {
        return with_value(reinterpret<uint32_t>(v), [&](const Expr &b) {
            const Expr sign = (b >> 16) & 0x8000, rest = b & 0x7fffffff, a = abs(v);
            const Expr nan = sign | 0x7e00 | ((b >> 13) & 0x3ff);
            const Expr subnormal = sign | cast<uint32_t>(round(a * 0x1p24f));  // round(): ties to even
            const Expr normal = sign | (((rest + (0xfff + ((rest >> 13) & 1))) >> 13) - Expr(uint32_t(112) << 10));
            return cast<uint16_t>(select(is_nan(v), nan, a >= 65520.0f, sign | 0x7c00, a < 0x1p-14f, subnormal, normal));
        });
    });
}

}  // namespace

Type element_type(DType dtype) {
    switch (dtype) {
    case DType::F16: return Float(16);
    case DType::BF16: return BFloat(16);
    case DType::U8: return UInt(8);
    case DType::I8: return Int(8);
    case DType::F32: break;
    }
    return Float(32);
}

Type value_type(const PoolSpec &s) {
    if (!is_quantized(s.dtype)) return Float(32);
    if (is_max(s.op)) return s.return_indices ? Float(32) : element_type(s.dtype);
    // The largest window's taps: the kernel, or (adaptive) at most the whole plane. The
    // narrowest type that holds any window's sum: twice the lanes per vector of int32 where a
    // window is small (257 u8 codes fit uint16, 255 i8 codes int16).
    int64_t taps = 1;
    for (int i = 0; i < s.rank(); i++) taps *= is_windowed(s.op) ? s.kernel[i] : s.input[2 + i];
    if (s.dtype == DType::U8 && taps <= 257) return UInt(16);
    if (s.dtype == DType::I8 && taps <= 255) return Int(16);
    return taps <= (int64_t(1) << 23) ? Int(32) : Int(64);  // 2^23 codes of magnitude <= 255 fit int32
}

Func widened_input(const PoolSpec &s, const Func &input, bool soft_f16) {
    if (s.dtype == DType::F32 || value_type(s) == element_type(s.dtype)) return input;
    Func widened("widened");
    const std::vector<Var> args = memory_order(s, spatial_vars(s.rank()), Var("c"), Var("n"));
    const Expr x = Func(input)(args);
    if (is_quantized(s.dtype)) {
        widened(args) = cast(value_type(s), x);
        return widened;
    }
    if (s.dtype == DType::BF16) widened(args) = bf16_bits_to_float(reinterpret<uint16_t>(x));
    else widened(args) = soft_f16 ? f16_bits_to_float(reinterpret<uint16_t>(x)) : cast<float>(x);
    return widened;
}

Expr to_element(const PoolSpec &s, const Expr &v, bool soft_f16) {
    if (is_quantized(s.dtype)) {
        const Type t = element_type(s.dtype);
        if (v.type() == t) return v;
        return cast(t, clamp(v, cast(v.type(), Expr(quantized_min(s.dtype))), cast(v.type(), Expr(quantized_max(s.dtype)))));
    }
    // F16C's vcvtps2ph where the target has it.
    if (s.dtype == DType::F16) return soft_f16 ? reinterpret(Float(16), float_to_f16_bits(v)) : cast(Float(16), v);
    if (s.dtype == DType::BF16) return reinterpret(BFloat(16), float_to_bf16_bits(v));
    return v;
}

Expr round_to_element(const PoolSpec &s, const Expr &v) {
    // In the bits on every target: these roundings are off the hot paths (Lp steps, sums in
    // the element type), and so need no target to know.
    if (s.dtype == DType::F16) return f16_bits_to_float(float_to_f16_bits(v));
    if (s.dtype == DType::BF16) return bf16_bits_to_float(float_to_bf16_bits(v));
    return v;
}

// ---- Window geometry.

Window windowed_window(const PoolSpec &s, int dim, const Expr &o) {
    const int64_t n_in = s.input[2 + dim], n_out = s.output_shape()[2 + dim];
    const int64_t k = s.kernel[dim], st = s.stride[dim], p = s.pad_begin(dim), d = s.dilation[dim];
    Window w;
    w.first = o * static_cast<int>(st) - static_cast<int>(p);
    w.step = static_cast<int>(d);
    w.taps = static_cast<int>(k);
    w.end = Expr(static_cast<int>(n_in));
    // The last window's last tap; ceil_mode windows may start in the input and end past it.
    const int64_t last_tap = (n_out - 1) * st - p + d * (k - 1);
    w.needs_check = p > 0 || last_tap > n_in - 1;
    return w;
}

Window adaptive_window(const PoolSpec &s, int dim, const Expr &o) {
    const int64_t n_in = s.input[2 + dim], m = s.output_size[dim];
    Window w;
    w.adaptive = true;
    // start = floor(i*n/m), end = ceil((i+1)*n/m). The products reach m*n + m - 1, past int32
    // for long inputs (n=65536 -> m=40000): then compute them in int64. start and end
    // themselves are at most n and fit.
    if (m * n_in + m - 1 <= std::numeric_limits<int32_t>::max()) {
        w.first = (o * static_cast<int>(n_in)) / static_cast<int>(m);
        w.end = ((o + 1) * static_cast<int>(n_in) + static_cast<int>(m - 1)) / static_cast<int>(m);
    } else {
        Expr o64 = cast<int64_t>(o);
        const Expr n64 = Expr(n_in), m64 = Expr(m);  // int64 constants
        w.first = cast<int>((o64 * n64) / m64);
        w.end = cast<int>(((o64 + 1) * n64 + (m64 - 1)) / m64);
    }
    w.step = 1;
    int64_t kmax = 0, kmin = INT64_MAX;
    for (int64_t i = 0; i < m; i++) {
        const int64_t a = (i * n_in) / m, b = ((i + 1) * n_in + m - 1) / m;
        kmax = std::max(kmax, b - a);
        kmin = std::min(kmin, b - a);
    }
    w.taps = static_cast<int>(kmax);
    w.min_taps = static_cast<int>(kmin);
    w.needs_check = kmax != kmin;
    return w;
}

std::vector<Window> windows(const PoolSpec &s, const std::vector<Var> &spatial) {
    std::vector<Window> w;
    for (int i = 0; i < static_cast<int>(spatial.size()); i++)
        w.push_back(is_adaptive(s.op) ? adaptive_window(s, i, spatial[i]) : windowed_window(s, i, spatial[i]));
    return w;
}

bool any_check(const std::vector<Window> &w) {
    return std::any_of(w.begin(), w.end(), [](const Window &x) { return x.needs_check; });
}

Expr tap_position(const Window &w, const Expr &t) { return w.first + t * w.step; }

Expr tap_in_bounds(const Window &w, const Expr &t, const Expr &pos) {
    // Adaptive: the first min_taps taps of every window are inside; with the taps unrolled,
    // only the later ones keep the test (a select per vector).
    if (w.adaptive) return t < w.min_taps || pos < w.end;
    return pos >= 0 && pos < w.end;
}

Expr load_position(const Window &w, const Expr &pos, int input_size) {
    if (!w.needs_check) return pos;
    return w.adaptive ? min(pos, input_size - 1) : clamp(pos, 0, input_size - 1);
}

RDom window_domain(const std::vector<Window> &w, bool skip_innermost) {
    const int r = static_cast<int>(w.size());
    std::vector<Range> ranges;  // innermost first
    for (int i = r - 1; i >= 0; i--) ranges.emplace_back(0, skip_innermost && i == r - 1 ? 1 : w[i].taps);
    return RDom(ranges, "win");
}

// ---- The taps' values.

Expr pad_value(const PoolSpec &s) {
    const Type t = value_type(s);
    if (!is_max(s.op)) return Internal::make_zero(t);
    return t.is_float() ? Expr(-std::numeric_limits<float>::infinity()) : t.min();
}

Func padded_input(const PoolSpec &s, const Func &input, const std::vector<Window> &w) {
    // Halide's constant_exterior marks the interior likely, so loops split into border and
    // interior; a schedule may also materialize the view per plane.
    if (!any_check(w)) return Func(input).in();
    const int r = static_cast<int>(w.size());
    const bool nhwc = s.layout == Layout::NHWC;
    Region bounds(r + 2);  // memory order: unbounded c and n, spatial dims [0, size)
    for (int i = 0; i < r; i++) bounds[nhwc ? r - i : r - 1 - i] = Range(0, input_size(s, i));
    return BoundaryConditions::constant_exterior(input, pad_value(s), bounds);
}

Expr tap_value(const PoolSpec &s, const Func &input, const Func &padded, const std::vector<Window> &w, const std::vector<Expr> &t,
               const std::vector<Expr> &pos, const Expr &c, const Expr &n) {
    if (!is_adaptive(s.op)) return Func(padded)(memory_order(s, pos, c, n));
    const int r = static_cast<int>(w.size());
    Expr inside = Internal::const_true();
    std::vector<Expr> load_pos(r);
    for (int i = 0; i < r; i++) {
        load_pos[i] = load_position(w[i], pos[i], input_size(s, i));
        if (w[i].needs_check) inside = inside && tap_in_bounds(w[i], t[i], pos[i]);
    }
    Expr tap = Func(input)(memory_order(s, load_pos, c, n));
    return any_check(w) ? select(inside, tap, pad_value(s)) : tap;
}

// ---- The max rule.

Expr max_takes(const Expr &v, const Expr &best) { return v > best || is_nan(v); }

Expr flat_index(const PoolSpec &s, const std::vector<Expr> &pos, const Expr &c, const Expr &n) {
    const int r = static_cast<int>(pos.size());
    const bool column_major = s.onnx_rules() && s.storage_order.value_or(0) == 1;
    Expr idx = pos[column_major ? r - 1 : 0];
    for (int j = 1; j < r; j++) {
        const int i = column_major ? r - 1 - j : j;
        idx = idx * input_size(s, i) + pos[i];
    }
    if (!s.onnx_rules()) return idx;
    int plane = 1;
    for (int i = 0; i < r; i++) plane *= input_size(s, i);  // validate() bounds every index by 2^31-1
    return (n * static_cast<int>(s.input[1]) + c) * plane + idx;
}

Expr first_in_bounds_tap(const PoolSpec &s, int dim, const Window &w) {
    if (w.adaptive || s.pad_begin(dim) <= 0) return w.first;
    const Expr &a = w.first;
    return select(a < 0, a + ((0 - a + w.step - 1) / w.step) * w.step, a);
}

std::vector<Expr> max_with_indices(Func pooled, const std::vector<Var> &args, const Expr &v, const Expr &start_index,
                                   const Expr &tap_index) {
    // (index, value): with strict_float Halide 21 stores a Tuple update's elements in order and
    // later elements read the new values, so the value, which the index's rule reads, comes last.
    pooled(args) = Tuple(start_index, Expr(-std::numeric_limits<float>::infinity()));
    Expr best = pooled(args)[1];
    Expr take = max_takes(v, best);
    pooled(args) = Tuple(select(take, tap_index, pooled(args)[0]), select(take, v, best));
    return {pooled(args)[1], cast<int64_t>(pooled(args)[0])};
}

namespace {

// u8/i8 codes (no NaN, and equal codes are the same value): max from the type's smallest.
Expr max_codes(Func pooled, const std::vector<Var> &args, const Expr &v) {
    pooled(args) = v.type().min();
    pooled(args) = max(pooled(args), v);
    return pooled(args);
}

}  // namespace

Expr max_fused(Func pooled, const std::vector<Var> &args, const Expr &v) {
    if (!v.type().is_float()) return max_codes(pooled, args, v);
    pooled(args) = Expr(-std::numeric_limits<float>::infinity());
    Expr best = pooled(args);
    pooled(args) = select(max_takes(v, best), v, best);
    return pooled(args);
}

Expr max_split(Func pooled, const std::vector<Var> &args, const Expr &v) {
    // The last NaN seen and the first maximum of the other taps, combined at the end: the rule
    // tap by tap gives the same. `x > m ? x : m` alone is one vmaxps on x86; folded with the NaN
    // test it is two compares, an or and a blend on every tap's dependency chain.
    if (!v.type().is_float()) return max_codes(pooled, args, v);
    pooled(args) = Tuple(Expr(0.0f), Expr(-std::numeric_limits<float>::infinity()));
    Expr last_nan = pooled(args)[0], m = pooled(args)[1];
    pooled(args) = Tuple(select(is_nan(v), v, last_nan), select(v > m, v, m));
    return select(is_nan(pooled(args)[0]), pooled(args)[0], pooled(args)[1]);
}

// ---- The window sums.

Expr sum_pytorch(Func pooled, const std::vector<Var> &args, const Expr &v, const PoolSpec *round) {
    pooled(args) = Internal::make_zero(v.type());
    pooled(args) = round ? round_to_element(*round, pooled(args) + v) : pooled(args) + v;
    return pooled(args);
}

bool rows_sum_applies(const PoolSpec &s) { return is_windowed(s.op) && !is_max(s.op) && s.rank() >= 2; }

Expr sum_rows(const PoolSpec &s, Func rowsum, Func pooled, const Func &padded, const std::vector<Window> &w, const RDom &domain,
              const std::vector<Var> &spatial, const Var &c, const Var &n) {
    // rowsum's spatial vars other than the innermost are input coordinates: one pure
    // expression per row, ((0 + x0) + x1) + ...
    const int r = static_cast<int>(w.size());
    const std::vector<Var> args = memory_order(s, spatial, c, n);
    Func src = padded;
    const Type t = value_type(s);
    // Integer sums (u8/i8) are exact in any order; float ones keep this order.
    auto ordered = [&](const Expr &e) { return t.is_float() ? strict_float(e) : e; };
    Expr row = Internal::make_zero(t);
    for (int i = 0; i < w[r - 1].taps; i++) {
        std::vector<Expr> rpos(spatial.begin(), spatial.end());
        rpos[r - 1] = w[r - 1].first + i * w[r - 1].step;
        row = ordered(row + src(memory_order(s, rpos, c, n)));
    }
    rowsum(args) = row;
    std::vector<Expr> outer_pos(spatial.begin(), spatial.end());
    for (int i = 0; i < r - 1; i++) outer_pos[i] = tap_position(w[i], domain[r - 1 - i]);
    pooled(args) = Internal::make_zero(t);
    pooled(args) = ordered(pooled(args) + rowsum(memory_order(s, outer_pos, c, n)));
    return pooled(args);
}

int plane_taps(const PoolSpec &s) {
    bool global = is_adaptive(s.op) && s.rank() == 2;
    for (int i = 0; i < s.rank(); i++) global = global && s.output_size[i] == 1;
    return global ? static_cast<int>(s.input[2] * s.input[3]) : 1;  // < 2^31
}

bool pairs_sum_applies(const PoolSpec &s) {
    return !is_max(s.op) && s.layout != Layout::NHWC && plane_taps(s) >= 2;
}

RDom pairs_domain(const PoolSpec &s) { return RDom(0, std::max(1, plane_taps(s) / 2), "pair_win"); }

Expr sum_pairs(const PoolSpec &s, Func pooled, const std::vector<Var> &args, const Func &input, const RDom &domain, const Var &c,
               const Var &n) {
    const int w_in = input_size(s, 1), taps = plane_taps(s);
    Func in = input;
    auto at = [&](Expr k) { return in(memory_order(s, {k / w_in, k % w_in}, c, n)); };
    pooled(args) = Tuple(Internal::make_zero(value_type(s)), Internal::make_zero(value_type(s)));
    pooled(args) = Tuple(pooled(args)[0] + at(2 * domain.x), pooled(args)[1] + at(2 * domain.x + 1));
    Expr sum = pooled(args)[0] + pooled(args)[1];
    if (taps % 2) sum = sum + at(Expr(taps - 1));
    return sum;
}

bool parts_sum_applies(const PoolSpec &s) {
    if (is_max(s.op) || !is_adaptive(s.op)) return false;
    int64_t out = 1, in = 1;
    for (int i = 0; i < s.rank(); i++) out *= s.output_size[i], in *= s.input[2 + i];
    return out == 1 && in >= 2 && (s.layout == Layout::NHWC || s.rank() >= 2);
}

namespace {

// The parts' sums into p.split_form.partial, then their sum in part order; returns the sum.
Expr sum_parts(const PoolSpec &s, Pipeline &p, const Func &input, int blocks) {
    const int r = s.rank();
    Split &sp = p.split_form;
    Func in = input;
    std::vector<Var> part_args = {sp.part};
    part_args.insert(part_args.end(), p.args.begin(), p.args.end());
    std::vector<Expr> pos(r);
    if (s.layout != Layout::NHWC) {
        // Column w (the part) over the rows: every position of the outer spatial dims, in scan
        // order, summed kRowGroup rows per expression (the running sums stay in registers).
        constexpr int kRowGroup = 8;
        int rows = 1;
        for (int d = r - 2; d >= 0; d--) rows *= input_size(s, d);
        sp.chunks = input_size(s, r - 1);
        sp.chunk_taps = rows;
        auto row_sum = [&](const Expr &first, int count) {
            Expr sum;
            for (int i = 0; i < count; i++) {
                Expr rest = first + i;
                pos[r - 1] = sp.part;
                for (int d = r - 2; d >= 0; d--) {
                    pos[d] = d ? rest % input_size(s, d) : rest;
                    rest = rest / input_size(s, d);
                }
                const Expr v = in(memory_order(s, pos, p.c, p.n));
                sum = i ? sum + v : v;
            }
            return sum;
        };
        const int group = std::min(rows, kRowGroup), full = rows / group, rest = rows % group;
        sp.partial(part_args) = row_sum(Expr(0), group);
        if (full > 1) {
            sp.part_taps = RDom(1, full - 1, "row_group");
            sp.partial(part_args) = sp.partial(part_args) + row_sum(sp.part_taps.x * group, group);
        }
        if (rest) sp.partial(part_args) = sp.partial(part_args) + row_sum(Expr(full * group), rest);
    } else {
        // Block k (the part): rows [k*L, (k+1)*L) of the outer spatial dims in scan order (of
        // the pixels for 1D), whole rows of pixels.
        int rows = 1;
        for (int d = 0; d < std::max(1, r - 1); d++) rows *= input_size(s, d);
        const int parts = std::max(1, std::min(blocks, rows));
        sp.chunk_taps = (rows + parts - 1) / parts;
        sp.chunks = (rows + sp.chunk_taps - 1) / sp.chunk_taps;
        if (r > 1) sp.part_taps = RDom({{0, input_size(s, r - 1)}, {0, sp.chunk_taps}}, "part_tap");
        else sp.part_taps = RDom(0, sp.chunk_taps, "part_tap");
        const RVar row_tap = sp.part_taps[r > 1 ? 1 : 0];
        Expr rest = sp.part * sp.chunk_taps + row_tap;
        if (rows % sp.chunk_taps) {
            sp.part_taps.where(rest < rows);
            rest = min(rest, rows - 1);  // bounds inference does not see the where()
        }
        if (r > 1) pos[r - 1] = sp.part_taps.x;
        for (int d = std::max(0, r - 2); d >= 0; d--) {
            pos[d] = d ? rest % input_size(s, d) : rest;
            rest = rest / input_size(s, d);
        }
        sum_pytorch(sp.partial, part_args, in(memory_order(s, pos, p.c, p.n)));
    }
    const RDom parts(0, sp.chunks, "parts");
    p.window = parts;
    p.window_taps = sp.chunks;
    std::vector<Expr> at = {parts.x};
    at.insert(at.end(), p.args.begin(), p.args.end());
    return sum_pytorch(p.pooled, p.args, sp.partial(at));
}

}  // namespace

// ---- The divisor and the mean.

Expr windowed_divisor(const PoolSpec &s, const std::vector<Window> &w) {
    if (s.divisor_override) return Expr(static_cast<int>(*s.divisor_override));
    // a = i*s - pb, b = min(a + k, n + pe): the window clipped to the padded input.
    Expr divisor = Expr(1);
    for (int i = 0; i < static_cast<int>(w.size()); i++) {
        const int k = static_cast<int>(s.kernel[i]), p = static_cast<int>(s.pad_end(i)), n_in = input_size(s, i);
        const int d = static_cast<int>(s.dilation[i]);
        Expr a = w[i].first;
        if (d > 1) {
            // Taps a + j*d, j < k: those before n + pe (all from the first: a > -k > -n-pe), or
            // those in [0, n). a < n always (pads < kernel, the ceil_mode rule).
            Expr before_end = min(k, (n_in + p - a + (d - 1)) / d);
            Expr in_input = clamp(min(k, (n_in - a + (d - 1)) / d) - max(0, (d - 1 - a) / d), 0, k);
            divisor = divisor * (s.count_include_pad ? before_end : in_input);
            continue;
        }
        // likely(): in the interior the clips do nothing, and Halide's loop partitioning drops
        // them there.
        Expr b = min(likely(a + k), n_in + p);
        Expr count = s.count_include_pad ? b - a : min(likely(b), n_in) - max(likely(a), 0);
        divisor = divisor * count;
    }
    return divisor;
}

namespace {

// The window's taps inside the input itself (u8/i8 averages' size).
Expr real_taps(const PoolSpec &s, const std::vector<Window> &w) {
    Expr size = Expr(1);
    for (int i = 0; i < static_cast<int>(w.size()); i++) {
        if (w[i].adaptive) {
            size = size * (w[i].end - w[i].first);
            continue;
        }
        const int k = static_cast<int>(s.kernel[i]), p = static_cast<int>(s.pad_end(i)), n_in = input_size(s, i);
        const Expr a = w[i].first, b = min(likely(a + k), n_in + p);  // no dilation: rules pytorch
        size = size * (min(likely(b), n_in) - max(likely(a), 0));
    }
    return size;
}

}  // namespace

Expr quantized_result(const PoolSpec &s, const Expr &narrow_sum, const std::vector<Window> &w) {
    const Expr sum = narrow_sum.type().bits() < 32 ? cast<int>(narrow_sum) : narrow_sum;
    const Type t = sum.type();
    const Expr z = Expr(static_cast<int>(s.zero_point.value_or(0)));
    const Expr size = real_taps(s, w);
    const Expr centered = cast<float>(sum - cast(t, size) * cast(t, z));  // S = sum - size * z, one rounding to float32
    const bool channels_last = quantized_channels_last(s);
    Expr code;  // float32 for the rounding rules that add z in float, int32 for the others
    if (!is_adaptive(s.op)) {
        const Expr m = 1.0f / cast<float>(windowed_divisor(s, w));
        code = channels_last ? cast<int>(round(centered * m)) + z : round(centered * m + cast<float>(z));
    } else if (quantized_mean(s)) {
        code = round(cast<float>(sum) / cast<float>(size));
    } else if (channels_last) {
        code = cast<int>(round(centered * (1.0f / cast<float>(size)))) + z;
    } else {
        Expr m = Expr(1.0f);  // ((1/k0) / k1) / k2, one extent at a time
        for (const Window &x : w) m = m / cast<float>(x.end - x.first);
        code = round(cast<float>(sum) * m);
    }
    const Expr lo = cast(code.type(), Expr(quantized_min(s.dtype))), hi = cast(code.type(), Expr(quantized_max(s.dtype)));
    return cast<int>(clamp(code, lo, hi));
}

Expr windowed_mean(const PoolSpec &s, const Expr &sum, const std::vector<Window> &w) {
    const Expr divisor = windowed_divisor(s, w);
    const bool dilated = std::any_of(s.dilation.begin(), s.dilation.end(), [](int64_t d) { return d > 1; });
    // A dilated window (rules onnx) may hold no input element: onnxruntime gives 0.
    if (dilated && !s.count_include_pad && !s.divisor_override)
        return select(divisor == 0, 0.0f, signed_zero(s, sum / cast<float>(divisor)));
    return signed_zero(s, sum / cast<float>(divisor));
}

// ---- Lp pooling.

Expr lp_pow(const Expr &x, float y) {
    // Halide's pow is its own (accurate to a few bits of the mantissa, not IEEE's at 0 and
    // infinity): taken in double and rounded once to float, which is C's powf nearly always,
    // with C's special cases written out for y > 0.
    const bool integer = std::floor(y) == y, odd = integer && std::fmod(y, 2.0f) == 1.0f;
    const Expr m = abs(x);
    Expr r = cast<float>(pow(cast<double>(m), Expr(static_cast<double>(y))));
    r = select(is_inf(m), m, m == 0.0f, Expr(0.0f), r);
    if (odd) r = select(x < 0.0f, -r, r);
    if (!integer) r = select(x < 0.0f && !is_inf(x), Expr(std::numeric_limits<float>::quiet_NaN()), r);
    return select(is_nan(x), x, r);
}

Func lp_terms(const PoolSpec &s, const Func &input) {
    Func terms("lp_terms");
    const std::vector<Var> args = memory_order(s, spatial_vars(s.rank()), Var("c"), Var("n"));
    const Expr x = Func(input)(args);
    const Expr b = s.onnx_rules() ? abs(x) : x;
    const int64_t p = *s.p;
    // 2 and 3 as PyTorch's pow (x*x, x*x*x); higher orders as C's powf.
    const Expr square = b * b;
    const Expr cube = (s.dtype == DType::BF16 ? round_to_element(s, square) : square) * b;
    terms(args) = p == 1 ? b : round_to_element(s, p == 2 ? square : p == 3 ? cube : lp_pow(b, static_cast<float>(p)));
    return terms;
}

Expr lp_result(const PoolSpec &s, const Expr &sum, const std::vector<Window> &w) {
    Expr v = sum;
    if (!s.onnx_rules()) {
        // PyTorch: avg_pool of the terms (padding 0: the window clipped to the input), a -0
        // made +0 by sign(q) * relu(|q|), times the kernel's size.
        int kernel_size = 1;
        for (int i = 0; i < s.rank(); i++) kernel_size *= s.op == Op::LpPool ? static_cast<int>(s.kernel[i]) : input_size(s, i);
        Expr clipped = Expr(1);
        if (s.op == Op::LpPool) clipped = windowed_divisor(s, w);
        else
            for (const Window &x : w) clipped = clipped * (x.end - x.first);
        v = round_to_element(s, (Expr(0.0f) + round_to_element(s, sum / cast<float>(clipped))) * static_cast<float>(kernel_size));
    }
    if (*s.p == 1) return v;
    if (*s.p == 2) return round_to_element(s, sqrt(v));
    return round_to_element(s, lp_pow(v, round_to(s.dtype, static_cast<float>(1.0 / static_cast<double>(*s.p)))));
}

Expr adaptive_mean(const Expr &sum, const std::vector<Window> &w, const PoolSpec *round) {
    Expr mean = sum;
    for (const Window &x : w) {
        mean = mean / cast<float>(x.end - x.first);
        if (round) mean = round_to_element(*round, mean);
    }
    return mean;
}

Expr signed_zero(const PoolSpec &s, const Expr &q) {
    // PyTorch's channels-first kernel adds the quotient to a zeroed output, so a quotient of -0
    // (a zero sum over a negative divisor_override, or an underflow) comes out +0; its
    // channels-last kernel divides in place and keeps -0. PyTorch runs the channels-last one
    // only for nhwc 1D/2D tensors with C > 1 and more than one spatial element; 3D always +0.
    if (avg_keeps_negative_zero(s)) return q;
    if (s.dtype == DType::F32) return Expr(0.0f) + q;
    // f16/bf16: PyTorch rounds the quotient to the type, then adds it to 0. That differs from
    // 0 + q only where q rounds to -0: q in [-half the smallest subnormal, 0). A compare per
    // output, not a rounding.
    const float half_step = s.dtype == DType::F16 ? 0x1p-25f : 0x1p-134f;
    return select(q < 0.0f && q >= -half_step, Expr(0.0f), Expr(0.0f) + q);
}

// ---- The split reduction.

Split split_shape(int taps, int chunks, bool interleaved) {
    Split sp;
    sp.interleaved = interleaved;
    sp.chunks = std::max(1, std::min(chunks, taps));
    sp.chunk_taps = (taps + sp.chunks - 1) / sp.chunks;
    sp.chunks = (taps + sp.chunk_taps - 1) / sp.chunk_taps;  // no empty part
    sp.part_taps = RDom(0, sp.chunk_taps, "part_tap");
    return sp;
}

namespace {

// `v` reduced over the domain it varies in, into `f` at `args`, by the op's rule.
std::vector<Expr> reduce_by_rule(const PoolSpec &s, const Formulation &form, Func f, const std::vector<Var> &args, const Expr &v,
                                 const Expr &start_index, const Expr &tap_index) {
    if (is_max(s.op) && s.return_indices) return max_with_indices(f, args, v, start_index, tap_index);
    if (is_max(s.op)) return {form.fused_max ? max_fused(f, args, v) : max_split(f, args, v)};
    return {sum_pytorch(f, args, v)};
}

// Each part's result by the rule, then the parts' results, in part order, by the same rule.
std::vector<Expr> split_result(const PoolSpec &s, const Formulation &form, Pipeline &p, const Func &input, int taps,
                               const Expr &start_index) {
    const int r = s.rank();
    Split &sp = p.split_form;
    sp = split_shape(taps, form.split_chunks, !is_max(s.op));
    const Expr k = sp.part, i = sp.part_taps.x;
    const Expr t_raw = sp.interleaved ? i * sp.chunks + k : k * sp.chunk_taps + i;  // the flat tap
    const bool exact = sp.chunks * sp.chunk_taps == taps;
    const Expr t = exact ? t_raw : min(t_raw, taps - 1);  // the last part's missing taps load the last one
    std::vector<Expr> tap(r), pos(r);
    Expr rest = t;
    for (int d = r - 1; d >= 0; d--) {
        tap[d] = d ? rest % p.windows[d].taps : rest;
        rest = rest / p.windows[d].taps;
        pos[d] = tap_position(p.windows[d], tap[d]);
    }
    Expr v = tap_value(s, input, p.padded, p.windows, tap, pos, p.c, p.n);
    if (!exact) v = select(t_raw < taps, v, pad_value(s));  // and count as padding
    std::vector<Var> part_args = {sp.part};
    part_args.insert(part_args.end(), p.args.begin(), p.args.end());
    std::vector<Expr> part = reduce_by_rule(s, form, sp.partial, part_args, v, start_index, flat_index(s, pos, p.c, p.n));
    const RDom parts(0, sp.chunks, "parts");
    for (Expr &e : part) e = Internal::substitute(sp.part.name(), parts.x, e);
    p.window = parts;
    p.window_taps = sp.chunks;
    return reduce_by_rule(s, form, p.pooled, p.args, part[0], start_index, part.size() > 1 ? cast<int>(part[1]) : Expr());
}

}  // namespace

// ---- The whole algorithm.

Expr finish_sum(const PoolSpec &s, const Expr &sum, const std::vector<Window> &w, bool element_sums) {
    if (is_lp(s.op)) return lp_result(s, sum, w);
    if (is_quantized(s.dtype)) return quantized_result(s, sum, w);
    return is_adaptive(s.op) ? adaptive_mean(sum, w, element_sums ? &s : nullptr) : windowed_mean(s, sum, w);
}

Pipeline pool(const PoolSpec &s, const Func &stored_input, const Formulation &form) {
    const int r = s.rank();
    const Func input = widened_input(s, stored_input, form.soft_f16);
    const bool element_sums = form.element_sums && sums_in_element_type(s);
    const bool adaptive = is_adaptive(s.op);
    Pipeline p;
    p.spatial = spatial_vars(r);
    p.args = memory_order(s, p.spatial, p.c, p.n);
    p.windows = windows(s, p.spatial);
    p.rows_sum = form.rows_sum && rows_sum_applies(s);
    p.pairs_sum = form.pairs_sum && pairs_sum_applies(s);

    RDom pair_win = pairs_domain(s);
    RDom win = window_domain(p.windows, p.rows_sum);
    std::vector<Expr> taps(r), pos(r);
    for (int i = 0; i < r; i++) {
        taps[i] = win[r - 1 - i];
        pos[i] = tap_position(p.windows[i], taps[i]);
    }
    // Lp ops sum their terms: every formulation reads them in place of the input.
    const Func src = is_lp(s.op) ? lp_terms(s, input) : input;
    if (!adaptive) p.padded = padded_input(s, src, p.windows);
    int all_taps = 1;
    for (const Window &w : p.windows) all_taps *= w.taps;
    std::vector<Expr> start(r);
    for (int i = 0; i < r; i++) start[i] = first_in_bounds_tap(s, i, p.windows[i]);
    if (form.parts_sum && parts_sum_applies(s)) {
        p.split = true;
        p.result = {finish_sum(s, sum_parts(s, p, src, form.blocks), p.windows)};
        return p;
    }
    p.split = form.split_chunks > 1 && all_taps > 1;
    if (p.split) {
        p.rows_sum = p.pairs_sum = false;
        p.result = split_result(s, form, p, src, all_taps, flat_index(s, start, p.c, p.n));
        if (!is_max(s.op)) p.result = {finish_sum(s, p.result[0], p.windows)};
        return p;
    }
    const Expr v = tap_value(s, src, p.padded, p.windows, taps, pos, p.c, p.n);

    if (is_max(s.op) && s.return_indices) {
        p.result = max_with_indices(p.pooled, p.args, v, flat_index(s, start, p.c, p.n), flat_index(s, pos, p.c, p.n));
    } else if (is_max(s.op)) {
        p.result = {form.fused_max ? max_fused(p.pooled, p.args, v) : max_split(p.pooled, p.args, v)};
    } else {
        const Expr sum = p.pairs_sum ? sum_pairs(s, p.pooled, p.args, src, pair_win, p.c, p.n)
                         : p.rows_sum ? sum_rows(s, p.rowsum, p.pooled, p.padded, p.windows, win, p.spatial, p.c, p.n)
                                      : sum_pytorch(p.pooled, p.args, v, element_sums ? &s : nullptr);
        p.result = {finish_sum(s, sum, p.windows, element_sums)};
    }
    p.window = p.pairs_sum ? pair_win : win;
    for (const Window &w : p.windows) p.window_taps *= w.taps;
    if (p.pairs_sum) p.window_taps = plane_taps(s) / 2;
    return p;
}

}  // namespace poolgen::algorithm
