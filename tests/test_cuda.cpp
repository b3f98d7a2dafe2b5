// CUDA variants: the same semantics as the CPU and the reference on every input, host and
// device buffers. Needs a GPU; elsewhere the hidden case prints [SKIP] with the reason, and
// the no-GPU behaviour (clean errors, quiet fallback) is tested instead.
#include <catch2/catch.hpp>

#include <dlfcn.h>

#include <cstdio>
#include <cstring>
#include <random>

#include "HalideRuntime.h"
#include "HalideRuntimeCuda.h"
#include "poolgen/poolgen.h"
#include "test_helpers.h"

using namespace poolgen;
using namespace testutil;

namespace {

bool gpu_present(std::string *why) {
    // Any CUDA kernel answers through resolve(); the registry always holds some.
    for (const Kernel *k : registry().kernels()) {
        if (!k->has_variant(Device::CUDA)) continue;
        Device d;
        Status s = k->resolve(Device::CUDA, &d);
        if (why) *why = s.message();
        return s.ok();
    }
    if (why) *why = "no kernel has a CUDA variant in this build";
    return false;
}


}  // namespace

TEST_CASE("without a GPU, cuda fails cleanly and auto falls back to the CPU", "[cuda]") {
    std::string why;
    if (gpu_present(&why)) {
        WARN("a GPU is present: the no-GPU behaviour is not observable here");
        return;
    }
    const Kernel *k = registry().find("resnet18_gap");
    REQUIRE(k != nullptr);
    REQUIRE(k->has_variant(Device::CUDA));
    std::vector<float> in(static_cast<size_t>(k->spec().input_elements()), 1.0f), out(512);
    Status st = k->run(in.data(), out.data(), nullptr, Device::CUDA);
    CHECK_FALSE(st.ok());
    CHECK_THAT(st.message(), Catch::Matchers::Contains("cannot run on cuda"));
    Device d = Device::CUDA;
    REQUIRE(k->resolve(Device::Auto, &d).ok());
    CHECK(d == Device::CPU);
    REQUIRE(k->run(in.data(), out.data(), nullptr, Device::Auto).ok());
    CHECK(out[0] == 1.0f);
}

TEST_CASE("every CUDA kernel matches the reference and the CPU", "[.cuda]") {
    std::string why;
    if (!gpu_present(&why)) {
        std::printf("[SKIP] no usable GPU: %s\n", why.c_str());
        return;
    }
    int ran = 0;
    for (const Kernel *k : registry().kernels()) {
        if (!k->has_variant(Device::CUDA)) continue;
        const PoolSpec &s = k->spec();
        for (double specials : {0.0, 0.05}) {
            INFO(k->name() << " specials " << specials);
            const auto in = as_elements(s, random_input(s, 17, specials));
            std::vector<uint8_t> gpu_out = element_buffer(s, s.output_elements()), cpu_out = gpu_out;
            std::vector<int64_t> gidx(s.return_indices ? static_cast<size_t>(s.output_elements()) : 0), cidx(gidx.size());
            Status st = k->run(in.data(), gpu_out.data(), s.return_indices ? gidx.data() : nullptr, Device::CUDA);
            INFO(st.message());
            REQUIRE(st.ok());
            CheckResult r = check(*k, in.data(), gpu_out.data(), s.return_indices ? gidx.data() : nullptr);
            INFO(r.status.message());
            CHECK(r.status.ok());
            REQUIRE(k->run(in.data(), cpu_out.data(), s.return_indices ? cidx.data() : nullptr, Device::CPU).ok());
            // Where PyTorch's CPU kernel sums in the element type and its CUDA kernel in float32,
            // the variants follow their own (sums_in_element_type): both within the bound above.
            const std::vector<float> gpu = as_floats(s, gpu_out), cpu = as_floats(s, cpu_out);
            for (size_t i = 0; i < gpu.size() && !sums_in_element_type(s); i++)
                if (!(std::isnan(gpu[i]) && std::isnan(cpu[i]))) REQUIRE(same_bits(gpu[i], cpu[i]));
            CHECK(gidx == cidx);
        }
        ran++;
    }
    CHECK(ran > 0);
}

TEST_CASE("device buffers stay on the device", "[.cuda]") {
    std::string why;
    if (!gpu_present(&why)) {
        std::printf("[SKIP] no usable GPU: %s\n", why.c_str());
        return;
    }
    const Kernel *k = registry().find("resnet18_maxpool_nhwc");
    REQUIRE(k != nullptr);
    const PoolSpec &s = k->spec();
    auto in = random_input(s, 3, 0.01);
    std::vector<float> out(static_cast<size_t>(s.output_elements()), -1.0f);
    auto make = [](void *host, halide_type_t t, const std::vector<int64_t> &shape, std::vector<halide_dimension_t> &dims) {
        halide_buffer_t b{};
        dims.assign(shape.size(), halide_dimension_t{});
        int32_t stride = 1;
        for (size_t d = 0; d < shape.size(); d++) {
            dims[d] = {0, int32_t(shape[shape.size() - 1 - d]), stride, 0};
            stride *= dims[d].extent;
        }
        b.host = static_cast<uint8_t *>(host);
        b.type = t;
        b.dimensions = int(shape.size());
        b.dim = dims.data();
        return b;
    };
    std::vector<halide_dimension_t> idims, odims;
    halide_buffer_t ib = make(in.data(), halide_type_t(halide_type_float, 32), s.input_memory_shape(), idims);
    halide_buffer_t ob = make(out.data(), halide_type_t(halide_type_float, 32), s.output_memory_shape(), odims);
    const halide_device_interface_t *cuda = halide_cuda_device_interface();
    ib.flags |= halide_buffer_flag_host_dirty;  // else halide_copy_to_device only allocates
    REQUIRE(halide_copy_to_device(nullptr, &ib, cuda) == 0);
    REQUIRE(halide_device_malloc(nullptr, &ob, cuda) == 0);
    halide_buffer_t in_dev = ib, out_dev = ob;
    in_dev.host = nullptr;  // device-only views
    out_dev.host = nullptr;
    Status st = k->run(&in_dev, &out_dev, nullptr, Device::CUDA);
    INFO(st.message());
    REQUIRE(st.ok());
    CHECK(out[0] == -1.0f);  // nothing was copied back to the host
    ob.flags |= halide_buffer_flag_device_dirty;
    REQUIRE(halide_copy_to_host(nullptr, &ob) == 0);
    CHECK(check(*k, in.data(), out.data()).status.ok());
    halide_device_free(nullptr, &ib);
    halide_device_free(nullptr, &ob);
}

// The host side of the CUDA path against tests/fake_cuda (ctest cuda.fake_driver puts it first
// on LD_LIBRARY_PATH): which copies happen, that every device allocation made for a call is
// freed on every path out, and the dirty bits of buffers holding device memory. Device memory
// there is host memory filled with 0xff bytes, and launches compute nothing.
namespace {

using FakeStats = void (*)(long *, long *, long *, long *);
struct Fake {
    long live = 0, htod = 0, dtoh = 0, launches = 0;
};
Fake fake_stats() {
    Fake f;
    reinterpret_cast<FakeStats>(dlsym(RTLD_DEFAULT, "fake_cuda_stats"))(&f.live, &f.htod, &f.dtoh, &f.launches);
    return f;
}
// A halide_buffer_t over host memory, dense in the given shape (outermost first) unless dims
// are changed afterwards.
struct HostBuffer {
    halide_buffer_t buf{};
    halide_dimension_t dims[5]{};
    HostBuffer(void *host, halide_type_t type, const std::vector<int64_t> &shape) {
        const int n = int(shape.size());
        int32_t stride = 1;
        for (int d = 0; d < n; d++) {
            dims[d] = {0, int32_t(shape[size_t(n - 1 - d)]), stride, 0};
            stride *= dims[d].extent;
        }
        buf.host = static_cast<uint8_t *>(host);
        buf.type = type;
        buf.dimensions = n;
        buf.dim = dims;
    }
    HostBuffer(const HostBuffer &) = delete;  // buf.dim points into this object
    HostBuffer &operator=(const HostBuffer &) = delete;
};
const halide_type_t kF32(halide_type_float, 32);

bool all_ff(const void *p, size_t bytes) {
    const auto *b = static_cast<const uint8_t *>(p);
    for (size_t i = 0; i < bytes; i++)
        if (b[i] != 0xff) return false;
    return true;
}

}  // namespace

TEST_CASE("the CUDA path's copies, device memory and dirty bits, against a fake driver", "[.fakecuda]") {
    std::string why;
    const bool present = gpu_present(&why);  // loads libcuda.so.1
    if (!dlsym(RTLD_DEFAULT, "fake_cuda_stats")) {
        std::printf("[SKIP] the fake CUDA driver (tests/fake_cuda) is not loaded\n");
        return;
    }
    INFO(why);
    REQUIRE(present);
    // Freed device memory goes back to the driver, so that leaks show.
    REQUIRE(halide_reuse_device_allocations(nullptr, false) == 0);
    const Kernel *k = registry().find("resnet18_gap");
    REQUIRE(k != nullptr);
    const PoolSpec &s = k->spec();
    const long in_bytes = 4 * s.input_elements(), out_bytes = 4 * s.output_elements();
    auto in = random_input(s, 5, 0.0);

    SECTION("host arrays are copied in and the results back, and nothing stays allocated") {
        std::vector<float> out(static_cast<size_t>(s.output_elements()), 0.0f);
        const Fake before = fake_stats();
        Status st = k->run(in.data(), out.data(), nullptr, Device::CUDA);
        INFO(st.message());
        REQUIRE(st.ok());
        const Fake after = fake_stats();
        CHECK(after.htod - before.htod == in_bytes);
        CHECK(after.dtoh - before.dtoh == out_bytes);
        CHECK(after.launches - before.launches == 1);
        CHECK(after.live == before.live);
        CHECK(all_ff(out.data(), size_t(out_bytes)));  // the device's bytes reached the host
    }
    SECTION("a strided host output gets the device's results in its own strides") {
        std::vector<float> out(2 * static_cast<size_t>(s.output_elements()), 0.0f);
        HostBuffer ib(in.data(), kF32, s.input_memory_shape()), ob(out.data(), kF32, s.output_memory_shape());
        for (halide_dimension_t &d : ob.dims) d.stride *= 2;  // every other float
        const Fake before = fake_stats();
        Status st = k->run(&ib.buf, &ob.buf, nullptr, Device::CUDA);
        INFO(st.message());
        REQUIRE(st.ok());
        for (size_t i = 0; i < out.size(); i++) {
            INFO(i);
            if (i % 2 == 0) REQUIRE(all_ff(&out[i], 4));
            else REQUIRE(out[i] == 0.0f);  // the gaps are untouched
        }
        CHECK(fake_stats().live == before.live);
    }
    SECTION("a failing launch is reported and leaks no device memory") {
        std::vector<float> out(static_cast<size_t>(s.output_elements()));
        auto fail = reinterpret_cast<void (*)(int)>(dlsym(RTLD_DEFAULT, "fake_cuda_fail_launches"));
        REQUIRE(fail != nullptr);
        const Fake before = fake_stats();
        fail(1);
        Status st = k->run(in.data(), out.data(), nullptr, Device::CUDA);
        fail(0);
        CHECK_FALSE(st.ok());
        CHECK_THAT(st.message(), Catch::Matchers::Contains("cuLaunchKernel failed"));
        CHECK(fake_stats().live == before.live);
    }
    SECTION("a device-resident input stays allocated; a host output gets the results") {
        std::vector<float> out(static_cast<size_t>(s.output_elements()), 0.0f);
        HostBuffer ib(in.data(), kF32, s.input_memory_shape()), ob(out.data(), kF32, s.output_memory_shape());
        ib.buf.flags |= halide_buffer_flag_host_dirty;
        REQUIRE(halide_copy_to_device(nullptr, &ib.buf, halide_cuda_device_interface()) == 0);
        const Fake before = fake_stats();
        halide_buffer_t dev_only = ib.buf;
        dev_only.host = nullptr;
        Status st = k->run(&dev_only, &ob.buf, nullptr, Device::CUDA);
        INFO(st.message());
        REQUIRE(st.ok());
        const Fake after = fake_stats();
        CHECK(after.htod == before.htod);  // already there
        CHECK(after.dtoh - before.dtoh == out_bytes);
        CHECK(after.live == before.live);
        CHECK(all_ff(out.data(), size_t(out_bytes)));
        REQUIRE(halide_device_free(nullptr, &ib.buf) == 0);
        CHECK(fake_stats().live == before.live - 1);
    }
    SECTION("on the CPU, device-dirty inputs come back first and outputs with device memory become host-dirty") {
        // The newest input is on the device; the host holds stale zeros.
        std::vector<float> stale(in.size(), 0.0f), out(static_cast<size_t>(s.output_elements()));
        HostBuffer ib(in.data(), kF32, s.input_memory_shape());
        ib.buf.flags |= halide_buffer_flag_host_dirty;
        REQUIRE(halide_copy_to_device(nullptr, &ib.buf, halide_cuda_device_interface()) == 0);
        ib.buf.host = reinterpret_cast<uint8_t *>(stale.data());
        ib.buf.flags = halide_buffer_flag_device_dirty;
        HostBuffer ob(out.data(), kF32, s.output_memory_shape());
        REQUIRE(halide_device_malloc(nullptr, &ob.buf, halide_cuda_device_interface()) == 0);
        ob.buf.flags = halide_buffer_flag_device_dirty;
        Status st = k->run(&ib.buf, &ob.buf, nullptr, Device::CPU);
        INFO(st.message());
        REQUIRE(st.ok());
        CHECK(stale == in);
        CHECK((ib.buf.flags & halide_buffer_flag_device_dirty) == 0);
        CHECK(check(*k, in.data(), out.data()).status.ok());
        CHECK(ob.buf.flags == halide_buffer_flag_host_dirty);
        REQUIRE(halide_device_free(nullptr, &ib.buf) == 0);
        REQUIRE(halide_device_free(nullptr, &ob.buf) == 0);
    }
    REQUIRE(halide_reuse_device_allocations(nullptr, true) == 0);
}

TEST_CASE("every CUDA kernel launches within CUDA's limits, against a fake driver", "[.fakecuda]") {
    gpu_present(nullptr);  // loads libcuda.so.1
    if (!dlsym(RTLD_DEFAULT, "fake_cuda_stats")) {
        std::printf("[SKIP] the fake CUDA driver (tests/fake_cuda) is not loaded\n");
        return;
    }
    for (const Kernel *k : registry().kernels()) {
        if (!k->has_variant(Device::CUDA)) continue;
        const PoolSpec &s = k->spec();
        std::vector<uint8_t> in = element_buffer(s, s.input_elements()), out = element_buffer(s, s.output_elements());
        std::vector<int64_t> idx(s.return_indices ? static_cast<size_t>(s.output_elements()) : 0);
        Status st = k->run(in.data(), out.data(), s.return_indices ? idx.data() : nullptr, Device::CUDA);
        INFO(k->name() << ": " << st.message());
        CHECK(st.ok());
    }
}
