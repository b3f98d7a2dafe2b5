// The CPU strategy's named knobs, their defaults per op and layout, and the tuner's candidate
// space. No Halide here: the generator, the configure-time manifest tool and `poolgen tune`
// all include it. A knob string is "name:value,name:value" (the generator's `cpu_schedule`
// GeneratorParam, a schedules/db entry's "knobs"); names not given keep their defaults.
#pragma once
#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "poolgen/spec.h"

namespace poolgen::schedules {

// The knobs that take one of a few named values. Each has one table of names, in the
// enumerators' order, that both parses and prints it (knob_name, parse_knob).
enum class Vectorize { C, W };
enum class Reduce { Inner, Outer };
enum class Border { Inline, Plane, Rows };
enum class Sum { PyTorch, Rows, Pairs, Parts };
enum class MaxForm { Split, Fused };

template <typename E>
struct KnobNames;
template <>
struct KnobNames<Vectorize> {
    static constexpr std::array<const char *, 2> names = {"c", "w"};
};
template <>
struct KnobNames<Reduce> {
    static constexpr std::array<const char *, 2> names = {"inner", "outer"};
};
template <>
struct KnobNames<Border> {
    static constexpr std::array<const char *, 3> names = {"inline", "plane", "rows"};
};
template <>
struct KnobNames<Sum> {
    static constexpr std::array<const char *, 4> names = {"pytorch", "rows", "pairs", "parts"};
};
template <>
struct KnobNames<MaxForm> {
    static constexpr std::array<const char *, 2> names = {"split", "fused"};
};

template <typename E>
const char *knob_name(E value) {
    return KnobNames<E>::names[static_cast<size_t>(value)];
}

template <typename E>
bool parse_knob(const std::string &text, E *out) {
    const auto &names = KnobNames<E>::names;
    for (size_t i = 0; i < names.size(); i++)
        if (text == names[i]) {
            *out = static_cast<E>(i);
            return true;
        }
    return false;
}

// Every value of E, in the table's order.
template <typename E>
std::vector<E> knob_values() {
    std::vector<E> v;
    for (size_t i = 0; i < KnobNames<E>::names.size(); i++) v.push_back(static_cast<E>(i));
    return v;
}

struct CpuKnobs {
    // Which dim the SIMD lanes run along: c (channels) or w (innermost spatial dim).
    Vectorize vectorize = Vectorize::C;
    // Natural vectors (the target's width for f32) computed per innermost iteration.
    int vectors = 1;
    // Parallel tasks the outer loops are split into; <= 1: serial.
    int tasks = 16;
    // Unroll the window taps when the window has at most this many.
    int unroll = 9;
    // Output vectors reduced together (along the first loop outside the vector with more than
    // one iteration): independent accumulator chains for instruction-level parallelism.
    int interleave = 1;
    // Software prefetch distance (iterations of the row or pixel loop); 0: none.
    int prefetch = 0;
    // Where the reduction over the window runs: inner (taps innermost, one vector of outputs
    // at a time in registers) or outer (taps outermost over a chunk of channels whose
    // accumulators stay in L1: sequential reads for large windows such as global pooling).
    Reduce reduce = Reduce::Inner;
    // Windowed ops' input: inline (read in place; padding conditions are evaluated per tap and
    // Halide splits the loops into border and interior), plane (each input plane, or a task's
    // rows, copied once into a padded local buffer that the windows read with no condition; for
    // narrow padded rows), or rows (the same copy made one input row at a time in a rolling
    // buffer, just before the first window that needs it: a plain streaming copy).
    Border border = Border::Inline;
    // Average pooling: pytorch sums each window in PyTorch's order (bitwise PyTorch); rows
    // sums each window row first, then the rows (a separable sum reusing row sums across
    // overlapping windows; rounding differs from PyTorch within the checker's error bound);
    // pairs (2D global averages over channels-first planes, which PyTorch computes with
    // mean() in an order of its own) keeps two running sums over alternate elements; parts
    // (global averages: channels-first of rank >= 2, any channels-last) sums parts of the
    // input first, then the parts: channels-first the columns (each innermost position over
    // the rows, rows read as vectors along w), channels-last contiguous blocks of rows, one
    // per task (`tasks` tasks over the batch and the blocks).
    Sum sum = Sum::PyTorch;
    // Max pooling without indices: split keeps two running values per output, the last NaN
    // and the first maximum of the other taps (one vmaxps per tap on x86), combined at the end;
    // fused one value updated by `x > best || isnan(x)` (two compares, an or and a blend).
    // Both give the same bits.
    MaxForm maxform = MaxForm::Split;

    bool operator==(const CpuKnobs &o) const {
        return vectorize == o.vectorize && vectors == o.vectors && tasks == o.tasks && unroll == o.unroll &&
               interleave == o.interleave && prefetch == o.prefetch &&
               reduce == o.reduce && border == o.border && sum == o.sum && maxform == o.maxform;
    }
};

// One knob of the string form: its name, how its value is read (false: not allowed) and
// written, and the rule a bad value breaks. knob_fields() lists them in the printed order.
struct KnobField {
    const char *name;
    std::function<bool(CpuKnobs &, const std::string &)> read;
    std::function<std::string(const CpuKnobs &)> write;
    std::string rule;  // "must be ..."
};

inline KnobField int_knob(const char *name, int CpuKnobs::*member, int lo, int hi) {
    auto read = [member, lo, hi](CpuKnobs &k, const std::string &value) {
        try {
            size_t used = 0;
            const int v = std::stoi(value, &used);
            if (used != value.size() || v < lo || v > hi) return false;
            k.*member = v;
            return true;
        } catch (...) {
            return false;
        }
    };
    auto write = [member](const CpuKnobs &k) { return std::to_string(k.*member); };
    return {name, read, write, std::to_string(lo) + ".." + std::to_string(hi)};
}

template <typename E>
KnobField enum_knob(const char *name, E CpuKnobs::*member) {
    auto read = [member](CpuKnobs &k, const std::string &value) { return parse_knob(value, &(k.*member)); };
    auto write = [member](const CpuKnobs &k) { return std::string(knob_name(k.*member)); };
    const auto &names = KnobNames<E>::names;
    std::string rule;  // "a or b", "a, b or c"
    for (size_t i = 0; i < names.size(); i++) rule += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + std::string(names[i]);
    return {name, read, write, rule};
}

inline const std::vector<KnobField> &knob_fields() {
    static const std::vector<KnobField> fields = {
        enum_knob("vectorize", &CpuKnobs::vectorize),
        int_knob("vectors", &CpuKnobs::vectors, 1, 8),
        int_knob("tasks", &CpuKnobs::tasks, 0, 4096),
        int_knob("unroll", &CpuKnobs::unroll, 0, 1024),
        int_knob("interleave", &CpuKnobs::interleave, 1, 16),
        int_knob("prefetch", &CpuKnobs::prefetch, 0, 64),
        enum_knob("reduce", &CpuKnobs::reduce),
        enum_knob("border", &CpuKnobs::border),
        enum_knob("sum", &CpuKnobs::sum),
        enum_knob("maxform", &CpuKnobs::maxform),
    };
    return fields;
}

inline int64_t product(const std::vector<int64_t> &v, size_t from = 0) {
    int64_t p = 1;
    for (size_t i = from; i < v.size(); i++) p *= v[i];
    return p;
}

// A 2D average over whole channels-first planes of at least two elements (sum=pairs applies).
inline bool global_plane_average(const PoolSpec &s) {
    return is_adaptive(s.op) && !is_max(s.op) && s.layout == Layout::NCHW && s.rank() == 2 &&
           product(s.output_shape(), 2) == 1 && s.input[2] * s.input[3] >= 2;
}

// A global average that sum=parts applies to (generators/pool_algorithm.h parts_sum_applies).
inline bool global_average(const PoolSpec &s) {
    return is_adaptive(s.op) && !is_max(s.op) && product(s.output_shape(), 2) == 1 && product(s.input, 2) >= 2 &&
           (s.layout == Layout::NHWC || s.rank() >= 2);
}

// A windowed op some of whose windows reach into the padding or past the input's end.
inline bool window_reaches_outside(const PoolSpec &s) {
    if (!is_windowed(s.op)) return false;
    const std::vector<int64_t> out = s.output_shape();
    auto at = [](const std::vector<int64_t> &v, size_t i, int64_t dflt) { return i < v.size() ? v[i] : dflt; };
    for (int i = 0; i < s.rank(); i++) {
        const int64_t k = at(s.kernel, i, 1), pad = at(s.padding, i, 0);
        const int64_t last_tap = (out[2 + i] - 1) * at(s.stride, i, k) - pad + at(s.dilation, i, 1) * (k - 1);
        if (pad > 0 || last_tap > s.input[2 + i] - 1) return true;
    }
    return false;
}

// The strategy's defaults for one kernel (measured on AVX-512 and AVX2 machines; see
// bench/RESULTS.md for the numbers behind them).
inline CpuKnobs default_cpu_knobs(const PoolSpec &s) {
    CpuKnobs k;
    const std::vector<int64_t> out = s.output_shape();
    const int64_t out_w = out.back(), taps_in = product(s.input, 2), out_sp = product(out, 2);
    if (s.layout == Layout::NHWC) {
        k.vectorize = Vectorize::C;
        // Large windows (global pooling) stream the input once, with accumulators per channel.
        if (is_adaptive(s.op) && taps_in / std::max<int64_t>(out_sp, 1) >= 16) k.reduce = Reduce::Outer;
        // Small windows: every channel vector of a pixel reduced together (taps outside), so
        // each tap is one contiguous read of the pixel's channels (measured 1.1-1.8x on AVX-512).
        // Up to 4 vectors: 8 was 6-16% slower on max 3x3 (1x480x14x14 s1, 1x192x56x56 and
        // 1x480x28x28 s2 ceil) and level on averages (1 thread, cold, Intel AVX-512).
        else k.interleave = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(4, s.input[1] / 16)));
    } else {
        // Channels-first: lanes along the output row (across channels, every lane would load
        // from its own plane, one element at a time). One output per plane (global max pooling,
        // 1D global averages; 2D and 3D global averages use sum:parts below): scalar
        // reductions in scan order, 4 channels interleaved to hide the latency.
        k.vectorize = Vectorize::W;
        if (out_w == 1) k.interleave = 4;
        // Stride-1 rows of windows that reach past the input, up to three AVX-512 vectors of
        // outputs: a padded copy of each plane keeps the window loads dense (otherwise every
        // vector of the row touches the border; avg 3x3 s1 8x256x28x28: 5.4 -> 1.0 ms,
        // 1x192x35x35: 0.63 -> 0.28 ms). Strided rows load pairs of vectors and shuffle anyway:
        // in place was faster there (max 3x3 s2 1x96x55 ceil: 1.4x; padded ResNet stem: level),
        // except rows of one vector (max 3x3 s2 ceil 1x480x28x28, 14 outputs a row: 0.32 ->
        // 0.25 ms) and unpadded windows that only the last one of ceil_mode overruns: a row at a
        // time in a rolling buffer (1x64x112x112: 0.61 -> 0.48 ms, 1x192x56x56: 0.51 -> 0.40).
        bool padded = false;
        for (int64_t p : s.padding) padded = padded || p > 0;
        for (int64_t p : s.padding_end) padded = padded || p > 0;
        if (window_reaches_outside(s)) {
            if (s.stride.back() == 1 ? out_w < 48 : out_w <= 16) k.border = Border::Plane;
            else if (!padded) k.border = Border::Rows;
        }
    }
    // Channels-last windows of at most 4 taps (2x2): the fused rule measured ~10% faster cold
    // (8x128x56x56: 0.77-0.81 vs 0.83-0.95 ms, 1 thread); 3x3 NHWC and every NCHW window: split
    // (NHWC 3x3 s2 1x64x112x112: 0.25 vs 0.29 ms).
    int64_t window_taps = 1;
    for (int64_t k_i : s.kernel) window_taps *= k_i;
    if (s.layout == Layout::NHWC && is_windowed(s.op) && window_taps <= 4) k.maxform = MaxForm::Fused;
    // Small kernels are not worth a thread pool wake-up.
    const int64_t bytes = 4 * (s.input_elements() + s.output_elements());
    k.tasks = bytes < (256 << 10) ? 1 : 16;
    // Global averages: parts first, vectors along w (channels-first) or blocks of rows shared by
    // the tasks (channels-last); a task per 64 KB moved, up to 16 (1x672x7x7 at 2 threads: 2
    // tasks 0.0095 ms, 1 task 0.0131 ms). Against two running sums per plane (channels-first)
    // and channel chunks in tasks (channels-last): 1x32x112x112 0.26 -> 0.11 ms and 0.18 ->
    // 0.11 ms, 1x48x56x56 nchw 0.17 -> 0.05 ms (1 thread, cold; bench/RESULTS.md).
    if (global_average(s)) {
        k.sum = Sum::Parts;
        k.interleave = 1;
        k.reduce = Reduce::Inner;
        k.tasks = static_cast<int>(std::clamp<int64_t>(bytes / (64 << 10), 1, 16));
        // Channels-first: the column sums of a whole row in one (predicated) vector of up to 8
        // natural vectors, so each row is read front to back; one natural vector walked the
        // plane in 64-byte columns, which the prefetchers follow badly from DRAM (1x32x112x112
        // cold: 0.152 -> 0.067 ms, 8x32x112x112: 1.17 -> 0.55 ms; warm both ~0.02 ms).
        if (s.layout != Layout::NHWC) k.vectors = 8;
    }
    return k;
}

inline std::string format_knobs(const CpuKnobs &k) {
    std::string out;
    for (const KnobField &f : knob_fields()) out += (out.empty() ? "" : ",") + std::string(f.name) + ":" + f.write(k);
    return out;
}

// Applies "name:value,..." on top of `k`. Returns false with a message naming the bad part.
inline bool parse_knobs(const std::string &text, CpuKnobs *k, std::string *error) {
    std::stringstream ss(text);
    std::string item;
    auto bad = [&](const std::string &why) {
        if (error) *error = "cpu_schedule '" + text + "': " + why;
        return false;
    };
    while (std::getline(ss, item, ',')) {
        if (item.empty()) continue;
        const size_t colon = item.find(':');
        if (colon == std::string::npos) return bad("'" + item + "' is not name:value");
        const std::string name = item.substr(0, colon), value = item.substr(colon + 1);
        const auto &fields = knob_fields();
        auto f = std::find_if(fields.begin(), fields.end(), [&](const KnobField &x) { return name == x.name; });
        if (f == fields.end()) return bad("unknown knob '" + name + "'");
        if (!f->read(*k, value)) return bad(name + " must be " + f->rule);
    }
    return true;
}

// The tuner's search space for one kernel, in the order it is tried: the defaults; then every
// single-knob change of the defaults; then the whole product space, shuffled by `seed`
// (Fisher-Yates over mt19937_64: the same order on every platform). Duplicates removed.
inline std::vector<std::string> cpu_knob_candidates(const PoolSpec &s, uint64_t seed) {
    const CpuKnobs d = default_cpu_knobs(s);
    const bool avg = !is_max(s.op);
    const std::vector<Vectorize> vecs = s.layout == Layout::NHWC && s.input[1] >= 8 ? std::vector<Vectorize>{Vectorize::C}
                                                                                       : knob_values<Vectorize>();
    const std::vector<int> vectors = {1, 2, 4, 8}, tasks = {1, 2, 4, 8, 16, 32, 64}, interleave = {1, 2, 4, 8};
    const std::vector<Reduce> reduces = knob_values<Reduce>();
    const std::vector<Border> borders = is_windowed(s.op) ? knob_values<Border>() : std::vector<Border>{d.border};
    const std::vector<Sum> sums = avg && is_windowed(s.op)  ? std::vector<Sum>{Sum::PyTorch, Sum::Rows}
                                  : global_plane_average(s) ? std::vector<Sum>{Sum::PyTorch, Sum::Pairs, Sum::Parts}
                                  : global_average(s)       ? std::vector<Sum>{Sum::PyTorch, Sum::Parts}
                                                            : std::vector<Sum>{d.sum};
    const std::vector<MaxForm> maxforms = is_max(s.op) && !s.return_indices ? knob_values<MaxForm>() : std::vector<MaxForm>{d.maxform};
    // Combinations that the strategy would treat as another one.
    auto sensible = [&](const CpuKnobs &k) {
        if (k.reduce == Reduce::Outer && (k.vectorize != Vectorize::C || k.interleave != 1)) return false;
        // sum:parts schedules its own stages: only vectors and tasks apply.
        if (k.sum == Sum::Parts && (k.reduce != Reduce::Inner || k.interleave != 1 || k.vectorize != d.vectorize)) return false;
        return true;
    };
    std::vector<std::string> out = {format_knobs(d)};
    auto add = [&](const CpuKnobs &k) {
        if (!sensible(k)) return;
        const std::string f = format_knobs(k);
        if (std::find(out.begin(), out.end(), f) == out.end()) out.push_back(f);
    };
    // One knob away from the defaults.
    for (const auto &v : vecs) { CpuKnobs k = d; k.vectorize = v; add(k); }
    for (int v : vectors) { CpuKnobs k = d; k.vectors = v; add(k); }
    for (int v : tasks) { CpuKnobs k = d; k.tasks = v; add(k); }
    for (int v : interleave) { CpuKnobs k = d; k.interleave = v; add(k); }
    for (int v : {0, 1, 2, 4, 8}) { CpuKnobs k = d; k.prefetch = v; add(k); }
    for (const auto &v : reduces) { CpuKnobs k = d; k.reduce = v; add(k); }
    for (const auto &v : borders) { CpuKnobs k = d; k.border = v; add(k); }
    for (const auto &v : sums) { CpuKnobs k = d; k.sum = v; add(k); }
    for (const auto &v : maxforms) { CpuKnobs k = d; k.maxform = v; add(k); }
    const size_t fixed = out.size();
    for (const auto &vec : vecs)
        for (int nv : vectors)
            for (int t : tasks)
                for (int il : interleave)
                    for (const auto &red : reduces)
                        for (const auto &b : borders)
                            for (const auto &sm : sums)
                                for (const auto &mf : maxforms) {
                                    CpuKnobs k = d;
                                    k.vectorize = vec;
                                    k.vectors = nv;
                                    k.tasks = t;
                                    k.interleave = il;
                                    k.reduce = red;
                                    k.border = b;
                                    k.sum = sm;
                                    k.maxform = mf;
                                    add(k);
                                }
    std::mt19937_64 rng(seed);
    for (size_t i = out.size() - 1; i > fixed; i--) std::swap(out[i], out[fixed + rng() % (i - fixed + 1)]);
    return out;
}

}  // namespace poolgen::schedules
