// The runtime from many threads at once: 8 threads start together (so the registry, each
// kernel's ISA dispatch and Halide's thread pool see their first use under contention) and
// make many calls mixing kernels, entry points and look-ups. Every result is compared with
// outputs precomputed by the reference loops before the threads start. Built as its own
// binary so that it also runs under ThreadSanitizer (`make test`, build-tsan).
#include <catch2/catch.hpp>

#include <atomic>
#include <cstring>
#include <mutex>
#include <random>
#include <thread>

#include "HalideRuntime.h"
#include "poolgen/poolgen.h"
#include "test_helpers.h"
#include "test_random.h"

using namespace poolgen;
using namespace testutil;

namespace {

struct Case {
    const Kernel *kernel;
    std::vector<float> input, expected;  // input: the stored elements widened
    std::vector<uint8_t> stored;         // input in the kernel's dtype
    std::vector<int64_t> expected_indices;
};


constexpr int kThreads = 8;

int calls_per_thread() {
    const char *v = std::getenv("POOLGEN_CONCURRENCY_CALLS");
    return v && *v ? std::atoi(v) : 150;
}

}  // namespace

TEST_CASE("8 threads call the runtime at once, every result matches the precomputed one", "[concurrency]") {
    // Cases: every kernel of modest size (the big ResNet layers too: they use the thread pool).
    std::vector<Case> cases;
    for (const Kernel *k : registry().kernels()) {
        const PoolSpec &s = k->spec();
        if (s.input_elements() > (1 << 20)) continue;
        for (Dist d : {Dist::Grid, Dist::NaNHeavy}) {
            Case c{k, random_values(s, d, cases.size() + 1), {}, {}, {}};
            c.stored = store_elements(s.dtype, c.input.data(), static_cast<int64_t>(c.input.size()));
            c.input = load_elements(s.dtype, c.stored.data(), static_cast<int64_t>(c.input.size()));
            c.expected.resize(static_cast<size_t>(s.output_elements()));
            if (s.return_indices) c.expected_indices.resize(c.expected.size());
            REQUIRE(reference::run(s, c.input.data(), c.expected.data(), s.return_indices ? c.expected_indices.data() : nullptr)
                        .ok());
            cases.push_back(std::move(c));
        }
    }
    REQUIRE(cases.size() >= 40);

    std::atomic<int> ready{0};
    std::atomic<bool> go{false};
    std::mutex mu;
    std::vector<std::string> failures;
    std::atomic<long> runs{0};
    auto fail = [&](const std::string &what) {
        std::lock_guard<std::mutex> lock(mu);
        if (failures.size() < 20) failures.push_back(what);
    };

    auto worker = [&](int t) {
        std::mt19937_64 rng(1000 + t);
        ready++;
        while (!go.load()) std::this_thread::yield();
        const int calls = calls_per_thread();
        for (int i = 0; i < calls; i++) {
            const Case &c = cases[rng() % cases.size()];
            const PoolSpec &s = c.kernel->spec();
            const std::string who = "thread " + std::to_string(t) + " call " + std::to_string(i) + " kernel '" + c.kernel->name() + "'";
            // Look-ups by name and by spec must find this very kernel (names are unique per set).
            const Kernel *by_spec = registry().find(s, Device::CPU);
            if (by_spec == nullptr || by_spec->spec() != s) fail(who + ": find(spec) failed");
            if (registry().find(c.kernel->name()) == nullptr) fail(who + ": find(name) failed");
            const size_t elem = dtype_size(s.dtype);
            std::vector<uint8_t> out(c.expected.size() * elem, 0xee);
            std::vector<int64_t> idx(c.expected_indices.size(), -7);
            Status st;
            const int api = int(rng() % 4);
            if (api <= 1 || !s.return_indices) {
                // Dense pointers; api 1 on an index kernel asks for values only.
                const bool want_idx = s.return_indices && api == 0;
                st = c.kernel->run(c.stored.data(), out.data(), want_idx ? idx.data() : nullptr, Device::CPU);
                if (!want_idx) idx.assign(idx.size(), 0);
            } else {
                // halide_buffer_t: dense views (api 2), or outputs with a one-element gap after
                // every row (api 3), which the runtime fills by repacking.
                const size_t gap = api == 3 ? 1 : 0;
                const auto in_shape = s.input_memory_shape(), out_shape = s.output_memory_shape();
                const int n = static_cast<int>(in_shape.size());
                halide_dimension_t id[5], od[5];
                int32_t stride = 1;
                for (int d = 0; d < n; d++) {
                    id[d] = {0, int32_t(in_shape[n - 1 - d]), stride, 0};
                    stride *= id[d].extent;
                }
                stride = 1;
                for (int d = 0; d < n; d++) {
                    od[d] = {0, int32_t(out_shape[n - 1 - d]), stride, 0};
                    stride *= od[d].extent + (d == 0 ? int32_t(gap) : 0);
                }
                std::vector<uint8_t> sout(size_t(stride) * elem, 0xee);
                std::vector<int64_t> sidx(size_t(stride), -7);
                halide_buffer_t ib{}, ob{}, xb{};
                ib.host = const_cast<uint8_t *>(c.stored.data());
                ib.type = halide_type_of(s.dtype);
                ib.dimensions = n;
                ib.dim = id;
                ob = ib;
                ob.dim = od;
                ob.host = reinterpret_cast<uint8_t *>(sout.data());
                xb = ob;
                xb.type = halide_type_t(halide_type_int, 64);
                xb.host = reinterpret_cast<uint8_t *>(sidx.data());
                st = c.kernel->run(&ib, &ob, &xb, Device::CPU);
                const size_t row = size_t(od[0].extent);
                for (size_t e = 0; e < c.expected.size(); e++) {
                    std::memcpy(&out[e * elem], &sout[(e / row * (row + gap) + e % row) * elem], elem);
                    idx[e] = sidx[e / row * (row + gap) + e % row];
                }
            }
            runs++;
            if (!st.ok()) {
                fail(who + ": " + st.message());
                continue;
            }
            const bool indices_filled = !(s.return_indices && api == 1);
            const std::vector<float> got = load_elements(s.dtype, out.data(), static_cast<int64_t>(c.expected.size()));
            const CheckResult r =
                compare(s, c.input.data(), c.expected.data(), indices_filled && s.return_indices ? c.expected_indices.data() : nullptr,
                        got.data(), indices_filled && s.return_indices ? idx.data() : nullptr);
            if (!r.status.ok()) fail(who + ": " + r.status.message());
            // An error path, concurrently: a wrong shape is refused with its own message.
            if (i % 16 == 0) {
                // One more than the real extent in every dim: never the kernel's shape.
                const auto mem = s.input_memory_shape();
                halide_dimension_t bad[5] = {};
                for (size_t d = 0; d < mem.size(); d++) bad[d] = {0, int32_t(mem[mem.size() - 1 - d] + 1), 0, 0};
                halide_buffer_t b{};
                b.host = reinterpret_cast<uint8_t *>(out.data());
                b.type = halide_type_of(s.dtype);
                b.dimensions = static_cast<int>(s.input.size());
                b.dim = bad;
                const Status e = c.kernel->run(&b, &b);
                if (e.ok() || e.message().find("input: shape is") == std::string::npos)
                    fail(who + ": expected a shape error, got '" + e.message() + "'");
            }
        }
    };
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; t++) threads.emplace_back(worker, t);
    while (ready.load() < kThreads) std::this_thread::yield();
    go = true;
    for (auto &th : threads) th.join();
    for (const auto &f : failures) UNSCOPED_INFO(f);
    CHECK(failures.empty());
    CHECK(runs.load() == long(kThreads) * calls_per_thread());
}

TEST_CASE("the reference loops and the checker run concurrently", "[concurrency]") {
    const Kernel *k = registry().find("avg_k3s1p1_exclude_pad_nhwc");
    REQUIRE(k != nullptr);
    const PoolSpec &s = k->spec();
    const auto in = random_values(s, Dist::WideExponent, 3);
    std::vector<float> expected(static_cast<size_t>(s.output_elements()));
    REQUIRE(reference::run(s, in.data(), expected.data()).ok());
    std::atomic<int> bad{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; t++)
        threads.emplace_back([&] {
            for (int i = 0; i < 3; i++) {
                std::vector<float> out(expected.size());
                if (!reference::run(s, in.data(), out.data()).ok() ||
                    std::memcmp(out.data(), expected.data(), out.size() * sizeof(float)) != 0)
                    bad++;
                if (!check(*k, in.data(), out.data()).status.ok()) bad++;
            }
        });
    for (auto &th : threads) th.join();
    CHECK(bad.load() == 0);
}
