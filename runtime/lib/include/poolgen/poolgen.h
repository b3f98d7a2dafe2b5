// libpoolgen: the kernels linked into this binary, how to find and run them, and how to
// check them against the reference loops. No exceptions cross this API; every call is
// thread-safe.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "poolgen/reference.h"
#include "poolgen/spec.h"
#include "poolgen/status.h"

struct halide_buffer_t;
struct halide_filter_metadata_t;

namespace poolgen {

// One compiled variant of a kernel (one device): its Halide entry points.
struct KernelVariant {
    const char *symbol = nullptr;  // the generated function's name
    int (*argv)(void **args) = nullptr;
    const halide_filter_metadata_t *(*metadata)() = nullptr;
};

// What a generated registry table registers for each manifest kernel.
struct KernelInfo {
    std::string name;      // the manifest's name
    std::string set;       // the kernel set (CMake target) it was generated in
    PoolSpec spec;
    std::string schedule;  // which schedule built it (strategy defaults or a db entry)
    KernelVariant cpu, cuda;
};

class Kernel {
public:
    explicit Kernel(KernelInfo info) : info_(std::move(info)) {}

    const std::string &name() const { return info_.name; }
    const PoolSpec &spec() const { return info_.spec; }
    const KernelInfo &info() const { return info_; }
    // Whether this binary holds a variant for the device (Auto: any).
    bool has_variant(Device device) const;
    // The device `device` resolves to right now (Auto: CUDA when present and compiled,
    // else CPU), or an error saying why it cannot run there.
    Status resolve(Device device, Device *resolved) const;

    // Dense host arrays in the kernel's memory layout and dtype. `indices` is optional for
    // kernels that return indices (flat plane indices, laid out like the output) and must be
    // null for kernels that do not.
    Status run(const void *input, void *output, int64_t *indices = nullptr, Device device = Device::Auto) const;
    // Halide buffers with any valid strides; checked against the spec before any access.
    // Input, output and indices must not overlap in memory (no in-place pooling).
    Status run(const halide_buffer_t *input, halide_buffer_t *output, halide_buffer_t *indices = nullptr,
               Device device = Device::Auto) const;

private:
    KernelInfo info_;
};

class Registry {
public:
    const Kernel *find(const std::string &name) const;  // nullptr if absent
    // The kernel computing exactly `spec` with a variant for `device`; else nullptr, and
    // `why` (if given) says so and lists the nearest configured kernels.
    const Kernel *find(const PoolSpec &spec, Device device, Status *why = nullptr) const;
    const std::vector<const Kernel *> &kernels() const { return view_; }

    // Called by generated registry tables at start-up. Not synchronized: only static
    // initializers may call it, before other threads use the registry (every other member
    // is read-only and safe to call from any number of threads).
    void add(KernelInfo info);

private:
    std::vector<std::unique_ptr<Kernel>> owned_;
    std::vector<const Kernel *> view_;
};

Registry &registry();

struct CheckResult {
    Status status;                  // not ok: mismatch or failure, with the first mismatch described
    int64_t elements = 0;           // outputs compared
    int64_t mismatches = 0;
    double max_abs_error = 0;       // over finite, non-mismatching-class elements
    double max_rel_error = 0;
    int64_t first_mismatch = -1;    // memory offset of the first mismatching output
};

// Runs the reference loops on `input` and compares with `output` (and `indices` when given), both
// in the kernel's dtype: max ops exactly (NaN where NaN, same bits otherwise, same indices),
// averages within the summation-error bound of reference::error_bounds. compare() takes float32
// arrays (f16/bf16 values widened with load_element).
CheckResult check(const Kernel &kernel, const void *input, const void *output, const int64_t *indices = nullptr);
CheckResult compare(const PoolSpec &spec, const float *input, const float *expected, const int64_t *expected_indices,
                    const float *actual, const int64_t *actual_indices);

}  // namespace poolgen
