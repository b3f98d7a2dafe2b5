// The CUDA strategy's knobs without a GPU: the shape-driven split plan, knob strings, the
// tuner's candidate space, GPU db keys and entry selection, and `tune --device cuda`'s refusal.
#include <catch2/catch.hpp>

#include <cstdio>
#include <string>

#include "cuda_knobs.h"
#include "poolgen/poolgen.h"
#include "test_helpers.h"

using namespace poolgen;
using namespace poolgen::schedules;

namespace {

PoolSpec global_avg(std::vector<int64_t> input, Layout layout) {
    PoolSpec s;
    s.op = Op::GlobalAvgPool;
    s.layout = layout;
    s.input = std::move(input);
    s.normalize();
    REQUIRE(s.validate().ok());
    return s;
}

}  // namespace

TEST_CASE("the split plan follows the shape", "[schedules][cuda]") {
    const CudaKnobs d;
    // EfficientNet-B0's first SE squeeze: 256 parts of 49 taps per plane, one kernel in NCHW
    // (1024 blocks); NHWC would give 32 blocks, so its parts go to a second kernel.
    const PoolSpec se = global_avg({32, 32, 112, 112}, Layout::NCHW), se_nhwc = global_avg({32, 32, 112, 112}, Layout::NHWC);
    CHECK(window_taps(se) == 12544);
    CudaSplitPlan p = plan_cuda_split(se, 12544, d);
    CHECK(p.chunks == 256);
    CHECK_FALSE(p.grid);
    p = plan_cuda_split(se_nhwc, 12544, d);
    CHECK(p.grid);
    CHECK(p.chunks == 256);
    // ResNet's head: 4 parts in one kernel; small windows stay serial; knobs win.
    p = plan_cuda_split(global_avg({32, 2048, 7, 7}, Layout::NHWC), 49, d);
    CHECK(p.chunks == 4);
    CHECK_FALSE(p.grid);
    CHECK(plan_cuda_split(se, 9, d).chunks == 1);
    CudaKnobs k = d;
    k.split = 1;
    CHECK(plan_cuda_split(se, 12544, k).chunks == 1);
    k.split = 64;
    k.split_grid = 1;
    p = plan_cuda_split(se, 12544, k);
    CHECK((p.chunks == 64 && p.grid));
}

TEST_CASE("averages PyTorch sums serially stay serial unless the GPU would idle", "[schedules][cuda]") {
    const CudaKnobs d;
    auto avg7 = [](int64_t n, int64_t c) {
        PoolSpec s = testutil::avg({n, c, 7, 7}, {7, 7});  // a 7x7 head written as avg_pool
        REQUIRE(s.validate().ok());
        return s;
    };
    // 32x2048 outputs of 49 taps: enough threads, PyTorch's order kept (bit-identical).
    CHECK(plan_cuda_split(avg7(32, 2048), 49, d).chunks == 1);
    // 1x512: a few hundred threads would leave the GPU idle, so the sum is split.
    CHECK(plan_cuda_split(avg7(1, 512), 49, d).chunks > 1);
    // Max ops split either way: combining contiguous parts in order is the serial rule.
    PoolSpec mx = avg7(32, 2048);
    mx.op = Op::MaxPool;
    mx.count_include_pad = true;
    CHECK(plan_cuda_split(mx, 49, d).chunks > 1);
}

TEST_CASE("cuda knob strings round-trip and refuse bad values", "[schedules][cuda]") {
    CudaKnobs k;
    std::string err;
    REQUIRE(parse_cuda_knobs("split:16,split_grid:1", &k, &err));
    CHECK((k.split == 16 && k.split_grid == 1 && k.threads_x == 32));
    CudaKnobs back;
    REQUIRE(parse_cuda_knobs(format_cuda_knobs(k), &back, &err));
    CHECK(format_cuda_knobs(back) == format_cuda_knobs(k));
    CHECK(format_cuda_knobs(CudaKnobs{}) == "threads_x:32,threads_y:8,unroll_window:9,split:0,split_grid:-1");
    CHECK_FALSE(parse_cuda_knobs("warp:3", &k, &err));
    CHECK_THAT(err, Catch::Matchers::Contains("unknown cuda knob 'warp'"));
    CHECK_FALSE(parse_cuda_knobs("split:-2", &k, &err));
    CHECK_FALSE(parse_cuda_knobs("split_grid:2", &k, &err));
    CHECK_FALSE(parse_cuda_knobs("threads_x:64,threads_y:32", &k, &err));
    CHECK(cuda_generator_params(CudaKnobs{}).front() == "cuda_threads_x=32");
}

TEST_CASE("the CUDA tuner's candidates: defaults first, the plan's neighbours, the GPU autoscheduler", "[schedules][cuda]") {
    const std::vector<std::string> c = cuda_candidates(global_avg({32, 96, 56, 56}, Layout::NCHW));
    REQUIRE(c.size() >= 8);
    CHECK(c.front() == format_cuda_knobs(CudaKnobs{}));
    CHECK(c.back() == "autoscheduler:Anderson2021");
    CHECK(std::find(c.begin(), c.end(), "threads_x:32,threads_y:8,unroll_window:9,split:1,split_grid:-1") != c.end());
    CHECK(std::find(c.begin(), c.end(), "threads_x:32,threads_y:8,unroll_window:9,split:256,split_grid:1") != c.end());
    for (size_t i = 0; i < c.size(); i++)
        for (size_t j = i + 1; j < c.size(); j++) CHECK(c[i] != c[j]);
    for (const std::string &s : c) {
        CudaKnobs k;
        std::string err;
        if (s.rfind("autoscheduler:", 0) != 0) CHECK(parse_cuda_knobs(s, &k, &err));
    }
}

TEST_CASE("db entries for GPUs are keyed by compute capability and name, used only by a build for that GPU",
          "[schedules][cuda]") {
    const std::string h200 = cuda_db_target("NVIDIA H200", 9, 0);
    CHECK(h200 == "cuda-sm_90-NVIDIA_H200");
    CHECK(is_cuda_db_target(h200));
    CHECK_FALSE(is_cuda_db_target("x86-64-linux-avx512_skylake"));
    std::vector<DbEntry> entries(3);
    entries[0].target = "x86-64-linux-avx512_skylake";
    entries[1].target = cuda_db_target("NVIDIA A100-SXM4-80GB", 8, 0);
    entries[2].target = h200;
    for (DbEntry &e : entries) e.halide = "21.0.0";
    CHECK(choose_cuda_entry(entries, h200, "21.0.0") == 2);
    CHECK(choose_cuda_entry(entries, "cuda-sm_80-NVIDIA_A100_SXM4_80GB", "21.0.0") == 1);
    CHECK(choose_cuda_entry(entries, h200, "20.0.0") == -1);  // another Halide
    CHECK(choose_cuda_entry(entries, cuda_db_target("NVIDIA H100", 9, 0), "21.0.0") == -1);
    CHECK(choose_cuda_entry(entries, "", "21.0.0") == -1);  // no GPU named: strategy defaults
}

TEST_CASE("tune --device cuda refuses cleanly without a GPU", "[cli][cuda]") {
    const Kernel *k = registry().find("resnet18_gap");
    REQUIRE(k != nullptr);
    Device d;
    if (k->resolve(Device::CUDA, &d).ok()) {
        WARN("a GPU is present: the refusal is not observable here");
        return;
    }
    const std::string cmd = std::string("'") + POOLGEN_CLI + "' tune resnet18_gap --device cuda --no-db 2>&1";
    FILE *p = popen(cmd.c_str(), "r");
    REQUIRE(p != nullptr);
    std::string out;
    char buf[512];
    while (fgets(buf, sizeof buf, p)) out += buf;
    const int status = pclose(p);
    CHECK(WEXITSTATUS(status) == 1);
    CHECK_THAT(out, Catch::Matchers::Contains("tune --device cuda needs a GPU"));
    CHECK(out.find('\n') == out.size() - 1);  // one line
}
