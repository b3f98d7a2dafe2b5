// The GPU strategy's knobs and shape-driven plan (schedules/cuda_strategy.h applies them), as
// text for schedules/db, the tuner's candidate space, and the db keys of GPUs. No Halide here:
// the configure-time tool, the tuner and the tests read it too.
#pragma once
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "poolgen/spec.h"
#include "schedule_db.h"

namespace poolgen::schedules {

struct CudaKnobs {
    int threads_x = 32;      // threads along the innermost output dim with extent > 1 (c for nhwc, w for nchw)
    int threads_y = 8;       // threads along the next one
    int unroll_window = 9;   // unroll the window taps (a part's taps when split) when there are at most this many
    int split = 0;           // parts per window: 0 chosen from the shape, 1 serial (no split), n > 1 n parts
    int split_grid = -1;     // -1 chosen from the shape, 0 parts reduced in the output's block, 1 a second kernel
};

// CUDA's launch limits (every GPU since compute capability 3.0): threads per block, and the
// grid's y and z extents (x allows 2^31-1).
constexpr int kCudaMaxThreadsPerBlock = 1024;
constexpr int64_t kCudaMaxGridYZ = 65535;
// The shape-driven choices: windows of fewer taps are reduced serially; a split kernel aims at
// parts of about kSplitPartTaps taps, at most kSplitMaxBlockParts parts in one block (nhwc:
// kSplitMaxBlockPartsNhwc, beside 32 channels), and takes the second kernel when the block
// mapping gives fewer than kSplitMinBlocks blocks (two per SM of a 132-SM H100/H200) for at
// least kSplitGridMinTaps taps; the grid's parts then aim at kSplitGridThreads threads.
constexpr int kSplitMinTaps = 32;
constexpr int kSplitPartTaps = 16;
constexpr int kSplitMaxBlockParts = 256;
constexpr int kSplitMaxBlockPartsNhwc = 32;
constexpr int64_t kSplitMinBlocks = 264;
constexpr int kSplitGridMinTaps = 512;
constexpr int64_t kSplitGridThreads = 132 * 1024;
constexpr int kSplitMaxGridParts = 1024;
// Averages: PyTorch's CUDA kernels sum each window serially in PyTorch's order (global and
// all-ones adaptive averages aside: those are mean()), and a split sum rounds differently. So
// by default an average keeps the serial, bit-identical sum unless it is global or one thread
// per output would leave the GPU idle (fewer outputs than this).
constexpr int64_t kSerialAverageMinOutputs = 32768;

inline int pow2_at_least(int64_t x) {
    int p = 1;
    while (p < x && p < (1 << 20)) p *= 2;
    return p;
}

// The split plan for a kernel of `taps` window taps (product of the window extents): the
// number of parts the algorithm cuts each window into (1: serial) and whether they are reduced
// by a second kernel. Explicit knobs win.
struct CudaSplitPlan {
    int chunks = 1;
    bool grid = false;
};

inline CudaSplitPlan plan_cuda_split(const PoolSpec &s, int taps, const CudaKnobs &k) {
    CudaSplitPlan plan;
    if (k.split == 1 || (k.split == 0 && taps < kSplitMinTaps) || taps < 2) return plan;
    int64_t out_plane = 1;
    for (int i = 0; i < s.rank(); i++) out_plane *= is_adaptive(s.op) ? s.output_size[i] : 0;
    if (k.split == 0 && !is_max(s.op) && out_plane != 1 && s.output_elements() >= kSerialAverageMinOutputs) return plan;
    const bool nhwc = s.layout == Layout::NHWC;
    const int cap = nhwc ? kSplitMaxBlockPartsNhwc : kSplitMaxBlockParts;
    plan.chunks = k.split > 1 ? k.split : std::min(cap, pow2_at_least((taps + kSplitPartTaps - 1) / kSplitPartTaps));
    const int64_t outputs = s.output_elements();
    const int64_t per_block = nhwc ? std::min<int64_t>(32, s.input[1]) : std::max(1, kSplitMaxBlockParts / plan.chunks);
    const int64_t blocks = (outputs + per_block - 1) / per_block;
    plan.grid = k.split_grid >= 0 ? k.split_grid == 1 : blocks < kSplitMinBlocks && taps >= kSplitGridMinTaps;
    if (plan.grid && k.split == 0)
        plan.chunks = std::max(plan.chunks, std::min({pow2_at_least(kSplitGridThreads / outputs), kSplitMaxGridParts, std::max(1, taps / 8)}));
    return plan;
}

// The windows' taps (product of the window extents; adaptive: the largest window's).
inline int window_taps(const PoolSpec &s) {
    int64_t taps = 1;
    for (int i = 0; i < s.rank(); i++) {
        int64_t k = 0;
        if (is_adaptive(s.op)) {
            const int64_t n = s.input[2 + i], m = s.output_size[i];
            for (int64_t o = 0; o < m; o++) k = std::max(k, ((o + 1) * n + m - 1) / m - (o * n) / m);
        } else {
            k = s.kernel[i];
        }
        taps *= k;
    }
    return static_cast<int>(std::min<int64_t>(taps, INT32_MAX));
}

// Knobs as "threads_x:32,threads_y:8,unroll_window:9,split:0,split_grid:-1" (schedules/db's
// "knobs" of a cuda entry); parsing starts from `k`'s values, so a string may name a few.
std::string format_cuda_knobs(const CudaKnobs &k);
bool parse_cuda_knobs(const std::string &text, CudaKnobs *k, std::string *error);
// The generator parameters that set them (cuda_threads_x=32 ...).
std::vector<std::string> cuda_generator_params(const CudaKnobs &k);

// A GPU's key in schedules/db: "cuda-sm_90-NVIDIA_H200" (compute capability, then the device
// name with every character other than [A-Za-z0-9] as '_'). An entry is used only by a build
// for that GPU (POOLGEN_CUDA_DEVICE) with the same Halide version.
std::string cuda_db_target(const std::string &gpu_name, int cc_major, int cc_minor);
bool is_cuda_db_target(const std::string &target);
// The index of the entry a build for `cuda_target` uses, or -1 (no GPU named, or none matches).
int choose_cuda_entry(const std::vector<DbEntry> &entries, const std::string &cuda_target, const std::string &halide_version);

// `poolgen tune --device cuda`'s candidates for `s`, defaults first: the split plan's neighbours
// (serial; a quarter to four times the parts; one kernel and two), thread shapes for the serial
// mapping, and Halide's GPU autoscheduler ("autoscheduler:Anderson2021"). No duplicates.
std::vector<std::string> cuda_candidates(const PoolSpec &s);

}  // namespace poolgen::schedules
