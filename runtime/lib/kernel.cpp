// libpoolgen: running a kernel: device choice, CUDA presence, buffer checks, dispatch to its
// variant. The registry and the checker are in registry.cpp.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <new>
#include <sstream>
#include <utility>

#include <dlfcn.h>

#include "HalideRuntime.h"
#if POOLGEN_WITH_CUDA
#include "HalideRuntimeCuda.h"
#endif
#include "poolgen/poolgen.h"

namespace poolgen {

namespace {

// Halide reports errors through one process-wide handler; keep each thread's last message.
thread_local std::string t_halide_error;

void capture_halide_error(void * /*user_context*/, const char *msg) {
    t_halide_error = msg ? msg : "unknown Halide error";
    while (!t_halide_error.empty() && (t_halide_error.back() == '\n' || t_halide_error.back() == ' '))
        t_halide_error.pop_back();
}

void install_error_handler() {
    static std::once_flag once;
    std::call_once(once, [] { halide_set_error_handler(capture_halide_error); });
}

// Halide dims are innermost first; shapes here are outermost first.
struct DenseBuffer {
    halide_buffer_t buf{};
    halide_dimension_t dims[5]{};
    DenseBuffer(void *host, halide_type_t type, const std::vector<int64_t> &shape) { reset(host, type, shape); }
    DenseBuffer(const DenseBuffer &) = delete;  // buf.dim points into this object
    DenseBuffer &operator=(const DenseBuffer &) = delete;
    void reset(void *host, halide_type_t type, const std::vector<int64_t> &shape) {
        buf = halide_buffer_t{};
        const int n = static_cast<int>(shape.size());
        int32_t stride = 1;
        for (int d = 0; d < n; d++) {
            dims[d].min = 0;
            dims[d].extent = static_cast<int32_t>(shape[n - 1 - d]);
            dims[d].stride = stride;
            stride *= dims[d].extent;
        }
        buf.host = static_cast<uint8_t *>(host);
        buf.type = type;
        buf.dimensions = n;
        buf.dim = dims;
    }
};

halide_type_t type_of(DType dtype) {
    switch (dtype) {
    case DType::F16: return halide_type_t(halide_type_float, 16);
    case DType::BF16: return halide_type_t(halide_type_bfloat, 16);
    case DType::U8: return halide_type_t(halide_type_uint, 8);
    case DType::I8: return halide_type_t(halide_type_int, 8);
    case DType::F32: break;
    }
    return halide_type_t(halide_type_float, 32);
}
const halide_type_t kIndexType(halide_type_int, 64);

bool same_type(const halide_type_t &a, const halide_type_t &b) {
    return a.code == b.code && a.bits == b.bits && a.lanes == b.lanes;
}

std::string type_name(const halide_type_t &t) {
    const char *code = t.code == halide_type_float    ? "float"
                       : t.code == halide_type_bfloat ? "bfloat"
                       : t.code == halide_type_int    ? "int"
                       : t.code == halide_type_uint   ? "uint"
                                                      : "handle";
    return std::string(code) + std::to_string(t.bits) + (t.lanes > 1 ? "x" + std::to_string(t.lanes) : "");
}

Status check_buffer(const char *what, const halide_buffer_t *b, const halide_type_t &type,
                    const std::vector<int64_t> &shape, bool device_ok) {
    if (!b) return Status::Error(std::string(what) + ": buffer is null");
    if (!same_type(b->type, type))
        return Status::Error(std::string(what) + ": type is " + type_name(b->type) + ", the kernel needs " + type_name(type));
    if (b->dimensions != static_cast<int>(shape.size()))
        return Status::Error(std::string(what) + ": has " + std::to_string(b->dimensions) + " dimensions, the kernel needs " +
                             std::to_string(shape.size()) + " (" + join_dims(shape) + " in memory order)");
    if (!b->dim) return Status::Error(std::string(what) + ": dim array is null");
    const int n = b->dimensions;
    for (int d = 0; d < n; d++) {
        if (b->dim[d].extent != shape[n - 1 - d]) {
            std::vector<int64_t> got;
            for (int e = n - 1; e >= 0; e--) got.push_back(b->dim[e].extent);
            return Status::Error(std::string(what) + ": shape is " + join_dims(got) + ", the kernel needs " + join_dims(shape) +
                                 " (memory order, outermost first)");
        }
    }
    if (!b->host && b->device && !device_ok)
        return Status::Error(std::string(what) + ": device-only buffers need --device cuda and a CUDA variant; copy to host first");
    if (!b->host && !b->device) return Status::Error(std::string(what) + ": host pointer is null and no device memory is attached");
    return Status::Ok();
}

bool is_dense(const halide_buffer_t *b) {
    int64_t stride = 1;
    for (int d = 0; d < b->dimensions; d++) {
        if (b->dim[d].stride != stride) return false;
        stride *= b->dim[d].extent;
    }
    return true;
}

// Copies between a strided buffer and a dense array, element by element (any strides).
void copy_strided(const halide_buffer_t *b, uint8_t *dense, bool to_dense) {
    const int n = b->dimensions;
    const size_t elem = (b->type.bits + 7) / 8;
    int64_t idx[5] = {0, 0, 0, 0, 0};
    int64_t total = 1;
    for (int d = 0; d < n; d++) total *= b->dim[d].extent;
    for (int64_t i = 0; i < total; i++) {
        int64_t off = 0;
        for (int d = 0; d < n; d++) off += idx[d] * b->dim[d].stride;
        uint8_t *strided = b->host + off * static_cast<int64_t>(elem);
        if (to_dense) std::memcpy(dense + i * elem, strided, elem);
        else std::memcpy(strided, dense + i * elem, elem);
        for (int d = 0; d < n; d++) {
            if (++idx[d] < b->dim[d].extent) break;
            idx[d] = 0;
        }
    }
}

// The bytes a host buffer may touch, [lo, hi), from its strides (negative strides included).
std::pair<uintptr_t, uintptr_t> byte_range(const halide_buffer_t *b) {
    const int64_t elem = (b->type.bits + 7) / 8;
    int64_t lo = 0, hi = elem;
    for (int d = 0; d < b->dimensions; d++) {
        const int64_t span = int64_t(b->dim[d].extent - 1) * b->dim[d].stride * elem;
        (span < 0 ? lo : hi) += span;
    }
    const uintptr_t host = reinterpret_cast<uintptr_t>(b->host);
    return {host + uintptr_t(lo), host + uintptr_t(hi)};
}

// A kernel reads its input while it writes its outputs: no two may share memory.
Status check_disjoint(const char *what_a, const halide_buffer_t *a, const char *what_b, const halide_buffer_t *b) {
    if (!a || !b || !a->host || !b->host) return Status::Ok();  // device memory: the caller's
    const auto ra = byte_range(a), rb = byte_range(b);
    if (ra.first < rb.second && rb.first < ra.second)
        return Status::Error(std::string(what_a) + " and " + what_b + " overlap in memory; pooling cannot run in place");
    return Status::Ok();
}

// Whether a CUDA driver and a device are present; asked once per process, before any CUDA
// kernel runs. Halide's runtime resolves the driver's entry points in the process's global
// scope first and only then tries dlopen("libcuda.so"), the unversioned name that only a
// development install provides; a driver-only machine has libcuda.so.1. Loading it here with
// RTLD_GLOBAL makes the runtime use the same library this check found.
bool cuda_present(std::string *why) {
    static std::once_flag once;
    static bool present = false;
    static std::string reason;
    std::call_once(once, [] {
#if POOLGEN_WITH_CUDA
        void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_GLOBAL);
        if (!lib) {
            reason = "no CUDA driver on this machine (libcuda.so.1 cannot be loaded)";
            return;
        }
        using init_t = int (*)(unsigned);
        using count_t = int (*)(int *);
        auto cu_init = reinterpret_cast<init_t>(dlsym(lib, "cuInit"));
        auto cu_count = reinterpret_cast<count_t>(dlsym(lib, "cuDeviceGetCount"));
        int count = 0;
        if (!cu_init || !cu_count) reason = "the CUDA driver lacks cuInit/cuDeviceGetCount";
        else if (int rc = cu_init(0); rc != 0) reason = "the CUDA driver failed to initialize (cuInit error " + std::to_string(rc) + ")";
        else if (int rc2 = cu_count(&count); rc2 != 0 || count == 0) reason = "no CUDA device is present";
        else present = true;
        // The library stays loaded: the Halide runtime will use it.
#else
        reason = "this libpoolgen was built without CUDA support (POOLGEN_CUDA=OFF)";
#endif
    });
    if (why) *why = reason;
    return present;
}

#if POOLGEN_WITH_CUDA
// Device memory this call allocated for host buffers; released on every path out.
struct DeviceScratch {
    std::vector<halide_buffer_t *> bufs;
    ~DeviceScratch() {
        for (halide_buffer_t *b : bufs)
            if (b->device) halide_device_free(nullptr, b);
    }
};
#endif

}  // namespace

bool Kernel::has_variant(Device device) const {
    switch (device) {
    case Device::CPU: return info_.cpu.argv != nullptr;
    case Device::CUDA: return info_.cuda.argv != nullptr;
    case Device::Auto: return info_.cpu.argv != nullptr || info_.cuda.argv != nullptr;
    }
    return false;
}

Status Kernel::resolve(Device device, Device *resolved) const {
    std::string why;
    switch (device) {
    case Device::CPU:
        if (!info_.cpu.argv) return Status::Error("kernel '" + name() + "' has no CPU variant (its targets exclude cpu)");
        *resolved = Device::CPU;
        return Status::Ok();
    case Device::CUDA:
        if (!info_.cuda.argv)
            return Status::Error("kernel '" + name() + "' has no CUDA variant in this build (its targets exclude cuda, or POOLGEN_CUDA is off)");
        if (!cuda_present(&why)) return Status::Error("kernel '" + name() + "': cannot run on cuda: " + why);
        *resolved = Device::CUDA;
        return Status::Ok();
    case Device::Auto:
        if (info_.cuda.argv && cuda_present(nullptr)) {
            *resolved = Device::CUDA;
            return Status::Ok();
        }
        if (info_.cpu.argv) {
            *resolved = Device::CPU;
            return Status::Ok();
        }
        cuda_present(&why);
        return Status::Error("kernel '" + name() + "' has only a CUDA variant and " + why);
    }
    return Status::Error("device is not auto, cpu or cuda (enum value " + std::to_string(int(device)) + ")");
}

Status Kernel::run(const void *input, void *output, int64_t *indices, Device device) const {
    if (!input) return Status::Error("input pointer is null");
    if (!output) return Status::Error("output pointer is null");
    if (indices && !spec().return_indices)
        return Status::Error("kernel '" + name() + "' does not return indices (return_indices is false); pass no indices");
    const std::vector<int64_t> in_shape = spec().input_memory_shape(), out_shape = spec().output_memory_shape();
    DenseBuffer in(const_cast<void *>(input), type_of(spec().dtype), in_shape);
    DenseBuffer out(output, type_of(spec().dtype), out_shape);
    std::vector<int64_t> scratch;
    if (spec().return_indices && !indices) {
        try {
            scratch.resize(static_cast<size_t>(spec().output_elements()));
        } catch (const std::bad_alloc &) {
            return Status::Error("out of memory for the indices scratch buffer");
        }
        indices = scratch.data();
    }
    DenseBuffer idx(indices, kIndexType, out_shape);
    return run(&in.buf, &out.buf, spec().return_indices ? &idx.buf : nullptr, device);
}

Status Kernel::run(const halide_buffer_t *input, halide_buffer_t *output, halide_buffer_t *indices, Device device) const {
    const std::vector<int64_t> in_shape = spec().input_memory_shape(), out_shape = spec().output_memory_shape();
    const halide_type_t t = type_of(spec().dtype);
    Device where = Device::CPU;
    if (Status s = resolve(device, &where); !s.ok()) return s;
    const bool on_cuda = where == Device::CUDA;
    if (Status s = check_buffer("input", input, t, in_shape, on_cuda); !s.ok()) return s;
    if (Status s = check_buffer("output", output, t, out_shape, on_cuda); !s.ok()) return s;
    if (indices && !spec().return_indices)
        return Status::Error("kernel '" + name() + "' does not return indices (return_indices is false); pass no indices");
    if (indices)
        if (Status s = check_buffer("indices", indices, kIndexType, out_shape, on_cuda); !s.ok()) return s;
    if (Status s = check_disjoint("input", input, "output", output); !s.ok()) return s;
    if (Status s = check_disjoint("input", input, "indices", indices); !s.ok()) return s;
    if (Status s = check_disjoint("output", output, "indices", indices); !s.ok()) return s;
    const KernelVariant &variant = on_cuda ? info_.cuda : info_.cpu;

    // On CUDA, buffers holding device memory are used in place: they must be dense, with min 0.
    // On the CPU only their host memory counts.
    auto device_resident = [on_cuda](const halide_buffer_t *b) { return on_cuda && b && b->device != 0; };
    for (const halide_buffer_t *b : {input, static_cast<const halide_buffer_t *>(output), static_cast<const halide_buffer_t *>(indices)}) {
        if (!device_resident(b)) continue;
        bool zero_mins = true;
        for (int d = 0; d < b->dimensions; d++) zero_mins &= b->dim[d].min == 0;
        if (!is_dense(b) || !zero_mins)
            return Status::Error("device buffers must be dense with min 0 (host buffers may have any strides)");
    }

    std::vector<int64_t> idx_scratch;
    DenseBuffer in_d(nullptr, t, in_shape), out_d(nullptr, t, out_shape), idx_d(nullptr, kIndexType, out_shape);
    std::vector<uint8_t> in_copy, out_copy, idx_copy;
#if POOLGEN_WITH_CUDA
    DeviceScratch scratch;  // declared after the views it frees
#endif
    install_error_handler();
    t_halide_error.clear();
    // The CPU reads the host: an input whose newest data is on a device comes back first
    // (what a GPU pipeline would do; the CPU one would refuse the buffer).
    if (!on_cuda && input->device && (input->flags & halide_buffer_flag_device_dirty))
        if (int e = halide_copy_to_host(nullptr, const_cast<halide_buffer_t *>(input)); e != 0)
            return Status::Error("kernel '" + name() + "': copying the input from its device failed (Halide error " +
                                 std::to_string(e) + ")" + (t_halide_error.empty() ? "" : ": " + t_halide_error));
    try {
        // The generated code wants dense buffers with min 0: view or repack host data.
        auto view = [&](const halide_buffer_t *b, std::vector<uint8_t> &copy, bool load, DenseBuffer &dst,
                        const std::vector<int64_t> &shape) -> halide_buffer_t * {
            if (device_resident(b)) return const_cast<halide_buffer_t *>(b);
            if (is_dense(b)) {
                dst.reset(b->host, b->type, shape);
            } else {
                int64_t total = 1;
                for (int64_t v : shape) total *= v;
                copy.resize(static_cast<size_t>(total) * ((b->type.bits + 7) / 8));
                if (load) copy_strided(b, copy.data(), true);
                dst.reset(copy.data(), b->type, shape);
            }
#if POOLGEN_WITH_CUDA
            if (on_cuda) {
                if (load) dst.buf.flags |= halide_buffer_flag_host_dirty;  // copied in by the pipeline
                scratch.bufs.push_back(&dst.buf);
            }
#endif
            return &dst.buf;
        };
        halide_buffer_t *in_arg = view(input, in_copy, true, in_d, in_shape);
        halide_buffer_t *out_arg = view(output, out_copy, false, out_d, out_shape);
        halide_buffer_t *idx_arg = nullptr;
        if (spec().return_indices) {
            if (indices) {
                idx_arg = view(indices, idx_copy, false, idx_d, out_shape);
            } else {
                idx_scratch.resize(static_cast<size_t>(spec().output_elements()));
                idx_d.reset(idx_scratch.data(), kIndexType, out_shape);
#if POOLGEN_WITH_CUDA
                if (on_cuda) scratch.bufs.push_back(&idx_d.buf);
#endif
                idx_arg = &idx_d.buf;
            }
        }
        void *args[3] = {in_arg, out_arg, idx_arg};
        const int rc = variant.argv(args);
        if (rc != 0)
            return Status::Error("kernel '" + name() + "' failed on " + to_string(where) + " (Halide error " +
                                 std::to_string(rc) + ")" + (t_halide_error.empty() ? "" : ": " + t_halide_error));
#if POOLGEN_WITH_CUDA
        // Results computed into our views of host buffers come back to the host.
        if (on_cuda)
            for (halide_buffer_t *b : {out_arg, idx_arg})
                if (b && std::find(scratch.bufs.begin(), scratch.bufs.end(), b) != scratch.bufs.end())
                    if (int e = halide_copy_to_host(nullptr, b); e != 0)
                        return Status::Error("kernel '" + name() + "': copying results from the GPU failed (Halide error " +
                                             std::to_string(e) + ")" + (t_halide_error.empty() ? "" : ": " + t_halide_error));
#endif
        if (!out_copy.empty()) copy_strided(output, out_copy.data(), false);
        if (indices && !idx_copy.empty()) copy_strided(indices, idx_copy.data(), false);
        // Outputs the CPU wrote on the host of a buffer that also holds device memory: the host
        // is now the newer copy, so a later halide_copy_to_device must copy it.
        if (!on_cuda)
            for (halide_buffer_t *b : {output, indices})
                if (b && b->device) b->flags = (b->flags | halide_buffer_flag_host_dirty) & ~uint64_t(halide_buffer_flag_device_dirty);
    } catch (const std::bad_alloc &) {
        return Status::Error("out of memory repacking strided buffers for kernel '" + name() + "'");
    }
    return Status::Ok();
}

}  // namespace poolgen
