// The pooling generator: one kernel for every op, spatial rank (1D/2D/3D) and layout, its
// algorithm assembled from the pieces in pool_algorithm.h and scheduled by a strategy from
// schedules/. Every shape and window parameter is a GeneratorParam and so a compile-time
// constant. Semantics are PyTorch's (docs/semantics.md).
#include <array>
#include <cstdio>
#include <cstring>
#include <limits>
#include <utility>

#include "Halide.h"
#include "cpu_strategy.h"
#include "cuda_strategy.h"
#include "pool_algorithm.h"
#include "poolgen/spec.h"
#include "poolgen/spec_fields.h"

namespace {

using namespace Halide;

// Halide warns that "(b)float16 type operation is emulated" for f16 kernels on x86 targets
// without F16C (the SSE4.1 variant), where poolgen converts f16 in integer instructions itself:
// expected, and nothing a user can act on. Other warnings pass; errors are thrown as Halide's
// default reporter throws them.
class QuietHalfEmulation : public CompileTimeErrorReporter {
public:
    void warning(const char *msg) override {
        if (std::strstr(msg, "float16 type operation is emulated")) return;
        std::fputs(msg, stderr);
    }
    [[noreturn]] void error(const char *msg) override { throw CompileError(msg); }
};

class PoolGenerator : public Generator<PoolGenerator> {
public:
    // What to compute: one string parameter per spec field (runtime/spec/spec_fields.h), named
    // and written as the table says ("shape=1x64x112x112", "ceil_mode=true", ...).
    std::array<GeneratorParam<std::string>, poolgen::kSpecFieldCount> spec_params =
        make_spec_params(std::make_index_sequence<poolgen::kSpecFieldCount>{});

    // CPU strategy knobs (schedules/cpu_knobs.h), "name:value,..." over the strategy's
    // defaults for this kernel; set from a schedules/db entry or by `poolgen tune`.
    GeneratorParam<std::string> cpu_schedule{"cpu_schedule", ""};
    // CUDA strategy knobs (schedules/cuda_strategy.h).
    GeneratorParam<int> cuda_threads_x{"cuda_threads_x", 32};
    GeneratorParam<int> cuda_threads_y{"cuda_threads_y", 8};
    GeneratorParam<int> cuda_unroll_window{"cuda_unroll_window", 9};
    GeneratorParam<int> cuda_split{"cuda_split", 0};             // parts per window: 0 from the shape, 1 serial
    GeneratorParam<int> cuda_split_grid{"cuda_split_grid", -1};  // parts in a second kernel: -1 from the shape

    void configure() {
        spec_ = make_spec();
        static QuietHalfEmulation quiet;
        if (spec_.dtype == poolgen::DType::F16) set_custom_compile_time_error_reporter(&quiet);
        const int dims = static_cast<int>(spec_.input.size());
        const Type element = poolgen::algorithm::element_type(spec_.dtype);
        input_ = add_input<Buffer<>>("input", element, dims);
        std::vector<Type> types = {element};
        if (spec_.return_indices) types.push_back(Int(64));
        output_ = add_output<Func>("output", types, dims);
    }

    void generate() {
        using poolgen::schedules::MaxForm;
        using poolgen::schedules::Sum;
        const auto &s = spec_;
        poolgen::schedules::CpuKnobs knobs = poolgen::schedules::default_cpu_knobs(s);
        std::string knob_error;
        _halide_user_assert(poolgen::schedules::parse_knobs(cpu_schedule, &knobs, &knob_error)) << "poolgen: " << knob_error;

        // The algorithm reads two knobs, and only to choose between formulations of the same
        // result that a schedule cannot express: how a window's average is summed (PyTorch's
        // order, rows first, or two interleaved sums: different roundings) and how the max rule
        // is written (one running value, or the last NaN and the maximum kept apart: the same
        // bits, different instruction sequences). Every other knob only schedules.
        poolgen::algorithm::Formulation form;
        form.rows_sum = knobs.sum == Sum::Rows;
        form.pairs_sum = knobs.sum == Sum::Pairs;
        form.fused_max = knobs.maxform == MaxForm::Fused;
        form.parts_sum = knobs.sum == Sum::Parts;
        // Channels-last parts: the tasks share the images first, then each image's rows.
        form.blocks = knobs.tasks <= 1 ? 1 : static_cast<int>((knobs.tasks + s.input[0] - 1) / s.input[0]);
        // GPU targets: whether a large window's reduction is split into parts (the strategy's
        // plan, from the shape and the cuda_split knobs) is the third formulation choice.
        const poolgen::schedules::CudaKnobs cuda_knobs{cuda_threads_x, cuda_threads_y, cuda_unroll_window, cuda_split,
                                                       cuda_split_grid};
        int taps = 1;
        for (const auto &w : poolgen::algorithm::windows(s, poolgen::algorithm::spatial_vars(s.rank()))) taps *= w.taps;
        const bool gpu = get_target().has_gpu_feature();
        const poolgen::schedules::CudaSplitPlan plan = poolgen::schedules::plan_cuda_split(s, taps, cuda_knobs);
        if (gpu) {
            form.split_chunks = plan.chunks;
            form.parts_sum = false;  // the GPU strategy splits by its own plan
        }
        form.element_sums = !gpu;  // PyTorch's CUDA kernels sum in float32 throughout
        const Target t = get_target();
        // F16C comes with AVX2 and every AVX-512 level (Halide's target strings for them need not
        // name it); the SSE4.1 baseline lacks it.
        const bool f16c = t.has_feature(Target::F16C) || t.has_feature(Target::AVX2) || t.has_feature(Target::AVX512) ||
                          t.has_feature(Target::AVX512_Skylake) || t.has_feature(Target::AVX512_Cannonlake) ||
                          t.has_feature(Target::AVX512_SapphireRapids) || t.has_feature(Target::AVX512_Zen4) ||
                          t.has_feature(Target::AVX512_Zen5);
        form.soft_f16 = !gpu && t.arch == Target::X86 && !f16c;
        const poolgen::algorithm::Pipeline p = poolgen::algorithm::pool(s, *input_, form);
        const std::vector<Var> &out_args = p.args;
        std::vector<Expr> result = p.result;
        result[0] = poolgen::algorithm::to_element(s, result[0], form.soft_f16);

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
        const int r = s.rank();
        const bool adaptive = poolgen::is_adaptive(s.op);
        poolgen::schedules::PoolStages st;
        st.input = *input_;
        st.output = out;
        st.pooled = p.pooled;
        st.window = p.window;
        st.spatial = p.spatial;
        st.c = p.c;
        st.n = p.n;
        st.channels_last = s.layout == poolgen::Layout::NHWC;
        const std::vector<int64_t> out_shape = s.output_shape();
        for (int i = 0; i < r; i++) st.out_spatial.push_back(static_cast<int>(out_shape[2 + i]));
        st.channels = static_cast<int>(s.input[1]);
        st.batch = static_cast<int>(s.input[0]);
        st.window_taps = p.window_taps;
        st.value_type = poolgen::algorithm::value_type(s);
        if (!adaptive) st.padded = p.padded;
        st.padded_everywhere = !adaptive && poolgen::algorithm::any_check(p.windows);
        st.padded_plane_elements = st.channels_last ? s.input[1] : 1;
        for (int i = 0; i < r; i++) {  // saturates at 2^40: only compared with a small limit
            const int64_t extent = s.input[2 + i] + (adaptive ? 0 : s.pad_begin(i) + s.pad_end(i) + s.stride[i]);  // < 2^33
            const int64_t cap = int64_t(1) << 40;
            st.padded_plane_elements = st.padded_plane_elements > cap / extent ? cap : st.padded_plane_elements * extent;
        }
        if (p.rows_sum) st.rowsum = p.rowsum;
        for (size_t i = 0; i < out_args.size(); i++) {
            st.memory_vars.push_back(out_args[i]);
            st.memory_extents.push_back(static_cast<int>(out_mem[out_mem.size() - 1 - i]));
        }
        if (p.split) {
            st.split = true;
            st.partial = p.split_form.partial;
            st.part = p.split_form.part;
            st.part_taps = p.split_form.part_taps;
            st.chunks = p.split_form.chunks;
            st.chunk_taps = p.split_form.chunk_taps;
        }
        if (gpu) {  // CUDA, or OpenCL for the tests that run the GPU strategy without a GPU
            poolgen::schedules::apply_cuda_schedule(st, cuda_knobs, plan.grid);
            return;
        }
        poolgen::schedules::apply_cpu_schedule(st, knobs, get_target());
    }

private:
    poolgen::PoolSpec spec_;
    GeneratorInput<Buffer<>> *input_ = nullptr;
    GeneratorOutput<Func> *output_ = nullptr;

    // Constructed in place (guaranteed copy elision), inside the generator object, where
    // Halide looks for its parameters.
    template <size_t... I>
    static std::array<GeneratorParam<std::string>, sizeof...(I)> make_spec_params(std::index_sequence<I...>) {
        return {GeneratorParam<std::string>(poolgen::spec_fields()[I].param, "")...};
    }

    poolgen::PoolSpec make_spec() {
        std::vector<std::string> words;
        for (size_t i = 0; i < poolgen::kSpecFieldCount; i++)
            words.push_back(std::string(poolgen::spec_fields()[i].param) + "=" + spec_params[i].value());
        poolgen::PoolSpec s;
        poolgen::Status st = poolgen::spec_from_words(words, &s);
        _halide_user_assert(st.ok()) << "poolgen: bad kernel parameter: " << st.message();
        s.normalize();
        st = s.validate();
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
