// Every generated kernel against the reference loops, the run() contract, the registry and
// the run-time ISA dispatch.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "HalideRuntime.h"
#include "poolgen/poolgen.h"
#include "poolgen/util.h"
#include "test_helpers.h"

using namespace poolgen;
using namespace testutil;

namespace {


// `values` stored in the kernel's dtype; the output starts as NaN bits (0xff bytes).
CheckResult run_and_check(const Kernel &k, const std::vector<float> &values) {
    const PoolSpec &s = k.spec();
    const std::vector<uint8_t> in = as_elements(s, values);
    std::vector<uint8_t> out = element_buffer(s, s.output_elements(), 0xff);
    std::vector<int64_t> idx(s.return_indices ? static_cast<size_t>(s.output_elements()) : 0, -999);
    Status st = k.run(in.data(), out.data(), s.return_indices ? idx.data() : nullptr, Device::CPU);
    INFO(st.message());
    REQUIRE(st.ok());
    return check(k, in.data(), out.data(), s.return_indices ? idx.data() : nullptr);
}

const Kernel &kernel(const char *name) {
    const Kernel *k = registry().find(name);
    INFO(name);
    REQUIRE(k != nullptr);
    return *k;
}

std::vector<float> run_values(const Kernel &k, const std::vector<float> &values) {
    const PoolSpec &s = k.spec();
    const std::vector<uint8_t> in = as_elements(s, values);
    std::vector<uint8_t> out = element_buffer(s, s.output_elements());
    std::vector<int64_t> idx(s.return_indices ? static_cast<size_t>(s.output_elements()) : 0);
    REQUIRE(k.run(in.data(), out.data(), s.return_indices ? idx.data() : nullptr).ok());
    return as_floats(s, out);
}

}  // namespace

TEST_CASE("every generated kernel matches the reference loops on random data", "[kernels]") {
    REQUIRE(registry().kernels().size() >= 30);
    for (const Kernel *k : registry().kernels()) {
        for (uint32_t seed : {1u, 2u, 3u}) {
            for (double specials : {0.0, 0.02, 0.3}) {
                INFO(k->name() << " seed " << seed << " specials " << specials);
                CheckResult r = run_and_check(*k, random_input(k->spec(), seed, specials));
                INFO(r.status.message());
                CHECK(r.status.ok());
                CHECK(r.elements == k->spec().output_elements());
            }
        }
    }
}

TEST_CASE("the checker catches a wrong value and a wrong index", "[kernels]") {
    const Kernel &k = kernel("resnet18_maxpool_indices");
    const PoolSpec &s = k.spec();
    auto in = random_input(s, 7, 0);
    std::vector<float> out(static_cast<size_t>(s.output_elements()));
    std::vector<int64_t> idx(out.size());
    REQUIRE(k.run(in.data(), out.data(), idx.data()).ok());
    REQUIRE(check(k, in.data(), out.data(), idx.data()).status.ok());
    idx[1234] += 1;
    CheckResult bad_index = check(k, in.data(), out.data(), idx.data());
    CHECK(bad_index.mismatches == 1);
    CHECK(bad_index.first_mismatch == 1234);
    idx[1234] -= 1;
    out[77] = std::nextafter(out[77], kInf);
    CHECK(check(k, in.data(), out.data(), idx.data()).mismatches == 1);
    // Averages: one float32 ulp of a sum is within the bound, a real error is not.
    const Kernel &a = kernel("avg_k3s1p1_exclude_pad_nhwc");
    auto ain = random_input(a.spec(), 3, 0);
    std::vector<float> aout(static_cast<size_t>(a.spec().output_elements()));
    REQUIRE(a.run(ain.data(), aout.data()).ok());
    aout[5] += 1e-3f;
    CHECK_FALSE(check(a, ain.data(), aout.data()).status.ok());
}

TEST_CASE("seeds' worked examples through the generated kernels", "[kernels][seeds]") {
    const std::vector<float> four = {1, 3, 2, 1, 4, 6, 5, 0, 2, 9, 3, 4, 0, 1, 7, 2};
    CHECK(run_values(kernel("seed_max_4x4_k2"), four) == std::vector<float>{6, 5, 9, 7});
    const std::vector<float> arange9 = {0, 1, 2, 3, 4, 5, 6, 7, 8};
    CHECK(run_values(kernel("seed_max_3x3_k2s1"), arange9) == std::vector<float>{4, 5, 7, 8});
    CHECK(run_values(kernel("seed_avg_3x3_k2s1"), arange9) == std::vector<float>{2, 3, 5, 6});
    std::vector<float> arange16(16);
    for (int i = 0; i < 16; i++) arange16[i] = float(i);
    CHECK(run_values(kernel("seed_max_k3_pad1_4x4"), arange16) == std::vector<float>{5, 7, 13, 15});
    const std::vector<float> five = {1, 2, 0, 3, 1, 0, 1, 2, 3, 1, 1, 2, 1, 0, 0, 5, 2, 3, 1, 1, 2, 1, 0, 1, 1};
    CHECK(run_values(kernel("seed_max_k3_ceil_5x5"), five) == std::vector<float>{2, 3, 5, 1});
    CHECK(run_values(kernel("seed_max_k2_ceil_5x5"), five) == std::vector<float>{2, 3, 1, 5, 3, 1, 2, 1, 1});
    // NiN: 1x10x5x5 -> 1x10x1x1, the mean of each plane.
    std::vector<float> nin(250);
    for (int i = 0; i < 250; i++) nin[i] = float(i);
    auto means = run_values(kernel("nin_gap"), nin);
    for (int c = 0; c < 10; c++) CHECK(means[c] == float(c * 25 + 12));
}

TEST_CASE("f16 and bf16 kernels: float32 sums rounded once to nearest even, PyTorch's values", "[kernels][dtype]") {
    // Hand-computed, and what PyTorch 2.15 gives (avg_pool1d(x.half() / x.bfloat16(), 2, 2)):
    // (1 + 2^-8) / 2 = 0.5 + 2^-9, exact in f16, a tie in bf16 (even: 0.5); (1 + 3*2^-8) / 2 =
    // 0.5 + 3*2^-9, exact in f16, a tie in bf16 between 0.5 + 2^-8 and 0.5 + 2^-7 (even: the
    // latter). 65504 + 65504 overflows f16 but not the float32 sum.
    CHECK(run_values(kernel("dtype_seed_avg_f16"), {1, 0x1p-8f, 1, 3 * 0x1p-8f, 65504, 65504}) ==
          std::vector<float>{0.501953125f, 0.505859375f, 65504});
    CHECK(run_values(kernel("dtype_seed_avg_bf16"), {1, 0x1p-8f, 1, 3 * 0x1p-8f, 2, 2}) == std::vector<float>{0.5f, 0.5078125f, 2});
    // PyTorch rounds the quotient to the type before adding it to the zeroed output:
    // (-2^-24 + 0) / 2 = -2^-25 rounds (a tie, even) to -0 in f16, and 0 + -0 is +0.
    const std::vector<float> tiny = run_values(kernel("dtype_seed_avg_f16"), {-0x1p-24f, 0, 1, 1, 1, 1});
    CHECK(tiny[0] == 0.0f);
    CHECK_FALSE(std::signbit(tiny[0]));
    // bf16: (-2^-133 + 0) / 2 = -2^-134 rounds to -0 too.
    const std::vector<float> tiny_bf16 = run_values(kernel("dtype_seed_avg_bf16"), {-0x1p-133f, 0, 1, 1, 1, 1});
    CHECK(tiny_bf16[0] == 0.0f);
    CHECK_FALSE(std::signbit(tiny_bf16[0]));
    // PyTorch's CPU adaptive_avg_pool3d sums in bf16: 256 + 1 rounds to 256 (a tie, even), again
    // + 1, then 256 / 3 = 85.33 rounds to 85.5; the other window 1 + 1 + 256 = 258 (exact) / 3 = 86.
    CHECK(run_values(kernel("dtype_seed_aavg3d_bf16"), {256, 1, 1, 1, 1, 256}) == std::vector<float>{85.5f, 86});
}

TEST_CASE("u8 and i8 kernels: PyTorch's quantized codes, both kernels' roundings", "[kernels][dtype]") {
    // Hand-computed, and what PyTorch 2.15 gives (quint8, zero point 3, avg_pool2d k2 s1 p1,
    // count_include_pad=False, on a contiguous and on a channels_last tensor). Output (0,1)
    // averages 10 and 7: S = 17 - 2*3 = 11, 11/2 = 5.5. Channels-first rounds 5.5 + 3 = 8.5 to
    // 8 (even); channels-last rounds 5.5 to 6 and adds 3: 9. Output (2,2) averages 3 and 0:
    // S = -3, -1.5 + 3 = 1.5 -> 2 against rne(-1.5) + 3 = 1.
    const std::vector<float> codes = {10, 7, 6, 3, 3, 0, 10, 7, 6, 3, 3, 0};
    const std::vector<float> cf = run_values(kernel("dtype_seed_qavg_zp3_u8"), codes);
    CHECK(std::vector<float>(cf.begin(), cf.begin() + 12) == std::vector<float>{10, 8, 6, 6, 6, 6, 4, 3, 3, 3, 2, 0});
    // The nhwc kernel reads (h, w, c): each code twice, once per channel.
    std::vector<float> interleaved;
    for (int i = 0; i < 6; i++) interleaved.insert(interleaved.end(), {codes[i], codes[i]});
    const std::vector<float> cl = run_values(kernel("dtype_seed_qavg_zp3_nhwc_u8"), interleaved);
    const std::vector<float> cl_expected = {10, 9, 7, 6, 7, 6, 4, 3, 3, 3, 1, 0};
    for (int i = 0; i < 12; i++) {
        INFO("output " << i);
        CHECK(cl[2 * i] == cl_expected[i]);
        CHECK(cl[2 * i + 1] == cl_expected[i]);
    }
    // 35 over a 7x10 window: the channels-first adaptive kernel multiplies by ((1/7)/10) in
    // float32, a little above 1/70: 0.50000006 -> 1; the channels-last one multiplies by 1/70
    // and gets exactly 0.5, a tie that rounds to 0 (even).
    std::vector<float> sum35(140, 0.0f);
    for (int c = 0; c < 2; c++)
        for (int w = 0; w < 5; w++) sum35[c * 70 + w] = 7;
    CHECK(run_values(kernel("dtype_seed_qaavg_sum35_u8"), sum35) == std::vector<float>{1, 1});
    std::vector<float> sum35_nhwc(140, 0.0f);
    for (int w = 0; w < 5; w++) sum35_nhwc[2 * w] = sum35_nhwc[2 * w + 1] = 7;
    CHECK(run_values(kernel("dtype_seed_qaavg_sum35_nhwc_u8"), sum35_nhwc) == std::vector<float>{0, 0});
    // Saturation: (4*127 - 4*(-128)) / -1 - 128 is far below -128.
    CHECK(run_values(kernel("dtype_seed_qavg_saturate_i8"), {127, 127, 127, 127}) == std::vector<float>{-128});
}

TEST_CASE("an f16 kernel refuses a float32 halide_buffer_t before reading it", "[kernels][dtype]") {
    using Catch::Matchers::Contains;
    const Kernel &k = kernel("dtype_seed_avg_f16");
    std::vector<float> in(6, 1.0f), out(3, -1.0f);
    halide_dimension_t idims[3] = {{0, 6, 1, 0}, {0, 1, 6, 0}, {0, 1, 6, 0}}, odims[3] = {{0, 3, 1, 0}, {0, 1, 3, 0}, {0, 1, 3, 0}};
    halide_buffer_t ib{}, ob{};
    ib.host = reinterpret_cast<uint8_t *>(in.data());
    ib.type = halide_type_t(halide_type_float, 32);
    ib.dimensions = 3;
    ib.dim = idims;
    ob = ib;
    ob.host = reinterpret_cast<uint8_t *>(out.data());
    ob.dim = odims;
    CHECK_THAT(k.run(&ib, &ob).message(), Contains("input: type is float32, the kernel needs float16"));
    ib.type = halide_type_t(halide_type_float, 16);
    CHECK_THAT(k.run(&ib, &ob).message(), Contains("output: type is float32, the kernel needs float16"));
    CHECK(out == std::vector<float>(3, -1.0f));
    const Kernel &b = kernel("dtype_seed_avg_bf16");
    ob.type = halide_type_t(halide_type_float, 16);
    CHECK_THAT(b.run(&ib, &ob).message(), Contains("input: type is float16, the kernel needs bfloat16"));
}

TEST_CASE("a window entirely in padding gives -inf", "[kernels]") {
    const Kernel &k = kernel("max_dilation_all_pad_window");
    std::vector<float> in(static_cast<size_t>(k.spec().input_elements()), 3.0f);
    auto out = run_values(k, in);
    for (float v : out) CHECK(v == -kInf);
}

TEST_CASE("strided halide buffers give the same result as dense arrays", "[kernels]") {
    const Kernel &k = kernel("max_asymmetric");  // nchw 2x5x11x9, indices
    const PoolSpec &s = k.spec();
    auto in = random_input(s, 11, 0.05);
    std::vector<float> dense_out(static_cast<size_t>(s.output_elements()));
    std::vector<int64_t> dense_idx(dense_out.size());
    REQUIRE(k.run(in.data(), dense_out.data(), dense_idx.data()).ok());

    // Input rows padded to 16 floats; output transposed (w outermost) to make it non-dense.
    const auto ishape = s.input_memory_shape();  // N C H W
    std::vector<float> padded(static_cast<size_t>(ishape[0] * ishape[1] * ishape[2] * 16), kNaN);
    for (int64_t i = 0; i < s.input_elements(); i++) {
        const int64_t w = i % ishape[3], row = i / ishape[3];
        padded[static_cast<size_t>(row * 16 + w)] = in[static_cast<size_t>(i)];
    }
    halide_dimension_t idims[4] = {{0, int32_t(ishape[3]), 1, 0},
                                   {0, int32_t(ishape[2]), 16, 0},
                                   {0, int32_t(ishape[1]), int32_t(16 * ishape[2]), 0},
                                   {0, int32_t(ishape[0]), int32_t(16 * ishape[2] * ishape[1]), 0}};
    halide_buffer_t ib{};
    ib.host = reinterpret_cast<uint8_t *>(padded.data());
    ib.type = halide_type_t(halide_type_float, 32);
    ib.dimensions = 4;
    ib.dim = idims;

    const auto oshape = s.output_memory_shape();
    const int32_t W = int32_t(oshape[3]), H = int32_t(oshape[2]), C = int32_t(oshape[1]), N = int32_t(oshape[0]);
    std::vector<float> tout(dense_out.size(), -1);
    std::vector<int64_t> tidx(dense_out.size(), -1);
    // w has the largest stride: (n, c, h) dense first, then w.
    halide_dimension_t odims[4] = {{0, W, H * C * N, 0}, {0, H, 1, 0}, {0, C, H, 0}, {0, N, H * C, 0}};
    halide_buffer_t ob{}, xb{};
    ob.host = reinterpret_cast<uint8_t *>(tout.data());
    ob.type = halide_type_t(halide_type_float, 32);
    ob.dimensions = 4;
    ob.dim = odims;
    xb = ob;
    xb.host = reinterpret_cast<uint8_t *>(tidx.data());
    xb.type = halide_type_t(halide_type_int, 64);
    Status st = k.run(&ib, &ob, &xb);
    INFO(st.message());
    REQUIRE(st.ok());
    for (int32_t n = 0; n < N; n++)
        for (int32_t c = 0; c < C; c++)
            for (int32_t h = 0; h < H; h++)
                for (int32_t w = 0; w < W; w++) {
                    const size_t d = static_cast<size_t>(((n * C + c) * H + h) * W + w);
                    const size_t t = static_cast<size_t>(w * H * C * N + n * H * C + c * H + h);
                    CHECK((same_bits(dense_out[d], tout[t]) || (std::isnan(dense_out[d]) && std::isnan(tout[t]))));
                    CHECK(dense_idx[d] == tidx[t]);
                }
}

TEST_CASE("run validates before touching memory", "[kernels]") {
    const Kernel &k = kernel("resnet18_maxpool");
    const Kernel &ki = kernel("resnet18_maxpool_indices");
    std::vector<float> in(static_cast<size_t>(k.spec().input_elements())), out(static_cast<size_t>(k.spec().output_elements()));
    std::vector<int64_t> idx(out.size());
    using Catch::Matchers::Contains;
    CHECK_THAT(k.run(nullptr, out.data()).message(), Contains("input"));
    CHECK_THAT(k.run(in.data(), nullptr).message(), Contains("output"));
    CHECK_THAT(k.run(in.data(), out.data(), idx.data()).message(), Contains("does not return indices"));
    // Values only from an index-returning kernel is fine.
    CHECK(ki.run(in.data(), out.data()).ok());

    halide_dimension_t dims[4] = {{0, 112, 1, 0}, {0, 112, 112, 0}, {0, 64, 112 * 112, 0}, {0, 1, 64 * 112 * 112, 0}};
    halide_buffer_t ib{};
    ib.host = reinterpret_cast<uint8_t *>(in.data());
    ib.type = halide_type_t(halide_type_float, 32);
    ib.dimensions = 4;
    ib.dim = dims;
    halide_dimension_t odims[4] = {{0, 56, 1, 0}, {0, 56, 56, 0}, {0, 64, 56 * 56, 0}, {0, 1, 64 * 56 * 56, 0}};
    halide_buffer_t ob = ib;
    ob.host = reinterpret_cast<uint8_t *>(out.data());
    ob.dim = odims;
    CHECK(k.run(&ib, &ob).ok());
    dims[0].extent = 111;
    CHECK_THAT(k.run(&ib, &ob).message(), Contains("shape"));
    dims[0].extent = 112;
    ib.type = halide_type_t(halide_type_int, 32);
    CHECK_THAT(k.run(&ib, &ob).message(), Contains("type"));
    ib.type = halide_type_t(halide_type_float, 32);
    ib.dimensions = 3;
    CHECK_THAT(k.run(&ib, &ob).message(), Contains("dimensions"));
    ib.dimensions = 4;
    ib.host = nullptr;
    CHECK_THAT(k.run(&ib, &ob).message(), Contains("host"));
    CHECK_THAT(k.run(nullptr, &ob).message(), Contains("null"));
}

TEST_CASE("find by spec returns the kernel, or the nearest configured ones", "[registry]") {
    const Kernel &k = kernel("resnet18_maxpool");
    PoolSpec s = k.spec();
    Status why;
    CHECK(registry().find(s, Device::CPU, &why) == &k);
    CHECK(why.ok());
    // Unnormalized form of the same spec (scalars, defaults) finds it too.
    PoolSpec loose;
    loose.op = Op::MaxPool;
    loose.input = {1, 64, 112, 112};
    loose.kernel = {3};
    loose.stride = {2};
    loose.padding = {1};
    CHECK(registry().find(loose, Device::Auto) == &k);
    s.input = {1, 64, 114, 114};
    CHECK(registry().find(s, Device::CPU, &why) == nullptr);
    CHECK_THAT(why.message(), Catch::Matchers::Contains("nearest configured") &&
                                  Catch::Matchers::Contains("'resnet18_maxpool'"));
    s.padding = {5, 5};
    CHECK(registry().find(s, Device::CPU, &why) == nullptr);
    CHECK_THAT(why.message(), Catch::Matchers::Contains("field 'padding'"));
    CHECK(registry().find("no_such_kernel") == nullptr);
}

TEST_CASE("cuda requests fail cleanly without a CUDA variant", "[registry]") {
    const Kernel &k = kernel("seed_max_4x4_k2");  // targets: cpu only
    std::vector<float> in(16), out(4);
    Status st = k.run(in.data(), out.data(), nullptr, Device::CUDA);
    CHECK_FALSE(st.ok());
    CHECK_THAT(st.message(), Catch::Matchers::Contains("CUDA"));
    CHECK(k.run(in.data(), out.data(), nullptr, Device::Auto).ok());
}

// Forces one branch of the multi-target kernels: the custom hook answers which feature sets
// the "machine" has. The wrappers remember their first choice, so each level runs in its own
// process: ctest runs this hidden case once per POOLGEN_DISPATCH_LEVEL (tests/CMakeLists.txt).
namespace {
std::atomic<int> g_allowed_level{3};  // 3: AVX-512, 2: AVX2, 1: SSE4.1 only
std::atomic<int> g_chosen_level{0};  // 0: every check declined, the baseline (SSE4.1) ran
std::atomic<int> g_asked{0};

bool has(const uint64_t *f, int feature) { return (f[feature / 64] >> (feature % 64)) & 1; }

int fake_cpu(int count, const uint64_t *features) {
    (void)count;
    g_asked++;
    int level = 1;
    if (has(features, halide_target_feature_avx2)) level = 2;
    if (has(features, halide_target_feature_avx512_skylake) || has(features, halide_target_feature_avx512)) level = 3;
    if (level > g_allowed_level) return 0;
    g_chosen_level = level;
    return 1;
}
}  // namespace

TEST_CASE("one ISA variant of the multi-target kernels matches the reference", "[.dispatch]") {
    const char *env = std::getenv("POOLGEN_DISPATCH_LEVEL");
    REQUIRE(env != nullptr);
    const int level = std::atoi(env);
    REQUIRE((level >= 1 && level <= 3));
    const bool avx512 = poolgen::util::cpu_runs_target("avx512_skylake");
    const bool avx2 = poolgen::util::cpu_runs_target("avx2");
    if ((level == 3 && !avx512) || (level == 2 && !avx2)) {
        std::printf("[SKIP] this CPU lacks the features of dispatch level %d\n", level);
        return;
    }
    g_allowed_level = level;
    auto previous = halide_set_custom_can_use_target_features(fake_cpu);
    for (const Kernel *k : registry().kernels()) {
        g_chosen_level = 0;
        g_asked = 0;
        INFO(k->name() << " at level " << level);
        CheckResult r = run_and_check(*k, random_input(k->spec(), 5, 0.02));
        CHECK(g_asked > 0);
        CHECK(g_chosen_level == (level == 1 ? 0 : level));
        INFO(r.status.message());
        CHECK(r.status.ok());
    }
    halide_set_custom_can_use_target_features(previous);
}
