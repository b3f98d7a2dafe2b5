// `poolgen tune NAME --device cuda`: the parts that run without a GPU. It needs the kernel's
// CUDA variant and a usable GPU (else it stops with the reason), lists the candidates of the
// CUDA strategy's knob space (cuda_knobs.h) with the db key this GPU's entries would have, and
// stops: generating, verifying and timing the candidates on the GPU is not implemented yet.
#include <cstdio>
#include <iostream>

#include "cuda_knobs.h"
#include "poolgen/poolgen.h"
#include "tune.h"

namespace poolgen::bench {

int tune_cuda(const TuneOptions &options) {
    const Kernel *k = registry().find(options.name);
    if (!k) {
        std::cerr << "poolgen: error: no kernel named '" << options.name << "' in this build\n";
        return 1;
    }
    if (!k->has_variant(Device::CUDA)) {
        std::cerr << "poolgen: error: tune --device cuda: kernel '" << options.name << "' has no CUDA variant in this build\n";
        return 1;
    }
    Device d;
    const Status gpu = k->resolve(Device::CUDA, &d);
    if (!gpu.ok()) {
        std::cerr << "poolgen: error: tune --device cuda needs a GPU: " << gpu.message() << "\n";
        return 1;
    }
    const std::vector<std::string> candidates =
        options.candidates.empty() ? schedules::cuda_candidates(k->spec()) : options.candidates;
    std::printf("%s: %zu CUDA candidates\n", options.name.c_str(), candidates.size());
    for (const std::string &c : candidates) std::printf("  %s\n", c.c_str());
    std::cerr << "poolgen: error: tune --device cuda: generating and timing CUDA candidates is not implemented yet "
                 "(the candidates above are what it would try)\n";
    return 1;
}

}  // namespace poolgen::bench
