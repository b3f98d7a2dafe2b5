// CUDA schedule strategy for the pooling generator: one thread per output element (its
// window reduced in registers), threads laid along the innermost memory dimensions so that
// loads and stores coalesce, every other dimension fused into the grid.
#pragma once
#include <algorithm>
#include <string>
#include <vector>

#include "Halide.h"
#include "cpu_strategy.h"

namespace poolgen::schedules {

struct CudaKnobs {
    int threads_x = 32;      // threads along the innermost output dim with extent > 1 (c for nhwc, w for nchw)
    int threads_y = 8;       // threads along the next one
    int unroll_window = 9;   // unroll the window taps when there are at most this many
};

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
    std::vector<Var> rest;
    if (thread_dims.size() == 2) {
        const int ey = extents[thread_dims[1]];
        const int ny = std::max(1, std::min(knobs.threads_y, ey));
        st.output.gpu_tile(dims[thread_dims[0]], dims[thread_dims[1]], bx, by, tx, ty, nx, ny, TailStrategy::GuardWithIf);
    } else {
        st.output.gpu_tile(dims[thread_dims[0]], bx, tx, nx, TailStrategy::GuardWithIf);
    }
    for (size_t i = 0; i < dims.size(); i++)
        if (std::find(thread_dims.begin(), thread_dims.end(), static_cast<int>(i)) == thread_dims.end())
            rest.push_back(dims[i]);
    // Threads innermost, then the tile's blocks, then everything else, fused into the grid's
    // last dimension (CUDA has three).
    std::vector<VarOrRVar> order = {tx};
    if (thread_dims.size() == 2) order.push_back(ty);
    order.push_back(bx);
    if (thread_dims.size() == 2) order.push_back(by);
    for (const Var &v : rest) order.push_back(v);
    st.output.reorder(order);
    if (!rest.empty()) {
        Var outer = rest[0];
        for (size_t i = 1; i < rest.size(); i++) {
            Var f("grid_" + std::to_string(i));
            st.output.fuse(outer, rest[i], f);
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
