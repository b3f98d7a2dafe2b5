// The GPU strategy's split-reduction schedules (see cuda_strategy.h): the algorithm's parts
// (PoolStages::partial, part by part) and their combination in part order (PoolStages::pooled).
#pragma once
#include <algorithm>
#include <vector>

#include "Halide.h"
#include "cuda_strategy.h"
#include "stages.h"

namespace poolgen::schedules {

inline void apply_cuda_split_schedule(PoolStages &st, const CudaKnobs &knobs, bool grid) {
    using namespace Halide;
    const std::vector<Var> &dims = st.memory_vars;
    const std::vector<int> &extents = st.memory_extents;
    const std::vector<int> td = thread_dims_of(extents);
    const int parts = st.chunks, e0 = extents[td[0]];
    std::vector<Var> pdims = {st.part};
    pdims.insert(pdims.end(), dims.begin(), dims.end());
    std::vector<int> pext = {parts};
    pext.insert(pext.end(), extents.begin(), extents.end());
    std::vector<VarOrRVar> taps;
    for (int i = 0; i < st.part_taps.dimensions(); i++) taps.push_back(st.part_taps[i]);
    Stage update = st.partial.update();
    unroll_taps(update, st.part_taps, st.chunk_taps, knobs);
    // Threads: nchw, parts along x (neighbouring parts read neighbouring taps of one plane,
    // interleaved sums coalesce); nhwc, channels along x and parts along y.
    const int tile = 1 + td[0];  // the output tile's dim among partial's
    if (grid) {
        // First kernel: every part of every output its own thread, written to global memory;
        // second: one thread per output combines its parts (the serial mapping).
        st.partial.compute_root();
        int x = 0, y = tile, nx = std::min(parts, 256), ny = std::max(1, std::min(e0, 256 / nx));
        if (st.channels_last) {
            std::swap(x, y);
            nx = std::min(e0, 32);
            ny = std::max(1, std::min(parts, 256 / nx));
        }
        map_to_grid(st.partial, pdims, pext, x, y, nx, ny, {}, "_p");
        map_to_grid(update, pdims, pext, x, y, nx, ny, taps, "_p");
        const int ox = std::max(1, std::min(knobs.threads_x, e0));
        const int oy = td.size() == 2 ? std::max(1, std::min(knobs.threads_y, extents[td[1]])) : 1;
        map_to_grid(st.output, dims, extents, td[0], td.size() == 2 ? td[1] : -1, ox, oy, {}, "");
        st.pooled.compute_at(st.output, Var("tx"));
        return;
    }
    // One kernel: a block holds a tile of outputs along the innermost dim with extent > 1 and
    // reduces all their parts (parts x tile threads, in shared memory); then a thread per output
    // combines its tile's parts.
    const int nt = st.channels_last ? std::max(1, std::min({32, e0, kCudaMaxThreadsPerBlock / parts}))
                                    : std::max(1, std::min(e0, kSplitMaxBlockParts / parts));
    _halide_user_assert(int64_t(parts) * nt <= kCudaMaxThreadsPerBlock)
        << "poolgen: " << parts << " parts per window in one block pass CUDA's " << kCudaMaxThreadsPerBlock
        << " threads per block (use cuda_split_grid=1)";
    // nchw lays the parts along x and the tile along y: the output's tile threads go to y too.
    map_to_grid(st.output, dims, extents, td[0], -1, nt, 1, {}, "", !st.channels_last);
    st.partial.compute_at(st.output, Var("bx"));
    std::vector<VarOrRVar> threads = {st.part, dims[td[0]]};
    if (st.channels_last) std::swap(threads[0], threads[1]);
    st.partial.reorder(threads).gpu_threads(threads[0], threads[1]);
    taps.insert(taps.end(), threads.begin(), threads.end());
    update.reorder(taps).gpu_threads(threads[0], threads[1]);
    st.pooled.compute_at(st.output, Var("tx"));
}

}  // namespace poolgen::schedules
