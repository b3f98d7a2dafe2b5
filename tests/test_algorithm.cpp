// The algorithm's pieces (generators/pool_algorithm.h) on their own: each JIT-compiled in a
// tiny pipeline and compared with hand-computed values, and the whole algorithm, unscheduled,
// with the reference loops.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "Halide.h"
#include "pool_algorithm.h"
#include "poolgen/reference.h"
#include "poolgen/spec.h"
#include "test_helpers.h"

using namespace Halide;
using namespace poolgen;
namespace alg = poolgen::algorithm;

namespace {

using testutil::kInf;
using testutil::kNaN;

Target jit_target() { return get_jit_target_from_environment().with_feature(Target::StrictFloat); }

// f(x) for x in [0, n) as a vector.
template <typename T>
std::vector<T> realize_1d(Func f, int n) {
    Buffer<T> b = f.realize({n}, jit_target());
    std::vector<T> out(n);
    for (int i = 0; i < n; i++) out[i] = b(i);
    return out;
}

// The max rule over a 1-D buffer: one output, every element a tap.
struct MaxResult {
    float value;
    int64_t index;
};
MaxResult max_of(const std::vector<float> &values, int form) {
    Buffer<float> in(static_cast<int>(values.size()));
    for (size_t i = 0; i < values.size(); i++) in(static_cast<int>(i)) = values[i];
    Var x("x");
    RDom t(0, static_cast<int>(values.size()));
    Func pooled("pooled"), out("out");
    const Expr v = in(t.x);
    if (form == 0) {
        std::vector<Expr> r = alg::max_with_indices(pooled, {x}, v, Expr(0), t.x);
        out(x) = Tuple(r[0], r[1]);
        Realization res = out.realize({1}, jit_target());
        return {Buffer<float>(res[0])(0), Buffer<int64_t>(res[1])(0)};
    }
    out(x) = form == 1 ? alg::max_fused(pooled, {x}, v) : alg::max_split(pooled, {x}, v);
    return {realize_1d<float>(out, 1)[0], -1};
}

// The whole algorithm, unscheduled, on the reference's sample input; values (and indices)
// compared with the reference loops bit for bit, or within error_bounds for the rows and
// pairs sums (their rounding is not PyTorch's).
void check_against_reference(PoolSpec s, const alg::Formulation &form, bool exact = true) {
    s.normalize();
    REQUIRE(s.validate().ok());
    const std::vector<float> data = reference::sample_input(s, 7, true);
    std::vector<float> want(static_cast<size_t>(s.output_elements()));
    std::vector<int64_t> want_idx(want.size());
    REQUIRE(reference::run(s, data.data(), want.data(), s.return_indices ? want_idx.data() : nullptr).ok());
    std::vector<double> bounds;
    REQUIRE(reference::error_bounds(s, data.data(), &bounds).ok());

    auto dims = [](std::vector<int64_t> mem) {  // innermost first
        std::vector<int> d(mem.rbegin(), mem.rend());
        return d;
    };
    Buffer<float> in(const_cast<float *>(data.data()), dims(s.input_memory_shape()));
    const alg::Pipeline p = alg::pool(s, Func(in), form);
    Func out("out");
    if (p.result.size() == 1) out(p.args) = p.result[0];
    else out(p.args) = Tuple(p.result);
    Realization res = out.realize(dims(s.output_memory_shape()), jit_target());
    Buffer<float> got(res[0]);
    REQUIRE(static_cast<size_t>(got.number_of_elements()) == want.size());
    for (size_t i = 0; i < want.size(); i++) {
        const float g = got.data()[i], w = want[i];
        INFO(s.describe() << " element " << i << ": got " << g << ", want " << w);
        // Sums in another order: NaN where NaN (which NaN's payload is not fixed, semantics.md).
        if (!exact && std::isnan(w)) CHECK(std::isnan(g));
        else if (exact || std::isinf(w)) CHECK(testutil::same_bits(g, w));
        else CHECK(std::abs(double(g) - double(w)) <= bounds[i]);
        if (s.return_indices) CHECK(Buffer<int64_t>(res[1]).data()[i] == want_idx[i]);
    }
}

}  // namespace

TEST_CASE("max rule: ties keep the first tap, NaN the last, padding never wins", "[algorithm]") {
    for (int form : {0, 1, 2}) {
        INFO("form " << form);
        MaxResult r = max_of({1, 3, 3, 2}, form);
        CHECK(r.value == 3.0f);
        if (form == 0) CHECK(r.index == 1);
        r = max_of({1, kNaN, 5, -kNaN, 2}, form);
        CHECK(std::isnan(r.value));
        CHECK(std::signbit(r.value));  // the last NaN, -NaN
        if (form == 0) CHECK(r.index == 3);
        r = max_of({-kInf, -kInf}, form);
        CHECK(r.value == -kInf);
        if (form == 0) CHECK(r.index == 0);  // the start index: no tap taken
        r = max_of({-0.0f, 0.0f}, form);
        CHECK(std::signbit(r.value));  // +0 > -0 fails: the first zero stays
    }
}

TEST_CASE("window geometry: a padded ceil_mode window", "[algorithm]") {
    // n=6, k=3, s=2, p=1, ceil_mode: 4 windows starting at -1, 1, 3, 5; the last runs past the
    // input, the first into the padding.
    const PoolSpec s = testutil::max2d({1, 1, 6}, {3}, {2}, {1}, {}, true);
    REQUIRE(s.output_shape()[2] == 4);
    Var o("o");
    const alg::Window w = alg::windowed_window(s, 0, o);
    CHECK(w.taps == 3);
    CHECK(w.needs_check);
    Func first("first"), in_bounds("in_bounds"), start("start");
    first(o) = w.first;
    RDom t(0, w.taps);
    in_bounds(o) = 0;
    in_bounds(o) += select(alg::tap_in_bounds(w, t.x, alg::tap_position(w, t.x)), 1, 0);
    start(o) = alg::first_in_bounds_tap(s, 0, w);
    CHECK(realize_1d<int>(first, 4) == std::vector<int>{-1, 1, 3, 5});
    CHECK(realize_1d<int>(in_bounds, 4) == std::vector<int>{2, 3, 3, 1});
    CHECK(realize_1d<int>(start, 4) == std::vector<int>{0, 1, 3, 5});
    // Without padding or overrun no window needs the test.
    CHECK_FALSE(alg::windowed_window(testutil::max2d({1, 1, 6}, {2}, {2}), 0, o).needs_check);
}

TEST_CASE("window geometry: a dilated window's first in-bounds tap", "[algorithm]") {
    // k=5, d=3, p=2: window 0 taps -2, 1, 4, ...: the first inside is 1, whole dilation steps
    // on; window 1 (from -1) starts at 2, window 2 at 0.
    const PoolSpec s = testutil::max2d({1, 1, 16}, {5}, {1}, {2}, {3});
    REQUIRE(s.validate().ok());
    Var o("o");
    Func start("start");
    start(o) = alg::first_in_bounds_tap(s, 0, alg::windowed_window(s, 0, o));
    CHECK(realize_1d<int>(start, 3) == std::vector<int>{1, 2, 0});
}

TEST_CASE("divisor: count_include_pad, padding excluded, divisor_override", "[algorithm]") {
    PoolSpec s = testutil::avg({1, 1, 6}, {3}, {2}, {1}, true);
    Var o("o");
    const std::vector<alg::Window> w = {alg::windowed_window(s, 0, o)};
    Func cip("cip"), exclude("exclude"), override_("override");
    cip(o) = alg::windowed_divisor(s, w);
    s.count_include_pad = false;
    exclude(o) = alg::windowed_divisor(s, w);
    s.divisor_override = -5;
    override_(o) = alg::windowed_divisor(s, w);
    // Clipped to the padded input [-1, 7): the last window holds 2 places; to the input: 2, 3, 3, 1.
    CHECK(realize_1d<int>(cip, 4) == std::vector<int>{3, 3, 3, 2});
    CHECK(realize_1d<int>(exclude, 4) == std::vector<int>{2, 3, 3, 1});
    CHECK(realize_1d<int>(override_, 4) == std::vector<int>{-5, -5, -5, -5});
}

TEST_CASE("signed zero: -0 kept only where PyTorch divides in place", "[algorithm]") {
    const PoolSpec nchw = testutil::avg({1, 4, 6}, {2});
    PoolSpec nhwc = nchw;
    nhwc.layout = Layout::NHWC;
    REQUIRE(avg_keeps_negative_zero(nhwc));
    REQUIRE_FALSE(avg_keeps_negative_zero(nchw));
    Var x("x");
    Func a("a"), b("b");
    a(x) = alg::signed_zero(nchw, Expr(-0.0f));
    b(x) = alg::signed_zero(nhwc, Expr(-0.0f));
    CHECK_FALSE(std::signbit(realize_1d<float>(a, 1)[0]));
    CHECK(std::signbit(realize_1d<float>(b, 1)[0]));
}

TEST_CASE("adaptive windows: start, end, taps, and the int64 path", "[algorithm]") {
    PoolSpec s;
    s.op = Op::AdaptiveAvgPool;
    s.input = {1, 1, 5};
    s.output_size = {3};
    s.normalize();
    Var o("o");
    alg::Window w = alg::adaptive_window(s, 0, o);
    CHECK(w.taps == 3);      // [0, 2), [1, 4), [3, 5)
    CHECK(w.min_taps == 2);
    CHECK(w.needs_check);
    Func first("first"), end("end"), count("count");
    first(o) = w.first;
    end(o) = w.end;
    RDom t(0, w.taps);
    count(o) = 0;
    count(o) += select(alg::tap_in_bounds(w, t.x, alg::tap_position(w, t.x)), 1, 0);
    CHECK(realize_1d<int>(first, 3) == std::vector<int>{0, 1, 3});
    CHECK(realize_1d<int>(end, 3) == std::vector<int>{2, 4, 5});
    CHECK(realize_1d<int>(count, 3) == std::vector<int>{2, 3, 2});

    // n=65536 -> m=40000: the products pass int32.
    s.input = {1, 1, 65536};
    s.output_size = {40000};
    w = alg::adaptive_window(s, 0, o);
    Func first64("first64"), end64("end64");
    first64(o) = w.first;
    end64(o) = w.end;
    const std::vector<int> a = realize_1d<int>(first64, 40000), b = realize_1d<int>(end64, 40000);
    for (int64_t i : {int64_t(0), int64_t(1), int64_t(20000), int64_t(39998), int64_t(39999)}) {
        CHECK(a[i] == (i * 65536) / 40000);
        CHECK(b[i] == ((i + 1) * 65536 + 39999) / 40000);
    }
}

TEST_CASE("the assembled algorithm matches the reference loops", "[algorithm]") {
    alg::Formulation pytorch, fused, rows, pairs;
    fused.fused_max = true;
    rows.rows_sum = true;
    pairs.pairs_sum = true;

    PoolSpec m = testutil::max2d({2, 3, 7, 6}, {3, 2}, {2, 2}, {1, 1}, {1, 2}, true);
    check_against_reference(m, pytorch);
    check_against_reference(m, fused);
    m.layout = Layout::NHWC;
    m.return_indices = true;
    check_against_reference(m, pytorch);

    PoolSpec a = testutil::avg({1, 3, 7, 6}, {3, 3}, {2, 1}, {1, 1}, true);
    check_against_reference(a, pytorch);
    a.count_include_pad = false;
    a.layout = Layout::NHWC;
    check_against_reference(a, pytorch);
    check_against_reference(a, rows, false);
    a.divisor_override = -3;
    check_against_reference(a, pytorch);

    PoolSpec ad;
    ad.op = Op::AdaptiveAvgPool;
    ad.input = {1, 2, 7, 5};
    ad.output_size = {3, 2};
    check_against_reference(ad, pytorch);
    ad.op = Op::AdaptiveMaxPool;
    ad.return_indices = true;
    check_against_reference(ad, pytorch);

    PoolSpec g;
    g.op = Op::GlobalAvgPool;
    g.input = {1, 3, 5, 5};
    check_against_reference(g, pytorch);
    check_against_reference(g, pairs, false);

    // Parts: channels-first columns (rows in groups of 8 with a tail: 19 rows; 3D rows across
    // d and h), channels-last blocks of rows (one block, blocks that divide the rows, a short
    // last block, more blocks than rows, 1D and 3D).
    alg::Formulation parts;
    parts.parts_sum = true;
    for (Layout layout : {Layout::NCHW, Layout::NHWC}) {
        for (int blocks : {1, 3, 4, 16}) {
            parts.blocks = blocks;
            for (std::vector<int64_t> input : {std::vector<int64_t>{1, 3, 19, 5}, {2, 5, 12, 17}, {2, 3, 4, 5, 3}, {1, 1, 2, 1}}) {
                PoolSpec gp;
                gp.op = Op::GlobalAvgPool;
                gp.layout = layout;
                gp.input = input;
                check_against_reference(gp, parts, false);
            }
        }
    }
    PoolSpec g1;
    g1.op = Op::GlobalAvgPool;
    g1.layout = Layout::NHWC;
    g1.input = {2, 9, 23};
    parts.blocks = 4;
    check_against_reference(g1, parts, false);
    g1.op = Op::AdaptiveAvgPool;
    g1.output_size = {1};
    check_against_reference(g1, parts, false);
}
