// The interface between `poolgen bench` and the implementations it times: our kernels, the
// reference loops, the read+write roofline, and the anchor libraries (oneDNN, libtorch).
// Anchors live in shared modules (poolgen_anchor_<lib>.so) that the bench dlopens, so the CLI
// itself never links them and runs where they are not installed. The modules are built by the
// same project with the same compiler, so C++ types cross the boundary; the entry point is
// versioned to catch a stale module.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "poolgen/spec.h"

namespace poolgen::bench {

// Rotating buffers made by the harness for one shape: `slots` copies of the same random input
// in both plain layouts, and `slots` output arrays (the kernel's output size), all elements of
// `dtype`. Rotating over slots keeps the total footprint >= the cold-cache size, so every call
// reads its input from memory rather than from a cache a previous call warmed.
struct Buffers {
    int slots = 1;
    DType dtype = DType::F32;
    std::vector<const void *> nchw, nhwc;  // per slot, dense, logical shape spec.input
    std::vector<void *> out;               // per slot, output_elements elements
    std::vector<float> wide_nchw, wide_nhwc;  // the input widened to float (each layout), for checks
    const void *in(Layout l, int slot) const { return (l == Layout::NCHW ? nchw : nhwc)[slot]; }
    const float *wide(Layout l) const { return (l == Layout::NCHW ? wide_nchw : wide_nhwc).data(); }
};

class Impl {
public:
    virtual ~Impl() = default;
    // JSON impl name: "poolgen", "reference", "onednn:nChw16c", "libtorch:nhwc", ...
    virtual std::string name() const = 0;
    // One call on rotating slot `slot` (0 <= slot < Buffers::slots).
    virtual void run(int slot) = 0;
    // The output of the last run on `slot` as a dense array in `layout`, widened to float, for
    // verification.
    // False when this implementation produces no comparable output (the roofline).
    virtual bool result(int slot, Layout layout, std::vector<float> *out) = 0;
    // Whether this row is a competitor (counts for "fastest anchor") or a component such as a
    // layout reorder, reported apart.
    virtual bool is_anchor() const { return true; }
};

struct AnchorModule {
    const char *library;   // "onednn", "libtorch"
    std::string (*version)();
    void (*set_threads)(int threads);
    // Appends the implementations of this library that compute exactly `spec` in buffers.dtype
    // (verified later by the harness); `notes` receives one line per layout, op or type it
    // cannot express and why.
    void (*make)(const PoolSpec &spec, const Buffers &buffers, std::vector<std::unique_ptr<Impl>> *impls,
                 std::vector<std::string> *notes);
};

}  // namespace poolgen::bench

// Every anchor module exports this symbol.
#define POOLGEN_ANCHOR_ENTRY poolgen_anchor_module_v2
extern "C" const poolgen::bench::AnchorModule *poolgen_anchor_module_v2();
