// The pooling algorithm, written once for every op, spatial rank (1D/2D/3D) and layout.
// Every shape and window parameter is a GeneratorParam and so a compile-time constant.
// Semantics are PyTorch's (see README, "Semantics"); schedules live in schedules/.
#include <limits>
#include <sstream>

#include "Halide.h"
#include "cpu_strategy.h"
#include "cuda_strategy.h"
#include "poolgen/spec.h"

namespace {

using namespace Halide;

std::vector<int64_t> parse_dims(const std::string &s) {
    std::vector<int64_t> out;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, 'x'))
        if (!item.empty()) out.push_back(std::stoll(item));
    return out;
}

class PoolGenerator : public Generator<PoolGenerator> {
public:
    // What to compute (see PoolSpec); dims as "AxBxC", logical order.
    GeneratorParam<std::string> op{"op", "max_pool"};
    GeneratorParam<std::string> dtype{"dtype", "f32"};
    GeneratorParam<std::string> layout{"layout", "nchw"};
    GeneratorParam<std::string> input_shape{"shape", "1x1x4x4"};  // the manifest's "input"
    GeneratorParam<std::string> kernel_size{"kernel", ""};
    GeneratorParam<std::string> stride{"stride", ""};
    GeneratorParam<std::string> padding{"padding", ""};
    GeneratorParam<std::string> dilation{"dilation", ""};
    GeneratorParam<std::string> output_size{"output_size", ""};
    GeneratorParam<bool> ceil_mode{"ceil_mode", false};
    GeneratorParam<bool> count_include_pad{"count_include_pad", true};
    GeneratorParam<int> divisor_override{"divisor_override", 0};  // 0: none
    GeneratorParam<bool> return_indices{"return_indices", false};

    // CPU strategy knobs (schedules/cpu_knobs.h), "name:value,..." over the strategy's
    // defaults for this kernel; set from a schedules/db entry or by `poolgen tune`.
    GeneratorParam<std::string> cpu_schedule{"cpu_schedule", ""};
    // CUDA strategy knobs (schedules/cuda_strategy.h).
    GeneratorParam<int> cuda_threads_x{"cuda_threads_x", 32};
    GeneratorParam<int> cuda_threads_y{"cuda_threads_y", 8};
    GeneratorParam<int> cuda_unroll_window{"cuda_unroll_window", 9};

    void configure() {
        spec_ = make_spec();
        const int dims = static_cast<int>(spec_.input.size());
        input_ = add_input<Buffer<>>("input", Float(32), dims);
        std::vector<Type> types = {Float(32)};
        if (spec_.return_indices) types.push_back(Int(64));
        output_ = add_output<Func>("output", types, dims);
    }

    void generate() {
        using poolgen::Op;
        const auto &s = spec_;
        poolgen::schedules::CpuKnobs knobs = poolgen::schedules::default_cpu_knobs(s);
        std::string knob_error;
        _halide_user_assert(poolgen::schedules::parse_knobs(cpu_schedule, &knobs, &knob_error)) << "poolgen: " << knob_error;
        const int r = s.rank();
        const bool nhwc = s.layout == poolgen::Layout::NHWC;
        const std::vector<int64_t> out_shape = s.output_shape();
        auto in_size = [&](int i) { return static_cast<int>(s.input[2 + i]); };
        auto out_size = [&](int i) { return static_cast<int>(out_shape[2 + i]); };

        // Logical variables: spatial outer -> inner, then c, n.
        std::vector<Var> sp;
        const char *names[] = {"d", "h", "w"};
        for (int i = 0; i < r; i++) sp.emplace_back(names[3 - r + i]);
        Var c("c"), n("n");
        // Memory order, innermost first.
        auto memory_order = [&](const std::vector<Expr> &spatial, Expr ch, Expr batch) {
            std::vector<Expr> args;
            if (nhwc) args.push_back(ch);
            for (int i = r - 1; i >= 0; i--) args.push_back(spatial[i]);
            if (!nhwc) args.push_back(ch);
            args.push_back(batch);
            return args;
        };
        std::vector<Expr> sp_e(sp.begin(), sp.end());
        const std::vector<Expr> out_args_e = memory_order(sp_e, c, n);
        std::vector<Var> out_args;
        for (const Expr &e : out_args_e) out_args.push_back(Var(e.as<Internal::Variable>()->name));

        // Window of each output position per spatial dim: first tap, tap step, tap count
        // bound (RDom extent), and whether a tap can fall outside [0, n) or past the window end.
        std::vector<std::pair<int, int>> rdom_extents;  // innermost first
        std::vector<Expr> first(r), step(r), tap_end(r);
        std::vector<int> taps(r);
        std::vector<bool> needs_check(r);
        std::vector<int> min_taps(r, 0);  // adaptive: every window has at least this many taps
        const bool adaptive = poolgen::is_adaptive(s.op);
        for (int i = 0; i < r; i++) {
            const int64_t n_in = s.input[2 + i];
            if (!adaptive) {
                const int64_t k = s.kernel[i], st = s.stride[i], p = s.padding[i], d = s.dilation[i];
                first[i] = sp[i] * static_cast<int>(st) - static_cast<int>(p);
                step[i] = static_cast<int>(d);
                taps[i] = static_cast<int>(k);
                const int64_t last_tap = (out_size(i) - 1) * st - p + d * (k - 1);
                needs_check[i] = p > 0 || last_tap > n_in - 1;
                tap_end[i] = Expr(in_size(i));
            } else {
                const int64_t m = s.output_size[i];
                // start = floor(i*n/m), end = ceil((i+1)*n/m). The products reach m*n + m - 1,
                // past int32 for long inputs (n=65536 -> m=40000): then compute them in int64.
                // start and end themselves are at most n and fit.
                if (m * n_in + m - 1 <= std::numeric_limits<int32_t>::max()) {
                    first[i] = (sp[i] * static_cast<int>(n_in)) / static_cast<int>(m);
                    tap_end[i] = ((sp[i] + 1) * static_cast<int>(n_in) + static_cast<int>(m - 1)) / static_cast<int>(m);
                } else {
                    Expr o64 = cast<int64_t>(sp[i]);
                    const Expr n64 = Expr(n_in), m64 = Expr(m);  // int64 constants
                    first[i] = cast<int>((o64 * n64) / m64);
                    tap_end[i] = cast<int>(((o64 + 1) * n64 + (m64 - 1)) / m64);
                }
                step[i] = 1;
                int64_t kmax = 0, kmin = INT64_MAX;
                for (int64_t o = 0; o < m; o++) {
                    const int64_t a = (o * n_in) / m, b = ((o + 1) * n_in + m - 1) / m;
                    kmax = std::max(kmax, b - a);
                    kmin = std::min(kmin, b - a);
                }
                taps[i] = static_cast<int>(kmax);
                min_taps[i] = static_cast<int>(kmin);
                needs_check[i] = kmax != kmin;
            }
        }
        // sum=rows (average pooling over a window of >= 2 dims): the window's innermost dim is
        // summed in its own stage, so the main reduction leaves it out.
        const bool separable = knobs.sum == poolgen::schedules::Sum::Rows && !poolgen::is_max(s.op) && !adaptive && r >= 2;
        Func rowsum("rowsum");
        // sum=pairs: a 2D global average over a channels-first plane (see below).
        bool global = adaptive && r == 2;
        for (int i = 0; i < r; i++) global = global && s.output_size[i] == 1;
        const int plane_taps = global ? static_cast<int>(s.input[2] * s.input[3]) : 1;  // < 2^31
        const bool pairs = knobs.sum == poolgen::schedules::Sum::Pairs && global && !poolgen::is_max(s.op) && !nhwc && plane_taps >= 2;
        RDom pair_win(0, std::max(1, plane_taps / 2), "pair_win");
        for (int i = r - 1; i >= 0; i--) rdom_extents.push_back({0, separable && i == r - 1 ? 1 : taps[i]});
        std::vector<Range> ranges;
        for (auto [mn, ext] : rdom_extents) ranges.emplace_back(mn, ext);
        RDom win(ranges, "win");
        auto tap_var = [&](int i) { return win[r - 1 - i]; };

        // Tap positions and in-bounds test.
        std::vector<Expr> pos(r), load_pos(r);
        Expr inside = Internal::const_true();
        for (int i = 0; i < r; i++) {
            pos[i] = first[i] + tap_var(i) * step[i];
            load_pos[i] = pos[i];
            if (needs_check[i]) {
                if (adaptive) {
                    // The first min_taps taps of every window are inside: with the taps
                    // unrolled, only the later ones keep the test (a select per vector).
                    inside = inside && (tap_var(i) < min_taps[i] || pos[i] < tap_end[i]);
                    load_pos[i] = min(pos[i], in_size(i) - 1);
                } else {
                    inside = inside && pos[i] >= 0 && pos[i] < in_size(i);
                    load_pos[i] = clamp(pos[i], 0, in_size(i) - 1);
                }
            }
        }
        Func input_f = *input_;
        Expr tap = input_f(memory_order(load_pos, c, n));
        // Windowed ops read a padded view of the input: the padding value outside, the input
        // inside (Halide's constant_exterior marks the interior likely, so loops split into
        // border and interior; a schedule may also materialize it per plane).
        const bool windowed_pad = !adaptive && needs_any(needs_check);
        Func padded("padded");
        if (windowed_pad) {
            const float pad_value = poolgen::is_max(s.op) ? -std::numeric_limits<float>::infinity() : 0.0f;
            Region bounds(r + 2);  // memory order: unbounded c and n, spatial dims [0, size)
            for (int i = 0; i < r; i++) bounds[nhwc ? r - i : r - 1 - i] = Range(0, in_size(i));
            padded = BoundaryConditions::constant_exterior(input_f, pad_value, bounds);
            tap = padded(memory_order(pos, c, n));
        } else if (!adaptive) {
            // Unpadded windows read the input through a plain wrapper the schedule may stage.
            padded = input_f.in();
            tap = padded(memory_order(pos, c, n));
        }

        // Flat index into an input plane: ((d*H)+h)*W+w, as PyTorch returns it.
        auto flat = [&](const std::vector<Expr> &p) {
            Expr idx = p[0];
            for (int i = 1; i < r; i++) idx = idx * in_size(i) + p[i];
            return idx;
        };

        Func pooled("pooled");
        std::vector<Expr> result;
        if (poolgen::is_max(s.op)) {
            // PyTorch: take v if v > best or v is NaN; padding never wins (it is -inf and
            // strictly-greater fails), ties keep the first, NaN the last.
            Expr v = needs_any(needs_check) && !windowed_pad ? select(inside, tap, Expr(-std::numeric_limits<float>::infinity())) : tap;
            if (s.return_indices) {
                // Initial index: the first in-bounds tap, PyTorch's start advanced past the
                // padding by whole dilation steps.
                std::vector<Expr> start(r);
                for (int i = 0; i < r; i++) {
                    if (!adaptive && s.padding[i] > 0) {
                        Expr a = first[i];
                        start[i] = select(a < 0, a + ((0 - a + step[i] - 1) / step[i]) * step[i], a);
                    } else {
                        start[i] = first[i];
                    }
                }
                // (index, value): with strict_float Halide 21 stores a Tuple update's elements in
                // order and later elements read the new values, so the value, which the index's
                // rule reads, comes last.
                pooled(out_args) = Tuple(flat(start), Expr(-std::numeric_limits<float>::infinity()));
                Expr best = pooled(out_args)[1];
                Expr take = v > best || is_nan(v);
                pooled(out_args) = Tuple(select(take, flat(pos), pooled(out_args)[0]), select(take, v, best));
                result = {pooled(out_args)[1], cast<int64_t>(pooled(out_args)[0])};
            } else if (knobs.maxform == poolgen::schedules::MaxForm::Fused) {
                pooled(out_args) = Expr(-std::numeric_limits<float>::infinity());
                Expr best = pooled(out_args);
                pooled(out_args) = select(v > best || is_nan(v), v, best);
                result = {pooled(out_args)};
            } else {
                // maxform=split: two running values instead of one, the last NaN seen and the
                // first maximum of the other taps, combined at the end (the same result as the
                // rule tap by tap). `x > m ? x : m` alone is one vmaxps on x86; folded with the
                // NaN test it is two compares, an or and a blend on every tap's dependency chain.
                pooled(out_args) = Tuple(Expr(0.0f), Expr(-std::numeric_limits<float>::infinity()));
                Expr last_nan = pooled(out_args)[0], m = pooled(out_args)[1];
                pooled(out_args) = Tuple(select(is_nan(v), v, last_nan), select(v > m, v, m));
                result = {select(is_nan(pooled(out_args)[0]), pooled(out_args)[0], pooled(out_args)[1])};
            }
        } else {
            Expr v = needs_any(needs_check) && !windowed_pad ? select(inside, tap, 0.0f) : tap;
            Expr window_sum;
            if (pairs) {
                // Knob sum=pairs (2D global average, channels-first): PyTorch computes it with
                // mean(), in an order of its own, so no order is PyTorch's bit for bit; two
                // running sums over alternate elements of the contiguous plane (one sequential
                // read, twice the add chains), then their sum and the odd element left over.
                const int w_in = in_size(1);
                auto at = [&](Expr k) { return input_f(memory_order({k / w_in, k % w_in}, c, n)); };
                pooled(out_args) = Tuple(Expr(0.0f), Expr(0.0f));
                pooled(out_args) = Tuple(pooled(out_args)[0] + at(2 * pair_win.x), pooled(out_args)[1] + at(2 * pair_win.x + 1));
                window_sum = pooled(out_args)[0] + pooled(out_args)[1];
                if (plane_taps % 2) window_sum = window_sum + at(Expr(plane_taps - 1));
            } else if (separable) {
                // Knob sum=rows: each window row summed first (rowsum, reused by every window
                // that overlaps it), then the rows. Not PyTorch's rounding; within the
                // checker's float32 summation bound. Spatial vars other than the innermost are
                // input coordinates in rowsum, one pure expression per row: ((0 + x0) + x1) + ...
                Func src = padded;
                Expr row = 0.0f;
                for (int t = 0; t < taps[r - 1]; t++) {
                    std::vector<Expr> rpos(sp.begin(), sp.end());
                    rpos[r - 1] = first[r - 1] + t * step[r - 1];
                    row = strict_float(row + src(memory_order(rpos, c, n)));
                }
                rowsum(out_args) = row;
                std::vector<Expr> outer_pos(sp.begin(), sp.end());
                for (int i = 0; i < r - 1; i++) outer_pos[i] = first[i] + tap_var(i) * step[i];
                pooled(out_args) = 0.0f;
                pooled(out_args) = strict_float(pooled(out_args) + rowsum(memory_order(outer_pos, c, n)));
            } else {
                // PyTorch's order; every kernel is compiled with strict_float (no reassociation,
                // no reciprocal multiplies), so the rounding is PyTorch's too.
                pooled(out_args) = 0.0f;
                pooled(out_args) = pooled(out_args) + v;
            }
            if (!pairs) window_sum = pooled(out_args);
            Expr divisor;
            if (adaptive) {
                // PyTorch divides by one window extent at a time (sum / kh / kw): same rounding.
                Expr mean = window_sum;
                for (int i = 0; i < r; i++) mean = mean / cast<float>(tap_end[i] - first[i]);
                result = {mean};
            } else if (s.divisor_override) {
                divisor = Expr(static_cast<int>(*s.divisor_override));
            } else {
                // a = i*s - p, b = min(a + k, n + p): the window clipped to the padded input.
                divisor = Expr(1);
                for (int i = 0; i < r; i++) {
                    const int k = static_cast<int>(s.kernel[i]), p = static_cast<int>(s.padding[i]);
                    Expr a = first[i];
                    // likely(): in the interior the clips do nothing, and Halide's loop
                    // partitioning drops them there.
                    Expr b = min(likely(a + k), in_size(i) + p);
                    Expr count = s.count_include_pad ? b - a : min(likely(b), in_size(i)) - max(likely(a), 0);
                    divisor = divisor * count;
                }
            }
            if (!adaptive) {
                // PyTorch's channels-first kernel adds the quotient to a zeroed output, so a
                // quotient of -0 (a zero sum over a negative divisor_override, or an underflow)
                // comes out +0; its channels-last kernel divides in place and keeps -0. PyTorch
                // runs the channels-last one only for nhwc 1D/2D tensors with C > 1 and more than
                // one spatial element (poolgen::avg_keeps_negative_zero); 3D always gives +0.
                Expr q = window_sum / cast<float>(divisor);
                result = {poolgen::avg_keeps_negative_zero(s) ? q : Expr(0.0f) + q};
            }
        }

        Func out = *output_;
        if (result.size() == 1) out(out_args) = result[0];
        else out(out_args) = Tuple(result);

        // Fixed shapes, dense strides: the runtime repacks anything else.
        const std::vector<int64_t> in_mem = s.input_memory_shape(), out_mem = s.output_memory_shape();
        set_dense(*input_, in_mem);
        // Later outputs (indices) share the first one's mins and extents; only strides are set.
        const auto outs = out.output_buffers();
        for (size_t i = 0; i < outs.size(); i++) {
            OutputImageParam ob = outs[i];
            set_dense(ob, out_mem, i == 0);
        }

        // IEEE semantics are part of the contract (NaN rules, PyTorch's rounding); without
        // strict_float LLVM may assume there are no NaNs.
        _halide_user_assert(get_target().has_feature(Target::StrictFloat))
            << "poolgen: kernels must be compiled with the strict_float target feature";
        if (using_autoscheduler()) return;
        poolgen::schedules::PoolStages st;
        st.input = *input_;
        st.output = out;
        st.pooled = pooled;
        st.window = pairs ? pair_win : win;
        st.spatial = sp;
        st.c = c;
        st.n = n;
        st.channels_last = nhwc;
        for (int i = 0; i < r; i++) st.out_spatial.push_back(out_size(i));
        st.channels = static_cast<int>(s.input[1]);
        st.batch = static_cast<int>(s.input[0]);
        st.window_taps = 1;
        for (int t : taps) st.window_taps *= t;
        if (pairs) st.window_taps = plane_taps / 2;
        if (!adaptive) st.padded = padded;
        st.padded_plane_elements = nhwc ? s.input[1] : 1;
        for (int i = 0; i < r; i++) {  // saturates at 2^40: only compared with a small limit
            const int64_t extent = s.input[2 + i] + (adaptive ? 0 : 2 * s.padding[i] + s.stride[i]);  // < 2^33
            const int64_t cap = int64_t(1) << 40;
            st.padded_plane_elements = st.padded_plane_elements > cap / extent ? cap : st.padded_plane_elements * extent;
        }
        if (separable) st.rowsum = rowsum;
        for (size_t i = 0; i < out_args.size(); i++) {
            st.memory_vars.push_back(out_args[i]);
            st.memory_extents.push_back(static_cast<int>(out_mem[out_mem.size() - 1 - i]));
        }
        if (get_target().has_feature(Target::CUDA)) {
            poolgen::schedules::CudaKnobs cuda_knobs;
            cuda_knobs.threads_x = cuda_threads_x;
            cuda_knobs.threads_y = cuda_threads_y;
            cuda_knobs.unroll_window = cuda_unroll_window;
            poolgen::schedules::apply_cuda_schedule(st, cuda_knobs);
            return;
        }
        _halide_user_assert(!get_target().has_gpu_feature())
            << "poolgen: no schedule strategy for GPU target " << get_target().to_string() << " (CUDA only)";
        poolgen::schedules::apply_cpu_schedule(st, knobs, get_target());
    }

private:
    poolgen::PoolSpec spec_;
    GeneratorInput<Buffer<>> *input_ = nullptr;
    GeneratorOutput<Func> *output_ = nullptr;

    static bool needs_any(const std::vector<bool> &v) {
        for (bool b : v)
            if (b) return true;
        return false;
    }

    poolgen::PoolSpec make_spec() {
        poolgen::PoolSpec s;
        auto o = poolgen::parse_op(op);
        auto dt = poolgen::parse_dtype(dtype);
        auto l = poolgen::parse_layout(layout);
        _halide_user_assert(o && dt && l) << "poolgen: bad op, dtype or layout GeneratorParam";
        s.op = *o;
        s.dtype = *dt;
        s.layout = *l;
        s.input = parse_dims(input_shape);
        s.kernel = parse_dims(kernel_size);
        s.stride = parse_dims(stride);
        s.padding = parse_dims(padding);
        s.dilation = parse_dims(dilation);
        s.output_size = parse_dims(output_size);
        s.ceil_mode = ceil_mode;
        s.count_include_pad = count_include_pad;
        if (divisor_override != 0) s.divisor_override = static_cast<int>(divisor_override);
        s.return_indices = return_indices;
        s.normalize();
        poolgen::Status st = s.validate();
        _halide_user_assert(st.ok()) << "poolgen: invalid kernel parameters: " << st.message();
        return s;
    }

    template <typename Buf>
    static void set_dense(Buf &b, const std::vector<int64_t> &mem_shape, bool bounds = true) {
        // mem_shape is outermost first; Halide dims are innermost first.
        int stride = 1;
        const int dims = static_cast<int>(mem_shape.size());
        for (int d = 0; d < dims; d++) {
            const int extent = static_cast<int>(mem_shape[dims - 1 - d]);
            if (bounds) b.dim(d).set_min(0).set_extent(extent);
            b.dim(d).set_stride(stride).set_estimate(0, extent);  // for the autoschedulers
            stride *= extent;
        }
    }
};

}  // namespace

HALIDE_REGISTER_GENERATOR(PoolGenerator, poolgen_pool)
