// Manifest v1 parsing: defaults, scalars, and one clear message per broken rule.
#include <catch2/catch.hpp>

#include "poolgen/manifest.h"

using namespace poolgen;
using Catch::Matchers::Contains;

static std::string kernel_json(const std::string &fields) {
    return R"({"version": 1, "kernels": [{"name": "k1", )" + fields + "}]}";
}

static std::string error_of(const std::string &json) {
    Manifest m;
    Status s = parse_manifest(json, &m);
    REQUIRE_FALSE(s.ok());
    CHECK(s.message().find('\n') == std::string::npos);
    return s.message();
}

TEST_CASE("manifest: the DESIGN example parses with PyTorch defaults", "[manifest]") {
    const char *text = R"({ "version": 1,
      "kernels": [
        { "name": "resnet18_maxpool", "op": "max_pool", "dtype": "f32", "layout": "nchw",
          "input": [1, 64, 112, 112], "kernel": [3, 3], "stride": [2, 2], "padding": [1, 1],
          "dilation": [1, 1], "ceil_mode": false, "return_indices": false,
          "targets": ["cpu", "cuda"] },
        { "name": "resnet18_gap", "op": "adaptive_avg_pool", "dtype": "f32", "layout": "nchw",
          "input": [1, 512, 7, 7], "output_size": [1, 1], "targets": ["cpu", "cuda"] },
        { "name": "scalars", "op": "max_pool", "input": [1, 1, 4, 4], "kernel": 3, "padding": 1 } ] })";
    Manifest m;
    Status s = parse_manifest(text, &m);
    INFO(s.message());
    REQUIRE(s.ok());
    REQUIRE(m.kernels.size() == 3);
    CHECK(m.kernels[0].spec.output_shape() == std::vector<int64_t>{1, 64, 56, 56});
    CHECK(m.kernels[1].spec.output_shape() == std::vector<int64_t>{1, 512, 1, 1});
    const PoolSpec &sc = m.kernels[2].spec;
    CHECK(sc.stride == std::vector<int64_t>{3, 3});  // stride defaults to the kernel
    CHECK(sc.layout == Layout::NCHW);
    CHECK(sc.dtype == DType::F32);
    CHECK(m.kernels[2].cpu);
    CHECK(m.kernels[2].cuda);  // targets default to both
}

TEST_CASE("manifest: adaptive output_size null keeps the input size", "[manifest]") {
    Manifest m;
    REQUIRE(parse_manifest(kernel_json(R"("op": "adaptive_max_pool", "input": [1, 2, 9, 5], "output_size": [3, null])"), &m).ok());
    CHECK(m.kernels[0].spec.output_size == std::vector<int64_t>{3, 5});
}

TEST_CASE("manifest: a null or empty stride is the kernel size, as in PyTorch", "[manifest]") {
    for (const char *stride : {"null", "[]"}) {
        Manifest m;
        REQUIRE(parse_manifest(kernel_json(std::string(R"("op": "avg_pool", "input": [1, 2, 9, 6], "kernel": [3, 2], "stride": )") +
                                           stride),
                               &m)
                    .ok());
        CHECK(m.kernels[0].spec.stride == std::vector<int64_t>{3, 2});
        CHECK(m.kernels[0].spec.output_shape() == std::vector<int64_t>{1, 2, 3, 3});
    }
    // A bad entry of a list is named by its position and its JSON type.
    CHECK_THAT(error_of(kernel_json(R"("op": "max_pool", "input": [1, 1, 5, 5], "kernel": [null, 2])")),
               Contains("field 'kernel': entry 0 of [null,2] must be an integer, got null"));
    CHECK_THAT(error_of(kernel_json(R"("op": "max_pool", "input": [1, 1, 5, 5], "kernel": [2, "3"])")),
               Contains("entry 1 of [2,\"3\"] must be an integer, got string \"3\""));
    // Only stride: PyTorch refuses an empty padding, dilation or kernel.
    CHECK_THAT(error_of(kernel_json(R"("op": "max_pool", "input": [1, 1, 5, 5], "kernel": 2, "padding": [])")),
               Contains("field 'padding'"));
}

TEST_CASE("manifest: errors name the kernel, the field and the rule", "[manifest]") {
    CHECK_THAT(error_of(kernel_json(R"("op": "max_pool", "input": [1, 1, 5, 5], "kernel": 2, "padding": 2)")),
               Contains("kernel 'k1' (kernels[0])") && Contains("field 'padding'") && Contains("half"));
    CHECK_THAT(error_of(kernel_json(R"("op": "max_pool", "input": [1, 1, 5, 5], "kernel": 2, "strides": 2)")),
               Contains("field 'strides'") && Contains("not a field of max_pool"));
    CHECK_THAT(error_of(kernel_json(R"("op": "max_pooling", "input": [1, 1, 5, 5], "kernel": 2)")),
               Contains("field 'op'"));
    CHECK_THAT(error_of(kernel_json(R"("op": "max_pool", "input": [1, 1, 5, 5], "kernel": 2.5)")),
               Contains("field 'kernel'") && Contains("integer"));
    CHECK_THAT(error_of(kernel_json(R"("op": "max_pool", "input": [1, 1, 5, 5], "kernel": [2, 2, 2])")),
               Contains("field 'kernel'") && Contains("list of 2"));
    CHECK_THAT(error_of(kernel_json(R"("op": "avg_pool", "input": [1, 1, 5, 5], "kernel": 2, "dilation": 2)")),
               Contains("field 'dilation'"));
    CHECK_THAT(error_of(kernel_json(R"("op": "max_pool", "input": [1, 1, 5, 5], "kernel": 2, "layout": "nwhc")")),
               Contains("field 'layout'"));
    CHECK_THAT(error_of(kernel_json(R"("op": "max_pool", "input": [1, 1, 5, 5], "kernel": 2, "dtype": "f64")")),
               Contains("field 'dtype'"));
    CHECK_THAT(error_of(kernel_json(R"("op": "max_pool", "input": [1, 1, 5, 5], "kernel": 2, "targets": ["gpu"])")),
               Contains("field 'targets'"));
    CHECK_THAT(error_of(kernel_json(R"("op": "max_pool", "input": [1, 1, 5, 5], "kernel": 2, "ceil_mode": 1)")),
               Contains("field 'ceil_mode'"));
    CHECK_THAT(error_of(kernel_json(R"("op": "global_avg_pool", "input": [1, 1, 5, 5], "return_indices": true)")),
               Contains("field 'return_indices'"));
    CHECK_THAT(error_of(kernel_json(R"("op": "max_pool", "input": [1, 5, 5], "kernel": [2, 2])")),
               Contains("field 'kernel'"));
    CHECK_THAT(error_of(kernel_json(R"("op": "max_pool", "input": [1, 1, 0, 5], "kernel": 2)")),
               Contains("field 'input'"));
}

TEST_CASE("manifest: document-level errors", "[manifest]") {
    CHECK_THAT(error_of("{"), Contains("not valid JSON"));
    CHECK_THAT(error_of(R"({"version": 2, "kernels": []})"), Contains("field 'version'"));
    CHECK_THAT(error_of(R"({"version": 1, "kernels": []})"), Contains("field 'kernels'"));
    CHECK_THAT(error_of(R"({"version": 1, "kernels": [], "extra": 1})"), Contains("field 'extra'"));
    CHECK_THAT(error_of(R"({"version": 1, "kernels": [{"name": "a b", "op": "max_pool"}]})"), Contains("field 'name'"));
    CHECK_THAT(error_of(R"({"version": 1, "kernels": [{"name": "../x", "op": "max_pool"}]})"), Contains("C identifier"));
    CHECK_THAT(error_of(R"({"version": 1, "kernels": [
        {"name": "a", "op": "global_max_pool", "input": [1, 1, 2, 2]},
        {"name": "a", "op": "global_max_pool", "input": [1, 1, 2, 2]}]})"),
               Contains("kernels[1]") && Contains("unique"));
}

TEST_CASE("kernel names are C identifiers", "[manifest]") {
    CHECK(is_valid_kernel_name("resnet18_maxpool"));
    CHECK(is_valid_kernel_name("_x"));
    CHECK_FALSE(is_valid_kernel_name("1x"));
    CHECK_FALSE(is_valid_kernel_name(""));
    CHECK_FALSE(is_valid_kernel_name("a-b"));
    CHECK_FALSE(is_valid_kernel_name(std::string(65, 'a')));
}
