// `poolgen tune-trial`: the process one batch of tuning candidates runs in. It loads each
// compiled candidate, verifies it against the reference loops, times the survivors interleaved
// (cold, as `poolgen bench` does), and prints one JSON line per library for `poolgen tune`.
#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>

#include "HalideRuntime.h"
#include "poolgen/poolgen.h"
#include "poolgen/util.h"
#include "timing.h"
#include "tune.h"

namespace poolgen::bench {

namespace {

std::string json_str(const std::string &s) { return "\"" + util::json_escape(s) + "\""; }

}  // namespace

int tune_trial(const TrialOptions &o) {
    const Kernel *k = registry().find(o.name);
    if (!k) fail("no kernel named '" + o.name + "' in this binary");
    const PoolSpec &spec = k->spec();
    const int threads = o.threads > 0 ? o.threads : static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
    std::vector<std::unique_ptr<Kernel>> kernels;
    std::vector<std::string> libs;
    auto report = [](const std::string &lib, const std::string &error) {
        std::printf("{\"lib\": %s, \"ok\": false, \"error\": %s}\n", json_str(lib).c_str(), json_str(error).c_str());
        std::fflush(stdout);
    };
    for (const std::string &lib : o.libs) {
        void *h = dlopen(lib.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            report(lib, std::string("dlopen: ") + dlerror());
            continue;
        }
        auto argv = reinterpret_cast<int (*)(void **)>(dlsym(h, "poolgen_trial_argv"));
        auto meta = reinterpret_cast<const halide_filter_metadata_t *(*)()>(dlsym(h, "poolgen_trial_metadata"));
        auto set_threads = reinterpret_cast<int (*)(int)>(dlsym(h, "halide_set_num_threads"));
        auto shutdown = reinterpret_cast<void (*)()>(dlsym(h, "halide_shutdown_thread_pool"));
        if (!argv || !meta || !set_threads || !shutdown) {
            report(lib, "missing poolgen_trial_argv, poolgen_trial_metadata or the Halide runtime's thread calls");
            continue;
        }
        shutdown();
        set_threads(threads);
        KernelInfo info;
        info.name = o.name;
        info.set = "tune";
        info.spec = spec;
        info.schedule = lib;
        info.cpu = KernelVariant{"poolgen_trial", argv, meta};
        auto kt = std::make_unique<Kernel>(info);
        // Verified before timed: random data with ties, then with NaN, infinities, -0.
        std::string error;
        std::vector<uint8_t> out(static_cast<size_t>(spec.output_elements()) * dtype_size(spec.dtype));
        std::vector<int64_t> idx(spec.return_indices ? static_cast<size_t>(spec.output_elements()) : 0);
        for (bool specials : {false, true}) {
            const std::vector<uint8_t> in = reference::sample_elements(spec, o.seed + specials, specials);
            if (Status s = kt->run(in.data(), out.data(), idx.empty() ? nullptr : idx.data(), Device::CPU); !s.ok()) {
                error = s.message();
                break;
            }
            CheckResult r = check(*kt, in.data(), out.data(), idx.empty() ? nullptr : idx.data());
            if (!r.status.ok()) {
                error = std::string(specials ? "with NaN/inf input: " : "") + r.status.message();
                break;
            }
        }
        if (!error.empty()) {
            report(lib, "differs from the reference loops: " + error);
            continue;
        }
        kernels.push_back(std::move(kt));
        libs.push_back(lib);
    }
    if (kernels.empty()) return 0;
    PoolSpec logical = spec;
    logical.layout = Layout::NCHW;
    const double footprint = static_cast<double>(dtype_size(spec.dtype)) * (spec.input_elements() + spec.output_elements()) +
                             (spec.return_indices ? 8.0 * spec.output_elements() : 0);
    const int slots = rotation_slots(footprint, o.cold_mb);
    Storage st;
    make_buffers(logical, slots, &st);
    std::vector<std::unique_ptr<PoolgenImpl>> impls;
    std::vector<Timed> timed;
    for (auto &kt : kernels) {
        impls.push_back(std::make_unique<PoolgenImpl>(kt.get(), st.view));
        timed.push_back({impls.back().get(), kt->name()});
    }
    for (Timed &t : timed) calibrate(t, slots, o.min_time);
    for (int r = 0; r < o.repeats; r++)
        for (Timed &t : timed) repetition(t, slots);
    for (size_t i = 0; i < timed.size(); i++) {
        const double mn = *std::min_element(timed[i].samples.begin(), timed[i].samples.end());
        std::printf("{\"lib\": %s, \"ok\": true, \"median_ms\": %.6g, \"min_ms\": %.6g, \"samples\": [", json_str(libs[i]).c_str(),
                    timed[i].median(), mn);
        for (size_t j = 0; j < timed[i].samples.size(); j++) std::printf("%s%.6g", j ? ", " : "", timed[i].samples[j]);
        std::printf("]}\n");
    }
    std::fflush(stdout);
    return 0;
}

}  // namespace poolgen::bench
