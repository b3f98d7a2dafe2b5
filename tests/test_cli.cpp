// The `poolgen` command-line tool, driven as a user drives it: a shell command line, its
// stdout, its stderr and its exit status. POOLGEN_CLI holds the configured kernel set (set
// "poolgen_kernels", also linked into this test binary); POOLGEN_GOLDEN_CLI holds the kernels of
// tests/golden/golden.json, so round trips run on PyTorch's own fixtures.
#include <catch2/catch.hpp>

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "poolgen/manifest.h"
#include "poolgen/npy.h"
#include "poolgen/poolgen.h"
#include "poolgen/reference.h"

namespace {

namespace fs = std::filesystem;
namespace npy = poolgen::npy;
using nlohmann::json;
using poolgen::Status;

const std::string kCli = POOLGEN_CLI;
const std::string kGoldenCli = POOLGEN_GOLDEN_CLI;
const std::string kSourceDir = POOLGEN_SOURCE_DIR;
const std::string kGoldenDir = POOLGEN_GOLDEN_DIR;

// A fresh directory under /tmp, removed with everything in it at the end of its scope.
class TempDir {
public:
    TempDir() {
        char tmpl[] = "/tmp/poolgen_cli_test_XXXXXX";
        const char *p = ::mkdtemp(tmpl);
        if (!p) FAIL("mkdtemp failed: " << std::strerror(errno));
        path_ = p;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    TempDir(const TempDir &) = delete;
    TempDir &operator=(const TempDir &) = delete;
    const std::string &path() const { return path_; }
    std::string operator/(const std::string &name) const { return path_ + "/" + name; }
    // Names of the entries in the directory, sorted.
    std::set<std::string> entries() const {
        std::set<std::string> out;
        for (const auto &e : fs::directory_iterator(path_)) out.insert(e.path().filename().string());
        return out;
    }

private:
    std::string path_;
};

std::string quote(const std::string &s) {
    std::string out = "'";
    for (char c : s) {
        if (c == '\'') out += "'\\''";
        else out += c;
    }
    return out + "'";
}

struct Result {
    int code = -1;  // exit status; -1 if the process did not exit normally
    std::string out, err;
    std::string cmd;
};

std::string read_file(const std::string &path) {
    std::ifstream f(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

void write_file(const std::string &path, const std::string &bytes) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << bytes;
    REQUIRE(f.good());
}

// Runs `binary args` through the shell: stdout through a pipe, stderr into a temporary file.
Result run(const std::string &binary, const std::string &args) {
    char err_tmpl[] = "/tmp/poolgen_cli_stderr_XXXXXX";
    const int fd = ::mkstemp(err_tmpl);
    REQUIRE(fd >= 0);
    ::close(fd);
    Result r;
    r.cmd = quote(binary) + " " + args;
    const std::string line = r.cmd + " 2>" + quote(err_tmpl);
    FILE *p = ::popen(line.c_str(), "r");
    REQUIRE(p != nullptr);
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
    const int status = ::pclose(p);
    if (status != -1 && WIFEXITED(status)) r.code = WEXITSTATUS(status);
    r.err = read_file(err_tmpl);
    ::unlink(err_tmpl);
    return r;
}

std::string describe(const Result &r) {
    return "command: " + r.cmd + "\nexit: " + std::to_string(r.code) + "\nstdout:\n" + r.out + "\nstderr:\n" + r.err;
}

std::vector<std::string> lines_of(const std::string &text) {
    std::vector<std::string> out;
    std::istringstream is(text);
    for (std::string l; std::getline(is, l);) out.push_back(l);
    return out;
}

// The error contract: non-zero exit, exactly one line on stderr, "poolgen: error: ...",
// containing every one of `parts`, and nothing on stdout.
void require_one_line_error(const Result &r, const std::vector<std::string> &parts) {
    INFO(describe(r));
    CHECK(r.code != 0);
    CHECK(r.code != -1);
    REQUIRE_FALSE(r.err.empty());
    CHECK(r.err.back() == '\n');
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(r.err.rfind("poolgen: error: ", 0) == 0);
    for (const auto &p : parts) {
        INFO("expected on stderr: " << p);
        CHECK(r.err.find(p) != std::string::npos);
    }
    CHECK(r.out.empty());
}

std::string fixture(const std::string &name, const char *what) { return kGoldenDir + "/data/" + name + "." + what + ".npy"; }

const poolgen::Kernel &golden_kernel(const std::string &name) {
    const poolgen::Kernel *k = poolgen::registry().find(name);
    INFO("golden kernel " << name);
    REQUIRE(k != nullptr);
    REQUIRE(k->info().set == "poolgen_golden");
    return *k;
}

// Kernels of the configured set, as linked into this binary and into POOLGEN_CLI.
std::vector<const poolgen::Kernel *> configured_kernels() {
    std::vector<const poolgen::Kernel *> out;
    for (const poolgen::Kernel *k : poolgen::registry().kernels())
        if (k->info().set == "poolgen_kernels") out.push_back(k);
    return out;
}

std::vector<float> floats_of(const npy::Array &a) {
    std::vector<float> v(static_cast<size_t>(a.elements()));
    std::memcpy(v.data(), a.data.data(), v.size() * sizeof(float));
    return v;
}

// Averages: NaN where NaN, infinities exactly, finite values within reference::error_bounds
// (the float32 summation-error bound; see test_golden.cpp for why it bounds the difference of
// two float32 results). Returns the number of mismatches.
int64_t average_mismatches(const poolgen::PoolSpec &spec, const std::vector<float> &input, const std::vector<float> &expected,
                           const std::vector<float> &actual, std::string *first) {
    std::vector<double> bounds;
    const Status s = poolgen::reference::error_bounds(spec, input.data(), &bounds);
    if (!s.ok() || bounds.size() != expected.size() || actual.size() != expected.size()) {
        *first = "bad sizes or error_bounds failed: " + s.message();
        return -1;
    }
    int64_t bad = 0;
    for (size_t i = 0; i < expected.size(); i++) {
        const float e = expected[i], a = actual[i];
        bool ok;
        if (std::isnan(e)) ok = std::isnan(a);
        else if (std::isinf(e)) ok = a == e;
        else ok = std::fabs(double(a) - double(e)) <= bounds[i];
        if (!ok && bad++ == 0)
            *first = "output[" + std::to_string(i) + "]: " + std::to_string(a) + ", PyTorch " + std::to_string(e) +
                     ", bound " + std::to_string(bounds[i]);
    }
    return bad;
}

json dims(const std::vector<int64_t> &v) { return json(v); }

}  // namespace

// ---------------------------------------------------------------------------------------------
// validate

TEST_CASE("cli validate: the shipped manifests are valid", "[cli]") {
    for (const std::string &path : {kSourceDir + "/configs/default.json", kGoldenDir + "/golden.json"}) {
        DYNAMIC_SECTION(path) {
            poolgen::Manifest m;
            const Status s = poolgen::load_manifest(path, &m);
            INFO(s.message());
            REQUIRE(s.ok());
            REQUIRE(!m.kernels.empty());
            const Result r = run(kCli, "validate " + quote(path));
            INFO(describe(r));
            CHECK(r.code == 0);
            CHECK(r.err.empty());
            CHECK(r.out == path + ": valid, " + std::to_string(m.kernels.size()) + " kernel(s)\n");
        }
    }
}

TEST_CASE("cli validate: a bad manifest fails with one line naming the kernel and the field", "[cli]") {
    struct Bad {
        const char *label;
        std::string text;
        std::vector<std::string> parts;  // expected on the one stderr line
    };
    auto one = [](const std::string &kernel_body) { return R"({"version": 1, "kernels": [)" + kernel_body + "]}"; };
    const std::vector<Bad> cases = {
        {"unknown_field",
         one(R"({"name": "k_unknown", "op": "max_pool", "input": [1, 1, 4, 4], "kernel": 2, "strides": 2})"),
         {"kernel 'k_unknown'", "field 'strides'", "is not a field of max_pool"}},
        {"unknown_field_for_op",
         one(R"({"name": "k_avg_dil", "op": "avg_pool", "input": [1, 1, 4, 4], "kernel": 2, "dilation": 2})"),
         {"kernel 'k_avg_dil'", "field 'dilation'"}},
        {"bad_json", R"({"version": 1, "kernels": [{"name": "k_badjson", "op": "max_pool", )", {"not valid JSON"}},
        {"wrong_version",
         R"({"version": 2, "kernels": [{"name": "k_v2", "op": "max_pool", "input": [1, 1, 4, 4], "kernel": 2}]})",
         {"field 'version'", "must be 1"}},
        {"negative_stride",
         one(R"({"name": "k_negstride", "op": "max_pool", "input": [1, 1, 8, 8], "kernel": 2, "stride": [2, -1]})"),
         {"kernel 'k_negstride'", "field 'stride'", "-1"}},
        {"padding_over_half_kernel",
         one(R"({"name": "k_bigpad", "op": "avg_pool", "input": [1, 1, 8, 8], "kernel": 3, "padding": 2})"),
         {"kernel 'k_bigpad'", "field 'padding'", "half"}},
        {"duplicate_names",
         one(R"({"name": "k_dup", "op": "max_pool", "input": [1, 1, 4, 4], "kernel": 2},
                {"name": "k_dup", "op": "avg_pool", "input": [1, 1, 4, 4], "kernel": 2})"),
         {"kernel 'k_dup' (kernels[1])", "field 'name'", "unique"}},
        {"name_not_identifier",
         one(R"({"name": "9lives-pool", "op": "max_pool", "input": [1, 1, 4, 4], "kernel": 2})"),
         {"kernel '9lives-pool'", "field 'name'", "identifier"}},
        {"output_too_small",
         one(R"({"name": "k_small", "op": "max_pool", "input": [1, 1, 2, 2], "kernel": 3})"),
         {"kernel 'k_small'", "field 'kernel'"}},
        {"indices_on_average",
         one(R"({"name": "k_avg_idx", "op": "avg_pool", "input": [1, 1, 4, 4], "kernel": 2, "return_indices": true})"),
         {"kernel 'k_avg_idx'", "field 'return_indices'"}},
    };
    for (const auto &c : cases) {
        DYNAMIC_SECTION(c.label) {
            TempDir dir;
            const std::string path = dir / (std::string(c.label) + ".json");
            write_file(path, c.text);
            const Result r = run(kCli, "validate " + quote(path));
            std::vector<std::string> parts = c.parts;
            parts.push_back(path + ": ");  // the message starts with the file it is about
            require_one_line_error(r, parts);
            CHECK(dir.entries() == std::set<std::string>{std::string(c.label) + ".json"});  // nothing generated
        }
    }
    SECTION("missing file") {
        TempDir dir;
        const Result r = run(kCli, "validate " + quote(dir / "absent.json"));
        require_one_line_error(r, {dir / "absent.json", "cannot open"});
    }
    SECTION("a directory") {
        TempDir dir;
        const Result r = run(kCli, "validate " + quote(dir.path()));
        require_one_line_error(r, {dir.path(), "is a directory"});
    }
}

// ---------------------------------------------------------------------------------------------
// list

TEST_CASE("cli list: one row per linked kernel with its spec and schedule", "[cli]") {
    const auto ks = configured_kernels();
    REQUIRE(!ks.empty());
    const Result r = run(kCli, "list");
    INFO(describe(r));
    REQUIRE(r.code == 0);
    CHECK(r.err.empty());
    const auto lines = lines_of(r.out);
    REQUIRE(lines.size() == ks.size() + 1);
    CHECK(lines[0].rfind("name ", 0) == 0);
    for (const poolgen::Kernel *k : ks) {
        INFO("kernel " << k->name());
        const auto it = std::find_if(lines.begin() + 1, lines.end(),
                                     [&](const std::string &l) { return l.rfind(k->name() + " ", 0) == 0; });
        REQUIRE(it != lines.end());
        CHECK(it->find(k->spec().describe()) != std::string::npos);
        CHECK(it->find("[" + k->info().schedule + "]") != std::string::npos);
        CHECK(it->find("cpu") != std::string::npos);
    }
}

TEST_CASE("cli list --json: every linked kernel with its fields", "[cli]") {
    SECTION("configured kernels match this binary's registry") {
        const auto ks = configured_kernels();
        const Result r = run(kCli, "list --json");
        INFO(describe(r));
        REQUIRE(r.code == 0);
        CHECK(r.err.empty());
        json doc;
        REQUIRE_NOTHROW(doc = json::parse(r.out));
        REQUIRE(doc.is_array());
        REQUIRE(doc.size() == ks.size());
        std::set<std::string> names;
        for (const auto &e : doc) {
            const std::string name = e.at("name").get<std::string>();
            INFO("kernel " << name);
            names.insert(name);
            const poolgen::Kernel *k = poolgen::registry().find(name);
            REQUIRE(k != nullptr);
            const poolgen::PoolSpec &s = k->spec();
            CHECK(e.at("set") == "poolgen_kernels");
            CHECK(e.at("op") == poolgen::to_string(s.op));
            CHECK(e.at("dtype") == poolgen::to_string(s.dtype));
            CHECK(e.at("layout") == poolgen::to_string(s.layout));
            CHECK(e.at("rules") == poolgen::to_string(s.rules));
            CHECK(e.at("input") == dims(s.input));
            CHECK(e.at("output") == dims(s.output_shape()));
            CHECK(e.at("schedule") == k->info().schedule);
            CHECK(e.at("describe") == s.describe());
            json targets = json::array();
            if (k->has_variant(poolgen::Device::CPU)) targets.push_back("cpu");
            if (k->has_variant(poolgen::Device::CUDA)) targets.push_back("cuda");
            CHECK(e.at("targets") == targets);
            if (poolgen::is_windowed(s.op)) {
                CHECK(e.at("kernel") == dims(s.kernel));
                CHECK(e.at("stride") == dims(s.stride));
                CHECK(e.at("padding") == dims(s.padding));
                std::vector<int64_t> end(s.padding.size());
                for (size_t i = 0; i < end.size(); i++) end[i] = s.pad_end(int(i));
                CHECK(e.at("padding_end") == dims(end));
                CHECK(e.at("dilation") == dims(s.dilation));
                CHECK(e.at("ceil_mode") == s.ceil_mode);
            } else {
                CHECK_FALSE(e.contains("kernel"));
            }
            if (poolgen::is_max(s.op)) {
                CHECK(e.at("return_indices") == s.return_indices);
                if (s.onnx_rules() && s.return_indices) CHECK(e.at("storage_order") == s.storage_order.value_or(0));
                else CHECK(e.at("storage_order").is_null());
            } else {
                CHECK_FALSE(e.contains("return_indices"));
            }
        }
        CHECK(names.size() == ks.size());
    }
    SECTION("golden kernels, with known fields") {
        const Result r = run(kGoldenCli, "list --json");
        INFO(describe(r));
        REQUIRE(r.code == 0);
        json doc;
        REQUIRE_NOTHROW(doc = json::parse(r.out));
        REQUIRE(doc.is_array());
        size_t golden = 0;  // the same golden set is linked into this binary
        for (const poolgen::Kernel *k : poolgen::registry().kernels()) golden += k->info().set == "poolgen_golden";
        CHECK(golden >= 88);
        CHECK(doc.size() == golden);
        auto entry = [&](const std::string &name) {
            for (const auto &e : doc)
                if (e.at("name") == name) return e;
            FAIL("no entry for " << name);
            return json();
        };
        for (const auto &e : doc) CHECK(e.at("set") == "poolgen_golden");

        const json mx = entry("max2d_k3s2p1_ceil_n2c17_special_nhwc");
        CHECK(mx.at("op") == "max_pool");
        CHECK(mx.at("dtype") == "f32");
        CHECK(mx.at("layout") == "nhwc");
        CHECK(mx.at("input") == json({2, 17, 9, 11}));
        CHECK(mx.at("output") == json({2, 17, 5, 6}));
        CHECK(mx.at("kernel") == json({3, 3}));
        CHECK(mx.at("stride") == json({2, 2}));
        CHECK(mx.at("padding") == json({1, 1}));
        CHECK(mx.at("dilation") == json({1, 1}));
        CHECK(mx.at("ceil_mode") == true);
        CHECK(mx.at("return_indices") == true);
        CHECK(mx.at("targets") == json({"cpu"}));

        const json av = entry("avg2d_k3s2p1_ceil_divneg3_c3_ints_nhwc");
        CHECK(av.at("op") == "avg_pool");
        CHECK(av.at("count_include_pad") == true);
        CHECK(av.at("divisor_override") == -3);
        CHECK(av.at("output") == json({1, 3, 5, 4}));  // 8x7, k3 s2 p1 ceil
        CHECK_FALSE(av.contains("return_indices"));

        const json aa = entry("aavg2d_13x7to7x3_c3_ints");
        CHECK(aa.at("op") == "adaptive_avg_pool");
        CHECK(aa.at("output_size") == json({7, 3}));
        CHECK(aa.at("output") == json({1, 3, 7, 3}));
        CHECK_FALSE(aa.contains("kernel"));

        const json g = entry("gavg3d_4x5x3_c5_normal_nhwc");
        CHECK(g.at("op") == "global_avg_pool");
        CHECK(g.at("input") == json({1, 5, 4, 5, 3}));
        CHECK(g.at("output") == json({1, 5, 1, 1, 1}));

        const json lp = entry("lp2d_p2_k3s2_ceil_n2c17_ints_nhwc");
        CHECK(lp.at("op") == "lp_pool");
        CHECK(lp.at("p") == 2);
        CHECK(lp.at("output") == json({2, 17, 4, 4}));
        CHECK_FALSE(lp.contains("count_include_pad"));
        const json glp = entry("glp2d_p3_5x6_n2c17_normal_nhwc");
        CHECK(glp.at("op") == "global_lp_pool");
        CHECK(glp.at("p") == 3);
        CHECK_FALSE(glp.contains("kernel"));
        CHECK_FALSE(mx.contains("p"));
    }
}

// ---------------------------------------------------------------------------------------------
// run

TEST_CASE("cli run: outputs reproduce PyTorch's fixtures", "[cli]") {
    struct Case {
        const char *name;
        bool indices;  // pass --indices
    };
    const std::vector<Case> cases = {
        {"max2d_k3s2p1_n2c3_special", true},                          // NaN, inf, ties, -0
        {"max2d_k3s2p1_ceil_n2c17_special_nhwc", true},               // nhwc, ceil
        {"max2d_k2s2_c16_normal_noidx_nhwc", false},                  // max without indices
        {"max2d_k3s1p1_d2_c3_normal", false},                         // return_indices kernel, --indices omitted
        {"max3d_k2x3x3_s1x2x2_p1x1x0_ceil_n2c5_special_nhwc", true},  // 3D nhwc
        {"max1d_k4s2p2_ceil_n2c5_special_nhwc", true},                // 1D nhwc
        {"amax2d_5x3to3x5_n2c17_special_nhwc", true},                 // adaptive max
        {"gmax3d_3x4x5_c3_special", true},                            // global max 3D
        {"avg2d_k3s2p1_n2c17_ints_nhwc", false},                      // nhwc avg
        {"avg2d_k3s2p1_ceil_divneg3_c3_ints_nhwc", false},            // -0 vs +0 by value
        {"avg3d_k3s2p1_div7_c5_ints", false},                         // 3D avg
        {"avg1d_k4s3p2_ceil_n2c5_ints_nhwc", false},                  // 1D avg nhwc
        {"aavg1d_13to7_c5_ints_nhwc", false},                         // 1D adaptive avg
        {"gavg2d_resnet_1x512x7x7_ints_nhwc", false},                 // global avg
    };
    for (const auto &c : cases) {
        DYNAMIC_SECTION(c.name) {
            const poolgen::Kernel &k = golden_kernel(c.name);
            const poolgen::PoolSpec &spec = k.spec();
            TempDir dir;
            const std::string out = dir / "out.npy", idx = dir / "idx.npy";
            std::string args = std::string("run ") + c.name + " --input " + quote(fixture(c.name, "input")) + " --output " +
                               quote(out) + " --device cpu";
            if (c.indices) args += " --indices " + quote(idx);
            const Result r = run(kGoldenCli, args);
            INFO(describe(r));
            REQUIRE(r.code == 0);
            CHECK(r.err.empty());
            CHECK(r.out.empty());
            CHECK(dir.entries() == (c.indices ? std::set<std::string>{"idx.npy", "out.npy"} : std::set<std::string>{"out.npy"}));
            const std::string out_bytes = read_file(out);
            if (poolgen::is_max(spec.op)) {
                // Bitwise equal values and a header laid out as numpy.save lays it out.
                CHECK(out_bytes == read_file(fixture(c.name, "output")));
                if (c.indices) CHECK(read_file(idx) == read_file(fixture(c.name, "indices")));
            } else {
                npy::Array got, want, in;
                REQUIRE(npy::read(out, &got).ok());
                REQUIRE(npy::read(fixture(c.name, "output"), &want).ok());
                REQUIRE(npy::read(fixture(c.name, "input"), &in).ok());
                CHECK(got.descr == "<f4");
                CHECK(got.shape == want.shape);
                CHECK(got.shape == spec.output_memory_shape());
                std::string first;
                CHECK(average_mismatches(spec, floats_of(in), floats_of(want), floats_of(got), &first) == 0);
                INFO(first);
                // The header is numpy.save's, so all bytes before the data are identical.
                const size_t header = out_bytes.size() - got.data.size();
                CHECK(out_bytes.substr(0, header) == read_file(fixture(c.name, "output")).substr(0, header));
            }

            // --check: the same result, checked against the reference loops, said on stderr.
            const std::string out2 = dir / "out2.npy", idx2 = dir / "idx2.npy";
            std::string args2 = std::string("run ") + c.name + " --input " + quote(fixture(c.name, "input")) + " --output " +
                                quote(out2) + " --check";
            if (c.indices) args2 += " --indices " + quote(idx2);
            const Result r2 = run(kGoldenCli, args2);
            INFO(describe(r2));
            CHECK(r2.code == 0);
            CHECK(r2.err == std::string("poolgen: '") + c.name + "' matches the reference loops\n");
            CHECK(read_file(out2) == out_bytes);
            if (c.indices) CHECK(read_file(idx2) == read_file(idx));
        }
    }
}

TEST_CASE("cli run: errors exit non-zero with one line and leave no output file", "[cli]") {
    const std::string seed = "max2d_k2s2_seed4x4";          // (1, 1, 4, 4), returns indices
    const std::string noidx = "avg2d_k2s1_arange3x3";       // (1, 1, 3, 3), no indices
    const std::string nhwc = "max2d_k2s2_c16_normal_noidx_nhwc";  // needs (1, 6, 6, 16)
    golden_kernel(seed);
    golden_kernel(noidx);
    golden_kernel(nhwc);
    const std::string sentinel = "a pre-existing output file that must survive\n";

    struct Case {
        std::string label;
        // Prepares inputs in `dir` and returns the arguments after "run".
        std::function<std::string(const TempDir &)> setup;
        std::vector<std::string> parts;
    };
    auto f4 = [](const TempDir &d, const std::string &file, const std::vector<int64_t> &shape) {
        int64_t n = 1;
        for (int64_t x : shape) n *= x;
        std::vector<float> v(static_cast<size_t>(n), 1.5f);
        const Status s = npy::write(d / file, "<f4", shape, v.data(), v.size() * sizeof(float));
        INFO(s.message());
        REQUIRE(s.ok());
        return d / file;
    };
    auto outs = [](const TempDir &d) { return " --output " + quote(d / "out.npy"); };
    const std::vector<Case> cases = {
        {"unknown kernel",
         [&](const TempDir &d) { return "no_such_kernel --input " + quote(fixture(seed, "input")) + outs(d); },
         {"no kernel named 'no_such_kernel'", seed}},
        {"input file missing",
         [&](const TempDir &d) { return seed + " --input " + quote(d / "missing.npy") + outs(d); },
         {"missing.npy"}},
        {"input with the wrong shape",
         [&](const TempDir &d) { return seed + " --input " + quote(f4(d, "in.npy", {1, 1, 4, 5})) + outs(d); },
         {"in.npy", "shape is (1, 1, 4, 5)", "'" + seed + "'", "needs (1, 1, 4, 4)"}},
        {"channels-first array for an nhwc kernel",
         [&](const TempDir &d) { return nhwc + " --input " + quote(f4(d, "in.npy", {1, 16, 6, 6})) + outs(d); },
         {"in.npy", "shape is (1, 16, 6, 6)", "needs (1, 6, 6, 16)", "nhwc"}},
        {"input with dtype <i8",
         [&](const TempDir &d) {
             std::vector<int64_t> v(16, 3);
             REQUIRE(npy::write(d / "in.npy", "<i8", {1, 1, 4, 4}, v.data(), v.size() * 8).ok());
             return seed + " --input " + quote(d / "in.npy") + outs(d);
         },
         {"in.npy", "dtype is <i8", "<f4"}},
        {"input with dtype <f2",
         [&](const TempDir &d) {
             std::vector<uint16_t> v(16, 0x3c00);  // 1.0 in half precision
             REQUIRE(npy::write(d / "in.npy", "<f2", {1, 1, 4, 4}, v.data(), v.size() * 2).ok());
             return seed + " --input " + quote(d / "in.npy") + outs(d);
         },
         {"in.npy", "dtype is <f2", "<f4"}},
        {"truncated npy",
         [&](const TempDir &d) {
             const std::string bytes = read_file(fixture(seed, "input"));
             REQUIRE(bytes.size() > 10);
             write_file(d / "in.npy", bytes.substr(0, bytes.size() - 10));
             return seed + " --input " + quote(d / "in.npy") + outs(d);
         },
         {"in.npy", "truncated"}},
        {"garbage instead of npy",
         [&](const TempDir &d) {
             write_file(d / "in.npy", "this is not a NumPy file at all, just some text\n");
             return seed + " --input " + quote(d / "in.npy") + outs(d);
         },
         {"in.npy", "not a .npy file"}},
        {"empty input file",
         [&](const TempDir &d) {
             write_file(d / "in.npy", "");
             return seed + " --input " + quote(d / "in.npy") + outs(d);
         },
         {"in.npy"}},
        {"--indices for a kernel without indices",
         [&](const TempDir &d) {
             return noidx + " --input " + quote(fixture(noidx, "input")) + outs(d) + " --indices " + quote(d / "idx.npy");
         },
         {"--indices", "'" + noidx + "'", "does not return indices"}},
        {"bad --device value",
         [&](const TempDir &d) { return seed + " --input " + quote(fixture(seed, "input")) + outs(d) + " --device gpu"; },
         {"--device", "'gpu'"}},
        {"--device cuda for a cpu-only kernel",
         [&](const TempDir &d) { return seed + " --input " + quote(fixture(seed, "input")) + outs(d) + " --device cuda"; },
         {"'" + seed + "'", "CUDA"}},
        {"output directory missing",
         [&](const TempDir &d) {
             return seed + " --input " + quote(fixture(seed, "input")) + " --output " + quote(d / "no_dir/out.npy");
         },
         {"no_dir/out.npy"}},
        {"output path equal to the input path",
         [&](const TempDir &d) {
             write_file(d / "in.npy", read_file(fixture(seed, "input")));
             return seed + " --input " + quote(d / "in.npy") + " --output " + quote(d / "in.npy");
         },
         {"different files"}},
        {"empty --output path",
         [&](const TempDir &) { return seed + " --input " + quote(fixture(seed, "input")) + " --output ''"; },
         {"--output", "empty"}},
        {"empty --input path",
         [&](const TempDir &d) { return seed + " --input ''" + outs(d); },
         {"--input", "empty"}},
        {"--output missing",
         [&](const TempDir &d) { return seed + " --input " + quote(fixture(seed, "input")) + " --indices " + quote(d / "idx.npy"); },
         {"--output"}},
    };
    for (const auto &c : cases) {
        DYNAMIC_SECTION(c.label) {
            for (bool preexisting : {false, true}) {
                INFO((preexisting ? "with" : "without") << " a pre-existing output file");
                TempDir dir;
                const std::string args = c.setup(dir);
                if (preexisting) write_file(dir / "out.npy", sentinel);
                const auto before = dir.entries();
                std::map<std::string, std::string> contents;
                for (const auto &e : before) contents[e] = read_file(dir / e);
                const Result r = run(kGoldenCli, "run " + args);
                require_one_line_error(r, c.parts);
                // No output, no indices, no temporary left behind; nothing touched.
                CHECK(dir.entries() == before);
                for (const auto &[name, bytes] : contents) {
                    INFO("file " << name);
                    CHECK(read_file(dir / name) == bytes);
                }
                if (preexisting) CHECK(read_file(dir / "out.npy") == sentinel);
            }
        }
    }
}

TEST_CASE("cli run: f16 and bf16 kernels read and write their dtype (<f2, bf16 bits as <u2)", "[cli][dtype]") {
    // The hand-computed seeds of test_kernels.cpp, through the files a user writes.
    struct Case {
        const char *name, *descr;
        std::vector<uint16_t> in, want;
    };
    const std::vector<Case> cases = {
        // [1, 2^-8, 1, 3*2^-8, 65504, 65504] -> [0.501953125, 0.505859375, 65504]
        {"dtype_seed_avg_f16", "<f2", {0x3c00, 0x1c00, 0x3c00, 0x2200, 0x7bff, 0x7bff}, {0x3804, 0x380c, 0x7bff}},
        // [1, 2^-8, 1, 3*2^-8, 2, 2] -> [0.5, 0.5078125, 2]
        {"dtype_seed_avg_bf16", "<u2", {0x3f80, 0x3b80, 0x3f80, 0x3c40, 0x4000, 0x4000}, {0x3f00, 0x3f02, 0x4000}},
    };
    for (const Case &c : cases) {
        INFO(c.name);
        TempDir dir;
        REQUIRE(npy::write(dir / "in.npy", c.descr, {1, 1, 6}, c.in.data(), c.in.size() * 2).ok());
        const Result r = run(kCli, std::string("run ") + c.name + " --input " + quote(dir / "in.npy") + " --output " +
                                       quote(dir / "out.npy") + " --check");
        INFO(describe(r));
        REQUIRE(r.code == 0);
        npy::Array out;
        REQUIRE(npy::read(dir / "out.npy", &out).ok());
        CHECK(out.descr == c.descr);
        CHECK(out.shape == std::vector<int64_t>{1, 1, 3});
        std::vector<uint16_t> got(3);
        REQUIRE(out.data.size() == 6);
        std::memcpy(got.data(), out.data.data(), 6);
        CHECK(got == c.want);
    }
    // A float32 array for a bf16 kernel, and f16 bits for a bf16 kernel, are refused by dtype.
    TempDir dir;
    std::vector<float> f(6, 1.0f);
    REQUIRE(npy::write(dir / "in.npy", "<f4", {1, 1, 6}, f.data(), 24).ok());
    const Result r = run(kCli, "run dtype_seed_avg_bf16 --input " + quote(dir / "in.npy") + " --output " + quote(dir / "out.npy"));
    require_one_line_error(r, {"in.npy", "dtype is <f4", "needs <u2 (bf16)"});
    std::vector<uint16_t> h(6, 0x3c00);
    REQUIRE(npy::write(dir / "in2.npy", "<f2", {1, 1, 6}, h.data(), 12).ok());
    const Result r2 = run(kCli, "run dtype_seed_avg_bf16 --input " + quote(dir / "in2.npy") + " --output " + quote(dir / "out.npy"));
    require_one_line_error(r2, {"in2.npy", "dtype is <f2", "needs <u2 (bf16)"});
    CHECK(!fs::exists(dir / "out.npy"));
}

TEST_CASE("cli run: u8 and i8 kernels read and write their codes (|u1, |i1)", "[cli][dtype]") {
    // The hand-computed seed of test_kernels.cpp: PyTorch's channels-first quantized average.
    TempDir dir;
    const std::vector<uint8_t> codes = {10, 7, 6, 3, 3, 0, 10, 7, 6, 3, 3, 0};
    for (const char *descr : {"|u1", "<u1"}) {  // NumPy writes |u1; one byte has no byte order
        INFO(descr);
        REQUIRE(npy::write(dir / "in.npy", descr, {1, 2, 2, 3}, codes.data(), codes.size()).ok());
        const Result r = run(kCli, "run dtype_seed_qavg_zp3_u8 --input " + quote(dir / "in.npy") + " --output " +
                                       quote(dir / "out.npy") + " --check");
        INFO(describe(r));
        REQUIRE(r.code == 0);
        npy::Array out;
        REQUIRE(npy::read(dir / "out.npy", &out).ok());
        CHECK(out.descr == "|u1");
        CHECK(out.shape == std::vector<int64_t>{1, 2, 3, 4});
        REQUIRE(out.data.size() == 24);
        CHECK(std::vector<uint8_t>(out.data.begin(), out.data.begin() + 12) ==
              std::vector<uint8_t>{10, 8, 6, 6, 6, 6, 4, 3, 3, 3, 2, 0});
        fs::remove(dir / "out.npy");
    }
    // i8 codes for a u8 kernel are refused by dtype, and nothing is written.
    std::vector<int8_t> signed_codes(12, 1);
    REQUIRE(npy::write(dir / "in2.npy", "|i1", {1, 2, 2, 3}, signed_codes.data(), 12).ok());
    const Result r = run(kCli, "run dtype_seed_qavg_zp3_u8 --input " + quote(dir / "in2.npy") + " --output " + quote(dir / "out.npy"));
    require_one_line_error(r, {"in2.npy", "dtype is |i1", "needs |u1 (u8)"});
    CHECK(!fs::exists(dir / "out.npy"));
}

TEST_CASE("cli run: an indices file that cannot be written leaves the output untouched", "[cli]") {
    // The run fails as a whole (non-zero exit), so it must not leave a new output behind or
    // replace an existing one: a caller (make, a pipeline) would take it for a fresh result.
    const std::string seed = "max2d_k2s2_seed4x4";
    golden_kernel(seed);
    const std::string sentinel = "a pre-existing output file that must survive\n";
    // A missing directory fails the write; an existing directory would fail only the rename.
    for (bool is_dir : {false, true})
        for (bool preexisting : {false, true}) {
            INFO((is_dir ? "--indices names a directory" : "--indices in a missing directory")
                 << (preexisting ? ", with" : ", without") << " a pre-existing output file");
            TempDir dir;
            if (preexisting) write_file(dir / "out.npy", sentinel);
            if (is_dir) fs::create_directory(dir / "idx_dir");
            const auto before = dir.entries();
            const std::string idx = is_dir ? "idx_dir" : "no_dir/idx.npy";
            const Result r = run(kGoldenCli, "run " + seed + " --input " + quote(fixture(seed, "input")) + " --output " +
                                                 quote(dir / "out.npy") + " --indices " + quote(dir / idx));
            require_one_line_error(r, {idx});
            CHECK(dir.entries() == before);
            if (preexisting) CHECK(read_file(dir / "out.npy") == sentinel);
        }
}

TEST_CASE("cli run: an output path that is a directory is refused", "[cli]") {
    const std::string seed = "max2d_k2s2_seed4x4";
    golden_kernel(seed);
    TempDir dir;
    fs::create_directory(dir / "out_dir");
    const auto before = dir.entries();
    const Result r = run(kGoldenCli, "run " + seed + " --input " + quote(fixture(seed, "input")) + " --output " +
                                         quote(dir / "out_dir") + " --indices " + quote(dir / "idx.npy"));
    require_one_line_error(r, {"out_dir", "directory"});
    CHECK(dir.entries() == before);
    CHECK(fs::is_empty(dir / "out_dir"));
}

// ---------------------------------------------------------------------------------------------
// check

TEST_CASE("cli check --device cuda: kernels without a CUDA variant are skipped, with why", "[cli]") {
    const poolgen::Kernel *cpu_only = nullptr, *with_cuda = nullptr;
    for (const poolgen::Kernel *k : configured_kernels()) {
        if (!k->has_variant(poolgen::Device::CUDA) && !cpu_only) cpu_only = k;
        if (k->has_variant(poolgen::Device::CUDA) && !with_cuda) with_cuda = k;
    }
    REQUIRE(cpu_only != nullptr);  // the default manifest has kernels with targets ["cpu"] only
    SECTION("only kernels without a CUDA variant: skipped, exit 0") {
        const Result r = run(kCli, "check " + cpu_only->name() + " --device cuda");
        INFO(describe(r));
        CHECK(r.code == 0);
        CHECK(r.err.empty());
        const auto lines = lines_of(r.out);
        REQUIRE(lines.size() == 4);  // header, row, why, summary
        CHECK(lines[1].rfind(cpu_only->name() + " ", 0) == 0);
        CHECK(lines[1].find(" skip ") != std::string::npos);
        CHECK(lines[2] == "    no cuda variant (targets: cpu)");
        CHECK(lines.back() == "1 kernel(s) checked: 0 passed, 0 failed, 1 skipped");
    }
    SECTION("with a kernel that has a CUDA variant: it runs, or fails saying why it cannot") {
        if (!with_cuda) return;  // no kernel with a CUDA variant in this build
        const Result r = run(kCli, "check " + cpu_only->name() + " " + with_cuda->name() + " --device cuda");
        INFO(describe(r));
        poolgen::Device d;
        const poolgen::Status can = with_cuda->resolve(poolgen::Device::CUDA, &d);
        const auto lines = lines_of(r.out);
        REQUIRE(lines.size() >= 4);
        CHECK(lines[1].find(" skip ") != std::string::npos);
        if (can.ok()) {
            CHECK(r.code == 0);
            CHECK(lines.back() == "2 kernel(s) checked: 1 passed, 0 failed, 1 skipped");
        } else {
            CHECK(r.code == 1);
            CHECK(r.out.find("cannot run on cuda: ") != std::string::npos);
            CHECK(lines.back() == "2 kernel(s) checked: 0 passed, 1 failed, 1 skipped");
        }
    }
}

TEST_CASE("cli check: named kernels pass with a summary line", "[cli]") {
    SECTION("configured kernels") {
        // A max kernel with indices, an average, and one more if linked.
        std::vector<std::string> names;
        for (const poolgen::Kernel *k : configured_kernels())
            if (poolgen::is_max(k->spec().op) && k->spec().return_indices) {
                names.push_back(k->name());
                break;
            }
        for (const poolgen::Kernel *k : configured_kernels())
            if (!poolgen::is_max(k->spec().op)) {
                names.push_back(k->name());
                break;
            }
        REQUIRE(names.size() == 2);
        const Result r = run(kCli, "check " + names[0] + " " + names[1] + " --device cpu");
        INFO(describe(r));
        CHECK(r.code == 0);
        CHECK(r.err.empty());
        const auto lines = lines_of(r.out);
        REQUIRE(lines.size() == 4);  // header, two rows, summary
        CHECK(lines[0].rfind("kernel", 0) == 0);
        for (size_t i = 0; i < 2; i++) {
            CHECK(lines[1 + i].rfind(names[i] + " ", 0) == 0);
            CHECK(lines[1 + i].find(" ok ") != std::string::npos);
        }
        CHECK(lines.back() == "2 kernel(s) checked: 2 passed, 0 failed");
    }
    SECTION("golden kernels: NaN, 3D nhwc, global") {
        const std::vector<std::string> names = {"max1d_k3s1_nan_last_wins", "amax3d_3x5x4to5x3x2_c5_special_nhwc",
                                                "gavg3d_4x5x3_c5_normal_nhwc"};
        const Result r = run(kGoldenCli, "check " + names[0] + " " + names[1] + " " + names[2]);
        INFO(describe(r));
        CHECK(r.code == 0);
        CHECK(r.err.empty());
        const auto lines = lines_of(r.out);
        REQUIRE(lines.size() == 5);
        for (size_t i = 0; i < names.size(); i++) {
            CHECK(lines[1 + i].rfind(names[i] + " ", 0) == 0);
            CHECK(lines[1 + i].find(" ok ") != std::string::npos);
            CHECK(lines[1 + i].find("FAIL") == std::string::npos);
        }
        CHECK(lines.back() == "3 kernel(s) checked: 3 passed, 0 failed");
    }
    SECTION("an unknown name is an error") {
        const Result r = run(kCli, "check no_such_kernel");
        require_one_line_error(r, {"no kernel named 'no_such_kernel'"});
    }
    SECTION("a bad --device is an error") {
        const Result r = run(kGoldenCli, "check max1d_k3s1_nan_last_wins --device tpu");
        require_one_line_error(r, {"--device", "'tpu'"});
    }
}

// ---------------------------------------------------------------------------------------------
// bench and tune options

TEST_CASE("cli bench, tune: bad options fail with one line naming the flag, before anything runs or is written", "[cli]") {
    TempDir d;
    write_file(d / "afile", "not a directory\n");
    const std::string k = "seed_max_4x4_k2";
    const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
        {"bench " + k + " --threads 0", {"--threads", "between 1 and 256"}},
        {"bench " + k + " --threads -3", {"--threads", "got -3"}},
        {"bench " + k + " --repeats 0", {"--repeats", "between 1"}},
        {"bench " + k + " --min-time -1", {"--min-time", "positive"}},
        {"bench " + k + " --cold-mb -1", {"--cold-mb", "non-negative"}},
        {"bench " + k + " --json " + quote(d / "missing/x.json"), {"--json", "missing", "not an existing directory"}},
        {"bench " + k + " --json " + quote(d.path()), {"--json", "is a directory"}},
        {"bench " + k + " --json ''", {"--json", "empty"}},
        {"tune " + k + " --budget -1", {"--budget", "positive"}},
        {"tune " + k + " --budget 0", {"--budget", "positive"}},
        {"tune " + k + " --threads 0", {"--threads", "between 1 and 256"}},
        {"tune " + k + " --threads 100000", {"--threads", "got 100000"}},
        {"tune " + k + " --repeats 0", {"--repeats"}},
        {"tune " + k + " --min-time -1", {"--min-time"}},
        {"tune " + k + " --db " + quote(d / "afile"), {"--db", "not a directory"}},
        {"tune " + k + " --work-dir " + quote(d / "afile/w"), {"--work-dir", "Not a directory"}},
        {"tune " + k + " --work-dir " + quote(d / "w") + " --candidate bogus", {"--candidate", "bogus"}},
    };
    for (const auto &[args, parts] : cases) {
        const Result r = run(kCli, args);
        require_one_line_error(r, parts);
    }
    CHECK(d.entries() == std::set<std::string>{"afile"});  // no results file, no work directory
}

TEST_CASE("cli tune: a relative --work-dir stays relative, and a partial trials.jsonl line is ended on resume", "[cli]") {
    TempDir d;
    fs::create_directories(d / "w");
    const std::string partial = R"({"spec": "max_pool", "target": "x86-64-linux", "thr)";
    write_file(d / "w/trials.jsonl", partial);
    const Result r = run("/bin/sh", "-c " + quote("cd " + quote(d.path()) + " && " + quote(kCli) +
                                                  " tune seed_max_4x4_k2 --budget 0.001 --no-db --work-dir rel/w" +
                                                  "; " + quote(kCli) + " tune seed_max_4x4_k2 --budget 0.001 --no-db --work-dir w"));
    INFO(describe(r));
    CHECK(r.code != 0);
    CHECK(r.err.find("--budget 0.001 s ran out before the first candidate was tried") != std::string::npos);
    CHECK(fs::is_directory(d / "rel/w"));
    CHECK(read_file(d / "w/trials.jsonl") == partial + "\n");
}
