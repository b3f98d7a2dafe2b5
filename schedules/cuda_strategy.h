// CUDA schedule strategy for the pooling generator: one thread per output element (its
// window reduced in registers), threads laid along the innermost memory dimensions so that
// loads and stores coalesce, every other dimension fused into the grid.
#pragma once
#include <algorithm>
#include <string>
#include <vector>

#include "Halide.h"
#include "stages.h"

namespace poolgen::schedules {

struct CudaKnobs {
    int threads_x = 32;      // threads along the innermost output dim with extent > 1 (c for nhwc, w for nchw)
    int threads_y = 8;       // threads along the next one
    int unroll_window = 9;   // unroll the window taps when there are at most this many
};

// CUDA's launch limits (every GPU since compute capability 3.0): threads per block, and the
// grid's y and z extents (x allows 2^31-1).
constexpr int kCudaMaxThreadsPerBlock = 1024;
constexpr int64_t kCudaMaxGridYZ = 65535;

inline void apply_cuda_schedule(PoolStages &st, const CudaKnobs &knobs) {
    using namespace Halide;
    // Memory-order dims of the output, innermost first, with their extents.
    std::vector<Var> dims = st.memory_vars;
    std::vector<int> extents = st.memory_extents;

    // Thread dims: the first two with extent > 1 (a dim of extent 1 would waste a warp).
    std::vector<int> thread_dims;
    for (size_t i = 0; i < dims.size() && thread_dims.size() < 2; i++)
        if (extents[i] > 1) thread_dims.push_back(static_cast<int>(i));
    if (thread_dims.empty()) thread_dims.push_back(0);

    Var bx("bx"), by("by"), tx("tx"), ty("ty");
    const int ex = extents[thread_dims[0]];
    const int nx = std::max(1, std::min(knobs.threads_x, ex));
    const bool two = thread_dims.size() == 2;
    const int ey = two ? extents[thread_dims[1]] : 1;
    const int ny = two ? std::max(1, std::min(knobs.threads_y, ey)) : 1;
    _halide_user_assert(int64_t(nx) * ny <= kCudaMaxThreadsPerBlock)
        << "poolgen: cuda_threads_x * cuda_threads_y = " << nx * ny << " threads per block, CUDA allows "
        << kCudaMaxThreadsPerBlock;
    std::vector<Var> rest;
    int64_t rest_blocks = 1;
    for (size_t i = 0; i < dims.size(); i++)
        if (std::find(thread_dims.begin(), thread_dims.end(), static_cast<int>(i)) == thread_dims.end()) {
            rest.push_back(dims[i]);
            rest_blocks *= extents[i];
        }
    // Blocks: the tile's along x (and y), everything else fused into the grid's last dimension.
    // Shapes are fixed, so the grid is known here: where y or z would pass 65535 (N*C of 65536
    // planes, say), every block dim is fused into x instead, whose limit (2^31-1) no output
    // reaches.
    const int64_t y_blocks = two ? (int64_t(ey) + ny - 1) / ny : rest_blocks;
    const int64_t z_blocks = two ? rest_blocks : 1;
    const bool grid_fits = y_blocks <= kCudaMaxGridYZ && z_blocks <= kCudaMaxGridYZ;

    if (two) st.output.tile(dims[thread_dims[0]], dims[thread_dims[1]], bx, by, tx, ty, nx, ny, TailStrategy::GuardWithIf);
    else st.output.split(dims[thread_dims[0]], bx, tx, nx, TailStrategy::GuardWithIf);
    // Threads innermost, then the tile's blocks, then everything else.
    std::vector<VarOrRVar> order = {tx};
    if (two) order.push_back(ty);
    order.push_back(bx);
    if (two) order.push_back(by);
    for (const Var &v : rest) order.push_back(v);
    st.output.reorder(order);
    if (two) st.output.gpu_threads(tx, ty);
    else st.output.gpu_threads(tx);
    std::vector<Var> fused;  // block dims fused into the grid's outermost one
    if (grid_fits) {
        st.output.gpu_blocks(bx);
        if (two) st.output.gpu_blocks(by);
    } else {
        fused.push_back(bx);
        if (two) fused.push_back(by);
    }
    fused.insert(fused.end(), rest.begin(), rest.end());
    if (!fused.empty()) {
        Var outer = fused[0];
        for (size_t i = 1; i < fused.size(); i++) {
            Var f("grid_" + std::to_string(i));
            st.output.fuse(outer, fused[i], f);
            outer = f;
        }
        st.output.gpu_blocks(outer);
    }
    // The window is reduced in registers by each thread.
    st.pooled.compute_at(st.output, tx);
    if (st.window_taps <= knobs.unroll_window) {
        Stage update = st.pooled.update();
        for (int i = 0; i < st.window.dimensions(); i++) update.unroll(st.window[i]);
    }
}

}  // namespace poolgen::schedules
