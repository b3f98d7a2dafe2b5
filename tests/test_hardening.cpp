// Hostile manifests and extreme parameters: duplicate keys, deep nesting, control characters in
// names and keys, names that collide as file names, products that overflow, window arithmetic
// past 32 bits, and the 2^31-1 element limit (docs/testing.md, "Limits").
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <unistd.h>
#include <sstream>

#include "poolgen/manifest.h"
#include "poolgen/poolgen.h"
#include "poolgen/spec.h"
#include "test_helpers.h"

using namespace poolgen;
using Catch::Matchers::Contains;
using testutil::max2d;

namespace {

std::string kernel_json(const std::string &fields) {
    return R"({"version": 1, "kernels": [{"name": "k1", )" + fields + "}]}";
}

std::string refusal(const std::string &json) {
    Manifest m;
    Status s = parse_manifest(json, &m);
    REQUIRE_FALSE(s.ok());
    INFO(s.message());
    CHECK(s.message().find('\n') == std::string::npos);
    CHECK(s.message().find('\r') == std::string::npos);
    CHECK(m.kernels.empty());
    return s.message();
}

bool accepted(const std::string &json) {
    Manifest m;
    Status s = parse_manifest(json, &m);
    INFO(s.message());
    return s.ok();
}

std::string why(const PoolSpec &s) {
    Status st = s.validate();
    REQUIRE_FALSE(st.ok());
    return st.message();
}

}  // namespace

TEST_CASE("manifest: a key given twice in one object is an error, not last-wins", "[manifest][hardening]") {
    CHECK_THAT(refusal(kernel_json(R"("op": "max_pool", "input": [1, 1, 4, 4], "kernel": 2, "kernel": 3)")),
               Contains("kernel 'k1' (kernels[0])") && Contains("field 'kernel'") && Contains("more than once"));
    // The name itself twice: the message still names the kernel (by the value JSON kept).
    CHECK_THAT(refusal(kernel_json(R"("name": "k2", "op": "global_max_pool", "input": [1, 1, 4, 4])")),
               Contains("field 'name'") && Contains("more than once"));
    CHECK_THAT(refusal(R"({"version": 1, "version": 1, "kernels": [{"name": "a", "op": "global_max_pool", "input": [1, 1, 2, 2]}]})"),
               Contains("field 'version'") && Contains("more than once"));
    CHECK_THAT(refusal(R"({"version": 1, "kernels": [{"name": "a", "op": "global_max_pool", "input": [1, 1, 2, 2]},
                                                     {"name": "b", "op": "global_max_pool", "input": [1, 1, 2, 2], "op": "global_avg_pool"}]})"),
               Contains("kernel 'b' (kernels[1])") && Contains("field 'op'"));
    // The same key in different objects is fine.
    CHECK(accepted(R"({"version": 1, "kernels": [{"name": "a", "op": "global_max_pool", "input": [1, 1, 2, 2]},
                                                 {"name": "b", "op": "global_max_pool", "input": [1, 1, 2, 2]}]})"));
}

TEST_CASE("manifest: nesting deeper than any manifest needs is refused without recursion", "[manifest][hardening]") {
    const std::string deep = std::string(100000, '[') + std::string(100000, ']');
    CHECK_THAT(refusal(kernel_json(R"("op": "max_pool", "input": [1, 1, 4, 4], "kernel": )" + deep)),
               Contains("nested deeper than"));
    CHECK_THAT(refusal(std::string(50000, '{')), Contains("not"));
}

TEST_CASE("manifest: names, keys and values from the file cannot break the one-line message", "[manifest][hardening]") {
    CHECK_THAT(refusal(R"({"version": 1, "kernels": [{"name": "a\nb\u001b[31m", "op": "global_max_pool", "input": [1, 1, 2, 2]}]})"),
               Contains("\\x0a") && Contains("C identifier"));
    CHECK_THAT(refusal(kernel_json(R"("op": "max_pool", "input": [1, 1, 4, 4], "kernel": 2, "str\r\nide": 2)")),
               Contains("field 'str\\x0d\\x0aide'"));
    // A huge value is cut in the message.
    const std::string many = "[" + std::string(10000, '1') + "]";
    const std::string msg = refusal(kernel_json(R"("op": "max_pool", "input": [1, 1, 4, 4], "kernel": )" + many));
    CHECK(msg.size() < 400);
    CHECK_THAT(refusal(kernel_json(R"("op": "max_pool", "input": [1, 1, 4, 4], "kernel": ["\u00e9\u0000"])")),
               Contains("\\u00e9") && Contains("must be an integer"));
}

TEST_CASE("manifest: names differing only in case would collide as file names", "[manifest][hardening]") {
    CHECK_THAT(refusal(R"({"version": 1, "kernels": [{"name": "Pool", "op": "global_max_pool", "input": [1, 1, 2, 2]},
                                                    {"name": "pool", "op": "global_max_pool", "input": [1, 1, 2, 2]}]})"),
               Contains("kernel 'pool' (kernels[1])") && Contains("unique") && Contains("case"));
    CHECK_THAT(refusal(R"({"version": 1, "kernels": [{"name": "../../etc/passwd", "op": "global_max_pool", "input": [1, 1, 2, 2]}]})"),
               Contains("C identifier"));
    CHECK_THAT(refusal(R"({"version": 1, "kernels": [{"name": "a/b", "op": "global_max_pool", "input": [1, 1, 2, 2]}]})"),
               Contains("C identifier"));
}

TEST_CASE("manifest: the top-level description must be a string", "[manifest][hardening]") {
    CHECK_THAT(refusal(R"({"version": 1, "description": {"x": 1}, "kernels": [{"name": "a", "op": "global_max_pool", "input": [1, 1, 2, 2]}]})"),
               Contains("field 'description'"));
}

TEST_CASE("manifest: integers past int64 and non-integers are refused before any arithmetic", "[manifest][hardening]") {
    CHECK_THAT(refusal(kernel_json(R"("op": "max_pool", "input": [1, 1, 4, 4], "kernel": 18446744073709551615)")),
               Contains("field 'kernel'") && Contains("out of range"));
    CHECK_THAT(refusal(kernel_json(R"("op": "max_pool", "input": [1, 1, 4, 4], "kernel": 1e400)")), Contains("not valid JSON"));
    CHECK_THAT(refusal(kernel_json(R"("op": "max_pool", "input": [1, 1, 4, 4], "kernel": 99999999999999999999999)")),
               Contains("field 'kernel'") && Contains("integer"));
    CHECK_THAT(refusal(kernel_json(R"("op": "max_pool", "input": [1, 1, 4, 4], "kernel": -9223372036854775808)")),
               Contains("field 'kernel'"));
    CHECK_THAT(refusal(kernel_json(R"("op": "max_pool", "input": [9223372036854775807, 9223372036854775807, 4, 4], "kernel": 2)")),
               Contains("field 'input'"));
}

TEST_CASE("limits: a buffer of more than 2^31-1 elements is refused, naming the field", "[spec][limits]") {
    // 65536 x 65536 = 2^32 elements in one plane.
    CHECK_THAT(refusal(kernel_json(R"("op": "max_pool", "input": [1, 1, 65536, 65536], "kernel": 2)")),
               Contains("kernel 'k1' (kernels[0])") && Contains("field 'input'") && Contains("2^31-1") &&
                   Contains("1x1x65536x65536"));
    // Just under: 46340 x 46340 = 2147395600 elements (~8 GiB of f32) passes validation. Not built.
    Manifest m;
    REQUIRE(parse_manifest(kernel_json(R"("op": "max_pool", "input": [1, 1, 46340, 46340], "kernel": 2, "return_indices": true)"), &m).ok());
    CHECK(m.kernels[0].spec.input_elements() == 2147395600);
    CHECK(m.kernels[0].spec.output_shape() == std::vector<int64_t>{1, 1, 23170, 23170});
    // Exactly 2^31-1 elements (a prime) is accepted; one more is not.
    PoolSpec at = max2d({1, 1, 2147483647}, {1});
    CHECK(at.validate().ok());
    PoolSpec over = max2d({2, 1, 1073741824}, {1});
    CHECK_THAT(why(over), Contains("field 'input'") && Contains("2^31-1"));
    // An output past the limit (adaptive upsampling) names output_size.
    PoolSpec up;
    up.op = Op::AdaptiveAvgPool;
    up.input = {1, 1, 2, 2};
    up.output_size = {65536, 65536};
    up.normalize();
    CHECK_THAT(why(up), Contains("field 'output_size'") && Contains("2^31-1"));
}

TEST_CASE("limits: extreme window parameters validate without overflow", "[spec][limits]") {
    const int64_t M = kMaxDim;
    // Each of these must come back with an error or a consistent output shape; UBSan (build-asan)
    // would stop on any signed overflow in the arithmetic.
    for (int64_t k : {int64_t(1), int64_t(2), M, -M})
        for (int64_t d : {int64_t(1), M, -M})
            for (int64_t p : {int64_t(0), M, M / 2, -M})
                for (int64_t st : {int64_t(1), M, -M})
                    for (bool ceil : {false, true}) {
                        PoolSpec s = max2d({1, 1, M}, {k}, {st}, {p}, {d}, ceil);
                        Status v = s.validate();
                        if (v.ok()) {
                            for (int64_t o : s.output_shape()) CHECK(o >= 1);
                            CHECK(s.output_elements() <= kMaxElements);
                        }
                    }
    CHECK_THAT(why(max2d({1, 1, 5, 5}, {M + 1})), Contains("field 'kernel'") && Contains("magnitude"));
    CHECK_THAT(why(max2d({1, 1, 5, 5}, {2}, {2}, {0}, {-M - 1})), Contains("field 'dilation'"));
}

TEST_CASE("limits: window positions and flat indices must fit 32-bit arithmetic", "[spec][limits]") {
    // Dilation and stride 2^30 on a 3x3 input, ceil mode: the one window lies in padding (taps
    // -1 and 2^30 - 1 per dim). Values only: accepted.
    PoolSpec s = max2d({1, 1, 3, 3}, {2}, {int64_t(1) << 30}, {1}, {int64_t(1) << 30}, true);
    REQUIRE(s.validate().ok());
    CHECK(s.output_shape() == std::vector<int64_t>{1, 1, 1, 1});
    // With indices, PyTorch's index of such a window (first tap past the padding) is
    // (2^30 - 1) * 3 + 2^30 - 1: past int32.
    s.return_indices = true;
    CHECK_THAT(why(s), Contains("field 'dilation'") && Contains("flat plane indices"));
    // Input plus twice the padding past 2^31-1.
    PoolSpec w = max2d({1, 1, 2000000000}, {2000000001}, {1}, {1000000000}, {}, false);
    CHECK_THAT(why(w), Contains("field 'padding'") && Contains("32-bit"));
    // A window span past 2^31-1: ceil mode with a huge stride lets the dilated kernel reach
    // n + 2p + s - 2 = 2^31 + 3 positions (n=3, k=3, p=1, d=2^30+1: 2d = n + 2p + s - 2).
    PoolSpec span = max2d({1, 1, 3}, {3}, {kMaxDim}, {1}, {1073741825}, true);
    span.return_indices = true;
    CHECK(span.output_shape() == std::vector<int64_t>{1, 1, 1});
    CHECK_THAT(why(span), Contains("field 'dilation'") && Contains("span"));
}

TEST_CASE("manifest tool: a manifest path cannot inject lines into the generated files", "[manifest][hardening]") {
    namespace fs = std::filesystem;
    const fs::path dir = fs::temp_directory_path() / ("poolgen_inject_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const fs::path manifest = dir / "evil\nmessage(FATAL_ERROR injected)\n#.json";
    {
        std::ofstream f(manifest);
        f << R"({"version": 1, "kernels": [{"name": "a", "op": "global_max_pool", "input": [1, 1, 2, 2]}]})";
    }
    const std::string cmd = std::string("'") + POOLGEN_MANIFEST_TOOL + "' emit \"$(printf '" + dir.string() +
                            "/evil\\nmessage(FATAL_ERROR injected)\\n#.json')\" --set s --cmake '" + (dir / "k.cmake").string() +
                            "' --registry '" + (dir / "r.cpp").string() + "'";
    REQUIRE(std::system(cmd.c_str()) == 0);
    std::ifstream cm(dir / "k.cmake"), rg(dir / "r.cpp");
    std::stringstream cms, rgs;
    cms << cm.rdbuf();
    rgs << rg.rdbuf();
    for (const std::string &text : {cms.str(), rgs.str()}) {
        std::istringstream lines(text);
        for (std::string line; std::getline(lines, line);) CHECK(line.rfind("message(FATAL_ERROR", 0) != 0);
    }
    CHECK_THAT(cms.str(), Contains("evil?message(FATAL_ERROR injected)?#.json"));
    fs::remove_all(dir);
}

TEST_CASE("run refuses buffers that overlap, before touching memory", "[kernels][hardening]") {
    const Kernel *k = registry().find("max_asymmetric");  // nchw 2x5x11x9 -> 2x5x11x4, indices
    REQUIRE(k != nullptr);
    const PoolSpec &s = k->spec();
    std::vector<float> buf(static_cast<size_t>(s.input_elements() + s.output_elements()), 1.0f);
    const std::vector<float> before = buf;
    Status st = k->run(buf.data(), buf.data());  // in place
    CHECK_THAT(st.message(), Contains("input and output overlap"));
    // Output starting on the input's last element.
    st = k->run(buf.data(), buf.data() + s.input_elements() - 1);
    CHECK_THAT(st.message(), Contains("overlap"));
    // Indices on top of the output.
    std::vector<int64_t> idx(static_cast<size_t>(s.output_elements()));
    st = k->run(buf.data(), reinterpret_cast<float *>(idx.data()), idx.data());
    CHECK_THAT(st.message(), Contains("output and indices overlap"));
    CHECK(std::memcmp(buf.data(), before.data(), buf.size() * sizeof(float)) == 0);
    // Adjacent, not overlapping: fine.
    CHECK(k->run(buf.data(), buf.data() + s.input_elements(), idx.data()).ok());
}

TEST_CASE("describe, output_shape and element counts never fail, even on invalid specs", "[spec][hardening]") {
    PoolSpec s = max2d({1, 1, 5, 5}, {2}, {0});  // stride zero
    CHECK_FALSE(s.validate().ok());
    CHECK(s.output_shape() == std::vector<int64_t>{1, 1, 0, 0});
    CHECK(s.output_elements() == 0);
    CHECK_THAT(s.describe(), Contains("-> 1x1x0x0"));
    PoolSpec t;
    t.op = Op::MaxPool;
    t.input = {INT64_MAX, INT64_MAX, 3, 3};  // kernel, stride... missing entirely
    CHECK(t.input_elements() == -1);
    CHECK(t.output_shape()[2] == 0);
    t.op = Op::AvgPool;
    t.divisor_override = INT64_MIN;
    CHECK_THAT(t.canonical_name(), Contains("_divm9223372036854775808"));
    t.input = {-1, 2, 3};
    CHECK(t.input_elements() == -1);
}

TEST_CASE("sample_input gives nothing for a spec whose size is invalid, and throws nothing", "[reference][hardening]") {
    PoolSpec s = max2d({1, 1, 4, 4}, {2});
    CHECK(reference::sample_input(s, 1, true).size() == 16);
    s.input = {-1, 2, 4, 4};
    std::vector<float> v;
    REQUIRE_NOTHROW(v = reference::sample_input(s, 1, true));
    CHECK(v.empty());
    s.input = {INT64_MAX, INT64_MAX, 3, 3};
    REQUIRE_NOTHROW(v = reference::sample_input(s, 1, false));
    CHECK(v.empty());
}

TEST_CASE("compare refuses null outputs instead of reading them", "[reference][hardening]") {
    const PoolSpec s = max2d({1, 1, 4, 4}, {2});
    std::vector<float> in(16, 1.0f), out(4, 1.0f);
    CheckResult r = compare(s, in.data(), nullptr, nullptr, out.data(), nullptr);
    CHECK_THAT(r.status.message(), Contains("must not be null"));
    r = compare(s, in.data(), out.data(), nullptr, nullptr, nullptr);
    CHECK_THAT(r.status.message(), Contains("must not be null"));
    CHECK(compare(s, in.data(), out.data(), nullptr, out.data(), nullptr).status.ok());
}

TEST_CASE("a spec built by hand with out-of-range enum values is refused, naming the field", "[spec][hardening]") {
    PoolSpec s = max2d({1, 1, 4, 4}, {2});
    REQUIRE(s.validate().ok());
    PoolSpec t = s;
    t.op = static_cast<Op>(42);
    CHECK_THAT(t.validate().message(), Contains("field 'op'") && Contains("42"));
    t = s;
    t.layout = static_cast<Layout>(7);
    CHECK_THAT(t.validate().message(), Contains("field 'layout'") && Contains("7"));
    CHECK(std::string(to_string(t.layout)) == "?");
    t = s;
    t.dtype = static_cast<DType>(5);
    CHECK_THAT(t.validate().message(), Contains("field 'dtype'"));
    std::vector<float> in(16), out(4);
    CHECK_THAT(reference::run(t, in.data(), out.data()).message(), Contains("field 'dtype'"));
    Status why;
    CHECK(registry().find(s, static_cast<Device>(9), &why) == nullptr);
    CHECK_THAT(why.message(), Contains("device") && Contains("9"));
}
