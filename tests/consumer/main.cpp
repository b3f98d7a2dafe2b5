// The downstream program: two kernel sets generated from two manifests are linked into this
// binary. It checks that the registry holds both (the shared name "gap" once per set), finds
// a kernel by its PoolSpec as an application would, then runs every kernel on seeded input
// (ties, NaN and infinities included) and checks it against poolgen's reference loops.
// Exit status 0 only when all of that holds.
#include <cstdint>
#include <cstdio>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "poolgen/poolgen.h"

namespace {

#if defined(__aarch64__)
const char *kArch = "aarch64";
#elif defined(__x86_64__)
const char *kArch = "x86-64";
#else
const char *kArch = "unknown architecture";
#endif

// Values on a 1/32 grid in [-4, 4), so max windows have ties, plus a NaN and both infinities.
}  // namespace

int main() {
    using namespace poolgen;
    int failures = 0;
    auto fail = [&](const std::string &what) {
        std::printf("FAIL %s\n", what.c_str());
        failures++;
    };

    const std::vector<const Kernel *> &kernels = registry().kernels();
    std::printf("poolgen consumer (%s): %zu kernels linked\n", kArch, kernels.size());

    // Both sets are linked, each with its own "gap".
    std::set<std::string> sets, gap_sets;
    for (const Kernel *k : kernels) {
        sets.insert(k->info().set);
        if (k->name() == "gap") gap_sets.insert(k->info().set);
    }
    const std::set<std::string> expected_sets = {"vision_kernels", "audio_kernels"};
    if (kernels.size() != 7) fail("registry: expected 7 kernels (5 + 2), found " + std::to_string(kernels.size()));
    if (sets != expected_sets) fail("registry: expected the sets vision_kernels and audio_kernels");
    if (gap_sets != expected_sets) fail("registry: expected one kernel named 'gap' in each set");

    // Look-up by spec: VGG's 2x2 max pool on 1x128x56x56, channels-last.
    PoolSpec vgg;
    vgg.op = Op::MaxPool;
    vgg.layout = Layout::NHWC;
    vgg.input = {1, 128, 56, 56};
    vgg.kernel = {2};
    vgg.normalize();
    Status why;
    const Kernel *found = registry().find(vgg, Device::CPU, &why);
    if (!found) fail("find(spec): " + why.message());
    else if (found->name() != "vgg_maxpool_nhwc") fail("find(spec) returned '" + found->name() + "'");

    // Every kernel against the reference loops.
    uint32_t seed = 1;
    for (const Kernel *k : kernels) {
        const PoolSpec &spec = k->spec();
        const std::string label = k->info().set + "/" + k->name();
        // Ties, NaN, infinities, -0, stored in the kernel's dtype.
        const std::vector<uint8_t> input = reference::sample_elements(spec, seed++, true);
        std::vector<uint8_t> output(static_cast<size_t>(spec.output_elements()) * dtype_size(spec.dtype));
        std::vector<int64_t> indices(spec.return_indices ? static_cast<size_t>(spec.output_elements()) : 0);
        int64_t *idx = spec.return_indices ? indices.data() : nullptr;
        if (Status s = k->run(input.data(), output.data(), idx, Device::CPU); !s.ok()) {
            fail(label + ": run: " + s.message());
            continue;
        }
        const CheckResult r = check(*k, input.data(), output.data(), idx);
        if (!r.status.ok()) {
            fail(label + ": " + r.status.message());
            continue;
        }
        std::printf("ok   %-32s %s (%lld outputs, max abs error %.3g)\n", label.c_str(), spec.describe().c_str(),
                    static_cast<long long>(r.elements), r.max_abs_error);
    }

    if (failures) {
        std::printf("consumer: FAILED (%d problem%s)\n", failures, failures == 1 ? "" : "s");
        return 1;
    }
    std::printf("consumer: OK, %zu kernels from 2 sets match the reference on %s\n", kernels.size(), kArch);
    return 0;
}
