// oneDNN anchor (oneDNN 3.x from `make anchors`, else Debian libdnnl-dev 2.6): its pooling
// primitive in the plain layouts and in its blocked layout (nChw16c), plus the reorders a user
// with plain data pays to use the blocked one, timed apart. Built as a module that
// `poolgen bench` dlopens.
#include <omp.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>
#include <stdexcept>

#include "anchor_api.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace {

using namespace poolgen;
using poolgen::bench::Buffers;
using poolgen::bench::Impl;
using dnnl::memory;
using tag = dnnl::memory::format_tag;

dnnl::engine &engine() {
    static dnnl::engine e(dnnl::engine::kind::cpu, 0);
    return e;
}

tag plain_tag(int rank, Layout l) {
    const bool first = l == Layout::NCHW;
    switch (rank) {
    case 1: return first ? tag::ncw : tag::nwc;
    case 2: return first ? tag::nchw : tag::nhwc;
    default: return first ? tag::ncdhw : tag::ndhwc;
    }
}

memory::data_type data_type_of(DType d) {
    switch (d) {
    case DType::F16: return memory::data_type::f16;
    case DType::BF16: return memory::data_type::bf16;
    case DType::U8: return memory::data_type::u8;
    case DType::I8: return memory::data_type::s8;
    case DType::F32: break;
    }
    return memory::data_type::f32;
}

tag blocked_tag(int rank) { return rank == 1 ? tag::nCw16c : rank == 2 ? tag::nChw16c : tag::nCdhw16c; }

// The window parameters oneDNN computes the spec with, per spatial dim.
struct Window {
    memory::dims kernel, stride, dilation, pad_l, pad_r;
    dnnl::algorithm alg;
};

// Adaptive windows [floor(i*n/m), ceil((i+1)*n/m)) expressed as a fixed window with padding,
// where one exists: the same windows clipped to the input give the same max, and the same mean
// when padding is excluded from the divisor.
std::optional<std::array<int64_t, 3>> adaptive_as_window(int64_t n, int64_t m) {
    for (int64_t s = 1; s <= n; s++)
        for (int64_t k = 1; k <= n; k++)
            for (int64_t pl = 0; pl < k; pl++) {
                const int64_t pr = (m - 1) * s + k - n - pl;
                if (pr < 0 || pr >= k) continue;
                bool same = true;
                for (int64_t i = 0; i < m && same; i++) {
                    const int64_t a = std::max<int64_t>(i * s - pl, 0), b = std::min<int64_t>(i * s - pl + k, n);
                    same = a == (i * n) / m && b == ((i + 1) * n + m - 1) / m;
                }
                if (same) return std::array<int64_t, 3>{k, s, pl};
            }
    return std::nullopt;
}

std::optional<Window> window_of(const PoolSpec &s, std::string *why) {
    Window w;
    const int r = s.rank();
    const std::vector<int64_t> out = s.output_shape();
    if (is_lp(s.op)) {
        *why = "oneDNN has no Lp pooling";
        return std::nullopt;
    }
    if (is_adaptive(s.op)) {
        w.alg = is_max(s.op) ? dnnl::algorithm::pooling_max : dnnl::algorithm::pooling_avg_exclude_padding;
        for (int i = 0; i < r; i++) {
            const auto kw = adaptive_as_window(s.input[2 + i], s.output_size[i]);
            if (!kw) {
                *why = "adaptive windows " + std::to_string(s.input[2 + i]) + " -> " + std::to_string(s.output_size[i]) +
                       " are not one fixed window";
                return std::nullopt;
            }
            w.kernel.push_back((*kw)[0]);
            w.stride.push_back((*kw)[1]);
            w.pad_l.push_back((*kw)[2]);
            w.pad_r.push_back((s.output_size[i] - 1) * (*kw)[1] + (*kw)[0] - s.input[2 + i] - (*kw)[2]);
            w.dilation.push_back(0);
        }
        return w;
    }
    if (s.op == Op::AvgPool && s.divisor_override) {
        *why = "divisor_override has no oneDNN equivalent";
        return std::nullopt;
    }
    w.alg = s.op == Op::MaxPool ? dnnl::algorithm::pooling_max
            : s.count_include_pad ? dnnl::algorithm::pooling_avg_include_padding
                                  : dnnl::algorithm::pooling_avg_exclude_padding;
    for (int i = 0; i < r; i++) {
        const int64_t k_eff = s.dilation[i] * (s.kernel[i] - 1) + 1;
        w.kernel.push_back(s.kernel[i]);
        w.stride.push_back(s.stride[i]);
        w.dilation.push_back(s.dilation[i] - 1);  // oneDNN counts the gaps
        w.pad_l.push_back(s.padding[i]);
        // ceil_mode: extend the right padding so the last window exists (verified afterwards;
        // average divisors at that edge may differ from PyTorch's, and verification says so).
        w.pad_r.push_back(std::max<int64_t>(s.padding[i], (out[2 + i] - 1) * s.stride[i] + k_eff - s.input[2 + i] - s.padding[i]));
    }
    return w;
}

// oneDNN 3.x (make anchors) renamed 2.x's pooling_v2_forward, the one with dilation.
#if DNNL_VERSION_MAJOR >= 3
using PoolingPrimitive = dnnl::pooling_forward;
#else
using PoolingPrimitive = dnnl::pooling_v2_forward;
#endif

// One pooling primitive on rotating buffers in one memory format.
class Pool : public Impl {
public:
    Pool(const PoolSpec &spec, const Buffers &b, const Window &w, tag fmt, bool blocked)
        : spec_(spec), buf_(b), blocked_(blocked), fmt_(fmt), rank_(spec.rank()) {
        memory::dims in(spec.input.begin(), spec.input.end());
        const auto o = spec.output_shape();
        memory::dims out(o.begin(), o.end());
        const memory::data_type dt = data_type_of(b.dtype);
        in_md_ = memory::desc(in, dt, fmt);
        out_md_ = memory::desc(out, dt, fmt);
#if DNNL_VERSION_MAJOR >= 3
        pd_ = PoolingPrimitive::primitive_desc(engine(), dnnl::prop_kind::forward_inference, w.alg, in_md_, out_md_, w.stride,
                                               w.kernel, w.dilation, w.pad_l, w.pad_r);
#else
        PoolingPrimitive::desc d(dnnl::prop_kind::forward_inference, w.alg, in_md_, out_md_, w.stride, w.kernel, w.dilation,
                                 w.pad_l, w.pad_r);
        pd_ = PoolingPrimitive::primitive_desc(d, engine());
#endif
        prim_ = PoolingPrimitive(pd_);
        stream_ = dnnl::stream(engine());
        for (int i = 0; i < b.slots; i++) {
            if (blocked) {
                // Own blocked copies, made once from the plain nchw slots (not timed here).
                in_mem_.emplace_back(in_md_, engine());
                out_mem_.emplace_back(out_md_, engine());
                memory src({in, dt, plain_tag(rank_, Layout::NCHW)}, engine(), const_cast<void *>(b.nchw[i]));
                dnnl::reorder(src, in_mem_.back()).execute(stream_, src, in_mem_.back());
            } else {
                const Layout l = fmt == plain_tag(rank_, Layout::NCHW) ? Layout::NCHW : Layout::NHWC;
                in_mem_.emplace_back(in_md_, engine(), const_cast<void *>(b.in(l, i)));
                out_mem_.emplace_back(out_md_, engine(), b.out[i]);
            }
        }
        stream_.wait();
        tag_name_ = blocked ? (rank_ == 1 ? "nCw16c" : rank_ == 2 ? "nChw16c" : "nCdhw16c")
                            : (fmt == plain_tag(rank_, Layout::NCHW) ? "nchw" : "nhwc");
    }
    std::string name() const override { return "onednn:" + tag_name_; }
    void run(int slot) override {
        prim_.execute(stream_, {{DNNL_ARG_SRC, in_mem_[slot]}, {DNNL_ARG_DST, out_mem_[slot]}});
        stream_.wait();
    }
    bool result(int slot, Layout layout, std::vector<float> *out) override {
        const auto o = spec_.output_shape();
        memory::dims od(o.begin(), o.end());
        out->assign(static_cast<size_t>(spec_.output_elements()), 0.0f);
        memory dst({od, memory::data_type::f32, plain_tag(rank_, layout)}, engine(), out->data());  // widened by the reorder
        dnnl::reorder(out_mem_[slot], dst).execute(stream_, out_mem_[slot], dst);
        stream_.wait();
        return true;
    }
    // For the reorder rows: the blocked descriptors and memories.
    const memory::desc &in_md() const { return in_md_; }
    const memory::desc &out_md() const { return out_md_; }
    memory &in_mem(int i) { return in_mem_[i]; }
    memory &out_mem(int i) { return out_mem_[i]; }

private:
    PoolSpec spec_;
    const Buffers &buf_;
    bool blocked_;
    tag fmt_;
    int rank_;
    std::string tag_name_;
    memory::desc in_md_, out_md_;
    PoolingPrimitive::primitive_desc pd_;
    dnnl::primitive prim_;
    dnnl::stream stream_;
    std::vector<memory> in_mem_, out_mem_;
};

// What a user with plain data pays around the blocked primitive: the input reorder to the
// blocked layout and the output reorder back, both in one timed call.
class Reorders : public Impl {
public:
    Reorders(const PoolSpec &spec, const Buffers &b, Pool *blocked, Layout l) : blocked_(blocked), layout_(l) {
        memory::dims in(spec.input.begin(), spec.input.end());
        const auto o = spec.output_shape();
        memory::dims out(o.begin(), o.end());
        const int r = spec.rank();
        stream_ = dnnl::stream(engine());
        for (int i = 0; i < b.slots; i++) {
            const memory::data_type dt = data_type_of(b.dtype);
            src_.emplace_back(memory::desc(in, dt, plain_tag(r, l)), engine(), const_cast<void *>(b.in(l, i)));
            dst_.emplace_back(memory::desc(out, dt, plain_tag(r, l)), engine(), b.out[i]);
        }
        to_blocked_ = dnnl::reorder(src_[0], blocked->in_mem(0));
        from_blocked_ = dnnl::reorder(blocked->out_mem(0), dst_[0]);
    }
    std::string name() const override {
        return std::string("onednn:reorders:") + (layout_ == Layout::NCHW ? "nchw" : "nhwc");
    }
    void run(int slot) override {
        to_blocked_.execute(stream_, src_[slot], blocked_->in_mem(slot));
        from_blocked_.execute(stream_, blocked_->out_mem(slot), dst_[slot]);
        stream_.wait();
    }
    bool result(int, Layout, std::vector<float> *) override { return false; }
    bool is_anchor() const override { return false; }

private:
    Pool *blocked_;
    Layout layout_;
    dnnl::stream stream_;
    std::vector<memory> src_, dst_;
    dnnl::reorder to_blocked_, from_blocked_;
};

std::string isa_name() {
    switch (static_cast<int>(dnnl::get_effective_cpu_isa())) {
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "isa code " + std::to_string(static_cast<int>(dnnl::get_effective_cpu_isa()));
    }
}

std::string version() {
    const dnnl_version_t *v = dnnl_version();
    return "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch) + " (" +
           (v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP" : v->cpu_runtime == DNNL_RUNTIME_TBB ? "TBB" : "other runtime") +
           ", JIT " + isa_name() + ")";
}

void set_threads(int n) { omp_set_num_threads(n); }

void make(const PoolSpec &spec, const Buffers &b, std::vector<std::unique_ptr<Impl>> *impls, std::vector<std::string> *notes) {
    if (spec.return_indices) notes->push_back("onednn: indices are workspace-only in oneDNN; timing values only");
    std::string why;
    const auto w = window_of(spec, &why);
    if (!w) {
        notes->push_back("onednn: skipped: " + why);
        return;
    }
    const int r = spec.rank();
    Pool *blocked = nullptr;
    for (int f = 0; f < 3; f++) {
        try {
            const bool is_blocked = f == 2;
            const tag fmt = is_blocked ? blocked_tag(r) : plain_tag(r, f == 0 ? Layout::NCHW : Layout::NHWC);
            auto p = std::make_unique<Pool>(spec, b, *w, fmt, is_blocked);
            if (is_blocked) blocked = p.get();
            impls->push_back(std::move(p));
        } catch (const std::exception &e) {
            notes->push_back(std::string("onednn: layout ") + std::to_string(f) + " unavailable: " + e.what());
        }
    }
    if (blocked)
        for (Layout l : {Layout::NCHW, Layout::NHWC}) impls->push_back(std::make_unique<Reorders>(spec, b, blocked, l));
}

const poolgen::bench::AnchorModule kModule = {"onednn", &version, &set_threads, &make};

}  // namespace

extern "C" const poolgen::bench::AnchorModule *poolgen_anchor_module_v2() { return &kModule; }
