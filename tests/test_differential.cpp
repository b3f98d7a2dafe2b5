// Randomized differential test: every linked kernel against the reference loops on inputs
// drawn from many distributions (test_random.h), through the dense API and, for a quarter of
// the cases, through strided halide_buffer_t views. Seeded and reproducible: a failure names
// the case's kernel, distribution and seed. `POOLGEN_DIFF_SEED` / `POOLGEN_DIFF_CASES` change
// the run; the hidden [.nightly] case (`make test-nightly`) runs thousands of cases with a
// fresh seed. ctest also runs the [differential] cases on the AVX2 and SSE4.1 variants.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <random>
#include <sstream>

#include "HalideRuntime.h"
#include "poolgen/poolgen.h"
#include "test_helpers.h"
#include "test_random.h"

using namespace poolgen;
using namespace testutil;

namespace {

uint64_t env_u64(const char *name, uint64_t dflt) {
    const char *v = std::getenv(name);
    return v && *v ? std::strtoull(v, nullptr, 10) : dflt;
}

// A strided view of a dense array in memory order (outermost first): every dimension padded
// by `pad[d]` unused elements (filled with a sentinel the kernel must not read into results).
struct StridedView {
    std::vector<uint8_t> storage;
    halide_buffer_t buf{};
    halide_dimension_t dims[5]{};
    size_t elem = 0;

    StridedView(const std::vector<int64_t> &shape, halide_type_t type, std::mt19937_64 &rng) {
        const int n = static_cast<int>(shape.size());
        elem = (type.bits + 7) / 8;
        int64_t stride = 1;
        for (int d = 0; d < n; d++) {  // Halide order: innermost first
            const int64_t extent = shape[n - 1 - d];
            dims[d].min = 0;
            dims[d].extent = static_cast<int32_t>(extent);
            dims[d].stride = static_cast<int32_t>(stride);
            stride *= extent + static_cast<int64_t>(rng() % 3);  // 0..2 elements of padding per dim
        }
        storage.assign(static_cast<size_t>(stride) * elem, 0xEE);
        buf.host = storage.data();
        buf.type = type;
        buf.dimensions = n;
        buf.dim = dims;
    }
    uint8_t *at(int64_t dense_index) {
        int64_t off = 0;
        for (int d = 0; d < buf.dimensions; d++) {
            off += (dense_index % dims[d].extent) * dims[d].stride;
            dense_index /= dims[d].extent;
        }
        return storage.data() + off * static_cast<int64_t>(elem);
    }
};

template <typename T>
std::vector<T> gather(StridedView &v, size_t n) {
    std::vector<T> out(n);
    for (size_t i = 0; i < n; i++) std::memcpy(&out[i], v.at(int64_t(i)), sizeof(T));
    return out;
}
// Dense elements of v.elem bytes each.
void scatter_bytes(StridedView &v, const std::vector<uint8_t> &dense) {
    for (size_t i = 0; i < dense.size() / v.elem; i++) std::memcpy(v.at(int64_t(i)), &dense[i * v.elem], v.elem);
}
std::vector<uint8_t> gather_bytes(StridedView &v, size_t n) {
    std::vector<uint8_t> out(n * v.elem);
    for (size_t i = 0; i < n; i++) std::memcpy(&out[i * v.elem], v.at(int64_t(i)), v.elem);
    return out;
}


// POOLGEN_DISPATCH_LEVEL=2 or 1 (set by ctest's differential.level* tests) restricts the
// multi-target kernels to their AVX2 or SSE4.1 variant, as the [.dispatch] test does; the
// wrappers keep their first choice, so each level runs in its own process.
int g_level = 3;
std::atomic<int> g_hook_calls{0};
int restricted_cpu(int count, const uint64_t *features) {
    g_hook_calls++;
    auto has = [&](int f) { return (features[f / 64] >> (f % 64)) & 1; };
    int level = 1;
    if (has(halide_target_feature_avx2)) level = 2;
    if (has(halide_target_feature_avx512_skylake) || has(halide_target_feature_avx512)) level = 3;
    return level <= g_level && halide_default_can_use_target_features(count, features);
}
void restrict_dispatch() {
    const char *env = std::getenv("POOLGEN_DISPATCH_LEVEL");
    if (!env) return;
    g_level = std::atoi(env);
    halide_set_custom_can_use_target_features(restricted_cpu);
}

// Runs `cases` cases starting at `seed`; returns the failures (empty when all pass).
std::vector<std::string> run_cases(uint64_t seed, uint64_t cases) {
    std::vector<std::string> failures;
    restrict_dispatch();
    const auto &ks = registry().kernels();
    std::mt19937_64 rng(seed);
    for (uint64_t c = 0; c < cases && failures.size() < 10; c++) {
        const Kernel &k = *ks[c % ks.size()];  // every kernel, round robin
        const PoolSpec &s = k.spec();
        const Dist dist = static_cast<Dist>(rng() % static_cast<uint64_t>(Dist::kCount));
        const uint64_t case_seed = rng();
        const bool strided = rng() % 4 == 0;
        // Stored in the kernel's dtype (f16/bf16 round the drawn values; the check reads what was stored).
        const std::vector<uint8_t> in = as_elements(s, random_values(s, dist, case_seed));
        std::vector<uint8_t> out = element_buffer(s, s.output_elements());
        std::vector<int64_t> idx(s.return_indices ? static_cast<size_t>(s.output_elements()) : 0);
        Status st;
        if (!strided) {
            st = k.run(in.data(), out.data(), s.return_indices ? idx.data() : nullptr, Device::CPU);
        } else {
            StridedView vin(s.input_memory_shape(), halide_type_of(s.dtype), rng);
            StridedView vout(s.output_memory_shape(), halide_type_of(s.dtype), rng);
            StridedView vidx(s.output_memory_shape(), halide_type_t(halide_type_int, 64), rng);
            scatter_bytes(vin, in);
            st = k.run(&vin.buf, &vout.buf, s.return_indices ? &vidx.buf : nullptr, Device::CPU);
            out = gather_bytes(vout, out.size() / vout.elem);
            if (s.return_indices) idx = gather<int64_t>(vidx, idx.size());
        }
        std::ostringstream what;
        what << "case " << c << ": kernel '" << k.name() << "' (" << s.describe() << "), " << dist_name(dist)
             << " input, case seed " << case_seed << (strided ? ", strided buffers" : ", dense arrays")
             << " [POOLGEN_DIFF_SEED=" << seed << "]";
        if (!st.ok()) {
            failures.push_back(what.str() + ": run failed: " + st.message());
            continue;
        }
        const CheckResult r = check(k, in.data(), out.data(), s.return_indices ? idx.data() : nullptr);
        if (!r.status.ok()) failures.push_back(what.str() + ": " + r.status.message());
    }
    return failures;
}

}  // namespace

TEST_CASE("randomized differential: every kernel, many input distributions, dense and strided", "[differential]") {
    const uint64_t seed = env_u64("POOLGEN_DIFF_SEED", 20261121);
    const uint64_t cases = env_u64("POOLGEN_DIFF_CASES", 3 * registry().kernels().size() + 60);
    REQUIRE(registry().kernels().size() >= 30);
    const auto failures = run_cases(seed, cases);
    for (const auto &f : failures) UNSCOPED_INFO(f);
    CHECK(failures.empty());
    if (std::getenv("POOLGEN_DISPATCH_LEVEL")) CHECK(g_hook_calls.load() > 0);  // the restriction was consulted
}

TEST_CASE("randomized differential, nightly size: thousands of cases with a fresh seed", "[.nightly]") {
    const uint64_t seed =
        env_u64("POOLGEN_DIFF_SEED", uint64_t(std::chrono::system_clock::now().time_since_epoch().count()));
    const uint64_t cases = env_u64("POOLGEN_DIFF_CASES", 5000);
    std::printf("nightly differential: %llu cases, POOLGEN_DIFF_SEED=%llu\n", (unsigned long long)cases,
                (unsigned long long)seed);
    const auto failures = run_cases(seed, cases);
    for (const auto &f : failures) UNSCOPED_INFO(f);
    CHECK(failures.empty());
}

TEST_CASE("randomized differential catches a kernel that is wrong", "[differential]") {
    // The harness must be able to fail: compare one kernel's output, perturbed by one ulp,
    // with the reference through the same check() the cases use.
    const Kernel *k = registry().find("resnet18_maxpool");
    REQUIRE(k != nullptr);
    const auto in = random_values(k->spec(), Dist::Uniform, 1);
    std::vector<float> out(static_cast<size_t>(k->spec().output_elements()));
    REQUIRE(k->run(in.data(), out.data()).ok());
    REQUIRE(check(*k, in.data(), out.data()).status.ok());
    out[out.size() / 2] = std::nextafter(out[out.size() / 2], kInf);
    CHECK_FALSE(check(*k, in.data(), out.data()).status.ok());
}
