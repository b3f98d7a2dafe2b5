#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <new>
#include <sstream>
#include <utility>

#include "HalideRuntime.h"
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

halide_type_t type_of(DType) { return halide_type_t(halide_type_float, 32); }
const halide_type_t kIndexType(halide_type_int, 64);

bool same_type(const halide_type_t &a, const halide_type_t &b) {
    return a.code == b.code && a.bits == b.bits && a.lanes == b.lanes;
}

std::string type_name(const halide_type_t &t) {
    const char *code = t.code == halide_type_float ? "float" : t.code == halide_type_int ? "int" : t.code == halide_type_uint ? "uint" : "handle";
    return std::string(code) + std::to_string(t.bits) + (t.lanes > 1 ? "x" + std::to_string(t.lanes) : "");
}

Status check_buffer(const char *what, const halide_buffer_t *b, const halide_type_t &type,
                    const std::vector<int64_t> &shape) {
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
    if (!b->host && b->device) return Status::Error(std::string(what) + ": device-only buffers need a CUDA variant; copy to host first");
    if (!b->host) return Status::Error(std::string(what) + ": host pointer is null");
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
    if (!a || !b) return Status::Ok();
    const auto ra = byte_range(a), rb = byte_range(b);
    if (ra.first < rb.second && rb.first < ra.second)
        return Status::Error(std::string(what_a) + " and " + what_b + " overlap in memory; pooling cannot run in place");
    return Status::Ok();
}

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
    switch (device) {
    case Device::CPU:
        if (!info_.cpu.argv) return Status::Error("kernel '" + name() + "' has no CPU variant (its targets exclude cpu)");
        *resolved = Device::CPU;
        return Status::Ok();
    case Device::CUDA:
        if (!info_.cuda.argv)
            return Status::Error("kernel '" + name() + "' has no CUDA variant in this build (targets exclude cuda, or CUDA generation is off)");
        return Status::Error("kernel '" + name() + "': CUDA execution is not available in this build");
    case Device::Auto:
        if (info_.cpu.argv) {
            *resolved = Device::CPU;
            return Status::Ok();
        }
        return Status::Error("kernel '" + name() + "' has no variant that can run here");
    }
    return Status::Error("unknown device");
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
    if (Status s = check_buffer("input", input, t, in_shape); !s.ok()) return s;
    if (Status s = check_buffer("output", output, t, out_shape); !s.ok()) return s;
    if (indices && !spec().return_indices)
        return Status::Error("kernel '" + name() + "' does not return indices (return_indices is false); pass no indices");
    if (indices)
        if (Status s = check_buffer("indices", indices, kIndexType, out_shape); !s.ok()) return s;
    if (Status s = check_disjoint("input", input, "output", output); !s.ok()) return s;
    if (Status s = check_disjoint("input", input, "indices", indices); !s.ok()) return s;
    if (Status s = check_disjoint("output", output, "indices", indices); !s.ok()) return s;
    Device where = Device::CPU;
    if (Status s = resolve(device, &where); !s.ok()) return s;
    const KernelVariant &variant = info_.cpu;

    // Indices are computed by every index-returning kernel; give it scratch when not wanted.
    std::vector<int64_t> idx_scratch;
    DenseBuffer idx_dense(nullptr, kIndexType, out_shape);
    std::vector<uint8_t> in_copy, out_copy, idx_copy;
    try {
        // The generated code wants dense buffers with min 0: view or repack.
        auto view = [&](const halide_buffer_t *b, std::vector<uint8_t> &copy, bool load, DenseBuffer &dst) {
            const std::vector<int64_t> &shape = b == input ? in_shape : out_shape;
            if (is_dense(b)) {
                dst.reset(b->host, b->type, shape);
                return;
            }
            int64_t total = 1;
            for (int64_t v : shape) total *= v;
            copy.resize(static_cast<size_t>(total) * ((b->type.bits + 7) / 8));
            if (load) copy_strided(b, copy.data(), true);
            dst.reset(copy.data(), b->type, shape);
        };
        DenseBuffer in_d(nullptr, t, in_shape), out_d(nullptr, t, out_shape);
        view(input, in_copy, true, in_d);
        view(output, out_copy, false, out_d);
        halide_buffer_t *idx_arg = nullptr;
        if (spec().return_indices) {
            if (indices) {
                view(indices, idx_copy, false, idx_dense);
            } else {
                idx_scratch.resize(static_cast<size_t>(spec().output_elements()));
                idx_dense.reset(idx_scratch.data(), kIndexType, out_shape);
            }
            idx_arg = &idx_dense.buf;
        }
        install_error_handler();
        t_halide_error.clear();
        void *args[3] = {&in_d.buf, &out_d.buf, idx_arg};
        const int rc = variant.argv(args);
        if (rc != 0)
            return Status::Error("kernel '" + name() + "' failed (Halide error " + std::to_string(rc) + ")" +
                                 (t_halide_error.empty() ? "" : ": " + t_halide_error));
        if (!out_copy.empty()) copy_strided(output, out_copy.data(), false);
        if (indices && !idx_copy.empty()) copy_strided(indices, idx_copy.data(), false);
    } catch (const std::bad_alloc &) {
        return Status::Error("out of memory repacking strided buffers for kernel '" + name() + "'");
    }
    return Status::Ok();
}

void Registry::add(KernelInfo info) {
    owned_.push_back(std::make_unique<Kernel>(std::move(info)));
    view_.push_back(owned_.back().get());
}

Registry &registry() {
    static Registry r;
    return r;
}

const Kernel *Registry::find(const std::string &name) const {
    for (const Kernel *k : view_)
        if (k->name() == name) return k;
    return nullptr;
}

const Kernel *Registry::find(const PoolSpec &spec_in, Device device, Status *why) const {
    PoolSpec spec = spec_in;
    spec.normalize();
    if (Status s = spec.validate(); !s.ok()) {
        if (why) *why = s;
        return nullptr;
    }
    for (const Kernel *k : view_)
        if (k->spec() == spec && k->has_variant(device == Device::Auto ? Device::Auto : device)) {
            if (why) *why = Status::Ok();
            return k;
        }
    if (why) {
        // Nearest: same op first, then same layout, then closest input shape.
        std::vector<std::pair<double, const Kernel *>> ranked;
        for (const Kernel *k : view_) {
            const PoolSpec &o = k->spec();
            double score = (o.op != spec.op) * 1000.0 + (o.layout != spec.layout) * 100.0 + (o.dtype != spec.dtype) * 100.0 +
                           (o.input.size() != spec.input.size()) * 500.0;
            if (o.input.size() == spec.input.size())
                for (size_t i = 0; i < o.input.size(); i++)
                    score += std::fabs(std::log(double(o.input[i]) / double(spec.input[i])));
            score += (o.kernel != spec.kernel) + (o.stride != spec.stride) + (o.padding != spec.padding) +
                     (o.dilation != spec.dilation) + (o.ceil_mode != spec.ceil_mode) + (o.output_size != spec.output_size) +
                     (o.return_indices != spec.return_indices);
            ranked.push_back({score, k});
        }
        std::stable_sort(ranked.begin(), ranked.end(), [](auto &a, auto &b) { return a.first < b.first; });
        std::ostringstream os;
        os << "no configured kernel computes " << spec.describe() << " on " << to_string(device);
        if (ranked.empty()) os << "; this binary holds no kernels";
        else {
            os << "; nearest configured:";
            for (size_t i = 0; i < ranked.size() && i < 3; i++)
                os << (i ? ";" : "") << " '" << ranked[i].second->name() << "' (" << ranked[i].second->spec().describe() << ")";
        }
        *why = Status::Error(os.str());
    }
    return nullptr;
}

CheckResult compare(const PoolSpec &spec, const float *input, const float *expected, const int64_t *expected_indices,
                    const float *actual, const int64_t *actual_indices) {
    CheckResult r;
    std::vector<double> bounds;
    if (Status s = reference::error_bounds(spec, input, &bounds); !s.ok()) {
        r.status = s;
        return r;
    }
    const bool exact = is_max(spec.op);
    const std::vector<int64_t> shape = spec.output_memory_shape();
    std::string first;
    r.elements = static_cast<int64_t>(bounds.size());
    for (int64_t i = 0; i < r.elements; i++) {
        const float e = expected[i], a = actual[i];
        bool ok;
        if (std::isnan(e) || std::isnan(a)) ok = std::isnan(e) && std::isnan(a);
        else if (exact || std::isinf(e) || std::isinf(a)) ok = std::memcmp(&e, &a, sizeof e) == 0 || (e == a && !exact);
        else {
            const double err = std::fabs(double(a) - double(e));
            ok = err <= bounds[i];
            r.max_abs_error = std::max(r.max_abs_error, err);
            if (e != 0) r.max_rel_error = std::max(r.max_rel_error, err / std::fabs(double(e)));
        }
        std::string what;
        if (!ok) what = "value " + std::to_string(a) + ", expected " + std::to_string(e);
        else if (expected_indices && actual_indices && expected_indices[i] != actual_indices[i]) {
            ok = false;
            what = "index " + std::to_string(actual_indices[i]) + ", expected " + std::to_string(expected_indices[i]);
        }
        if (!ok) {
            if (r.mismatches++ == 0) {
                r.first_mismatch = i;
                // Memory position as coordinates, outermost first.
                std::vector<int64_t> coord(shape.size());
                int64_t rem = i;
                for (int d = static_cast<int>(shape.size()) - 1; d >= 0; d--) {
                    coord[d] = rem % shape[d];
                    rem /= shape[d];
                }
                first = "at output[" + join_dims(coord, ",") + "] (memory order): " + what;
            }
        }
    }
    if (r.mismatches)
        r.status = Status::Error(std::to_string(r.mismatches) + " of " + std::to_string(r.elements) +
                                 " outputs differ from the reference; first " + first);
    return r;
}

CheckResult check(const Kernel &kernel, const void *input, const void *output, const int64_t *indices) {
    CheckResult r;
    const PoolSpec &s = kernel.spec();
    if (!input || !output) {
        r.status = Status::Error("check: input and output must not be null");
        return r;
    }
    std::vector<float> ref;
    std::vector<int64_t> ref_idx;
    try {
        ref.resize(static_cast<size_t>(s.output_elements()));
        if (indices) ref_idx.resize(ref.size());
    } catch (const std::bad_alloc &) {
        r.status = Status::Error("check: out of memory for the reference output");
        return r;
    }
    if (Status st = reference::run(s, static_cast<const float *>(input), ref.data(), indices ? ref_idx.data() : nullptr);
        !st.ok()) {
        r.status = st;
        return r;
    }
    return compare(s, static_cast<const float *>(input), ref.data(), indices ? ref_idx.data() : nullptr,
                   static_cast<const float *>(output), indices);
}

}  // namespace poolgen
