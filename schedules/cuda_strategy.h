// The GPU schedule strategy for the pooling generator (CUDA, and OpenCL for the tests), chosen
// from the kernel's fixed shape:
// - small windows (fewer than kSplitMinTaps taps): one thread per output element, its window
//   reduced in registers; threads laid along the innermost memory dimensions so that loads and
//   stores coalesce, every other dimension fused into the grid;
// - large windows (global and adaptive pools, big kernels): the algorithm's split reduction
//   (pool_algorithm.h, Split): each window's taps cut into parts reduced by the threads of a
//   block and combined in part order (cuda_split.h), or, where one block per output tile would
//   leave the GPU idle, the parts computed by a first kernel over the whole grid and combined by
//   a second.
#pragma once
#include <algorithm>
#include <string>
#include <vector>

#include "Halide.h"
#include "poolgen/spec.h"
#include "stages.h"

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

// Threads along dims[x] (nx) and, when y >= 0, dims[y] (ny); every other dim, and the tile's
// blocks, in the grid. `inner` (a stage's reduction loops) stays inside the threads. Shapes are
// fixed, so the grid is known here: where its y or z extent would pass 65535 (N*C of 65536
// planes, say), every block dim is fused into x instead, whose limit (2^31-1) no output reaches.
inline void map_to_grid(Halide::Stage stage, const std::vector<Halide::Var> &dims, const std::vector<int> &extents, int x, int y,
                        int nx, int ny, const std::vector<Halide::VarOrRVar> &inner, const std::string &tag) {
    using namespace Halide;
    const bool two = y >= 0;
    _halide_user_assert(int64_t(nx) * ny <= kCudaMaxThreadsPerBlock)
        << "poolgen: " << nx << " x " << ny << " threads per block, CUDA allows " << kCudaMaxThreadsPerBlock;
    Var bx("bx" + tag), by("by" + tag), tx("tx" + tag), ty("ty" + tag);
    std::vector<Var> rest;
    int64_t rest_blocks = 1;
    for (int i = 0; i < static_cast<int>(dims.size()); i++)
        if (i != x && i != y) {
            rest.push_back(dims[i]);
            rest_blocks *= extents[i];
        }
    const int64_t y_blocks = two ? (int64_t(extents[y]) + ny - 1) / ny : rest_blocks;
    const int64_t z_blocks = two ? rest_blocks : 1;
    const bool grid_fits = y_blocks <= kCudaMaxGridYZ && z_blocks <= kCudaMaxGridYZ;
    if (two) stage.tile(dims[x], dims[y], bx, by, tx, ty, nx, ny, TailStrategy::GuardWithIf);
    else stage.split(dims[x], bx, tx, nx, TailStrategy::GuardWithIf);
    // Reduction loops, then threads, then the tile's blocks, then everything else.
    std::vector<VarOrRVar> order = inner;
    order.push_back(tx);
    if (two) order.push_back(ty);
    order.push_back(bx);
    if (two) order.push_back(by);
    for (const Var &v : rest) order.push_back(v);
    stage.reorder(order);
    if (two) stage.gpu_threads(tx, ty);
    else stage.gpu_threads(tx);
    std::vector<Var> fused;  // block dims fused into the grid's outermost one
    if (grid_fits) {
        stage.gpu_blocks(bx);
        if (two) stage.gpu_blocks(by);
    } else {
        fused.push_back(bx);
        if (two) fused.push_back(by);
    }
    fused.insert(fused.end(), rest.begin(), rest.end());
    if (!fused.empty()) {
        Var outer = fused[0];
        for (size_t i = 1; i < fused.size(); i++) {
            Var f("grid" + tag + "_" + std::to_string(i));
            stage.fuse(outer, fused[i], f);
            outer = f;
        }
        stage.gpu_blocks(outer);
    }
}

// The first two memory dims with extent > 1 (a dim of extent 1 would waste a warp).
inline std::vector<int> thread_dims_of(const std::vector<int> &extents) {
    std::vector<int> t;
    for (size_t i = 0; i < extents.size() && t.size() < 2; i++)
        if (extents[i] > 1) t.push_back(static_cast<int>(i));
    if (t.empty()) t.push_back(0);
    return t;
}

inline void unroll_taps(Halide::Stage update, const Halide::RDom &r, int taps, const CudaKnobs &knobs) {
    if (taps > knobs.unroll_window) return;
    for (int i = 0; i < r.dimensions(); i++) update.unroll(r[i]);
}

void apply_cuda_split_schedule(PoolStages &st, const CudaKnobs &knobs, bool grid);

inline void apply_cuda_schedule(PoolStages &st, const CudaKnobs &knobs, bool split_grid = false) {
    using namespace Halide;
    if (st.split) {
        apply_cuda_split_schedule(st, knobs, split_grid);
        return;
    }
    const std::vector<int> td = thread_dims_of(st.memory_extents);
    const int nx = std::max(1, std::min(knobs.threads_x, st.memory_extents[td[0]]));
    const int ny = td.size() == 2 ? std::max(1, std::min(knobs.threads_y, st.memory_extents[td[1]])) : 1;
    map_to_grid(st.output, st.memory_vars, st.memory_extents, td[0], td.size() == 2 ? td[1] : -1, nx, ny, {}, "");
    // The window is reduced in registers by each thread.
    st.pooled.compute_at(st.output, Var("tx"));
    unroll_taps(st.pooled.update(), st.window, st.window_taps, knobs);
}

}  // namespace poolgen::schedules

#include "cuda_split.h"
