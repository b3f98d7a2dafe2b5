// The CPU strategy's knob strings and the tuned-schedule database (schedules/).
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <set>

#include "cpu_knobs.h"
#include "schedule_db.h"

using namespace poolgen;
using namespace poolgen::schedules;

namespace {

PoolSpec maxpool(Layout l) {
    PoolSpec s;
    s.op = Op::MaxPool;
    s.layout = l;
    s.input = {1, 64, 112, 112};
    s.kernel = {3};
    s.stride = {2};
    s.padding = {1};
    s.normalize();
    return s;
}

std::string temp_dir() {
    char tmpl[] = "/tmp/poolgen_db_test_XXXXXX";
    const char *d = mkdtemp(tmpl);
    REQUIRE(d != nullptr);
    return d;
}

}  // namespace

TEST_CASE("knob strings parse over the defaults and round-trip", "[schedules]") {
    CpuKnobs k = default_cpu_knobs(maxpool(Layout::NHWC));
    CHECK(k.vectorize == Vectorize::C);
    std::string err;
    REQUIRE(parse_knobs("vectors:2,tasks:4,border:rows", &k, &err));
    CHECK(k.vectors == 2);
    CHECK(k.tasks == 4);
    CHECK(k.border == Border::Rows);
    CpuKnobs back;
    REQUIRE(parse_knobs(format_knobs(k), &back, &err));
    CHECK(back == k);
}

TEST_CASE("border defaults for channels-first windows that reach past the input", "[schedules]") {
    auto border = [](std::vector<int64_t> input, int64_t k, int64_t stride, int64_t pad, bool ceil) {
        PoolSpec s = maxpool(Layout::NCHW);
        s.input = input;
        s.kernel = {k};
        s.stride = {stride};
        s.padding = {pad};
        s.ceil_mode = ceil;
        s.dilation.clear();
        s.normalize();
        REQUIRE(s.validate().ok());
        return default_cpu_knobs(s).border;
    };
    // Stride 1, padded: a padded plane copy up to 47 outputs a row, in place beyond.
    CHECK(border({1, 192, 35, 35}, 3, 1, 1, false) == Border::Plane);
    CHECK(border({1, 8, 56, 56}, 3, 1, 1, false) == Border::Inline);
    // Strided: one vector of outputs a row gets the plane; padded wider rows stay in place;
    // unpadded rows that only ceil_mode's last window overruns get the rolling rows.
    CHECK(border({1, 480, 28, 28}, 3, 2, 0, true) == Border::Plane);
    CHECK(border({1, 64, 112, 112}, 3, 2, 1, false) == Border::Inline);
    CHECK(border({1, 64, 112, 112}, 3, 2, 0, true) == Border::Rows);
    // Windows inside the input: in place, ceil_mode or not (55 = 2 * 26 + 3).
    CHECK(border({1, 96, 55, 55}, 3, 2, 0, true) == Border::Inline);
    CHECK(border({1, 64, 28, 28}, 3, 1, 0, false) == Border::Inline);
}

TEST_CASE("bad knob strings are rejected with the part that is wrong", "[schedules]") {
    CpuKnobs k;
    std::string err;
    CHECK_FALSE(parse_knobs("vectors:0", &k, &err));
    CHECK(err.find("vectors must be") != std::string::npos);
    CHECK_FALSE(parse_knobs("colour:red", &k, &err));
    CHECK(err.find("unknown knob 'colour'") != std::string::npos);
    CHECK_FALSE(parse_knobs("tasks", &k, &err));
    CHECK(err.find("not name:value") != std::string::npos);
    CHECK_FALSE(parse_knobs("sum:fast", &k, &err));
}

namespace {

// The values one knob takes over the tuner's candidates for `s`.
template <typename Get>
std::set<std::string> candidate_values(const PoolSpec &s, Get get) {
    std::set<std::string> values;
    for (const std::string &cand : cpu_knob_candidates(s, 1)) {
        CpuKnobs k;
        std::string err;
        REQUIRE(parse_knobs(cand, &k, &err));
        values.insert(get(k));
    }
    return values;
}

}  // namespace

TEST_CASE("maxform, sum:pairs and sum:parts: defaults where they were measured faster, and in the tuner's space", "[schedules]") {
    // The 3x3 stem max pool: two running values (vmaxps) in both layouts.
    CHECK(default_cpu_knobs(maxpool(Layout::NCHW)).maxform == MaxForm::Split);
    CHECK(default_cpu_knobs(maxpool(Layout::NHWC)).maxform == MaxForm::Split);
    // Channels-last windows of <= 4 taps keep the fused rule.
    PoolSpec k2 = maxpool(Layout::NHWC);
    k2.kernel = {2, 2};
    k2.stride = {2, 2};
    k2.padding = {0, 0};
    CHECK(default_cpu_knobs(k2).maxform == MaxForm::Fused);
    // Both forms are tuner candidates for max pools without indices, one form with indices.
    auto forms = [](const PoolSpec &s) { return candidate_values(s, [](const CpuKnobs &k) { return knob_name(k.maxform); }); };
    CHECK(forms(k2) == std::set<std::string>{"split", "fused"});
    PoolSpec with_indices = k2;
    with_indices.return_indices = true;
    CHECK(forms(with_indices).size() == 1);

    // Global averages: parts in both layouts (2D and 3D), with a task per 64 KB moved; 1x1 planes
    // and 1D channels-first ones: PyTorch's order; pairs stays a tuner candidate for 2D NCHW.
    PoolSpec gap;
    gap.op = Op::GlobalAvgPool;
    gap.layout = Layout::NCHW;
    gap.input = {1, 512, 7, 7};
    gap.normalize();
    CHECK(default_cpu_knobs(gap).sum == Sum::Parts);
    CHECK(default_cpu_knobs(gap).tasks == 1);  // 100 KB
    CHECK(default_cpu_knobs(gap).vectors == 8);  // whole rows per column-sum vector
    PoolSpec gap_nhwc = gap;
    gap_nhwc.layout = Layout::NHWC;
    gap_nhwc.input = {1, 672, 7, 7};
    CHECK(default_cpu_knobs(gap_nhwc).sum == Sum::Parts);
    CHECK(default_cpu_knobs(gap_nhwc).tasks == 2);  // 131 KB
    CHECK(default_cpu_knobs(gap_nhwc).vectors == 1);
    gap_nhwc.input = {8, 2048, 7, 7};
    CHECK(default_cpu_knobs(gap_nhwc).tasks == 16);
    PoolSpec one = gap;
    one.input = {1, 512, 1, 1};
    CHECK(default_cpu_knobs(one).sum == Sum::PyTorch);
    PoolSpec gap3d = gap;
    gap3d.input = {1, 8, 4, 4, 4};
    gap3d.output_size.clear();
    gap3d.normalize();
    CHECK(default_cpu_knobs(gap3d).sum == Sum::Parts);
    PoolSpec gap1d = gap;
    gap1d.input = {1, 8, 40};
    gap1d.output_size.clear();
    gap1d.normalize();
    CHECK(default_cpu_knobs(gap1d).sum == Sum::PyTorch);
    gap1d.layout = Layout::NHWC;
    CHECK(default_cpu_knobs(gap1d).sum == Sum::Parts);
    auto sums = [](const PoolSpec &s) { return candidate_values(s, [](const CpuKnobs &k) { return knob_name(k.sum); }); };
    CHECK(sums(gap) == std::set<std::string>{"pytorch", "pairs", "parts"});
    CHECK(sums(gap3d) == std::set<std::string>{"pytorch", "parts"});
    CHECK(sums(maxpool(Layout::NCHW)).size() == 1);

    CpuKnobs k;
    std::string err;
    CHECK_FALSE(parse_knobs("maxform:fast", &k, &err));
    CHECK(err.find("maxform must be split or fused") != std::string::npos);
    REQUIRE(parse_knobs("maxform:fused,sum:pairs", &k, &err));
    CHECK(k.maxform == MaxForm::Fused);
    CHECK(k.sum == Sum::Pairs);
}

TEST_CASE("tuner candidates: defaults first, unique, fixed by the seed", "[schedules]") {
    const PoolSpec s = maxpool(Layout::NCHW);
    const auto a = cpu_knob_candidates(s, 1), b = cpu_knob_candidates(s, 1), c = cpu_knob_candidates(s, 2);
    REQUIRE(a.size() > 10);
    CHECK(a[0] == format_knobs(default_cpu_knobs(s)));
    CHECK(a == b);
    CHECK(a != c);
    CHECK(std::set<std::string>(a.begin(), a.end()).size() == a.size());
    for (const std::string &cand : a) {
        CpuKnobs k;
        std::string err;
        CHECK(parse_knobs(cand, &k, &err));
    }
}

TEST_CASE("db entries apply only to their target and Halide version", "[schedules]") {
    const std::string dir = temp_dir();
    const PoolSpec s = maxpool(Layout::NHWC);
    const std::vector<std::string> targets = {"x86-64-linux-avx512_skylake", "x86-64-linux-sse41"};

    // No file: strategy defaults, nothing to report.
    DbChoice none = choose_db_entry(dir, s, targets, "21.0.0");
    CHECK_FALSE(none.use);
    CHECK(none.warning.empty());
    CHECK(none.describe() == "cpu strategy defaults");

    DbEntry e;
    e.target = "x86-64-linux-avx512_skylake";
    e.halide = "21.0.0";
    e.knobs = "vectorize:c,vectors:2";
    e.median_ms = 0.1;
    e.default_ms = 0.2;
    e.threads = 2;
    e.machine = "test machine";
    e.date = "2026-01-01";
    std::string err;
    REQUIRE(write_db_entry(db_file(dir, s), s, e, &err));

    DbChoice used = choose_db_entry(dir, s, targets, "21.0.0");
    REQUIRE(used.use);
    CHECK(used.entry.knobs == e.knobs);
    CHECK(used.describe().find("schedules/db") == 0);

    // Another Halide version: reported, not used.
    DbChoice other_halide = choose_db_entry(dir, s, targets, "22.0.0");
    CHECK_FALSE(other_halide.use);
    CHECK(other_halide.warning.find("Halide 21.0.0") != std::string::npos);

    // Another machine's target: reported, not used.
    DbChoice other_target = choose_db_entry(dir, s, {"x86-64-linux-avx-avx2-f16c-fma-sse41"}, "21.0.0");
    CHECK_FALSE(other_target.use);
    CHECK(other_target.warning.find("does not match this build's CPU targets") != std::string::npos);

    // A second entry for another target is added beside the first; the same target replaces.
    DbEntry e2 = e;
    e2.target = "x86-64-linux-sse41";
    e2.knobs = "vectorize:c";
    REQUIRE(write_db_entry(db_file(dir, s), s, e2, &err));
    e.knobs = "vectorize:c,vectors:4";
    REQUIRE(write_db_entry(db_file(dir, s), s, e, &err));
    std::vector<DbEntry> entries;
    REQUIRE(read_db(db_file(dir, s), &entries, &err));
    REQUIRE(entries.size() == 2);
    CHECK(entries[0].knobs == "vectorize:c,vectors:4");
    // The preferred (first) target's entry wins.
    CHECK(choose_db_entry(dir, s, targets, "21.0.0").entry.target == "x86-64-linux-avx512_skylake");

    // A corrupt file is reported and ignored.
    std::ofstream(db_file(dir, s)) << "{ not json";
    DbChoice corrupt = choose_db_entry(dir, s, targets, "21.0.0");
    CHECK_FALSE(corrupt.use);
    CHECK(corrupt.warning.find("not a valid schedule db file") != std::string::npos);
    std::remove(db_file(dir, s).c_str());
}

TEST_CASE("generator parameters describe the spec", "[schedules]") {
    const auto p = generator_params(maxpool(Layout::NCHW));
    CHECK(p[0] == "op=max_pool");
    CHECK(std::find(p.begin(), p.end(), "shape=1x64x112x112") != p.end());
    CHECK(std::find(p.begin(), p.end(), "padding=1x1") != p.end());
}
