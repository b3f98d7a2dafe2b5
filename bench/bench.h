// `poolgen bench`: times every kernel of this binary side by side with the reference loops,
// the read+write roofline and the anchor libraries, in one process run.
#pragma once
#include <string>
#include <vector>

namespace poolgen::bench {

struct Options {
    std::vector<std::string> names;  // kernels; empty = all
    int threads = 0;                 // 0 = every core
    std::string json_path;           // write the results there (atomically) when set
    double min_time = 0.2;           // seconds per timed repetition
    int repeats = 5;                 // repetitions per implementation (interleaved); median reported
    double cold_mb = 128;            // rotate inputs/outputs over at least this many MB; 0 = warm
    std::vector<std::string> anchors = {"onednn", "libtorch"};  // anchor modules to load
    std::string command_line;        // recorded in the JSON
    std::string device = "cpu";      // cpu, or cuda: the kernels' CUDA variants on device-resident buffers
};

// Prints the table and the summary to stdout; throws std::runtime_error with one line on
// failure (unknown kernel, a kernel that disagrees with the reference loops, unwritable JSON).
int run(const Options &options);

// `--device cuda` (bench_cuda.cpp): each kernel's CUDA variant against a device-to-device copy
// of the same bytes; fails with the runtime's reason where no GPU can be used.
int run_cuda(const Options &options);

}  // namespace poolgen::bench
