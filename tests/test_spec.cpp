// PoolSpec: PyTorch's output-size arithmetic and validation rules.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "poolgen/spec.h"
#include "test_helpers.h"

using namespace poolgen;
using testutil::avg;
using testutil::max2d;
using testutil::onnx1d;

TEST_CASE("output size: floor and ceil mode", "[spec]") {
    CHECK(pooled_output_size(5, 2, 2, 0, 0, 1, false) == 2);
    CHECK(pooled_output_size(5, 2, 2, 0, 0, 1, true) == 3);
    CHECK(pooled_output_size(9, 3, 1, 1, 1, 2, false) == 7);
    CHECK(pooled_output_size(112, 3, 2, 1, 1, 1, false) == 56);
    CHECK(pooled_output_size(55, 3, 2, 0, 0, 1, true) == 27);
}

TEST_CASE("output size: ceil mode drops a window starting in the right padding", "[spec]") {
    // n=5,k=2,s=3,p=1: the formula gives 3, but window 2 would start at 6-1=5 >= n.
    CHECK(pooled_output_size(5, 2, 3, 1, 1, 1, true) == 2);
    // n=7, no padding: window 2 starts at 6 < 7 and is kept.
    CHECK(pooled_output_size(7, 2, 3, 0, 0, 1, true) == 3);
}

TEST_CASE("output size: ceil mode with stride > 1 accepts a kernel larger than the input", "[spec]") {
    // PyTorch: 2x2 input, k=3, s=3 (default), ceil -> 1x1.
    auto s = max2d({1, 1, 2, 2}, {3}, {}, {}, {}, true);
    REQUIRE(s.validate().ok());
    CHECK(s.output_shape() == std::vector<int64_t>{1, 1, 1, 1});
    // Stride 1: no rescue.
    auto t = max2d({1, 1, 2, 2}, {3}, {1}, {}, {}, true);
    CHECK_FALSE(t.validate().ok());
}

TEST_CASE("defaults: stride is the kernel, scalars broadcast", "[spec]") {
    auto s = max2d({1, 1, 4, 4}, {3}, {}, {1});
    CHECK(s.stride == std::vector<int64_t>{3, 3});
    CHECK(s.padding == std::vector<int64_t>{1, 1});
    CHECK(s.dilation == std::vector<int64_t>{1, 1});
    REQUIRE(s.validate().ok());
    CHECK(s.output_shape() == std::vector<int64_t>{1, 1, 2, 2});
}

static std::string why(const PoolSpec &s) {
    Status st = s.validate();
    REQUIRE_FALSE(st.ok());
    return st.message();
}

TEST_CASE("validation follows PyTorch's rules and order", "[spec]") {
    using Catch::Matchers::Contains;
    // Omitted stride with k=0 becomes stride 0: "stride must not be zero" fires first.
    CHECK_THAT(why(max2d({1, 1, 5, 5}, {0})), Contains("field 'stride'") && Contains("not be zero"));
    CHECK_THAT(why(max2d({1, 1, 5, 5}, {2}, {2}, {-1})), Contains("field 'padding'") && Contains("non-negative"));
    CHECK_THAT(why(max2d({1, 1, 5, 5}, {2}, {2}, {2})), Contains("field 'padding'") && Contains("half"));
    // A negative kernel passes the pad check (0 <= -1/2 == 0) and fails at the kernel rule.
    CHECK_THAT(why(max2d({1, 1, 5, 5}, {-1}, {1})), Contains("field 'kernel'") && Contains("greater than zero"));
    CHECK_THAT(why(max2d({1, 1, 5, 5}, {2}, {-1})), Contains("field 'stride'") && Contains("greater than zero"));
    CHECK_THAT(why(max2d({1, 1, 5, 5}, {2}, {1}, {0}, {0})), Contains("field 'dilation'"));
    // Effective kernel 7 > 5: output size -1.
    CHECK_THAT(why(max2d({1, 1, 5, 5}, {3}, {1}, {0}, {3})), Contains("output size is too small"));
    CHECK_THAT(why(max2d({1, 1, 2, 2}, {3}, {1})), Contains("1x2x2"));
}

TEST_CASE("padding bound: half the raw kernel, also with dilation", "[spec]") {
    using Catch::Matchers::Contains;
    // k=3, d=2 (effective 5), p=2: PyTorch refuses it in 1D, 2D and 3D ("pad should be smaller
    // than or equal to half of kernel size", pool2d/pool3d_shape_check on the raw kernel).
    for (std::vector<int64_t> in : {std::vector<int64_t>{1, 1, 9}, {1, 1, 9, 9}, {1, 1, 9, 9, 9}})
        for (bool indices : {false, true}) {
            PoolSpec s = max2d(in, {3}, {1}, {2}, {2});
            s.return_indices = indices;
            INFO(join_dims(in) << (indices ? " indices" : ""));
            CHECK_THAT(why(s), Contains("field 'padding'") && Contains("half of the kernel size") && Contains("kernel=3"));
            s.padding = std::vector<int64_t>(in.size() - 2, 1);
            CHECK(s.validate().ok());
        }
    // k=2, d=3 (effective 4), p=2 in one dim only.
    CHECK_THAT(why(max2d({1, 1, 9, 9}, {2}, {1}, {2, 0}, {3})), Contains("field 'padding'") && Contains("kernel=2"));
    // The raw-kernel rule comes after the kernel, stride and dilation rules ...
    CHECK_THAT(why(max2d({1, 1, 9, 9}, {3}, {-1}, {2}, {2})), Contains("field 'stride'") && Contains("greater than zero"));
    CHECK_THAT(why(max2d({1, 1, 9, 9}, {3}, {1}, {2, 0}, {2, 0})), Contains("field 'dilation'"));
    // ... and the effective-kernel rule before them: d=0 makes the window 1 wide, so p=1 is
    // already too much (3D too), and a zero stride in a later dim loses to it only there.
    CHECK_THAT(why(max2d({1, 1, 9, 9, 9}, {5}, {1}, {1, 0, 0}, {0, 1, 1})),
               Contains("field 'padding'") && Contains("effective"));
    CHECK_THAT(why(max2d({1, 1, 9, 9, 9}, {5}, {3, 0, 1}, {4, 0, 0}, {3, 1, 1})), Contains("field 'stride'") && Contains("zero"));
    // The raw-kernel rule comes before the output-size rule.
    CHECK_THAT(why(max2d({1, 1, 2, 7}, {2, 6}, {3}, {2}, {3, 1})), Contains("field 'padding'"));
}

TEST_CASE("max_pool1d without indices: PyTorch's own check order", "[spec]") {
    using Catch::Matchers::Contains;
    // kernel, stride (zero or negative), padding, half the kernel, dilation.
    CHECK_THAT(why(max2d({1, 1, 9}, {0}, {0}, {1}, {0})), Contains("field 'kernel'"));
    CHECK_THAT(why(max2d({1, 1, 9}, {3}, {0}, {-1}, {0})), Contains("field 'stride'") && Contains("greater than zero"));
    CHECK_THAT(why(max2d({1, 1, 9}, {3}, {1}, {-1}, {0})), Contains("field 'padding'") && Contains("non-negative"));
    CHECK_THAT(why(max2d({1, 1, 9}, {3}, {1}, {2}, {0})), Contains("field 'padding'") && Contains("half"));
    CHECK_THAT(why(max2d({1, 1, 9}, {3}, {1}, {1}, {0})), Contains("field 'dilation'"));
    // With indices PyTorch goes through max_pool2d: stride zero first.
    PoolSpec s = max2d({1, 1, 9}, {0}, {0}, {1}, {0});
    s.return_indices = true;
    CHECK_THAT(why(s), Contains("field 'stride'") && Contains("not be zero"));
}

TEST_CASE("avg_pool rules", "[spec]") {
    using Catch::Matchers::Contains;
    auto s = avg({1, 1, 5, 5}, {2});
    s.divisor_override = 0;
    CHECK_THAT(why(s), Contains("field 'divisor_override'"));
    // avg_pool2d accepts a 2x2 input with k=3, p=1 (1x1 output) ...
    auto ok2d = avg({1, 1, 2, 2}, {3}, {}, {1});
    REQUIRE(ok2d.validate().ok());
    CHECK(ok2d.output_shape() == std::vector<int64_t>{1, 1, 1, 1});
    // ... avg_pool3d does not: every input size must be >= the kernel.
    CHECK_THAT(why(avg({1, 1, 2, 2, 2}, {3}, {}, {1})), Contains("avg_pool 3D"));
    auto d = avg({1, 1, 5, 5}, {2});
    d.dilation = {2, 2};
    CHECK_THAT(why(d), Contains("field 'dilation'"));
    auto one_d = avg({1, 1, 5}, {2});
    one_d.divisor_override = 2;
    CHECK_THAT(why(one_d), Contains("1D"));
}

TEST_CASE("adaptive and global specs", "[spec]") {
    PoolSpec a;
    a.op = Op::AdaptiveAvgPool;
    a.input = {1, 8, 7, 7};
    a.output_size = {3, 1};
    a.normalize();
    REQUIRE(a.validate().ok());
    CHECK(a.output_shape() == std::vector<int64_t>{1, 8, 3, 1});
    a.output_size = {-1, 2};
    CHECK_THAT(why(a), Catch::Matchers::Contains(">= 0"));
    a.output_size = {0, 2};
    CHECK_THAT(why(a), Catch::Matchers::Contains(">= 1"));
    PoolSpec g;
    g.op = Op::GlobalMaxPool;
    g.input = {2, 3, 4, 5, 6};
    g.normalize();
    REQUIRE(g.validate().ok());
    CHECK(g.output_shape() == std::vector<int64_t>{2, 3, 1, 1, 1});
}

TEST_CASE("sizes whose products overflow 32-bit indexing are rejected before any arithmetic", "[spec]") {
    auto s = max2d({65536, 65536, 2, 2}, {2});
    CHECK_THAT(why(s), Catch::Matchers::Contains("2^31-1"));
    auto huge = max2d({1, 1, 5, 5}, {int64_t(1) << 40});
    CHECK_THAT(why(huge), Catch::Matchers::Contains("field 'kernel'"));
}

TEST_CASE("memory shapes put channels last for nhwc", "[spec]") {
    auto s = max2d({2, 3, 8, 6}, {2});
    s.layout = Layout::NHWC;
    CHECK(s.input_memory_shape() == std::vector<int64_t>{2, 8, 6, 3});
    CHECK(s.output_memory_shape() == std::vector<int64_t>{2, 4, 3, 3});
    CHECK(s.canonical_name() == "max_pool_f32_nhwc_k2x2_s2x2_p0x0_d1x1_2x3x8x6");
}

// ---- Rules onnx (docs/onnx.md): each value below is onnxruntime 1.32's.

TEST_CASE("rules onnx: output size with pads unlike at the two ends", "[spec]") {
    CHECK(pooled_output_size(7, 3, 2, 0, 2, 1, false) == 4);
    CHECK(pooled_output_size(7, 4, 3, 0, 2, 1, true) == 3);
    // ceil_mode's last window must start before n + begin pad: 8 >= 7 + 0 drops it ...
    CHECK(pooled_output_size(7, 3, 4, 0, 2, 1, true) == 2);
    // ... while 8 - 2 = 6 < 7 keeps it.
    CHECK(pooled_output_size(7, 3, 4, 2, 0, 1, true) == 3);
    CHECK(onnx1d(Op::MaxPool, 7, 3, 1, 2, 2).output_shape() == std::vector<int64_t>{1, 1, 9});
}

TEST_CASE("rules onnx: what it allows and what it refuses", "[spec]") {
    using Catch::Matchers::Contains;
    // Pads up to kernel-1 at either end, unlike ends, dilated averages, 3D averages over a small input.
    CHECK(onnx1d(Op::MaxPool, 7, 3, 1, 2, 0).validate().ok());
    CHECK(onnx1d(Op::AvgPool, 7, 3, 2, 0, 2).validate().ok());
    CHECK(onnx1d(Op::AvgPool, 8, 2, 1, 1, 0, 3).validate().ok());
    PoolSpec small3d = avg({1, 1, 2, 2, 2}, {3}, {}, {1});
    small3d.rules = Rules::ONNX;
    CHECK(small3d.validate().ok());
    CHECK_THAT(why(onnx1d(Op::MaxPool, 7, 3, 1, 3, 0)), Contains("field 'padding'") && Contains("smaller than the kernel"));
    CHECK_THAT(why(onnx1d(Op::AvgPool, 7, 3, 1, 0, 3)), Contains("field 'padding_end'") && Contains("smaller than the kernel"));
    // The same fields under PyTorch's rules.
    PoolSpec asym = onnx1d(Op::MaxPool, 7, 3, 1, 0, 1);
    asym.rules = Rules::PyTorch;
    CHECK_THAT(why(asym), Contains("field 'padding_end'") && Contains("\"rules\": \"onnx\""));
    PoolSpec dil = onnx1d(Op::AvgPool, 8, 2, 1, 0, 0, 2);
    dil.rules = Rules::PyTorch;
    CHECK_THAT(why(dil), Contains("field 'dilation'") && Contains("\"rules\": \"onnx\""));
    PoolSpec order = max2d({1, 1, 4, 4}, {2});
    order.return_indices = true;
    order.storage_order = 1;
    CHECK_THAT(why(order), Contains("field 'storage_order'") && Contains("rules"));
    order.rules = Rules::ONNX;
    CHECK(order.validate().ok());
    order.storage_order = 2;
    CHECK_THAT(why(order), Contains("field 'storage_order'") && Contains("0 (row-major) or 1"));
    order.storage_order = 1;
    order.return_indices = false;
    CHECK_THAT(why(order), Contains("field 'storage_order'") && Contains("indices"));
}

TEST_CASE("rules onnx: names and descriptions show it, PyTorch-rules names stay as they were", "[spec]") {
    PoolSpec s = onnx1d(Op::AvgPool, 8, 3, 2, 0, 2, 2, true);
    CHECK(s.canonical_name() == "avg_pool_f32_nchw_onnx_k3_s2_p0_pe2_d2_ceil_1x1x8");
    CHECK(s.describe() == "avg_pool f32 nchw rules=onnx in=1x1x8 k=3 s=2 p=0 pe=2 d=2 ceil -> 1x1x4");
    // A padding_end equal to padding is no padding_end, and avg's unit dilation is not shown.
    PoolSpec same = onnx1d(Op::AvgPool, 8, 3, 2, 1, 1);
    CHECK(same.padding_end.empty());
    CHECK(same.canonical_name() == "avg_pool_f32_nchw_onnx_k3_s2_p1_1x1x8");
    CHECK(avg({1, 1, 8}, {3}).canonical_name() == "avg_pool_f32_nchw_k3_s3_p0_1x1x8");
    PoolSpec idx = max2d({1, 1, 4, 4}, {2});
    idx.rules = Rules::ONNX;
    idx.return_indices = true;
    idx.storage_order = 0;
    idx.normalize();  // storage_order 0 is the default
    CHECK(!idx.storage_order);
    idx.storage_order = 1;
    CHECK(idx.canonical_name() == "max_pool_f32_nchw_onnx_k2x2_s2x2_p0x0_d1x1_idx_so1_1x1x4x4");
}

TEST_CASE("lp ops: p defaults to 2, PyTorch's rules take no padding or dilation, names show p", "[spec]") {
    using Catch::Matchers::Contains;
    PoolSpec s;
    s.op = Op::LpPool;
    s.input = {1, 3, 9, 8};
    s.kernel = {3};
    s.normalize();
    CHECK(s.p == 2);
    CHECK(s.validate().ok());
    CHECK(s.canonical_name() == "lp_pool_f32_nchw_lp2_k3x3_s3x3_p0x0_1x3x9x8");
    CHECK(s.describe() == "lp_pool f32 nchw in=1x3x9x8 lp=2 k=3x3 s=3x3 p=0x0 -> 1x3x3x2");
    s.padding = {1, 1};
    CHECK_THAT(why(s), Contains("field 'padding'") && Contains("LPPool has none") && Contains("\"rules\": \"onnx\""));
    s.rules = Rules::ONNX;
    CHECK(s.validate().ok());
    s.padding = {0, 0};
    s.rules = Rules::PyTorch;
    s.dilation = {2, 1};
    CHECK_THAT(why(s), Contains("field 'dilation'") && Contains("LPPool has none"));
    s.dilation = {1, 1};
    for (int64_t bad : {int64_t(0), int64_t(-2), kMaxLpOrder + 1}) {
        s.p = bad;
        CHECK_THAT(why(s), Contains("field 'p'") && Contains("from 1 to"));
    }
    s.p = kMaxLpOrder;
    CHECK(s.validate().ok());
    // p belongs to the lp ops only; the lp ops take no average fields.
    PoolSpec a = avg({1, 1, 8}, {3});
    a.p = 2;
    CHECK_THAT(why(a), Contains("field 'p'") && Contains("lp_pool and global_lp_pool only"));
    s.p = 2;
    s.count_include_pad = false;
    CHECK_THAT(why(s), Contains("field 'count_include_pad'") && Contains("avg_pool only"));
    // PyTorch's lp_pool3d is an avg_pool3d: an input smaller than the kernel is refused.
    PoolSpec small;
    small.op = Op::LpPool;
    small.input = {1, 1, 2, 4, 4};
    small.kernel = {3};
    small.normalize();
    CHECK_THAT(why(small), Contains("field 'kernel'") && Contains("lp_pool 3D needs"));
    small.rules = Rules::ONNX;
    small.ceil_mode = true;
    CHECK(small.validate().ok());
    PoolSpec g;
    g.op = Op::GlobalLpPool;
    g.input = {2, 4, 7};
    g.p = 3;
    g.rules = Rules::ONNX;
    g.normalize();
    CHECK(g.validate().ok());
    CHECK(g.output_shape() == std::vector<int64_t>{2, 4, 1});
    CHECK(g.canonical_name() == "global_lp_pool_f32_nchw_onnx_lp3_2x4x7");
}

TEST_CASE("dtypes: f16 and bf16 names, sizes, npy dtypes, and rules onnx stays f32", "[spec][dtype]") {
    CHECK(parse_dtype("f16") == DType::F16);
    CHECK(parse_dtype("bf16") == DType::BF16);
    CHECK(!parse_dtype("float16"));
    CHECK(dtype_size(DType::F16) == 2);
    CHECK(dtype_size(DType::BF16) == 2);
    CHECK(std::string(npy_descr(DType::F32)) == "<f4");
    CHECK(std::string(npy_descr(DType::F16)) == "<f2");
    CHECK(std::string(npy_descr(DType::BF16)) == "<u2");
    PoolSpec s = avg({1, 1, 8}, {3});
    s.dtype = DType::BF16;
    CHECK(s.canonical_name() == "avg_pool_bf16_nchw_k3_s3_p0_1x1x8");
    CHECK(s.validate().ok());
    PoolSpec o = onnx1d(Op::MaxPool, 8, 3, 2, 0, 2);
    o.dtype = DType::F16;
    CHECK(o.validate().message() == "field 'dtype': rules onnx kernels are f32 only (the ONNX import reads float32 models), got f16");
}

TEST_CASE("dtypes: u8 and i8 names, ranges, npy dtypes, zero_point and the ops they take", "[spec][dtype]") {
    CHECK(parse_dtype("u8") == DType::U8);
    CHECK(parse_dtype("i8") == DType::I8);
    CHECK(!parse_dtype("uint8"));
    CHECK(dtype_size(DType::U8) == 1);
    CHECK(dtype_size(DType::I8) == 1);
    CHECK(std::string(npy_descr(DType::U8)) == "|u1");
    CHECK(std::string(npy_descr(DType::I8)) == "|i1");
    CHECK((quantized_min(DType::U8) == 0 && quantized_max(DType::U8) == 255));
    CHECK((quantized_min(DType::I8) == -128 && quantized_max(DType::I8) == 127));
    // Codes widen exactly; narrowing rounds to nearest even and saturates.
    uint8_t u = 0;
    int8_t i = 0;
    store_element(DType::U8, 300.0f, &u, 0);
    CHECK(u == 255);
    store_element(DType::U8, 2.5f, &u, 0);
    CHECK(u == 2);
    store_element(DType::I8, -129.0f, &i, 0);
    CHECK(i == -128);
    CHECK(load_element(DType::I8, &i, 0) == -128.0f);

    PoolSpec s = avg({1, 2, 8}, {3});
    s.dtype = DType::U8;
    s.zero_point = 3;
    CHECK(s.validate().ok());
    CHECK(s.canonical_name() == "avg_pool_u8_nchw_zp3_k3_s3_p0_1x2x8");
    s.zero_point = 256;
    CHECK(s.validate().message() == "field 'zero_point': must be in the range of u8, 0 to 255, got 256");
    s.dtype = DType::I8;
    s.zero_point = -129;
    CHECK(s.validate().message() == "field 'zero_point': must be in the range of i8, -128 to 127, got -129");
    s.zero_point = -5;
    CHECK(s.canonical_name() == "avg_pool_i8_nchw_zpm5_k3_s3_p0_1x2x8");
    s.dtype = DType::F32;
    CHECK(s.validate().message() == "field 'zero_point': applies to u8 and i8 kernels only (a quantized tensor's zero point), not f32");
    PoolSpec lp;
    lp.op = Op::LpPool;
    lp.dtype = DType::I8;
    lp.input = {1, 1, 8};
    lp.kernel = {2};
    lp.normalize();
    CHECK(lp.validate().message().rfind("field 'dtype': i8 kernels pool with max, avg and adaptive ops; lp_pool has no quantized form", 0) == 0);
    // 3D whole-plane averages channels-last depend on the scale in PyTorch: refused.
    PoolSpec g;
    g.op = Op::GlobalAvgPool;
    g.dtype = DType::U8;
    g.layout = Layout::NHWC;
    g.input = {1, 4, 2, 3, 4};
    g.normalize();
    CHECK(g.validate().message().rfind("field 'layout': u8 averages of a whole 3D plane (output 1x1x1) need layout nchw", 0) == 0);
    g.layout = Layout::NCHW;
    CHECK(g.validate().ok());
    CHECK(quantized_mean(g));
    // Which of PyTorch's quantized kernels' rules applies: from the strides.
    CHECK_FALSE(quantized_channels_last(avg({1, 2, 8}, {3})));
    CHECK(quantized_channels_last(avg({1, 1, 8}, {3})));     // C == 1
    CHECK(quantized_channels_last(avg({1, 3, 1, 1}, {1})));  // a one-element plane
    PoolSpec nwc = avg({1, 2, 8}, {3});
    nwc.layout = Layout::NHWC;
    CHECK_FALSE(quantized_channels_last(nwc));  // 1D ops pool a contiguous copy
    PoolSpec nhwc = avg({1, 2, 4, 4}, {3});
    nhwc.layout = Layout::NHWC;
    CHECK(quantized_channels_last(nhwc));
}

namespace {
uint16_t half_bits(float v) {
    uint16_t h;
    store_element(DType::F16, v, &h, 0);
    return h;
}
uint16_t bf16_bits(float v) {
    uint16_t h;
    store_element(DType::BF16, v, &h, 0);
    return h;
}
float from_bits32(uint32_t b) {
    float v;
    std::memcpy(&v, &b, 4);
    return v;
}
}  // namespace

TEST_CASE("element conversions: round to nearest even, overflow, subnormals, NaN", "[spec][dtype]") {
    // f16: 1 + 2^-11 is halfway between 1 and 1 + 2^-10 (even: 1); 1 + 3*2^-11 rounds up to 1 + 2^-9.
    CHECK(half_bits(1.0f) == 0x3c00);
    CHECK(half_bits(1.0f + 0x1p-11f) == 0x3c00);
    CHECK(half_bits(1.0f + 3 * 0x1p-11f) == 0x3c02);
    CHECK(half_bits(-2.0f) == 0xc000);
    CHECK(half_bits(65504.0f) == 0x7bff);
    CHECK(half_bits(65519.99f) == 0x7bff);  // below the midpoint to 65536
    CHECK(half_bits(65520.0f) == 0x7c00);   // the midpoint rounds to even: infinity
    CHECK(half_bits(-1e10f) == 0xfc00);
    CHECK(half_bits(0x1p-24f) == 0x0001);   // the smallest subnormal
    CHECK(half_bits(0x1p-25f) == 0x0000);   // half of it: a tie, even is 0
    CHECK(half_bits(3 * 0x1p-25f) == 0x0002);  // 1.5 steps: a tie, even is 2
    CHECK(half_bits(0x1p-14f - 0x1p-26f) == 0x0400);  // rounds up into the smallest normal
    CHECK(half_bits(-0.0f) == 0x8000);
    CHECK(half_bits(from_bits32(0x7f800001u)) == 0x7e00);  // a NaN stays a NaN, made quiet
    CHECK(half_bits(from_bits32(0xffc02000u)) == 0xfe01);  // sign and top payload bits kept
    CHECK(load_element(DType::F16, std::vector<uint16_t>{0x0001}.data(), 0) == 0x1p-24f);
    CHECK(load_element(DType::F16, std::vector<uint16_t>{0x7bff}.data(), 0) == 65504.0f);
    CHECK(std::isinf(load_element(DType::F16, std::vector<uint16_t>{0xfc00}.data(), 0)));
    // bf16: the top 16 bits, rounded to nearest even.
    CHECK(bf16_bits(1.0f) == 0x3f80);
    CHECK(bf16_bits(1.0f + 0x1p-8f) == 0x3f80);      // a tie: even
    CHECK(bf16_bits(1.0f + 3 * 0x1p-8f) == 0x3f82);  // a tie: even is up
    CHECK(bf16_bits(1.0f + 0x1p-8f + 0x1p-20f) == 0x3f81);
    CHECK(bf16_bits(from_bits32(0x7f7fffffu)) == 0x7f80);  // FLT_MAX rounds to infinity
    CHECK(bf16_bits(from_bits32(0x7f800001u)) == 0x7fc0);  // not an infinity: a quiet NaN
    CHECK(bf16_bits(from_bits32(0xff812345u)) == 0xffc1);
    CHECK(load_element(DType::BF16, std::vector<uint16_t>{0x3f81}.data(), 0) == 1.0f + 0x1p-7f);
    CHECK(round_to(DType::BF16, 85.33333f) == 85.5f);
    CHECK(round_to(DType::F32, 85.33333f) == 85.33333f);
    // Round trips of every f16 and bf16 value (NaNs as NaNs).
    for (uint32_t b = 0; b < 0x10000; b++) {
        const uint16_t h = static_cast<uint16_t>(b);
        for (DType d : {DType::F16, DType::BF16}) {
            const float v = load_element(d, &h, 0);
            uint16_t back;
            store_element(d, v, &back, 0);
            if (std::isnan(v)) CHECK(std::isnan(load_element(d, &back, 0)));
            else if (back != h) FAIL_CHECK(to_string(d) << " value 0x" << std::hex << b << " came back as 0x" << back);
        }
    }
}
