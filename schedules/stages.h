// The contract between the algorithm (generators/pool_generator.cpp) and the schedule
// strategies (cpu_strategy.h, cuda_strategy.h: the GPU one, CUDA and OpenCL).
#pragma once
#include <cstdint>
#include <vector>

#include "Halide.h"

namespace poolgen::schedules {

// What the generator hands a strategy: the stages and loop variables of one kernel.
struct PoolStages {
    Halide::ImageParam input;          // the input buffer
    Halide::Func output;               // memory-order output (maybe a Tuple of value, index)
    Halide::Func pooled;               // the reduction (pure init + one update over `window`)
    Halide::RDom window;               // taps, innermost spatial dim first
    Halide::Func padded;               // windowed ops with padding: the padded input (else undefined)
    int64_t padded_plane_elements = 0; // size of one padded plane, as a staged copy would hold it
    bool padded_everywhere = false;    // `padded` is a boundary condition, defined (and safe to
                                       // compute) past the input's edges
    Halide::Func rowsum;               // knob sum=rows: the window-row sums (else undefined)
    std::vector<Halide::Var> spatial;  // outer -> inner (D, H, W)
    Halide::Var c, n;
    bool channels_last = false;
    std::vector<int> out_spatial;      // output sizes, outer -> inner
    int channels = 1, batch = 1;
    int window_taps = 1;               // product of the window extents
    // The type the taps are reduced in (algorithm::value_type): float32, or u8/i8 codes (max
    // without indices) and int32 sums; vectors hold as many of them as the target's registers.
    Halide::Type value_type = Halide::Float(32);
    std::vector<Halide::Var> memory_vars;  // the output's dims in memory order, innermost first
    std::vector<int> memory_extents;
    // The split reduction (algorithm Formulation::split_chunks > 1): `pooled` then combines
    // `chunks` parts over `window`, each part reduced in `partial(part, memory_vars...)` over
    // `part_taps` (chunk_taps taps).
    bool split = false;
    Halide::Func partial;
    Halide::Var part;
    Halide::RDom part_taps;
    int chunks = 1, chunk_taps = 1;
};

}  // namespace poolgen::schedules
