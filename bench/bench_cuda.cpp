// `poolgen bench --device cuda`: every CUDA kernel of this binary timed on device-resident
// buffers against a device-to-device copy of the same bytes, in one process run. Method as on
// the CPU (bench/RESULTS.md): inputs and outputs rotate over enough buffer sets that every call
// reads from memory (at least --cold-mb and at least twice the GPU's L2); each implementation is
// warmed up over a full rotation, then timed in --repeats repetitions of >= --min-time seconds,
// each a run of calls followed by a device synchronization inside the timed region, interleaved
// across implementations; the median per-call time is reported. Each kernel's result is copied
// back and checked against the reference loops before it is timed.
//
// The copy is halide_buffer_copy between two device buffers: a single cuMemcpyDtoD issued by
// Halide's CUDA runtime in its own context and on its stream, the ones the kernels run on, so
// both sides pay the same per-call host path and neither needs a context of poolgen's making.
#include "bench.h"

#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <sstream>

#include "HalideRuntime.h"
#include "bench_config.h"
#include "poolgen/poolgen.h"
#include "report.h"
#include "timing.h"

#if POOLGEN_BENCH_CUDA
#include "HalideRuntimeCuda.h"

// Halide's default context hook (runtime/cuda.cpp), exported by the runtime but not declared
// in HalideRuntimeCuda.h; CUcontext is an opaque pointer.
extern "C" int halide_cuda_acquire_context(void *user_context, void **ctx, bool create);
extern "C" int halide_cuda_release_context(void *user_context);
#endif

namespace poolgen::bench {

#if POOLGEN_BENCH_CUDA

namespace {

std::string halide_error_text(int rc, const char *what) {
    return std::string(what) + " failed (Halide error " + std::to_string(rc) + ")";
}

// What the driver says about the GPU Halide's context runs on. libcuda is loaded as the
// runtime's detection does (never linked); a missing entry point leaves a field unknown.
struct GpuInfo {
    std::string name = "unknown";
    int sm_count = 0, cc_major = 0, cc_minor = 0, driver_version = 0;
    long long l2_bytes = 0, memory_bytes = 0;
};

GpuInfo query_gpu() {
    GpuInfo g;
    void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) return g;
    using push_t = int (*)(void *);
    using pop_t = int (*)(void **);
    using get_device_t = int (*)(int *);
    using name_t = int (*)(char *, int, int);
    using attr_t = int (*)(int *, int, int);
    using mem_t = int (*)(size_t *, int);
    using version_t = int (*)(int *);
    auto push = reinterpret_cast<push_t>(dlsym(lib, "cuCtxPushCurrent_v2"));
    auto pop = reinterpret_cast<pop_t>(dlsym(lib, "cuCtxPopCurrent_v2"));
    auto get_device = reinterpret_cast<get_device_t>(dlsym(lib, "cuCtxGetDevice"));
    auto name = reinterpret_cast<name_t>(dlsym(lib, "cuDeviceGetName"));
    auto attr = reinterpret_cast<attr_t>(dlsym(lib, "cuDeviceGetAttribute"));
    auto mem = reinterpret_cast<mem_t>(dlsym(lib, "cuDeviceTotalMem_v2"));
    auto version = reinterpret_cast<version_t>(dlsym(lib, "cuDriverGetVersion"));
    if (version) version(&g.driver_version);
    void *ctx = nullptr;
    if (!push || !pop || !get_device || halide_cuda_acquire_context(nullptr, &ctx, true) != 0 || !ctx) return g;
    int dev = -1;
    if (push(ctx) == 0) {
        if (get_device(&dev) != 0) dev = -1;
        void *old = nullptr;
        pop(&old);
    }
    halide_cuda_release_context(nullptr);
    if (dev < 0) return g;
    char b[256] = {};
    if (name && name(b, sizeof b - 1, dev) == 0) g.name = b;
    // CUdevice_attribute: 16 multiprocessors, 38 L2 bytes, 75/76 compute capability.
    int v = 0;
    if (attr && attr(&v, 16, dev) == 0) g.sm_count = v;
    if (attr && attr(&v, 38, dev) == 0) g.l2_bytes = v;
    if (attr && attr(&v, 75, dev) == 0) g.cc_major = v;
    if (attr && attr(&v, 76, dev) == 0) g.cc_minor = v;
    size_t bytes = 0;
    if (mem && mem(&bytes, dev) == 0) g.memory_bytes = static_cast<long long>(bytes);
    return g;
}

// One device allocation holding `slots` dense tensors of `elements` each, slot after slot at a
// 256-byte aligned pitch, with a halide_buffer_t view per slot that the kernels take in place.
class DeviceSlab {
public:
    DeviceSlab(halide_type_t type, const std::vector<int64_t> &shape, int slots) : shape_(shape) {
        const int64_t elem = type.bytes();
        int64_t elements = 1;
        for (int64_t e : shape) elements *= e;
        pitch_ = (elements * elem + 255) / 256 * 256 / elem;
        if (pitch_ > INT32_MAX) fail("a benchmark buffer of " + std::to_string(elements) + " elements is too large");
        whole_dims_[0] = {0, static_cast<int32_t>(pitch_), 1, 0};
        whole_dims_[1] = {0, slots, static_cast<int32_t>(pitch_), 0};
        whole_.type = type;
        whole_.dimensions = 2;
        whole_.dim = whole_dims_;
        if (int rc = halide_device_malloc(nullptr, &whole_, halide_cuda_device_interface()); rc != 0)
            fail(halide_error_text(rc, ("allocating " + std::to_string(pitch_ * elem * slots >> 20) + " MB on the GPU").c_str()));
        const uint64_t base = halide_cuda_get_device_ptr(nullptr, &whole_);
        views_.resize(static_cast<size_t>(slots));
        for (int s = 0; s < slots; s++) {
            View &v = views_[static_cast<size_t>(s)];
            const int n = static_cast<int>(shape.size());
            int32_t stride = 1;
            for (int d = 0; d < n; d++) {
                v.dims[d] = {0, static_cast<int32_t>(shape[static_cast<size_t>(n - 1 - d)]), stride, 0};
                stride *= v.dims[d].extent;
            }
            v.buf.type = type;
            v.buf.dimensions = n;
            v.buf.dim = v.dims;
            if (int rc = halide_cuda_wrap_device_ptr(nullptr, &v.buf, base + uint64_t(s) * uint64_t(pitch_ * elem)); rc != 0)
                fail(halide_error_text(rc, "halide_cuda_wrap_device_ptr"));
        }
    }
    ~DeviceSlab() {
        for (View &v : views_)
            if (v.buf.device) halide_cuda_detach_device_ptr(nullptr, &v.buf);
        if (whole_.device) halide_device_free(nullptr, &whole_);
    }
    DeviceSlab(const DeviceSlab &) = delete;
    DeviceSlab &operator=(const DeviceSlab &) = delete;

    halide_buffer_t *operator[](int slot) { return &views_[static_cast<size_t>(slot)].buf; }
    int slots() const { return static_cast<int>(views_.size()); }

    void upload(int slot, const void *host) {
        halide_buffer_t *b = (*this)[slot];
        b->host = static_cast<uint8_t *>(const_cast<void *>(host));
        b->set_host_dirty(true);
        const int rc = halide_copy_to_device(nullptr, b, halide_cuda_device_interface());
        b->host = nullptr;  // the kernels get device-only views
        if (rc != 0) fail(halide_error_text(rc, "copying an input to the GPU"));
    }
    void download(int slot, void *host) {
        halide_buffer_t *b = (*this)[slot];
        b->host = static_cast<uint8_t *>(host);
        b->set_device_dirty(true);
        const int rc = halide_copy_to_host(nullptr, b);
        b->host = nullptr;
        if (rc != 0) fail(halide_error_text(rc, "copying a result from the GPU"));
    }

private:
    struct View {
        halide_buffer_t buf{};
        halide_dimension_t dims[5]{};
    };
    std::vector<int64_t> shape_;
    int64_t pitch_ = 0;
    halide_buffer_t whole_{};
    halide_dimension_t whole_dims_[2]{};
    std::vector<View> views_;  // sized once: buf.dim points into each element
};

class CudaKernelImpl : public Impl {
public:
    CudaKernelImpl(const Kernel *k, DeviceSlab &in, DeviceSlab &out, DeviceSlab *idx) : k_(k), in_(in), out_(out), idx_(idx) {}
    std::string name() const override { return "poolgen"; }
    void run(int slot) override {
        Status s = k_->run(in_[slot], out_[slot], idx_ ? (*idx_)[slot] : nullptr, Device::CUDA);
        if (!s.ok()) fail(s.message());
    }
    bool result(int, Layout, std::vector<float> *) override { return false; }

private:
    const Kernel *k_;
    DeviceSlab &in_, &out_;
    DeviceSlab *idx_;
};

class DeviceCopyImpl : public Impl {
public:
    DeviceCopyImpl(DeviceSlab &src, DeviceSlab &dst) : src_(src), dst_(dst) {}
    std::string name() const override { return "copy"; }
    void run(int slot) override {
        if (int rc = halide_buffer_copy(nullptr, src_[slot], halide_cuda_device_interface(), dst_[slot]); rc != 0)
            fail(halide_error_text(rc, "the device-to-device copy"));
    }
    bool result(int, Layout, std::vector<float> *) override { return false; }
    bool is_anchor() const override { return false; }

private:
    DeviceSlab &src_, &dst_;
};

struct Row {
    std::string kernel, impl;
    double ms = 0, gbps = 0;
};

}  // namespace

int run_cuda(const Options &opt) {
    // Every kernel named must have a CUDA variant; with no names, every kernel that has one.
    std::vector<const Kernel *> ks;
    std::vector<std::string> notes;
    for (const std::string &n : opt.names) {
        const Kernel *k = registry().find(n);
        if (!k) fail("no kernel named '" + n + "' in this binary (see poolgen list)");
        if (!k->has_variant(Device::CUDA)) fail("kernel '" + n + "' has no CUDA variant in this build (its targets exclude cuda)");
        ks.push_back(k);
    }
    if (opt.names.empty())
        for (const Kernel *k : registry().kernels()) {
            if (k->has_variant(Device::CUDA)) ks.push_back(k);
            else notes.push_back(k->name() + ": no CUDA variant, not timed");
        }
    if (ks.empty()) fail("no kernel of this binary has a CUDA variant (targets in the manifest, POOLGEN_CUDA)");
    // No driver or no device: the runtime's reason, before anything is allocated.
    Device where;
    if (Status s = ks[0]->resolve(Device::CUDA, &where); !s.ok()) fail(s.message());

    const GpuInfo gpu = query_gpu();
    // Cold cache: at least --cold-mb, and at least twice the L2, of rotating buffers.
    const double cold_mb = opt.cold_mb <= 0 ? 0 : std::max(opt.cold_mb, 2.0 * gpu.l2_bytes / 1048576.0);
    std::printf("poolgen bench --device cuda: repetitions of >= %.2f s (calls, then a device sync), median of %d, cold cache: "
                "rotating over >= %.0f MB\n",
                opt.min_time, opt.repeats, cold_mb);
    std::printf("gpu: %s, compute capability %d.%d, %d SMs, L2 %lld KiB, %lld MiB; CUDA driver %d; host: %s\n", gpu.name.c_str(),
                gpu.cc_major, gpu.cc_minor, gpu.sm_count, gpu.l2_bytes / 1024, gpu.memory_bytes >> 20, gpu.driver_version,
                cpu_model().c_str());
    std::printf("copy = one device-to-device copy moving the kernel's bytes (half read, half written); "
                "%% of copy bandwidth = copy ms / poolgen ms\n");
    std::fflush(stdout);

    std::vector<Row> rows;
    struct Summary {
        std::string kernel;
        double ms = 0, gbps = 0, copy_ms = 0, copy_gbps = 0;
    };
    std::vector<Summary> summary;
    const halide_type_t f32(halide_type_float, 32), i64(halide_type_int, 64);

    for (const Kernel *k : ks) {
        const PoolSpec &s = k->spec();
        const double elem = static_cast<double>(dtype_size(s.dtype));
        const double in_bytes = elem * s.input_elements(), out_bytes = elem * s.output_elements();
        const double idx_bytes = s.return_indices ? 8.0 * s.output_elements() : 0;
        const double bytes = in_bytes + out_bytes + idx_bytes;
        const int slots = rotation_slots(bytes, cold_mb);
        const halide_type_t element = s.dtype == DType::F16    ? halide_type_t(halide_type_float, 16)
                                      : s.dtype == DType::BF16 ? halide_type_t(halide_type_bfloat, 16)
                                      : s.dtype == DType::U8   ? halide_type_t(halide_type_uint, 8)
                                      : s.dtype == DType::I8   ? halide_type_t(halide_type_int, 8)
                                                               : f32;
        DeviceSlab in(element, s.input_memory_shape(), slots), out(element, s.output_memory_shape(), slots);
        std::unique_ptr<DeviceSlab> idx;
        if (s.return_indices) idx = std::make_unique<DeviceSlab>(i64, s.output_memory_shape(), slots);
        // The copy reads half the kernel's bytes and writes them: the same traffic.
        const int64_t copy_floats = static_cast<int64_t>(std::ceil(bytes / 8));
        DeviceSlab copy_src(f32, {copy_floats}, slots), copy_dst(f32, {copy_floats}, slots);

        // Verification before timing: inputs with NaN, infinities and -0, then the timing data
        // (1/8 grid, ties), each checked against the reference loops, values and indices.
        CudaKernelImpl kernel(k, in, out, idx.get());
        std::vector<uint8_t> got(static_cast<size_t>(s.output_elements()) * dtype_size(s.dtype));
        std::vector<int64_t> got_idx(s.return_indices ? static_cast<size_t>(s.output_elements()) : 0);
        std::vector<uint8_t> data;  // in the kernel's dtype
        for (bool specials : {true, false}) {
            data = reference::sample_elements(s, 1, specials);
            in.upload(0, data.data());
            kernel.run(0);
            out.download(0, got.data());
            if (idx) idx->download(0, got_idx.data());
            CheckResult r = check(*k, data.data(), got.data(), idx ? got_idx.data() : nullptr);
            if (!r.status.ok())
                fail("kernel '" + k->name() + "' on cuda disagrees with the reference loops" +
                     (specials ? " (input with NaN/inf)" : "") + ": " + r.status.message());
        }
        for (int slot = 1; slot < slots; slot++) in.upload(slot, data.data());
        const std::vector<float> zeros(static_cast<size_t>(copy_floats), 0.0f);
        for (int slot = 0; slot < slots; slot++) copy_src.upload(slot, zeros.data());

        DeviceCopyImpl copy(copy_src, copy_dst);
        std::vector<Timed> timed = {{&kernel, k->name()}, {&copy, ""}};
        const Finish sync = [&] {
            if (int rc = halide_device_sync(nullptr, out[0]); rc != 0) fail(halide_error_text(rc, "halide_device_sync"));
        };
        for (Timed &t : timed) calibrate(t, slots, opt.min_time, sync);
        for (int r = 0; r < opt.repeats; r++)
            for (Timed &t : timed) repetition(t, slots, sync);

        Summary sm{k->name(), timed[0].median(), 0, timed[1].median(), 0};
        sm.gbps = bytes / (sm.ms * 1e-3) / 1e9;
        sm.copy_gbps = 8.0 * copy_floats / (sm.copy_ms * 1e-3) / 1e9;
        std::printf("\n%s  [%s]  %s, %d buffer set(s) rotating\n", k->name().c_str(), k->info().schedule.c_str(),
                    s.describe().c_str(), slots);
        std::printf("  %-10s %11s %9s\n", "impl", "median ms", "GB/s");
        std::printf("  %-10s %11s %9s\n", "poolgen", fmt(sm.ms, 4).c_str(), fmt(sm.gbps, 1).c_str());
        std::printf("  %-10s %11s %9s  (poolgen reaches %s%% of copy bandwidth)\n", "copy", fmt(sm.copy_ms, 4).c_str(),
                    fmt(sm.copy_gbps, 1).c_str(), fmt(100.0 * sm.copy_ms / sm.ms, 0).c_str());
        std::fflush(stdout);
        rows.push_back({k->name(), "poolgen", sm.ms, sm.gbps});
        rows.push_back({k->name(), "copy", sm.copy_ms, sm.copy_gbps});
        summary.push_back(sm);
    }

    std::printf("\nsummary (cuda, %s): %% of copy bandwidth = copy ms / poolgen ms\n", gpu.name.c_str());
    std::printf("  %-36s %10s %9s %10s %9s %8s\n", "kernel", "poolgen ms", "GB/s", "copy ms", "copy GB/s", "% copy");
    for (const Summary &sm : summary)
        std::printf("  %-36s %10s %9s %10s %9s %7s%%\n", sm.kernel.c_str(), fmt(sm.ms, 4).c_str(), fmt(sm.gbps, 1).c_str(),
                    fmt(sm.copy_ms, 4).c_str(), fmt(sm.copy_gbps, 1).c_str(), fmt(100.0 * sm.copy_ms / sm.ms, 0).c_str());
    for (const std::string &n : notes) std::printf("note: %s\n", n.c_str());
    std::fflush(stdout);

    if (!opt.json_path.empty()) {
        std::ostringstream js;
        js << "\"device\": \"cuda\", \"gpu\": \"" << json_escape(gpu.name) << "\", \"compute_capability\": \""
           << gpu.cc_major << "." << gpu.cc_minor << "\", \"sm_count\": " << gpu.sm_count << ", \"l2_bytes\": " << gpu.l2_bytes
           << ", \"memory_bytes\": " << gpu.memory_bytes << ", \"cuda_driver\": " << gpu.driver_version << ", \"cpu\": \""
           << json_escape(cpu_model()) << "\", \"halide\": \"" << POOLGEN_HALIDE_VERSION << "\", \"date\": \"" << now_iso()
           << "\", \"threads\": 1, \"min_time_s\": " << opt.min_time << ", \"repeats\": " << opt.repeats
           << ", \"cold_mb\": " << cold_mb << ", \"command\": \"" << json_escape(opt.command_line) << "\"";
        std::vector<std::string> results;
        for (const Row &r : rows) results.push_back(result_row(r.kernel, r.impl, "\"device\": \"cuda\", ", 1, r.ms, r.gbps));
        write_results(opt.json_path, js.str(), results, notes);
    }
    return 0;
}

#else

int run_cuda(const Options &) { fail("this poolgen was built without CUDA support (POOLGEN_CUDA=OFF)"); }

#endif

}  // namespace poolgen::bench
