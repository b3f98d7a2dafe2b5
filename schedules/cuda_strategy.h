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
#include "cuda_knobs.h"
#include "stages.h"

namespace poolgen::schedules {

// Threads along dims[x] (nx) and, when y >= 0, dims[y] (ny); every other dim, and the tile's
// blocks, in the grid. `inner` (a stage's reduction loops) stays inside the threads. Shapes are
// fixed, so the grid is known here: where its y or z extent would pass 65535 (N*C of 65536
// planes, say), every block dim is fused into x instead, whose limit (2^31-1) no output reaches.
// `lane_x` (one thread dim only): the threads go to the block's y axis and x has extent 1, so
// that another stage in the block may lay its own threads along x (CUDA sizes a block by the
// largest extent each axis has in any of its stages).
inline void map_to_grid(Halide::Stage stage, const std::vector<Halide::Var> &dims, const std::vector<int> &extents, int x, int y,
                        int nx, int ny, const std::vector<Halide::VarOrRVar> &inner, const std::string &tag,
                        bool lane_x = false) {
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
    if (two) {
        stage.gpu_threads(tx, ty);
    } else if (lane_x) {
        Var lane("lane" + tag);
        stage.split(tx, tx, lane, 1).gpu_threads(lane, tx);
    } else {
        stage.gpu_threads(tx);
    }
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
