// The one table of spec fields: every kernel of every manifest in the repository goes spec ->
// generator parameters -> spec, and spec -> generated registry entry -> spec, unchanged.
#include <catch2/catch.hpp>

#include <filesystem>
#include <map>

#include "poolgen/manifest.h"
#include "poolgen/poolgen.h"
#include "poolgen/spec_fields.h"

using namespace poolgen;

namespace {

const std::string kSourceDir = POOLGEN_SOURCE_DIR;

// Every manifest the repository holds that loads (the fuzz corpus also holds broken ones).
std::map<std::string, Manifest> repository_manifests() {
    std::map<std::string, Manifest> out;
    for (const char *dir : {"configs", "tests", "tests/golden", "tests/hardening", "tests/consumer", "tests/fuzz/corpus/manifest"}) {
        for (const auto &e : std::filesystem::directory_iterator(kSourceDir + "/" + dir)) {
            if (e.path().extension() != ".json") continue;
            Manifest m;
            if (load_manifest(e.path().string(), &m).ok()) out[e.path().string()] = m;
        }
    }
    return out;
}

// Field by field, so that a failure names the field (operator== is itself table-driven).
void require_same(const PoolSpec &a, const PoolSpec &b) {
    for (const SpecField &f : spec_fields()) {
        INFO("field " << f.name << ": " << field_text(a, f) << " vs " << field_text(b, f));
        CHECK(field_equal(a, b, f));
    }
    CHECK(a == b);
    CHECK(a.describe() == b.describe());
    CHECK(a.canonical_name() == b.canonical_name());
}

}  // namespace

TEST_CASE("spec fields: every repository manifest round-trips through the generator parameters", "[spec_fields]") {
    const auto manifests = repository_manifests();
    REQUIRE(manifests.size() >= 8);
    size_t kernels = 0;
    for (const auto &[path, m] : manifests) {
        for (const ManifestKernel &k : m.kernels) {
            INFO(path << ": " << k.name);
            PoolSpec back;
            REQUIRE(spec_from_words(spec_words(k.spec), &back).ok());
            require_same(k.spec, back);
            kernels++;
        }
    }
    CHECK(kernels >= 100);
}

TEST_CASE("spec fields: every linked kernel's registry entry is its manifest spec", "[spec_fields]") {
    // The default kernel set, the golden set and the hardening set are all linked into this binary.
    std::map<std::string, PoolSpec> expected;
    for (const char *file : {"configs/default.json", "tests/golden/golden.json", "tests/hardening/hardening.json"}) {
        Manifest m;
        REQUIRE(load_manifest(kSourceDir + "/" + file, &m).ok());
        for (const ManifestKernel &k : m.kernels) expected[k.name] = k.spec;
    }
    size_t matched = 0;
    for (const Kernel *k : registry().kernels()) {
        auto it = expected.find(k->name());
        if (it == expected.end()) continue;
        INFO(k->name());
        require_same(it->second, k->spec());
        matched++;
    }
    CHECK(matched == expected.size());
}

TEST_CASE("spec fields: values away from the defaults survive the words", "[spec_fields]") {
    PoolSpec s;
    s.op = Op::AvgPool;
    s.layout = Layout::NHWC;
    s.input = {2, 3, 9, 8};
    s.kernel = {3, 2};
    s.stride = {2, 1};
    s.padding = {1, 0};
    s.dilation = {1, 1};
    s.ceil_mode = true;
    s.count_include_pad = false;
    s.divisor_override = -7;
    const std::vector<std::string> words = spec_words(s);
    CHECK(std::find(words.begin(), words.end(), "divisor_override=-7") != words.end());
    CHECK(std::find(words.begin(), words.end(), "shape=2x3x9x8") != words.end());
    CHECK(std::find(words.begin(), words.end(), "count_include_pad=false") != words.end());
    PoolSpec back;
    REQUIRE(spec_from_words(words, &back).ok());
    require_same(s, back);
    CHECK(s.canonical_name() == "avg_pool_f32_nhwc_k3x2_s2x1_p1x0_ceil_xpad_divm7_2x3x9x8");
    CHECK(s.describe() == "avg_pool f32 nhwc in=2x3x9x8 k=3x2 s=2x1 p=1x0 ceil exclude_pad divisor=-7 -> 2x3x5x7");

    // A changed field is a different spec, and names the field that differs.
    for (const SpecField &f : spec_fields()) {
        PoolSpec other = s;
        const std::string text = field_text(s, f);
        const std::string changed = f.member == SpecMember(&PoolSpec::op)       ? "max_pool"
                                    : f.member == SpecMember(&PoolSpec::dtype)  ? "u8"
                                    : f.member == SpecMember(&PoolSpec::layout) ? "nchw"
                                    : f.member == SpecMember(&PoolSpec::rules)  ? "onnx"
                                    : f.member == SpecMember(&PoolSpec::storage_order) ? "1"
                                    : f.member == SpecMember(&PoolSpec::p)             ? "3"
                                    : f.member == SpecMember(&PoolSpec::zero_point)    ? "3"
                                    : text == "true"                            ? "false"
                                    : text == "false"                           ? "true"
                                    : text == "-7"                              ? "5"
                                    : text.empty()                              ? "4x4"
                                                                                : text + "x1";
        INFO(f.name << ": " << text << " -> " << changed);
        REQUIRE(set_field_text(&other, f, changed).ok());
        CHECK_FALSE(field_equal(s, other, f));
        CHECK_FALSE(s == other);
    }
}

TEST_CASE("spec fields: malformed words are refused with the field named", "[spec_fields]") {
    PoolSpec s;
    Status st = spec_from_words({"op=max_pool", "shape=1x2xz"}, &s);
    REQUIRE_FALSE(st.ok());
    CHECK(st.message().find("input") != std::string::npos);
    CHECK_FALSE(spec_from_words({"opp=max_pool"}, &s).ok());
    CHECK_FALSE(spec_from_words({"ceil_mode=yes"}, &s).ok());
    CHECK_FALSE(spec_from_words({"op=maxpool"}, &s).ok());
    CHECK_FALSE(spec_from_words({"divisor_override=1.5"}, &s).ok());
}
