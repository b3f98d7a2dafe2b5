// The reference loops on hand-computed cases (SEMANTICS: values checked against PyTorch).
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <numeric>

#include "poolgen/reference.h"
#include "test_helpers.h"

using namespace poolgen;
using namespace testutil;

namespace {

struct Result {
    std::vector<float> out;
    std::vector<int64_t> idx;
};

Result ref(PoolSpec s, const std::vector<float> &in, bool indices = false) {
    s.return_indices = indices && is_max(s.op);
    s.normalize();
    Status v = s.validate();
    INFO(v.message());
    REQUIRE(v.ok());
    REQUIRE(in.size() == static_cast<size_t>(s.input_elements()));
    Result r;
    r.out.assign(static_cast<size_t>(s.output_elements()), -12345.0f);
    r.idx.assign(r.out.size(), -7);
    Status st = reference::run(s, in.data(), r.out.data(), s.return_indices ? r.idx.data() : nullptr);
    REQUIRE(st.ok());
    return r;
}

std::vector<float> iota(size_t n, float start = 0) {
    std::vector<float> v(n);
    std::iota(v.begin(), v.end(), start);
    return v;
}

PoolSpec adaptive(Op op, std::vector<int64_t> input, std::vector<int64_t> out) {
    PoolSpec s;
    s.op = op;
    s.input = std::move(input);
    s.output_size = std::move(out);
    return s;
}

}  // namespace

TEST_CASE("max: padding acts as -inf, never 0", "[reference]") {
    auto in = iota(9, 1);
    for (auto &v : in) v = -v;
    auto r = ref(max2d({1, 1, 3, 3}, {3}, {1}, {1}), in);
    CHECK(r.out == std::vector<float>{-1, -1, -2, -1, -1, -2, -4, -4, -5});
}

TEST_CASE("max: NaN propagates and the index is the last NaN", "[reference]") {
    auto r = ref(max2d({1, 1, 5}, {3}, {1}), {1, kNaN, 3, kNaN, 2}, true);
    for (float v : r.out) CHECK(std::isnan(v));
    CHECK(r.idx == std::vector<int64_t>{1, 3, 3});
}

TEST_CASE("max: ties keep the first maximum, signed zeros included", "[reference]") {
    auto r = ref(max2d({1, 1, 2, 2}, {2}), {0.0f, -0.0f, -0.0f, 0.0f}, true);
    CHECK(same_bits(r.out[0], 0.0f));
    CHECK(r.idx[0] == 0);
    auto r2 = ref(max2d({1, 1, 2, 2}, {2}), {-0.0f, 0.0f, 0.0f, 0.0f}, true);
    CHECK(same_bits(r2.out[0], -0.0f));
    CHECK(r2.idx[0] == 0);
}

TEST_CASE("max 1D with stride, padding and dilation", "[reference]") {
    auto r = ref(max2d({1, 1, 7}, {3}, {2}, {1}, {2}), {3, 1, 4, 1, 5, 9, 2}, true);
    CHECK(r.out == std::vector<float>{1, 9, 9});
    CHECK(r.idx == std::vector<int64_t>{1, 5, 5});
}

TEST_CASE("max: all -inf windows index the first in-bounds tap", "[reference]") {
    std::vector<float> in(9, -kInf);
    auto r = ref(max2d({1, 1, 3, 3}, {3}, {2}, {1}), in, true);
    for (float v : r.out) CHECK(v == -kInf);
    CHECK(r.idx == std::vector<int64_t>{0, 1, 3, 4});
}

TEST_CASE("max: a dilated window entirely in padding gives -inf", "[reference]") {
    // n=3, k=2, d=4, p=1: taps -1 and 3, both outside.
    auto r = ref(max2d({1, 1, 3}, {2}, {1}, {1}, {4}), {5, 6, 7}, true);
    REQUIRE(r.out.size() == 1);
    CHECK(r.out[0] == -kInf);
    CHECK(r.idx[0] == 3);  // PyTorch's start advanced past the padding: past the row end
}

TEST_CASE("max: seeds' worked examples", "[reference]") {
    auto r = ref(max2d({1, 1, 4, 4}, {2}, {2}), {1, 3, 2, 1, 4, 6, 5, 0, 2, 9, 3, 4, 0, 1, 7, 2});
    CHECK(r.out == std::vector<float>{6, 5, 9, 7});
    CHECK(ref(max2d({1, 1, 3, 3}, {2}, {1}), iota(9)).out == std::vector<float>{4, 5, 7, 8});
    CHECK(ref(max2d({1, 1, 4, 4}, {3}, {}, {1}), iota(16)).out == std::vector<float>{5, 7, 13, 15});
    const std::vector<float> five = {1, 2, 0, 3, 1, 0, 1, 2, 3, 1, 1, 2, 1, 0, 0, 5, 2, 3, 1, 1, 2, 1, 0, 1, 1};
    CHECK(ref(max2d({1, 1, 5, 5}, {3}, {}, {}, {}, true), five).out == std::vector<float>{2, 3, 5, 1});
    CHECK(ref(max2d({1, 1, 5, 5}, {2}, {2}, {}, {}, true), five).out == std::vector<float>{2, 3, 1, 5, 3, 1, 2, 1, 1});
}

TEST_CASE("avg: seeds and ceil-mode overhang", "[reference]") {
    CHECK(ref(avg({1, 1, 3, 3}, {2}, {1}), iota(9)).out == std::vector<float>{2, 3, 5, 6});
    // ones 5x5, k2 s2 ceil: the overhanging last window divides by 1, not 4.
    for (float v : ref(avg({1, 1, 5, 5}, {2}, {2}, {}, true), std::vector<float>(25, 1)).out) CHECK(v == 1.0f);
    CHECK(ref(avg({1, 1, 3, 3}, {2}, {2}, {}, true), iota(9, 1)).out == std::vector<float>{3, 4.5f, 7.5f, 9});
}

TEST_CASE("avg: count_include_pad clips to the padded input", "[reference]") {
    std::vector<float> ones(36, 1.0f);
    auto r = ref(avg({1, 1, 6, 6}, {3}, {2}, {1}, true, true), ones);
    REQUIRE(r.out.size() == 16);
    CHECK(r.out[0] == Approx(4.0 / 9).epsilon(1e-7));
    CHECK(r.out[1] == Approx(6.0 / 9).epsilon(1e-7));
    CHECK(r.out[2] == Approx(6.0 / 9).epsilon(1e-7));
    CHECK(r.out[3] == Approx(3.0 / 9).epsilon(1e-7));
    CHECK(r.out[15] == 0.25f);
    for (float v : ref(avg({1, 1, 6, 6}, {3}, {2}, {1}, true, false), ones).out) CHECK(v == 1.0f);
}

TEST_CASE("avg 1D with and without count_include_pad", "[reference]") {
    CHECK(ref(avg({1, 1, 5}, {3}, {2}, {1}), {1, 2, 3, 4, 5}).out == std::vector<float>{1, 3, 3});
    CHECK(ref(avg({1, 1, 5}, {3}, {2}, {1}, false, false), {1, 2, 3, 4, 5}).out == std::vector<float>{1.5f, 3, 4.5f});
}

TEST_CASE("avg: divisor_override wins over everything", "[reference]") {
    auto s = avg({1, 1, 5, 5}, {3}, {2}, {1}, true, false);
    s.divisor_override = 2;
    CHECK(ref(s, std::vector<float>(25, 1)).out == std::vector<float>{2, 3, 2, 3, 4.5f, 3, 2, 3, 2});
}

TEST_CASE("avg: a -0 quotient is +0 channels-first and -0 channels-last, as in PyTorch", "[reference]") {
    // PyTorch's contiguous kernel stores 0 + sum/divisor; its channels_last kernel divides in
    // place. It runs the channels_last kernel only for 1D/2D channels_last tensors that are not
    // also plain contiguous (C > 1 and more than one spatial element); avg_pool3d has none.
    const float tiny = std::numeric_limits<float>::denorm_min();
    struct Case {
        std::vector<int64_t> input, kernel;
        bool nhwc_keeps_sign;
    };
    for (const Case &c : {Case{{1, 2, 2, 4}, {2}, true},        // 2D, two channels: -0 stays
                          Case{{1, 1, 2, 4}, {2}, false},       // one channel: also contiguous, +0
                          Case{{2, 3, 1, 1}, {1}, false},       // 1x1 plane: also contiguous, +0
                          Case{{1, 2, 2, 2, 4}, {2}, false},    // 3D: channels-first kernel, +0
                          Case{{1, 1, 2, 2, 4}, {2}, false}}) {
        for (Layout layout : {Layout::NCHW, Layout::NHWC}) {
            auto s = avg(c.input, c.kernel);
            s.divisor_override = -4;
            s.layout = layout;
            const bool keeps_sign = layout == Layout::NHWC && c.nhwc_keeps_sign;
            INFO(to_string(layout) << " input " << join_dims(c.input));
            auto zero_sum = ref(s, std::vector<float>(static_cast<size_t>(s.input_elements()), 0.0f));  // +0 / -4 = -0
            for (float v : zero_sum.out) {
                CHECK(v == 0.0f);
                CHECK(std::signbit(v) == keeps_sign);
            }
        }
    }
    // 1D (no divisor_override): -tiny / 2 rounds to -0; kept channels-last with C > 1 only.
    for (int64_t channels : {1, 2}) {
        for (Layout layout : {Layout::NCHW, Layout::NHWC}) {
            auto s = avg({1, channels, 4}, {2});
            s.layout = layout;
            std::vector<float> in(static_cast<size_t>(4 * channels), 0.0f);
            in[0] = -tiny;  // n=0, c=0, l=0 in either layout
            auto underflow = ref(s, in);
            INFO(to_string(layout) << " C=" << channels);
            CHECK(underflow.out[0] == 0.0f);
            CHECK(std::signbit(underflow.out[0]) == (layout == Layout::NHWC && channels > 1));
        }
    }
    CHECK(avg_keeps_negative_zero([] { auto s = avg({1, 2, 3}, {2}); s.layout = Layout::NHWC; return s; }()));
    CHECK_FALSE(avg_keeps_negative_zero([] { auto s = avg({1, 2, 1}, {1}); s.layout = Layout::NHWC; return s; }()));
}

TEST_CASE("max 3D: a window with no tap taken reports its start's whole index in both layouts", "[reference]") {
    // All -inf, 1x2x3x4x5, k=2, s=1: no tap is ever taken, so the index is the window start's,
    // (d*H + h)*W + w in both layouts (PyTorch's channels-first kernel, and its channels-last
    // one outside the channel tail where it drops d*H*W; docs/semantics.md).
    auto s = max2d({1, 2, 3, 4, 5}, {2}, {1});
    std::vector<float> in(120, -kInf);
    for (Layout layout : {Layout::NCHW, Layout::NHWC}) {
        s.layout = layout;
        INFO(to_string(layout));
        auto r = ref(s, in, true);  // output 2x3x4 per channel
        const size_t last = layout == Layout::NCHW ? 23 : 23 * 2;  // (n0, c0, d1, h2, w3)
        const size_t d1 = layout == Layout::NCHW ? 12 : 12 * 2;    // (n0, c0, d1, h0, w0)
        CHECK(r.idx[d1] == 20);                                      // (1*4 + 0)*5 + 0
        CHECK(r.idx[last] == 33);                                    // (1*4 + 2)*5 + 3
        std::vector<float> one = in;
        const size_t at = layout == Layout::NCHW ? 59 : 59 * 2;  // (c0, d2, h3, w4)
        one[at] = 1.0f;
        CHECK(ref(s, one, true).idx[last] == 59);  // (2*4 + 3)*5 + 4
    }
    // All-padding dilated window, 2x3x3x3 nhwc, k=2, p=1, d=4: the start (-1,-1,-1) advanced
    // past the padding by whole dilation steps is (3,3,3): (3*3 + 3)*3 + 3 = 39, past the end.
    auto pad = max2d({1, 2, 3, 3, 3}, {2}, {1}, {1}, {4});
    pad.layout = Layout::NHWC;
    auto rp = ref(pad, std::vector<float>(54, 1.0f), true);
    CHECK(rp.idx == std::vector<int64_t>{39, 39});
    CHECK(rp.out[0] == -kInf);
}

TEST_CASE("avg: +inf and -inf in one window give NaN", "[reference]") {
    auto r = ref(avg({1, 1, 1, 4}, {1, 2}), {kInf, -kInf, 1, 2});
    CHECK(std::isnan(r.out[0]));
    CHECK(r.out[1] == 1.5f);
}

TEST_CASE("adaptive windows: floor start, ceil end, overlapping", "[reference]") {
    CHECK(ref(adaptive(Op::AdaptiveAvgPool, {1, 1, 7}, {3}), iota(7)).out == std::vector<float>{1, 3, 5});
    CHECK(ref(adaptive(Op::AdaptiveAvgPool, {1, 1, 3}, {5}), {10, 20, 30}).out == std::vector<float>{10, 15, 20, 25, 30});
    auto m = ref(adaptive(Op::AdaptiveMaxPool, {1, 1, 7}, {3}), {1, 5, 5, 2, 7, 0, 3}, true);
    CHECK(m.out == std::vector<float>{5, 7, 7});
    CHECK(m.idx == std::vector<int64_t>{1, 4, 4});
}

TEST_CASE("global pooling is adaptive pooling to ones", "[reference]") {
    PoolSpec g;
    g.op = Op::GlobalAvgPool;
    g.input = {1, 2, 5, 5};
    auto in = iota(50);
    auto r = ref(g, in);
    CHECK(r.out == std::vector<float>{12, 37});
    PoolSpec gm;
    gm.op = Op::GlobalMaxPool;
    gm.input = {1, 1, 2, 3};
    auto m = ref(gm, {1, kNaN, 3, kNaN, 2, 0}, true);
    CHECK(std::isnan(m.out[0]));
    CHECK(m.idx[0] == 3);
}

TEST_CASE("nhwc gives the same values and logical indices as nchw", "[reference]") {
    // 1x2x3x3 with distinct values; channels-last copy of the same logical tensor.
    std::vector<float> nchw = iota(18);
    for (size_t i = 0; i < nchw.size(); i++) nchw[i] = static_cast<float>((i * 7) % 18);
    std::vector<float> nhwc(18);
    for (int c = 0; c < 2; c++)
        for (int p = 0; p < 9; p++) nhwc[p * 2 + c] = nchw[c * 9 + p];
    auto s = max2d({1, 2, 3, 3}, {2}, {1});
    auto a = ref(s, nchw, true);
    s.layout = Layout::NHWC;
    auto b = ref(s, nhwc, true);
    for (int c = 0; c < 2; c++)
        for (int p = 0; p < 4; p++) {
            CHECK(a.out[c * 4 + p] == b.out[p * 2 + c]);
            CHECK(a.idx[c * 4 + p] == b.idx[p * 2 + c]);
        }
}

TEST_CASE("reference refuses invalid specs and misuse", "[reference]") {
    std::vector<float> in(25), out(25);
    int64_t idx[25];
    auto bad = max2d({1, 1, 5, 5}, {2}, {2}, {2});
    CHECK_FALSE(reference::run(bad, in.data(), out.data()).ok());
    auto s = max2d({1, 1, 5, 5}, {2});
    CHECK_FALSE(reference::run(s, nullptr, out.data()).ok());
    CHECK_FALSE(reference::run(s, in.data(), out.data(), idx).ok());  // spec has no indices
}

// ---- Rules onnx: each expected value is onnxruntime 1.32's on the same input.

namespace {
void check_close(const std::vector<float> &got, const std::vector<double> &want) {
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < got.size(); i++) CHECK(got[i] == static_cast<float>(want[i]));
}
}  // namespace

TEST_CASE("rules onnx: averages with pads unlike at the two ends divide by the taps before the end pad", "[reference]") {
    const auto x = iota(7, 1);  // 1..7
    check_close(ref(onnx1d(Op::AvgPool, 7, 3, 2, 0, 2), x).out, {2, 4, 6, 7.0 / 3});
    check_close(ref(onnx1d(Op::AvgPool, 7, 3, 2, 0, 2, 1, false, false), x).out, {2, 4, 6, 7});
    check_close(ref(onnx1d(Op::AvgPool, 7, 3, 2, 2, 0), x).out, {1.0 / 3, 2, 4, 6});
    check_close(ref(onnx1d(Op::AvgPool, 7, 4, 3, 1, 0, 1, true), x).out, {1.5, 4.5, 6.5});
    check_close(ref(onnx1d(Op::AvgPool, 7, 4, 3, 0, 2, 1, true), x).out, {2.5, 5.5, 7.0 / 3});
    check_close(ref(onnx1d(Op::AvgPool, 7, 3, 4, 0, 2, 1, true), x).out, {2, 6});
    check_close(ref(onnx1d(Op::AvgPool, 7, 3, 4, 2, 0, 1, true), x).out, {1.0 / 3, 4, 7});
    // Pads over half the kernel.
    check_close(ref(onnx1d(Op::AvgPool, 7, 3, 1, 2, 2), x).out, {1.0 / 3, 1, 2, 3, 4, 5, 6, 13.0 / 3, 7.0 / 3});
    check_close(ref(onnx1d(Op::MaxPool, 7, 3, 1, 2, 2), x).out, {1, 2, 3, 4, 5, 6, 7, 7, 7});
}

TEST_CASE("rules onnx: dilated averages count the taps, not the span", "[reference]") {
    const auto x = iota(8, 1);  // 1..8
    check_close(ref(onnx1d(Op::AvgPool, 8, 2, 3, 0, 0, 3, true), x).out, {2.5, 5.5, 7});
    check_close(ref(onnx1d(Op::AvgPool, 8, 3, 3, 1, 1, 2, true), x).out, {2, 5, 7});
    check_close(ref(onnx1d(Op::AvgPool, 8, 2, 1, 1, 0, 3), x).out, {1.5, 2.5, 3.5, 4.5, 5.5, 6.5});
    check_close(ref(onnx1d(Op::AvgPool, 8, 3, 1, 2, 2, 2), x).out, {4.0 / 3, 2, 3, 4, 5, 6, 4, 14.0 / 3});
    check_close(ref(onnx1d(Op::AvgPool, 8, 3, 1, 2, 2, 2, false, false), x).out, {2, 3, 3, 4, 5, 6, 6, 7});
    // A window with no input element: 0 either way (not 0/0).
    for (bool cip : {false, true}) {
        const auto r = ref(onnx1d(Op::AvgPool, 4, 2, 1, 1, 1, 5, false, cip), iota(4, 1));
        CHECK(same_bits(r.out.at(0), 0.0f));
    }
}

TEST_CASE("rules onnx: indices count over the whole tensor, row- or column-major", "[reference]") {
    PoolSpec s = max2d({2, 3, 3, 4}, {2}, {1});
    s.rules = Rules::ONNX;
    const auto x = iota(72);
    auto r = ref(s, x, true);
    // n = 1, c = 2: the outputs 12..17 of the last plane.
    CHECK(std::vector<int64_t>(r.idx.end() - 6, r.idx.end()) == std::vector<int64_t>{65, 66, 67, 69, 70, 71});
    s.storage_order = 1;
    r = ref(s, x, true);
    CHECK(std::vector<int64_t>(r.idx.end() - 6, r.idx.end()) == std::vector<int64_t>{64, 67, 70, 65, 68, 71});
    PoolSpec s3 = max2d({2, 3, 2, 3, 4}, {1, 2, 2}, {1});
    s3.rules = Rules::ONNX;
    s3.storage_order = 1;
    r = ref(s3, iota(144), true);
    CHECK(std::vector<int64_t>(r.idx.end() - 12, r.idx.end()) ==
          std::vector<int64_t>{128, 134, 140, 130, 136, 142, 129, 135, 141, 131, 137, 143});
    // The layout does not change an index: it names the logical element.
    PoolSpec nhwc = s;
    nhwc.layout = Layout::NHWC;
    std::vector<float> xl(72);
    for (int64_t n = 0; n < 2; n++)
        for (int64_t c = 0; c < 3; c++)
            for (int64_t p = 0; p < 12; p++) xl[size_t((n * 12 + p) * 3 + c)] = x[size_t((n * 3 + c) * 12 + p)];
    const auto rl = ref(nhwc, xl, true);
    const auto rc = ref(s, x, true);
    for (int64_t n = 0; n < 2; n++)
        for (int64_t c = 0; c < 3; c++)
            for (int64_t p = 0; p < 6; p++) CHECK(rl.idx[size_t((n * 6 + p) * 3 + c)] == rc.idx[size_t((n * 3 + c) * 6 + p)]);
}

namespace {

PoolSpec lp1d(int64_t p, int64_t n, int64_t k, int64_t s, bool ceil, bool onnx = false) {
    PoolSpec spec;
    spec.op = Op::LpPool;
    spec.p = p;
    spec.input = {1, 1, n};
    spec.kernel = {k};
    spec.stride = {s};
    spec.ceil_mode = ceil;
    if (onnx) spec.rules = Rules::ONNX;
    return spec;
}

}  // namespace

// Values printed by torch 2.15 (F.lp_pool1d) and onnxruntime 1.32 (LpPool) for the same input.
TEST_CASE("lp: PyTorch's LPPool raises x itself to p and scales an overhanging window by kernel/clipped", "[reference]") {
    const std::vector<float> x = {1, -2, 3, -4, 5};
    CHECK(ref(lp1d(1, 5, 2, 2, true), x).out == std::vector<float>{-1, -1, 10});
    auto r2 = ref(lp1d(2, 5, 2, 2, true), x).out;
    CHECK(r2 == std::vector<float>{std::sqrt(5.0f), 5, std::sqrt(50.0f)});
    auto r3 = ref(lp1d(3, 5, 2, 2, true), x).out;
    CHECK(std::isnan(r3[0]));  // 1 - 8 < 0: pow(-7, 1/3) is NaN
    CHECK(std::isnan(r3[1]));
    CHECK(r3[2] == std::pow(250.0f, static_cast<float>(1.0 / 3)));  // 6.2996
}

TEST_CASE("lp: ONNX's LpPool takes |x|^p and sums the window as it is", "[reference]") {
    const std::vector<float> x = {1, -2, 3, -4, 5};
    CHECK(ref(lp1d(1, 5, 2, 2, true, true), x).out == std::vector<float>{3, 7, 5});
    auto r3 = ref(lp1d(3, 5, 2, 2, true, true), x).out;
    CHECK(r3 == std::vector<float>{std::pow(9.0f, 1.0f / 3), std::pow(91.0f, 1.0f / 3), std::pow(125.0f, 1.0f / 3)});
    CHECK(r3[0] == Approx(2.0800838f));
    CHECK(r3[2] == 5.0000005f);  // powf(125, 0.33333334f), as onnxruntime gives it
    // Pads count as zeros: [0,1] [-2,3] [-4,5] -> sqrt(1), sqrt(13), sqrt(41).
    PoolSpec padded = lp1d(2, 5, 2, 2, false, true);
    padded.padding = {1};
    CHECK(ref(padded, x).out == std::vector<float>{1, std::sqrt(13.0f), std::sqrt(41.0f)});
    // Dilated: taps i and i+2.
    PoolSpec dilated = lp1d(2, 5, 2, 1, false, true);
    dilated.dilation = {2};
    CHECK(ref(dilated, x).out == std::vector<float>{std::sqrt(10.0f), std::sqrt(20.0f), std::sqrt(34.0f)});
}

TEST_CASE("lp: infinities and NaN follow pow's rules", "[reference]") {
    // -inf + 1 = -inf; PyTorch: (-inf)*2 then pow(-inf, 1/3) = +inf (C's pow); p=2: sqrt(inf).
    CHECK(ref(lp1d(3, 4, 2, 2, false), {-kInf, 1, 2, 3}).out[0] == kInf);
    CHECK(ref(lp1d(2, 4, 2, 2, false), {-kInf, 1, 2, 3}).out[0] == kInf);
    CHECK(std::isnan(ref(lp1d(2, 2, 2, 2, false), {kNaN, 1}).out[0]));
    CHECK(std::isnan(ref(lp1d(3, 2, 2, 2, false, true), {kInf, -kInf}).out[0]) == false);  // |x|: inf + inf
    CHECK(std::isnan(ref(lp1d(3, 2, 2, 2, false), {kInf, -kInf}).out[0]));                // inf - inf
}

TEST_CASE("global lp pooling is lp pooling with the whole plane as the kernel", "[reference]") {
    PoolSpec g;
    g.op = Op::GlobalLpPool;
    g.input = {1, 2, 2, 2};
    auto r = ref(g, {1, 2, 2, 4, -3, 0, 0, 4});
    CHECK(r.out == std::vector<float>{5, 5});
    g.p = 1;
    CHECK(ref(g, {1, 2, 2, 4, -3, 0, 0, 4}).out == std::vector<float>{9, 1});
    g.rules = Rules::ONNX;
    CHECK(ref(g, {1, 2, 2, 4, -3, 0, 0, 4}).out == std::vector<float>{9, 7});
}
