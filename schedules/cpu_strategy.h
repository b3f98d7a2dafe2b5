// CPU SIMD schedule strategy for the pooling generator: named knobs with defaults per op and
// layout. The algorithm (generators/pool_generator.cpp) never depends on these choices.
#pragma once
#include <algorithm>
#include <string>
#include <vector>

#include "Halide.h"

namespace poolgen::schedules {

// What the generator hands a strategy: the stages and loop variables of one kernel.
struct PoolStages {
    Halide::Func output;               // memory-order output (maybe a Tuple of value, index)
    Halide::Func pooled;               // the reduction (pure init + one update over `window`)
    Halide::RDom window;               // taps, innermost spatial dim first
    std::vector<Halide::Var> spatial;  // outer -> inner (D, H, W)
    Halide::Var c, n;
    bool channels_last = false;
    std::vector<int> out_spatial;      // output sizes, outer -> inner
    int channels = 1, batch = 1;
    int window_taps = 1;               // product of the window extents
    std::vector<Halide::Var> memory_vars;  // the output's dims in memory order, innermost first
    std::vector<int> memory_extents;
};

struct CpuKnobs {
    int vector_width = 0;       // lanes; 0 = the target's natural width for the dtype
    std::string vectorize = ""; // "c" or "w" (innermost spatial); "" = c for nhwc, w for nchw
    int parallel_tasks = 16;    // split the outer loops into about this many tasks; <= 1: serial
    int unroll_window = 9;      // unroll the window taps when there are at most this many
};

inline void apply_cpu_schedule(PoolStages &st, const CpuKnobs &knobs, const Halide::Target &target) {
    using namespace Halide;
    const int r = static_cast<int>(st.spatial.size());
    const Var &w = st.spatial[r - 1];
    const std::string vdim = knobs.vectorize.empty() ? (st.channels_last ? "c" : "w") : knobs.vectorize;
    const bool vec_c = vdim == "c";
    const int vec_extent = vec_c ? st.channels : st.out_spatial[r - 1];
    const int natural = target.natural_vector_size(Float(32));
    int lanes = knobs.vector_width > 0 ? knobs.vector_width : natural;
    // Narrow extents get one vector as wide as the extent (Halide pads it to a register).
    lanes = std::max(1, std::min(lanes, vec_extent));

    Var v = vec_c ? st.c : w;
    Var vo("vo"), vi("vi");
    // ShiftInwards recomputes a few outputs at the tail instead of a scalar epilogue; needs
    // the extent to hold at least one vector, which `lanes` guarantees.
    const TailStrategy tail = (vec_extent % lanes == 0) ? TailStrategy::RoundUp : TailStrategy::ShiftInwards;
    st.output.split(v, vo, vi, lanes, tail).vectorize(vi);

    // Outer loops, innermost first, excluding the vectorized one; they are fused into one
    // parallel loop and split into about `parallel_tasks` chunks.
    std::vector<VarOrRVar> outer;
    std::vector<int> extents;
    for (int i = r - 1; i >= 0; i--) {
        if (!vec_c && i == r - 1) continue;
        outer.push_back(st.spatial[i]);
        extents.push_back(st.out_spatial[i]);
    }
    if (!vec_c) {
        outer.push_back(st.c);
        extents.push_back(st.channels);
    }
    outer.push_back(st.n);
    extents.push_back(st.batch);

    // Memory order puts c first for nhwc; keep vo innermost among the scalar loops.
    Var fused("fused");
    int total = 1;
    for (int e : extents) total *= e;
    if (outer.size() > 1) {
        std::vector<VarOrRVar> order = {vi, vo};
        order.insert(order.end(), outer.begin(), outer.end());
        st.output.reorder(order);
        Var acc = Var(outer[0].var.name());
        for (size_t i = 1; i < outer.size(); i++) {
            Var next("fused_" + std::to_string(i));
            st.output.fuse(acc, outer[i].var, next);
            acc = next;
        }
        fused = acc;
    } else {
        fused = outer[0].var;
    }
    if (knobs.parallel_tasks > 1 && total > 1) {
        const int grain = std::max(1, (total + knobs.parallel_tasks - 1) / knobs.parallel_tasks);
        if (grain > 1) {
            Var task("task"), within("within");
            st.output.split(fused, task, within, grain, TailStrategy::GuardWithIf).parallel(task);
        } else {
            st.output.parallel(fused);
        }
    }

    // The reduction runs in registers, one vector of outputs at a time.
    st.pooled.compute_at(st.output, vo).vectorize(v);
    Stage update = st.pooled.update();
    std::vector<VarOrRVar> uorder = {v};
    for (int i = 0; i < st.window.dimensions(); i++) uorder.push_back(st.window[i]);
    update.reorder(uorder).vectorize(v);
    if (st.window_taps <= knobs.unroll_window)
        for (int i = 0; i < st.window.dimensions(); i++) update.unroll(st.window[i]);
}

}  // namespace poolgen::schedules
