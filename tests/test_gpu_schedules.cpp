// The GPU strategy's loop structures (schedules/cuda_strategy.h, cuda_split.h) run through
// Halide's OpenCL backend, on whatever OpenCL device is here (PoCL on a CPU-only machine),
// against the reference loops: serial windows, windows split into parts in one block, parts
// reduced by a second kernel (tests/gpu_schedules/gpu_schedules.json). Prints [SKIP] with the
// reason where no OpenCL device exists. Not covered: see docs/testing.md.
#include <catch2/catch.hpp>

#include <dlfcn.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <string>

#include "HalideBuffer.h"
#include "poolgen/manifest.h"
#include "poolgen/poolgen.h"
#include "test_helpers.h"

struct GpuScheduleKernel {
    const char *name;
    void *fn;  // int(halide_buffer_t *in, halide_buffer_t *out[, halide_buffer_t *indices])
};
extern const GpuScheduleKernel kGpuScheduleKernels[];
extern const int kGpuScheduleKernelCount;

namespace {

using namespace poolgen;
using Fn2 = int (*)(halide_buffer_t *, halide_buffer_t *);
using Fn3 = int (*)(halide_buffer_t *, halide_buffer_t *, halide_buffer_t *);

// Whether an OpenCL platform with at least one device is present, asked of the ICD loader
// directly (the Halide runtime would only fail inside the first kernel call).
bool opencl_device(std::string *why) {
    void *lib = dlopen("libOpenCL.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) lib = dlopen("libOpenCL.so", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        *why = "no OpenCL ICD loader (libOpenCL.so.1; apt-get install ocl-icd-libopencl1 pocl-opencl-icd)";
        return false;
    }
    using Platforms = int (*)(uint32_t, void **, uint32_t *);
    using Devices = int (*)(void *, uint64_t, uint32_t, void **, uint32_t *);
    auto platforms = reinterpret_cast<Platforms>(dlsym(lib, "clGetPlatformIDs"));
    auto devices = reinterpret_cast<Devices>(dlsym(lib, "clGetDeviceIDs"));
    uint32_t np = 0, nd = 0;
    void *ids[16] = {};
    if (!platforms || !devices || platforms(16, ids, &np) != 0 || np == 0) {
        *why = "no OpenCL platform (install pocl-opencl-icd for a CPU device)";
        return false;
    }
    for (uint32_t i = 0; i < np && i < 16; i++) {
        uint32_t n = 0;
        if (devices(ids[i], 0xFFFFFFFFull /* CL_DEVICE_TYPE_ALL */, 0, nullptr, &n) == 0) nd += n;
    }
    if (nd == 0) *why = "OpenCL platforms without devices";
    return nd > 0;
}

std::vector<int> halide_shape(const std::vector<int64_t> &mem_shape) {  // innermost first
    return std::vector<int>(mem_shape.rbegin(), mem_shape.rend());
}

// Inputs that make a wrong split visible: many ties (the first maximum's index), NaNs with
// distinct payloads (the last NaN's), infinities, signed zeros; all equal; ascending; zeros of
// both signs among -inf.
std::vector<float> input_for(const PoolSpec &s, int kind, uint32_t seed) {
    std::vector<float> v = testutil::random_input(s, seed, kind == 1 ? 0.02 : 0.0);
    if (kind == 1)
        for (size_t i = 0; i < v.size(); i++)
            if (std::isnan(v[i])) {
                const uint32_t bits = 0x7fc00000u | static_cast<uint32_t>(i & 0x3fffff);
                std::memcpy(&v[i], &bits, sizeof bits);
            }
    if (kind == 2) std::fill(v.begin(), v.end(), 0.5f);
    if (kind == 3)
        for (size_t i = 0; i < v.size(); i++) v[i] = static_cast<float>(i % 1000) / 8.0f;
    if (kind == 4)  // signed zeros: the first of a window's zeros decides the sign of its maximum
        for (size_t i = 0; i < v.size(); i++) v[i] = (i * 7919) % 5 == 0 ? -testutil::kInf : ((i * 104729) % 3 ? 0.0f : -0.0f);
    return v;
}

}  // namespace

TEST_CASE("the GPU strategy through OpenCL matches the reference loops", "[gpu_schedules]") {
    std::string why;
    if (!opencl_device(&why)) {
        std::printf("[SKIP] no OpenCL device: %s\n", why.c_str());
        return;
    }
    Manifest m;
    const Status loaded = load_manifest(POOLGEN_GPU_SCHEDULES_MANIFEST, &m);
    INFO(loaded.message());
    REQUIRE(loaded.ok());
    std::map<std::string, PoolSpec> specs;
    for (const ManifestKernel &k : m.kernels) specs[k.name] = k.spec;
    REQUIRE(kGpuScheduleKernelCount == static_cast<int>(m.kernels.size()));
    for (int ki = 0; ki < kGpuScheduleKernelCount; ki++) {
        const GpuScheduleKernel &k = kGpuScheduleKernels[ki];
        REQUIRE(specs.count(k.name));
        const PoolSpec &s = specs[k.name];
        for (int kind = 0; kind < 5; kind++) {
            INFO(k.name << " (" << s.describe() << "), input kind " << kind);
            std::vector<float> in = input_for(s, kind, 7 + ki);
            Halide::Runtime::Buffer<float> ib(in.data(), halide_shape(s.input_memory_shape()));
            Halide::Runtime::Buffer<float> ob(halide_shape(s.output_memory_shape()));
            Halide::Runtime::Buffer<int64_t> xb(halide_shape(s.output_memory_shape()));
            ib.set_host_dirty();  // wraps host memory: copied to the device on the first use
            ob.fill(-12345.0f);
            xb.fill(-7);
            const int rc = s.return_indices ? reinterpret_cast<Fn3>(k.fn)(ib.raw_buffer(), ob.raw_buffer(), xb.raw_buffer())
                                            : reinterpret_cast<Fn2>(k.fn)(ib.raw_buffer(), ob.raw_buffer());
            REQUIRE(rc == 0);
            ob.copy_to_host();
            if (s.return_indices) xb.copy_to_host();
            std::vector<float> want(static_cast<size_t>(s.output_elements()));
            std::vector<int64_t> want_idx(s.return_indices ? want.size() : 0);
            REQUIRE(reference::run(s, in.data(), want.data(), s.return_indices ? want_idx.data() : nullptr).ok());
            const CheckResult r = compare(s, in.data(), want.data(), s.return_indices ? want_idx.data() : nullptr, ob.data(),
                                          s.return_indices ? xb.data() : nullptr);
            INFO(r.status.message());
            CHECK(r.status.ok());
            // Max ops return the selected element's bits: the sign of a zero, the last NaN's payload.
            size_t bit_diffs = 0;
            for (size_t i = 0; is_max(s.op) && i < want.size(); i++) bit_diffs += !testutil::same_bits(ob.data()[i], want[i]);
            CHECK(bit_diffs == 0);
            ob.device_free();
            xb.device_free();
            ib.device_free();
        }
    }
}
