// `poolgen tune`: searches the CPU strategy's knobs (and Halide's autoschedulers) for one
// kernel on this machine and writes the winner to schedules/db.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace poolgen::bench {

struct TuneOptions {
    std::string name;                     // a kernel linked into this binary (its spec is tuned)
    int threads = 0;                      // 0: every core
    double budget_s = 600;                // wall-clock budget for the search and the final comparison
    uint64_t seed = 1;                    // fixes the candidate order
    std::string db_dir;                   // default: the source tree's schedules/db
    std::string work_dir;                 // default: <CLI dir>/tune/<name>; trials.jsonl there makes it resumable
    bool fresh = false;                   // ignore earlier trials in work_dir
    std::vector<std::string> candidates;  // explicit candidates ("knobs" strings or "autoscheduler:Name")
    bool autoschedulers = true;           // add Halide's autoschedulers as candidates
    int confirm = 4;                      // best trials re-timed side by side (with the defaults) at the end
    double min_time = 0.2;
    int repeats = 5;
    double cold_mb = 128;
    bool write_db = true;
};

int tune(const TuneOptions &options);
// --device cuda: checks the kernel and the GPU and lists the CUDA candidates (tune_cuda.cpp).
int tune_cuda(const TuneOptions &options);

// One trial process: loads each compiled candidate, verifies it against the reference loops,
// times them interleaved, and prints one JSON line per library.
struct TrialOptions {
    std::string name;
    std::vector<std::string> libs;
    int threads = 0;
    double min_time = 0.2;
    int repeats = 5;
    double cold_mb = 128;
    uint64_t seed = 1;
};

int tune_trial(const TrialOptions &options);

}  // namespace poolgen::bench
