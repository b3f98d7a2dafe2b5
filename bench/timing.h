// Timing helpers shared by `poolgen bench` and `poolgen tune`: rotating cold-cache buffers,
// warm-up, repetitions and medians.
#pragma once
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "anchor_api.h"
#include "poolgen/poolgen.h"
#include "poolgen/reference.h"
#include "poolgen/util.h"

namespace poolgen::bench {

using clock_type = std::chrono::steady_clock;

// ---- buffers -----------------------------------------------------------------------------

[[noreturn]] inline void fail(const std::string &m) { throw std::runtime_error(m); }

// The non-empty parts of `s` between `sep`s (CMake lists, paths, output lines).
inline std::vector<std::string> split(const std::string &s, char sep) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, sep))
        if (!item.empty()) out.push_back(item);
    return out;
}

struct AlignedFree {
    void operator()(void *p) const { std::free(p); }
};
using ByteBuf = std::unique_ptr<uint8_t, AlignedFree>;

inline ByteBuf alloc_bytes(size_t n) {
    const size_t bytes = std::max<size_t>(64, (n + 63) / 64 * 64);
    uint8_t *p = static_cast<uint8_t *>(std::aligned_alloc(64, bytes));
    if (!p) fail("out of memory allocating " + std::to_string(bytes >> 20) + " MB of benchmark buffers");
    std::memset(p, 0, bytes);  // resident before any timing
    return ByteBuf(p);
}

// Logical (N, C, spatial) offset in a dense array of `layout`.
inline size_t offset(const std::vector<int64_t> &shape, Layout l, int64_t n, int64_t c, int64_t sp) {
    const int64_t C = shape[1];
    int64_t S = 1;
    for (size_t d = 2; d < shape.size(); d++) S *= shape[d];
    return static_cast<size_t>(l == Layout::NCHW ? (n * C + c) * S + sp : (n * S + sp) * C + c);
}

struct Storage {
    Buffers view;
    std::vector<ByteBuf> owned;
};

// Inputs on a 1/8 grid (ties, exact sums; libpoolgen's sample_input without specials, exact in
// every dtype), no NaN: anchors are compared by value, and their NaN rules are their own.
inline void make_buffers(const PoolSpec &logical, int slots, Storage *st) {
    const size_t in_n = static_cast<size_t>(logical.input_elements()), out_n = static_cast<size_t>(logical.output_elements());
    const size_t elem = dtype_size(logical.dtype);
    const std::vector<float> values = reference::sample_input(logical, 1, false);
    if (values.size() != in_n) fail("out of memory drawing the benchmark's input");
    const int64_t N = logical.input[0], C = logical.input[1];
    int64_t S = 1;
    for (size_t d = 2; d < logical.input.size(); d++) S *= logical.input[d];
    std::vector<float> nhwc_values(in_n);
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t s = 0; s < S; s++)
                nhwc_values[offset(logical.input, Layout::NHWC, n, c, s)] = values[offset(logical.input, Layout::NCHW, n, c, s)];
    const std::vector<uint8_t> nchw = store_elements(logical.dtype, values.data(), static_cast<int64_t>(in_n));
    const std::vector<uint8_t> nhwc = store_elements(logical.dtype, nhwc_values.data(), static_cast<int64_t>(in_n));
    st->view.dtype = logical.dtype;
    st->view.slots = slots;
    st->view.wide_nchw = values;
    st->view.wide_nhwc = std::move(nhwc_values);
    for (int i = 0; i < slots; i++) {
        for (int l = 0; l < 2; l++) {
            ByteBuf b = alloc_bytes(in_n * elem);
            std::memcpy(b.get(), (l == 0 ? nchw : nhwc).data(), in_n * elem);
            (l == 0 ? st->view.nchw : st->view.nhwc).push_back(b.get());
            st->owned.push_back(std::move(b));
        }
        ByteBuf o = alloc_bytes(out_n * elem);
        st->view.out.push_back(o.get());
        st->owned.push_back(std::move(o));
    }
}

struct Timed {
    Impl *impl = nullptr;
    std::string kernel;  // empty: shared by every kernel of the group
    int64_t calls = 1;   // per repetition
    int next = 0;        // rotating slot
    std::vector<double> samples = {};
    double median() const { return util::median(samples); }
};

inline double seconds_since(clock_type::time_point t0) { return std::chrono::duration<double>(clock_type::now() - t0).count(); }

// Rotating buffer sets so that the footprint is at least cold_mb (1 set when 0).
inline int rotation_slots(double footprint_bytes, double cold_mb) {
    if (cold_mb <= 0) return 1;
    return static_cast<int>(std::min(100000.0, std::max(1.0, std::ceil(cold_mb * 1048576.0 / footprint_bytes))));
}

// `finish` waits for work the calls only queued (GPU launches): inside every timed region.
using Finish = std::function<void()>;

// Warm-up: one full rotation (every buffer touched, page faults taken), at least 0.05 s and at
// most ~2 s; sets the calls per repetition from the per-call time it saw.
inline void calibrate(Timed &t, int slots, double min_time, const Finish &finish = nullptr) {
    const auto t0 = clock_type::now();
    int64_t calls = 0;
    do {
        t.impl->run(t.next);
        t.next = (t.next + 1) % slots;
        calls++;
    } while ((calls < slots && seconds_since(t0) < 2.0) || seconds_since(t0) < 0.05);
    if (finish) finish();
    const double per_call = seconds_since(t0) / calls;
    t.calls = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(min_time / per_call)));
}

inline void repetition(Timed &t, int slots, const Finish &finish = nullptr) {
    const auto t0 = clock_type::now();
    for (int64_t i = 0; i < t.calls; i++) {
        t.impl->run(t.next);
        t.next = (t.next + 1) % slots;
    }
    if (finish) finish();
    t.samples.push_back(seconds_since(t0) * 1e3 / t.calls);
}

// Our kernel on the rotating buffers (its own layout), with rotating index outputs.
class PoolgenImpl : public Impl {
public:
    PoolgenImpl(const Kernel *k, const Buffers &b, std::string label = "poolgen") : k_(k), b_(b), label_(std::move(label)) {
        if (k->spec().return_indices)
            for (int i = 0; i < b.slots; i++) idx_.emplace_back(static_cast<size_t>(k->spec().output_elements()));
    }
    std::string name() const override { return label_; }
    void run(int slot) override {
        Status s = k_->run(b_.in(k_->spec().layout, slot), b_.out[slot], idx_.empty() ? nullptr : idx_[slot].data(), Device::CPU);
        if (!s.ok()) fail("kernel '" + k_->name() + "': " + s.message());
    }
    bool result(int slot, Layout layout, std::vector<float> *out) override {
        if (layout != k_->spec().layout) return false;
        *out = load_elements(k_->spec().dtype, b_.out[slot], k_->spec().output_elements());
        return true;
    }
    const int64_t *indices(int slot) const { return idx_.empty() ? nullptr : idx_[slot].data(); }
    const Kernel *kernel() const { return k_; }

private:
    const Kernel *k_;
    const Buffers &b_;
    std::string label_;
    std::vector<std::vector<int64_t>> idx_;
};

}  // namespace poolgen::bench
