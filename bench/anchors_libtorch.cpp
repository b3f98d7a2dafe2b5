// libtorch anchor (libtorch 2.x from `make anchors`, else Debian libtorch-dev 1.13): ATen's CPU
// pooling in NCHW and channels-last, through the at::*_out variants on preallocated outputs
// (libtorch 1.13 otherwise allocates per call, and page faults dominate large batches). Built as
// a module that `poolgen bench` dlopens.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/ops/adaptive_avg_pool2d.h>
#include <ATen/ops/adaptive_avg_pool3d.h>
#include <ATen/ops/adaptive_max_pool2d.h>
#include <ATen/ops/adaptive_max_pool3d.h>
#include <ATen/ops/avg_pool2d.h>
#include <ATen/ops/avg_pool3d.h>
#include <ATen/ops/max_pool2d_with_indices.h>
#include <ATen/ops/max_pool3d_with_indices.h>
#include <ATen/ops/_make_per_tensor_quantized_tensor.h>
#include <ATen/ops/int_repr.h>
#include <ATen/ops/max_pool2d.h>
#include <ATen/ops/max_pool3d.h>
#include <torch/csrc/api/include/torch/version.h>

#include "anchor_api.h"

namespace {

using namespace poolgen;
using poolgen::bench::Buffers;
using poolgen::bench::Impl;

std::vector<int64_t> dense_strides(const std::vector<int64_t> &logical, Layout l) {
    // logical N, C, spatial...; strides of the memory order (N, C, sp) or (N, sp, C).
    const int nd = static_cast<int>(logical.size());
    std::vector<int64_t> st(nd);
    if (l == Layout::NCHW) {
        int64_t s = 1;
        for (int d = nd - 1; d >= 0; d--) {
            st[d] = s;
            s *= logical[d];
        }
    } else {
        int64_t s = 1;
        st[1] = s;
        s *= logical[1];
        for (int d = nd - 1; d >= 2; d--) {
            st[d] = s;
            s *= logical[d];
        }
        st[0] = s;
    }
    return st;
}

class AtenPool : public Impl {
public:
    AtenPool(const PoolSpec &spec, const Buffers &b, Layout l) : spec_(spec), layout_(l) {
        const auto o = spec.output_shape();
        const auto in_st = dense_strides(spec.input, l), out_st = dense_strides(o, l);
        const auto type = b.dtype == DType::F16 ? at::kHalf : b.dtype == DType::BF16 ? at::kBFloat16 : at::kFloat;
        auto opts = at::TensorOptions().dtype(type);
        for (int i = 0; i < b.slots; i++) {
            in_.push_back(at::from_blob(const_cast<void *>(b.in(l, i)), spec.input, in_st, opts));
            out_.push_back(at::from_blob(b.out[i], o, out_st, opts));
            if (is_max(spec.op)) idx_.push_back(at::empty_strided(o, out_st, opts.dtype(at::kLong)));
            out_ptr_.push_back(b.out[i]);
        }
    }
    std::string name() const override { return std::string("libtorch:") + (layout_ == Layout::NCHW ? "nchw" : "nhwc"); }
    void run(int slot) override {
        const PoolSpec &s = spec_;
        at::Tensor &in = in_[slot], &out = out_[slot];
        const bool d3 = s.rank() == 3;
        switch (s.op) {
        case Op::MaxPool:
            if (d3) at::max_pool3d_with_indices_out(out, idx_[slot], in, s.kernel, s.stride, s.padding, s.dilation, s.ceil_mode);
            else at::max_pool2d_with_indices_out(out, idx_[slot], in, s.kernel, s.stride, s.padding, s.dilation, s.ceil_mode);
            break;
        case Op::AvgPool: {
            c10::optional<int64_t> div;
            if (s.divisor_override) div = *s.divisor_override;
            if (d3) at::avg_pool3d_out(out, in, s.kernel, s.stride, s.padding, s.ceil_mode, s.count_include_pad, div);
            else at::avg_pool2d_out(out, in, s.kernel, s.stride, s.padding, s.ceil_mode, s.count_include_pad, div);
            break;
        }
        case Op::AdaptiveMaxPool:
        case Op::GlobalMaxPool:
            if (d3) at::adaptive_max_pool3d_out(out, idx_[slot], in, s.output_size);
            else at::adaptive_max_pool2d_out(out, idx_[slot], in, s.output_size);
            break;
        case Op::AdaptiveAvgPool:
        case Op::GlobalAvgPool:
            if (d3) at::adaptive_avg_pool3d_out(out, in, s.output_size);
            else at::adaptive_avg_pool2d_out(out, in, s.output_size);
            break;
        case Op::LpPool:
        case Op::GlobalLpPool: break;  // make() adds none
        }
    }
    bool result(int slot, Layout layout, std::vector<float> *out) override {
        at::Tensor t = out_[slot];
        if (t.data_ptr() != out_ptr_[slot]) return false;  // ATen re-allocated: not comparable
        const auto o = spec_.output_shape();
        at::Tensor dst = at::empty_strided(o, dense_strides(o, layout), at::TensorOptions().dtype(at::kFloat));
        dst.copy_(t);  // widened to float
        out->assign(dst.data_ptr<float>(), dst.data_ptr<float>() + dst.numel());
        return true;
    }

private:
    PoolSpec spec_;
    Layout layout_;
    std::vector<at::Tensor> in_, out_, idx_;
    std::vector<void *> out_ptr_;
};

// u8/i8: ATen's quantized kernels on per-tensor quint8/qint8 tensors that view the codes (the
// scale never changes the codes). They have no _out variants: each call allocates its output,
// as it does for a libtorch user. Indices and adaptive max pooling have no quantized kernels.
class AtenQuantizedPool : public Impl {
public:
    AtenQuantizedPool(const PoolSpec &spec, const Buffers &b, Layout l) : spec_(spec), layout_(l) {
        const auto st = dense_strides(spec.input, l);
        const auto type = b.dtype == DType::U8 ? at::kByte : at::kChar;
        for (int i = 0; i < b.slots; i++) {
            at::Tensor codes = at::from_blob(const_cast<void *>(b.in(l, i)), spec.input, st, at::TensorOptions().dtype(type));
            in_.push_back(at::_make_per_tensor_quantized_tensor(codes, 0.05, spec.zero_point.value_or(0)));
            out_.emplace_back();
        }
    }
    std::string name() const override { return std::string("libtorch:") + (layout_ == Layout::NCHW ? "nchw" : "nhwc"); }
    void run(int slot) override {
        const PoolSpec &s = spec_;
        const at::Tensor &in = in_[slot];
        const bool d3 = s.rank() == 3;
        switch (s.op) {
        case Op::MaxPool:
            out_[slot] = d3 ? at::max_pool3d(in, s.kernel, s.stride, s.padding, s.dilation, s.ceil_mode)
                            : at::max_pool2d(in, s.kernel, s.stride, s.padding, s.dilation, s.ceil_mode);
            break;
        case Op::AvgPool: {
            c10::optional<int64_t> div;
            if (s.divisor_override) div = *s.divisor_override;
            out_[slot] = d3 ? at::avg_pool3d(in, s.kernel, s.stride, s.padding, s.ceil_mode, s.count_include_pad, div)
                            : at::avg_pool2d(in, s.kernel, s.stride, s.padding, s.ceil_mode, s.count_include_pad, div);
            break;
        }
        default:
            out_[slot] = d3 ? at::adaptive_avg_pool3d(in, s.output_size) : at::adaptive_avg_pool2d(in, s.output_size);
            break;
        }
    }
    bool result(int slot, Layout layout, std::vector<float> *out) override {
        if (!out_[slot].defined()) return false;
        const auto o = spec_.output_shape();
        at::Tensor dst = at::empty_strided(o, dense_strides(o, layout), at::TensorOptions().dtype(at::kFloat));
        dst.copy_(at::int_repr(out_[slot]));  // the codes, widened to float
        out->assign(dst.data_ptr<float>(), dst.data_ptr<float>() + dst.numel());
        return true;
    }

private:
    PoolSpec spec_;
    Layout layout_;
    std::vector<at::Tensor> in_, out_;
};

std::string version() {
#if AT_PARALLEL_OPENMP
    return "libtorch " TORCH_VERSION " (ATen parallel backend: OpenMP)";
#else
    return "libtorch " TORCH_VERSION " (ATen parallel backend: native)";
#endif
}

void set_threads(int n) { at::set_num_threads(n); }

void make(const PoolSpec &spec, const Buffers &b, std::vector<std::unique_ptr<Impl>> *impls, std::vector<std::string> *notes) {
    if (spec.rank() == 1) {
        notes->push_back("libtorch: skipped: 1D pooling runs the 2D kernel with a unit dim; not benchmarked");
        return;
    }
    if (is_lp(spec.op)) {
        notes->push_back("libtorch: skipped: Lp pooling has no ATen kernel (torch's lp_pool is composed in Python)");
        return;
    }
    if (is_quantized(b.dtype)) {
        if (spec.return_indices || spec.op == Op::AdaptiveMaxPool || spec.op == Op::GlobalMaxPool) {
            notes->push_back("libtorch: skipped: no quantized kernel for indices or adaptive max pooling");
            return;
        }
        for (Layout l : {Layout::NCHW, Layout::NHWC}) impls->push_back(std::make_unique<AtenQuantizedPool>(spec, b, l));
        return;
    }
    for (Layout l : {Layout::NCHW, Layout::NHWC}) impls->push_back(std::make_unique<AtenPool>(spec, b, l));
}

const poolgen::bench::AnchorModule kModule = {"libtorch", &version, &set_threads, &make};

}  // namespace

extern "C" const poolgen::bench::AnchorModule *poolgen_anchor_module_v2() { return &kModule; }
