// CUDA variants: the same semantics as the CPU and the reference on every input, host and
// device buffers. Needs a GPU; elsewhere the hidden case prints [SKIP] with the reason, and
// the no-GPU behaviour (clean errors, quiet fallback) is tested instead.
#include <catch2/catch.hpp>

#include <cstdio>
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
            auto in = random_input(s, 17, specials);
            std::vector<float> gpu(static_cast<size_t>(s.output_elements())), cpu(gpu.size());
            std::vector<int64_t> gidx(s.return_indices ? gpu.size() : 0), cidx(gidx.size());
            Status st = k->run(in.data(), gpu.data(), s.return_indices ? gidx.data() : nullptr, Device::CUDA);
            INFO(st.message());
            REQUIRE(st.ok());
            CheckResult r = check(*k, in.data(), gpu.data(), s.return_indices ? gidx.data() : nullptr);
            INFO(r.status.message());
            CHECK(r.status.ok());
            REQUIRE(k->run(in.data(), cpu.data(), s.return_indices ? cidx.data() : nullptr, Device::CPU).ok());
            for (size_t i = 0; i < gpu.size(); i++)
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
