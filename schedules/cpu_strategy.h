// CPU SIMD schedule strategy for the pooling generator: one parameterized schedule whose named
// knobs (schedules/cpu_knobs.h) have defaults per op and layout and are searched by
// `poolgen tune`. The algorithm (generators/pool_algorithm.h) never depends on these choices,
// except two formulations the schedule cannot express: the average's summation order (sum)
// and the form of the max rule (maxform).
#pragma once
#include <algorithm>
#include <string>
#include <vector>

#include "Halide.h"
#include "cpu_knobs.h"
#include "stages.h"

namespace poolgen::schedules {

namespace detail {

struct Loop {
    Halide::Var var;
    int extent;
    bool serial_inner;  // a loop that must stay a plain loop inside a task (spatial, vector outer)
    Halide::Var base;   // the output (and pooled) dimension it iterates
};

}  // namespace detail

// sum=parts (global averages; st.split): the parts' sums, then their sum per output.
inline void apply_cpu_parts_schedule(PoolStages &st, const CpuKnobs &knobs, const Halide::Target &target) {
    using namespace Halide;
    const int width = target.natural_vector_size(st.value_type) * std::max(1, knobs.vectors);
    std::vector<Var> storage = {st.memory_vars[0]};  // partial's storage: the output's dims, the part next to
    storage.insert(st.channels_last ? storage.end() : storage.begin(), st.part);  // the vectorized one
    storage.insert(storage.end(), st.memory_vars.begin() + 1, st.memory_vars.end());
    st.partial.reorder_storage(storage);
    if (!st.channels_last) {
        // Channels-first: a plane at a time, its column sums in vectors along w (whole rows; the
        // row's tail as predicated loads into a vector-sized buffer, so the running sums are
        // stored unmasked), then the columns in order. Tasks take runs of planes.
        int lanes = 1;
        while (lanes < width && lanes < st.chunks) lanes *= 2;
        Var cn("cn"), task("task"), in_task("in_task");
        const int planes = st.channels * st.batch;
        st.output.fuse(st.c, st.n, cn);
        Var inner = cn;
        if (knobs.tasks > 1 && planes > 1) {
            const int grain = (planes + std::min(knobs.tasks, planes) - 1) / std::min(knobs.tasks, planes);
            st.output.split(cn, task, in_task, grain, TailStrategy::GuardWithIf).parallel(task);
            inner = in_task;
        }
        st.pooled.compute_at(st.output, inner);
        st.partial.compute_at(st.output, inner).vectorize(st.part, lanes, TailStrategy::PredicateLoads);
        for (int u = 0; u < st.partial.num_update_definitions(); u++) {
            std::vector<VarOrRVar> order = {st.part};
            for (const RVar &t : st.partial.rvars(u)) order.push_back(t);
            st.partial.update(u).reorder(order).vectorize(st.part, lanes, TailStrategy::PredicateLoads);
        }
        return;
    }
    // Channels-last: each block of rows of an image summed by one task (channels in vectors,
    // every vector of a pixel per tap), then the blocks in order per channel vector.
    const int lanes = std::max(1, std::min(width, st.channels));
    const TailStrategy tail = st.channels % lanes == 0 ? TailStrategy::RoundUp : TailStrategy::ShiftInwards;
    Var co("co"), ci("ci"), po("po"), pi("pi");
    st.output.split(st.c, co, ci, lanes, tail).vectorize(ci);
    st.pooled.compute_at(st.output, co).vectorize(st.c);
    st.pooled.update().vectorize(st.c);
    st.partial.compute_root().vectorize(st.c, lanes, TailStrategy::GuardWithIf);
    std::vector<VarOrRVar> order = {pi, po};
    for (const RVar &t : st.partial.rvars(0)) order.push_back(t);
    order.push_back(st.part);
    order.push_back(st.n);
    Stage part_update = st.partial.update();
    part_update.split(st.c, po, pi, lanes, TailStrategy::GuardWithIf).vectorize(pi).reorder(order);
    if (knobs.tasks > 1 && st.chunks * st.batch > 1) {
        Var task("task");
        part_update.fuse(st.part, st.n, task).parallel(task);
    }
}

inline void apply_cpu_schedule(PoolStages &st, const CpuKnobs &knobs, const Halide::Target &target) {
    using namespace Halide;
    using detail::Loop;
    if (st.split) {
        apply_cpu_parts_schedule(st, knobs, target);
        return;
    }
    const int r = static_cast<int>(st.spatial.size());
    const Var w = st.spatial[r - 1];
    const bool vec_c = knobs.vectorize == Vectorize::C;
    const int vec_extent = vec_c ? st.channels : st.out_spatial[r - 1];
    const int natural = target.natural_vector_size(st.value_type);
    // Narrow extents get one vector as wide as the extent (Halide pads it to a register).
    int lanes = std::max(1, std::min(natural * std::max(1, knobs.vectors), vec_extent));
    const Var v = vec_c ? st.c : w;

    // ---- The output: vectorize, then order the loops (innermost first): the vector loop,
    // then the other dims in memory order with the vectorized dim's outer loop in its place;
    // channels-first kernels vectorized across channels keep each block of planes hot.
    Var vo("vo"), vi("vi");
    // ShiftInwards recomputes a few outputs at the tail instead of a scalar epilogue; needs the
    // extent to hold at least one vector, which `lanes` guarantees.
    TailStrategy tail = (vec_extent % lanes == 0) ? TailStrategy::RoundUp : TailStrategy::ShiftInwards;
    // A row narrower than the vector and not a power of two (7, 14 outputs): LLVM splits a
    // 14-lane vector into 8 + 4 + 2 lanes on every load, compare and store. One power-of-two
    // vector with predicated stores instead, where the reads past the row's end go through the
    // padded view (a boundary condition, so computing it there is safe).
    if (!vec_c && st.padded_everywhere && lanes == vec_extent && (lanes & (lanes - 1)) != 0) {
        int pow2 = 1;
        while (pow2 < lanes) pow2 *= 2;
        lanes = pow2;
        tail = TailStrategy::Predicate;
        st.pooled.align_bounds(w, lanes);  // the reduction over the whole vector, too
    }
    st.output.split(v, vo, vi, lanes, tail).vectorize(vi);
    std::vector<Loop> loops;  // innermost first, excluding vi
    const int vo_extent = (vec_extent + lanes - 1) / lanes;
    const Loop vo_loop{vo, vo_extent, true, v};
    if (st.channels_last) {
        // memory order c, w, h, (d), n
        if (vec_c) loops.push_back(vo_loop);
        for (int i = r - 1; i >= 0; i--) {
            if (!vec_c && i == r - 1) {
                loops.push_back(vo_loop);
                continue;
            }
            loops.push_back({st.spatial[i], st.out_spatial[i], true, st.spatial[i]});
        }
        if (!vec_c) loops.insert(loops.begin(), {st.c, st.channels, true, st.c});
    } else {
        // memory order w, h, (d), c, n
        for (int i = r - 1; i >= 0; i--) {
            if (!vec_c && i == r - 1) {
                loops.push_back(vo_loop);
                continue;
            }
            loops.push_back({st.spatial[i], st.out_spatial[i], true, st.spatial[i]});
        }
        loops.push_back(vec_c ? vo_loop : Loop{st.c, st.channels, false, st.c});
    }
    loops.push_back({st.n, st.batch, false, st.n});
    {
        std::vector<VarOrRVar> order = {vi};
        for (const Loop &l : loops) order.push_back(l.var);
        st.output.reorder(order);
    }

    // ---- Parallelism: from the outermost loop inwards, fuse whole loops while they give fewer
    // than `tasks` iterations, then split the next one so that about `tasks` tasks result. The
    // loops left inside a task stay plain loops, so Halide can split them into border and
    // interior (the padded input's likely() conditions).
    const int tasks = knobs.tasks;
    Var task_var("task");       // the parallel loop, when has_task
    bool has_task = false;
    int inner_count = static_cast<int>(loops.size());  // loops[0, inner_count) stay inside a task
    if (tasks > 1) {
        int64_t outer_product = 1;
        int k = static_cast<int>(loops.size()) - 1;
        while (k >= 0 && outer_product * loops[k].extent < tasks) outer_product *= loops[k--].extent;
        std::vector<Var> fused_outer;  // outermost first
        for (int j = static_cast<int>(loops.size()) - 1; j > k; j--) fused_outer.push_back(loops[j].var);
        if (k >= 0) {
            // Split loops[k] into parts so that outer_product * parts >= tasks.
            const int parts = static_cast<int>((tasks + outer_product - 1) / outer_product);
            const int grain = std::max(1, (loops[k].extent + parts - 1) / parts);
            Var ko(loops[k].var.name() + "_task"), ki(loops[k].var.name() + "_in");
            if (grain < loops[k].extent) {
                st.output.split(loops[k].var, ko, ki, grain, TailStrategy::GuardWithIf);
                loops[k].var = ki;
                loops[k].extent = grain;
                fused_outer.push_back(ko);
                inner_count = k + 1;
            } else {
                inner_count = k + 1;
            }
        } else {
            inner_count = 0;
        }
        if (!fused_outer.empty()) {
            Var acc = fused_outer[0];
            for (size_t j = 1; j < fused_outer.size(); j++) {
                Var f(acc.name() + "_" + fused_outer[j].name());
                st.output.fuse(fused_outer[j], acc, f);
                acc = f;
            }
            task_var = acc;
            has_task = true;
            st.output.parallel(task_var);
        }
    } else {
        inner_count = static_cast<int>(loops.size());
    }
    loops.resize(inner_count);

    // The loop just outside every spatial and vector loop inside a task: where per-plane (or
    // per-task) stages are computed. Root when there is none.
    // With `slide`, the stage is stored there but computed per iteration of the outermost
    // spatial loop inside the task: Halide's sliding window then computes each row once, just
    // before the first window that needs it, in a rolling buffer.
    // Interleaved outputs: the reduction is computed per group (loops[plane_floor]), so no stage
    // it reads may be computed at a loop inside the group.
    int plane_floor = -1;
    auto plane_level = [&](Func f, bool slide = false) {
        int outer_spatial = -1;
        for (int j = 0; j < static_cast<int>(loops.size()); j++)
            if (loops[j].serial_inner) outer_spatial = j;
        bool can_slide = slide && outer_spatial >= 1 && loops[outer_spatial].extent > 1;
        int level = outer_spatial + 1;
        if (level < plane_floor) {
            level = plane_floor;
            can_slide = false;
        }
        if (level < static_cast<int>(loops.size())) {
            if (can_slide) f.store_at(st.output, loops[level].var);
            else f.compute_at(st.output, loops[level].var);
        } else if (has_task) {
            if (can_slide) f.store_at(st.output, task_var);
            else f.compute_at(st.output, task_var);
        } else {
            if (can_slide) f.store_root();
            else f.compute_root();
        }
        if (can_slide) f.compute_at(st.output, loops[outer_spatial].var);
    };
    // Intermediate stages are vectorized along their memory-innermost dim (dense stores).
    const int stage_lanes = natural * std::max(1, knobs.vectors);
    auto vectorize_stage = [&](Func f) { f.vectorize(f.args()[0], stage_lanes, TailStrategy::GuardWithIf); };

    // ---- The reduction.
    const Var innermost = loops.empty() ? (has_task ? task_var : vo) : loops[0].var;
    int interleave_loop = -1;
    if (knobs.interleave > 1 && !loops.empty()) {
        int j = 0;
        while (j + 1 < static_cast<int>(loops.size()) && loops[j].extent == 1) j++;
        if (loops[j].extent > 1) interleave_loop = j;
    }
    if (knobs.reduce == Reduce::Outer && vec_c) {
        // Accumulators for a chunk of channels; taps outermost, channels innermost: every tap is a
        // sequential read of the chunk, and each channel still sums its taps in order.
        plane_level(st.pooled);
        st.pooled.vectorize(st.c, lanes, TailStrategy::GuardWithIf);
        Stage update = st.pooled.update();
        Var uo("uo"), ui("ui");
        update.split(st.c, uo, ui, lanes, TailStrategy::GuardWithIf).vectorize(ui);
        std::vector<VarOrRVar> uorder = {ui, uo};
        for (const Var &s : st.spatial) uorder.push_back(s);
        for (int i = 0; i < st.window.dimensions(); i++) uorder.push_back(st.window[i]);
        update.reorder(uorder);
    } else if (interleave_loop >= 0) {
        // `interleave` vectors of outputs (along the first loop that has more than one
        // iteration) reduced together: independent accumulator chains, taps outside them.
        const int j = interleave_loop;
        const int factor = std::min(knobs.interleave, loops[j].extent);
        Var jo(loops[j].var.name() + "_il"), ji(loops[j].var.name() + "_ii");
        const TailStrategy t = loops[j].extent % factor == 0 ? TailStrategy::RoundUp : TailStrategy::ShiftInwards;
        st.output.split(loops[j].var, jo, ji, factor, t);
        std::vector<VarOrRVar> order = {vi, ji};  // the loops inside it (one iteration each) stay in between
        for (int i = 0; i < j; i++) order.push_back(loops[i].var);
        order.push_back(jo);
        st.output.reorder(order).unroll(ji);
        st.pooled.compute_at(st.output, jo);
        loops[j].var = jo;  // per-plane stages below are computed per group
        plane_floor = j;
        const Var base = loops[j].base;
        Stage update = st.pooled.update();
        if (base.same_as(v)) {
            // The interleaved loop is the vector loop itself: lanes * factor wide.
            st.pooled.vectorize(v, lanes, TailStrategy::GuardWithIf);
            Var po("po"), pi("pi");
            update.split(v, po, pi, lanes, TailStrategy::GuardWithIf).vectorize(pi);
            std::vector<VarOrRVar> uorder = {pi, po};
            for (int i = 0; i < st.window.dimensions(); i++) uorder.push_back(st.window[i]);
            update.reorder(uorder).unroll(po);
        } else {
            if (lanes > 1) st.pooled.vectorize(v);
            std::vector<VarOrRVar> uorder = {v, base};
            for (int i = 0; i < st.window.dimensions(); i++) uorder.push_back(st.window[i]);
            update.reorder(uorder).unroll(base);
            if (lanes > 1) update.vectorize(v);
        }
        if (st.window_taps <= knobs.unroll)
            for (int i = 0; i < st.window.dimensions(); i++) update.unroll(st.window[i]);
    } else {
        // One vector of outputs at a time, in registers.
        st.pooled.compute_at(st.output, innermost).vectorize(v);
        Stage update = st.pooled.update();
        std::vector<VarOrRVar> uorder = {v};
        for (int i = 0; i < st.window.dimensions(); i++) uorder.push_back(st.window[i]);
        update.reorder(uorder).vectorize(v);
        if (st.window_taps <= knobs.unroll)
            for (int i = 0; i < st.window.dimensions(); i++) update.unroll(st.window[i]);
    }

    // ---- Software prefetch of the input, `prefetch` iterations ahead of the first loop outside
    // the vectors that has more than one iteration (rows for channels-first, pixels for
    // channels-last), for streams the hardware prefetchers do not follow well.
    if (knobs.prefetch > 0 && st.input.defined()) {
        int j = 1;
        while (j < static_cast<int>(loops.size()) && loops[j].extent == 1) j++;
        if (j < static_cast<int>(loops.size())) st.output.prefetch(st.input, loops[j].var, loops[j].var, knobs.prefetch);
    }

    // ---- Intermediate stages.
    // A staged copy of a plane must stay small: paddings and dilations near 2^30 are valid
    // specs whose padded planes would not fit in memory (Halide refuses such allocations).
    const bool staging_fits = st.padded_plane_elements <= (int64_t(1) << 22);
    if (st.rowsum.defined() && staging_fits) {
        // Window-row sums, each row computed once, just before the first output row needing it.
        plane_level(st.rowsum, true);
        vectorize_stage(st.rowsum);
    }
    if (st.padded.defined() && knobs.border != Border::Inline && staging_fits) {
        // A copy of the (padded) input in a local buffer: per plane, or per row with a rolling
        // buffer ("rows"): a plain streaming copy, then window loads with no condition.
        plane_level(st.padded, knobs.border == Border::Rows);
        vectorize_stage(st.padded);
    }
}

}  // namespace poolgen::schedules
