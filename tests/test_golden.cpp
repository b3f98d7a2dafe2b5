// PyTorch's golden fixtures (tests/golden, made by make_golden.py with PyTorch 2.15): the
// reference loops and the generated kernels must reproduce PyTorch's numbers, and the manifest
// validator must reject every parameter set PyTorch rejects, naming the field to blame.
//
// The fixtures come in the kernel's dtype: f32 (<f4), f16 (<f2) and bf16 (its raw bits as <u2),
// as poolgen::npy_descr names them. The kernels run on those bytes; every comparison is on the
// values widened to float (exact for f16 and bf16), and the reference loops and error bounds
// take the widened input.
//
// How results are compared:
// - max ops: bitwise (NaN where PyTorch has NaN, otherwise identical bits, so the sign of a
//   zero counts) and the indices exactly. A NaN is compared as "NaN", whatever its bits: in f16
//   and bf16 the bits of an output NaN differ between PyTorch's own code paths (its bf16 max
//   pools, for one, turn the NaN 0xffff of their input into 0x7fc0).
// - averages: by value (so -0 == +0, see tests/golden/README.md: contiguous PyTorch stores
//   0 + sum/divisor), NaN where NaN, infinities exactly, and finite values within
//   reference::error_bounds' bound B = (taps + 1) * FLT_EPSILON * sum|x| / |divisor|.
//   Why B is the right tolerance for comparing two float32 results (ours and PyTorch's):
//   any float32 summation of n taps, in any order (recursive, pairwise, vectorized), is within
//   (n - 1) * u * sum|x| of the exact sum (u = FLT_EPSILON / 2, the unit roundoff; first order),
//   and a division adds at most u * |q|, with |q| <= sum|x| / |divisor|. So each result is
//   within (n - 1 + 2) * u * S/|d| of the exact quotient when it divides at most twice
//   (adaptive 2D divides by kh then kw), and two such results differ by at most
//   2 * (n + 1) * u * S/|d| = B. (Adaptive 3D divides three times, which can add u * |q| per
//   result in the very worst case, where every rounding is maximal and in the same direction;
//   the bound is so pessimistic for real sums that it still holds by orders of magnitude.)
//   B is never loosened here.
//   In f16 and bf16 the bound adds one rounding to the type (each result is the exact one
//   within B, rounded to the type), or, for PyTorch's 3D adaptive averages that sum in the type,
//   a rounding in the type per addition (reference::error_bounds).
// - Lp pools: the same way, within reference::error_bounds' Lp bound (docs/semantics.md).
#include <catch2/catch.hpp>

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "poolgen/manifest.h"
#include "poolgen/npy.h"
#include "poolgen/poolgen.h"
#include "poolgen/reference.h"

namespace {

namespace npy = poolgen::npy;
using poolgen::DType;
using poolgen::ManifestKernel;
using poolgen::PoolSpec;
using poolgen::Status;

const std::string kGoldenDir = POOLGEN_GOLDEN_DIR;

const poolgen::Manifest &golden_manifest() {
    static const poolgen::Manifest m = [] {
        poolgen::Manifest out;
        const Status s = poolgen::load_manifest(kGoldenDir + "/golden.json", &out);
        if (!s.ok()) FAIL("golden.json does not load: " << s.message());
        return out;
    }();
    return m;
}

std::string data_path(const std::string &name, const char *what) { return kGoldenDir + "/data/" + name + "." + what + ".npy"; }

struct Fixture {
    std::vector<uint8_t> input_bytes;  // the input as stored: elements of the kernel's dtype
    std::vector<float> input, output;  // widened to float
    std::vector<int64_t> indices;      // empty unless return_indices
    std::vector<int64_t> input_shape, output_shape, indices_shape;
};

// The array's elements widened to float; requires the descr npy_descr gives for `dtype`.
std::vector<float> as_floats(const npy::Array &a, DType dtype) {
    REQUIRE(a.descr == poolgen::npy_descr(dtype));
    REQUIRE(a.data.size() == static_cast<size_t>(a.elements()) * poolgen::dtype_size(dtype));
    return poolgen::load_elements(dtype, a.data.data(), a.elements());
}

// Reads a case's fixture arrays, requiring the dtypes and shapes tests/golden/README.md promises.
Fixture read_fixture(const ManifestKernel &k) {
    Fixture f;
    npy::Array in, out;
    const Status si = npy::read(data_path(k.name, "input"), &in);
    INFO(si.message());
    REQUIRE(si.ok());
    const Status so = npy::read(data_path(k.name, "output"), &out);
    INFO(so.message());
    REQUIRE(so.ok());
    INFO("dtype " << poolgen::to_string(k.spec.dtype) << ": .npy descrs " << in.descr << ", " << out.descr);
    f.input_shape = in.shape;
    f.output_shape = out.shape;
    f.input = as_floats(in, k.spec.dtype);
    f.output = as_floats(out, k.spec.dtype);
    f.input_bytes = std::move(in.data);
    if (k.spec.return_indices) {
        npy::Array idx;
        const Status sx = npy::read(data_path(k.name, "indices"), &idx);
        INFO(sx.message());
        REQUIRE(sx.ok());
        REQUIRE(idx.descr == "<i8");
        f.indices_shape = idx.shape;
        f.indices.resize(static_cast<size_t>(idx.elements()));
        std::memcpy(f.indices.data(), idx.data.data(), f.indices.size() * sizeof(int64_t));
    } else {
        std::ifstream probe(data_path(k.name, "indices"));
        CHECK_FALSE(probe.good());  // tests/golden/README.md: indices files exist only when return_indices
    }
    return f;
}

uint32_t bits(float x) {
    uint32_t b;
    std::memcpy(&b, &x, sizeof b);
    return b;
}

std::string show(float x) {
    std::ostringstream os;
    os.precision(9);
    os << x << " (0x" << std::hex << bits(x) << ")";
    return os.str();
}

// Compares `actual` (and `actual_idx`) with PyTorch's `expected` as described at the top of
// this file; returns a description of the first few mismatches, empty when they match.
std::string mismatches(const PoolSpec &spec, const std::vector<float> &input, const std::vector<float> &expected,
                       const std::vector<int64_t> &expected_idx, const std::vector<float> &actual,
                       const std::vector<int64_t> &actual_idx) {
    std::ostringstream os;
    if (actual.size() != expected.size()) {
        os << "output has " << actual.size() << " elements, PyTorch's " << expected.size();
        return os.str();
    }
    std::vector<double> bounds;
    const Status sb = poolgen::reference::error_bounds(spec, input.data(), &bounds);
    if (!sb.ok()) return "error_bounds failed: " + sb.message();
    if (bounds.size() != expected.size()) return "error_bounds gave the wrong number of bounds";
    const bool exact = poolgen::is_max(spec.op);
    int64_t bad = 0;
    for (size_t i = 0; i < expected.size(); i++) {
        const float e = expected[i], a = actual[i];
        bool ok;
        if (std::isnan(e)) ok = std::isnan(a);
        else if (exact) ok = bits(a) == bits(e);
        else if (std::isinf(e)) ok = a == e;
        else ok = std::fabs(double(a) - double(e)) <= bounds[i];  // false for NaN or inf `a`
        std::string what;
        if (!ok) {
            what = "value " + show(a) + ", PyTorch " + show(e);
            if (!exact) what += ", bound " + std::to_string(bounds[i]);
        } else if (!expected_idx.empty() && (actual_idx.size() != expected_idx.size() || actual_idx[i] != expected_idx[i])) {
            ok = false;
            what = actual_idx.size() != expected_idx.size()
                       ? "no indices"
                       : "index " + std::to_string(actual_idx[i]) + ", PyTorch " + std::to_string(expected_idx[i]);
        }
        if (!ok && bad++ < 5) os << "  output[" << i << "] (memory order): " << what << "\n";
    }
    if (bad) os << bad << " of " << expected.size() << " outputs differ";
    return os.str();
}

// A fixture array of the given dtype, widened to float.
std::vector<float> golden_values(const std::string &name, const char *what, DType dtype) {
    npy::Array a;
    const Status s = npy::read(data_path(name, what), &a);
    INFO(s.message());
    REQUIRE(s.ok());
    return as_floats(a, dtype);
}

std::vector<float> golden_output(const std::string &name, DType dtype = DType::F32) {
    return golden_values(name, "output", dtype);
}

std::vector<float> golden_input(const std::string &name, DType dtype = DType::F32) {
    return golden_values(name, "input", dtype);
}

// The raw 16-bit elements of an f16 or bf16 fixture array.
std::vector<uint16_t> golden_bits16(const std::string &name, const char *what, DType dtype) {
    npy::Array a;
    const Status s = npy::read(data_path(name, what), &a);
    INFO(s.message());
    REQUIRE(s.ok());
    REQUIRE(a.descr == poolgen::npy_descr(dtype));
    std::vector<uint16_t> v(static_cast<size_t>(a.elements()));
    REQUIRE(a.data.size() == v.size() * sizeof(uint16_t));
    std::memcpy(v.data(), a.data.data(), a.data.size());
    return v;
}

std::vector<int64_t> golden_indices(const std::string &name) {
    npy::Array a;
    const Status s = npy::read(data_path(name, "indices"), &a);
    INFO(s.message());
    REQUIRE(s.ok());
    REQUIRE(a.descr == "<i8");
    std::vector<int64_t> v(static_cast<size_t>(a.elements()));
    std::memcpy(v.data(), a.data.data(), v.size() * sizeof(int64_t));
    return v;
}

std::vector<int64_t> golden_shape(const std::string &name, const char *what) {
    npy::Array a;
    const Status s = npy::read(data_path(name, what), &a);
    INFO(s.message());
    REQUIRE(s.ok());
    return a.shape;
}

// Exact comparison for the spot checks (values chosen so every result is exactly representable).
void require_bits(const std::vector<float> &got, const std::vector<float> &want) {
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < want.size(); i++) {
        INFO("element " << i << ": got " << show(got[i]) << ", want " << show(want[i]));
        if (std::isnan(want[i])) CHECK(std::isnan(got[i]));
        else CHECK(bits(got[i]) == bits(want[i]));
    }
}

}  // namespace

TEST_CASE("golden: the fixtures cover every op, rank, layout and dtype", "[golden]") {
    const auto &m = golden_manifest();
    REQUIRE(m.kernels.size() == 214);  // tests/golden/README.md: 214 cases
    std::map<std::string, int> seen, per_dtype;
    for (const auto &k : m.kernels) {
        const std::string dtype = poolgen::to_string(k.spec.dtype);
        seen[dtype + "/" + poolgen::to_string(k.spec.op) + "/" + std::to_string(k.spec.rank()) + "d/" +
             poolgen::to_string(k.spec.layout)]++;
        per_dtype[dtype]++;
        CHECK(k.cpu);
        CHECK_FALSE(k.cuda);  // targets: ["cpu"]
        // Names say the dtype: f16, bf16, u8 and i8 cases end in _<dtype>, f32 cases in none.
        const auto ends = [&](const std::string &suffix) {
            return k.name.size() > suffix.size() && k.name.compare(k.name.size() - suffix.size(), suffix.size(), suffix) == 0;
        };
        INFO("case " << k.name);
        CHECK(ends("_f16") == (k.spec.dtype == DType::F16));
        CHECK(ends("_bf16") == (k.spec.dtype == DType::BF16));
        CHECK(ends("_u8") == (k.spec.dtype == DType::U8));
        CHECK(ends("_i8") == (k.spec.dtype == DType::I8));
        // PyTorch's quantized tensors have a zero point; every u8/i8 case states its own.
        CHECK(k.spec.zero_point.has_value() == poolgen::is_quantized(k.spec.dtype));
    }
    CHECK(per_dtype["f32"] == 88);
    CHECK(per_dtype["f16"] == 34);
    CHECK(per_dtype["bf16"] == 31);
    CHECK(per_dtype["u8"] == 32);
    CHECK(per_dtype["i8"] == 29);
    // u8/i8: the ops PyTorch has in quantized form, every rank, both layouts (it has no quantized
    // adaptive max pool, hence no global max either, and no Lp pooling).
    for (const char *dtype : {"u8", "i8"}) {
        for (const char *op : {"max_pool", "avg_pool", "adaptive_avg_pool", "global_avg_pool"}) {
            const std::string key = std::string(dtype) + "/" + op;
            for (int r = 1; r <= 3; r++) {
                int n = 0;
                for (const char *l : {"nchw", "nhwc"}) n += seen[key + "/" + std::to_string(r) + "d/" + l];
                INFO(key << " " << r << "D");
                CHECK(n > 0);
            }
            for (const char *l : {"nchw", "nhwc"}) {
                int n = 0;
                for (int r = 1; r <= 3; r++) n += seen[key + "/" + std::to_string(r) + "d/" + l];
                INFO(key << " " << l);
                CHECK(n > 0);
            }
        }
    }
    for (const char *dtype : {"f32", "f16", "bf16"}) {
        for (const char *op : {"max_pool", "avg_pool", "adaptive_max_pool", "adaptive_avg_pool", "global_max_pool",
                               "global_avg_pool", "lp_pool", "global_lp_pool"}) {
            const std::string key = std::string(dtype) + "/" + op;
            for (int r = 1; r <= 3; r++) {
                int n = 0;
                for (const char *l : {"nchw", "nhwc"}) n += seen[key + "/" + std::to_string(r) + "d/" + l];
                // PyTorch's CPU has no f16/bf16 avg_pool3d, which lp_pool 3D (global too) is.
                const bool missing = std::string(dtype) != "f32" && r == 3 &&
                                     (std::string(op) == "avg_pool" || std::string(op) == "lp_pool" ||
                                      std::string(op) == "global_lp_pool");
                INFO(key << " " << r << "D");
                if (missing) CHECK(n == 0);
                else CHECK(n > 0);
            }
            for (const char *l : {"nchw", "nhwc"}) {
                int n = 0;
                for (int r = 1; r <= 3; r++) n += seen[key + "/" + std::to_string(r) + "d/" + l];
                INFO(key << " " << l);
                CHECK(n > 0);
            }
        }
    }
}

TEST_CASE("golden: reference loops reproduce PyTorch on every case", "[golden]") {
    const auto &m = golden_manifest();
    REQUIRE(!m.kernels.empty());
    for (const auto &k : m.kernels) {
        DYNAMIC_SECTION(k.name) {
            INFO("case " << k.name << ": " << k.spec.describe());
            const Fixture f = read_fixture(k);
            REQUIRE(f.input_shape == k.spec.input_memory_shape());
            REQUIRE(f.output_shape == k.spec.output_memory_shape());
            if (k.spec.return_indices) REQUIRE(f.indices_shape == k.spec.output_memory_shape());

            std::vector<float> out(f.output.size(), std::numeric_limits<float>::quiet_NaN());
            std::vector<int64_t> idx(f.indices.size(), -12345);
            const Status s = poolgen::reference::run(k.spec, f.input.data(), out.data(),
                                                     k.spec.return_indices ? idx.data() : nullptr);
            INFO(s.message());
            REQUIRE(s.ok());
            const std::string diff = mismatches(k.spec, f.input, f.output, f.indices, out, idx);
            INFO(diff);
            CHECK(diff.empty());
            // f16/bf16: every output of the reference is a value of the type (reference.h).
            int64_t wide = 0;
            for (float v : out)
                if (!std::isnan(v) && bits(poolgen::round_to(k.spec.dtype, v)) != bits(v)) wide++;
            CHECK(wide == 0);
        }
    }
}

TEST_CASE("golden: generated kernels reproduce PyTorch on every case", "[golden]") {
    const auto &m = golden_manifest();
    REQUIRE(!m.kernels.empty());
    for (const auto &k : m.kernels) {
        DYNAMIC_SECTION(k.name) {
            INFO("case " << k.name << ": " << k.spec.describe());
            const poolgen::Kernel *kernel = poolgen::registry().find(k.name);
            REQUIRE(kernel != nullptr);
            CHECK(kernel->spec() == k.spec);
            CHECK(kernel->info().set == "poolgen_golden");
            CHECK(kernel->has_variant(poolgen::Device::CPU));
            const Fixture f = read_fixture(k);
            REQUIRE(f.input_shape == kernel->spec().input_memory_shape());
            REQUIRE(f.output_shape == kernel->spec().output_memory_shape());

            // The kernel reads the stored bytes and writes its dtype; the output starts as NaN
            // bits (0xff bytes) in every dtype.
            const DType dtype = k.spec.dtype;
            const int64_t n_out = static_cast<int64_t>(f.output.size());
            std::vector<uint8_t> raw(f.output.size() * poolgen::dtype_size(dtype), 0xff);
            std::vector<int64_t> idx(f.indices.size(), -12345);
            const Status s = kernel->run(f.input_bytes.data(), raw.data(), k.spec.return_indices ? idx.data() : nullptr,
                                         poolgen::Device::CPU);
            INFO(s.message());
            REQUIRE(s.ok());
            const std::vector<float> out = poolgen::load_elements(dtype, raw.data(), n_out);
            const std::string diff = mismatches(k.spec, f.input, f.output, f.indices, out, idx);
            INFO(diff);
            CHECK(diff.empty());

            // Without indices the values must not change (the kernel may take another path).
            if (k.spec.return_indices) {
                std::vector<uint8_t> raw2(raw.size(), 0xff);
                const Status s2 = kernel->run(f.input_bytes.data(), raw2.data(), nullptr, poolgen::Device::CPU);
                INFO(s2.message());
                REQUIRE(s2.ok());
                const std::vector<float> out2 = poolgen::load_elements(dtype, raw2.data(), n_out);
                const std::string diff2 = mismatches(k.spec, f.input, f.output, {}, out2, {});
                INFO("without indices: " << diff2);
                CHECK(diff2.empty());
            }
        }
    }
}

TEST_CASE("golden: the sign of a zero average follows PyTorch's kernel for the layout", "[golden]") {
    // The fixtures compare averages by value; this pins the sign. Contiguous PyTorch stores
    // 0 + sum/divisor (a -0 quotient gives +0), channels_last keeps the quotient (-0 stays).
    const float tiny = std::numeric_limits<float>::denorm_min();
    struct Case {
        const char *name;
        float first;  // input[0]; every other element is +0
    };
    // -tiny / 5 and -tiny / 7 round to -0; +0 / -3 is -0.
    for (const Case &c : {Case{"avg2d_k3s2p1_div5_nocip_c3_ints", -tiny}, Case{"avg3d_k3s2p1_div7_c5_ints", -tiny},
                          Case{"avg2d_k3s2p1_ceil_divneg3_c3_ints_nhwc", 0.0f}}) {
        DYNAMIC_SECTION(c.name) {
            const poolgen::Kernel *kernel = poolgen::registry().find(c.name);
            REQUIRE(kernel != nullptr);
            const poolgen::PoolSpec &s = kernel->spec();
            std::vector<float> in(static_cast<size_t>(s.input_elements()), 0.0f), ref(static_cast<size_t>(s.output_elements()));
            in[0] = c.first;
            std::vector<float> out(ref.size(), std::numeric_limits<float>::quiet_NaN());
            REQUIRE(poolgen::reference::run(s, in.data(), ref.data(), nullptr).ok());
            REQUIRE(kernel->run(in.data(), out.data(), nullptr, poolgen::Device::CPU).ok());
            const bool keeps_sign = poolgen::avg_keeps_negative_zero(s);
            CHECK(keeps_sign == (s.layout == poolgen::Layout::NHWC));  // these cases have 3 and 5 channels, 2D nhwc
            CHECK(std::signbit(ref[0]) == keeps_sign);
            for (size_t i = 0; i < out.size(); i++) {
                INFO("output " << i << ": " << out[i] << ", reference " << ref[i]);
                REQUIRE(out[i] == 0.0f);
                REQUIRE(std::signbit(out[i]) == std::signbit(ref[i]));
            }
        }
    }
}

TEST_CASE("golden: the comparison itself catches wrong results", "[golden]") {
    // Guards the tests above against a comparison that accepts anything.
    const auto &m = golden_manifest();
    const ManifestKernel *maxk = nullptr, *avgk = nullptr;
    for (const auto &k : m.kernels) {
        if (k.name == "max2d_k2_signed_zero_ties") maxk = &k;
        if (k.name == "avg2d_k2x3_s1x2_p1x0_nocip_c5_ints") avgk = &k;
    }
    REQUIRE(maxk);
    REQUIRE(avgk);
    {
        const Fixture f = read_fixture(*maxk);
        CHECK(mismatches(maxk->spec, f.input, f.output, f.indices, f.output, f.indices).empty());
        std::vector<float> flipped = f.output;
        flipped[1] = -flipped[1];  // -0 -> +0: equal by value, not by bits
        CHECK_FALSE(mismatches(maxk->spec, f.input, f.output, f.indices, flipped, f.indices).empty());
        std::vector<int64_t> idx = f.indices;
        idx[0] += 1;
        CHECK_FALSE(mismatches(maxk->spec, f.input, f.output, f.indices, f.output, idx).empty());
    }
    {
        const Fixture f = read_fixture(*avgk);
        CHECK(mismatches(avgk->spec, f.input, f.output, {}, f.output, {}).empty());
        std::vector<float> off = f.output;
        size_t i = 0;
        while (i < off.size() && off[i] == 0) i++;
        REQUIRE(i < off.size());
        off[i] = off[i] * (1.0f + 1e-4f);  // far beyond (taps + 1) * FLT_EPSILON relative
        CHECK_FALSE(mismatches(avgk->spec, f.input, f.output, {}, off, {}).empty());
        off = f.output;
        off[i] = std::numeric_limits<float>::quiet_NaN();
        CHECK_FALSE(mismatches(avgk->spec, f.input, f.output, {}, off, {}).empty());
    }
}

TEST_CASE("golden: every parameter set PyTorch rejects is rejected, naming the field", "[golden]") {
    std::ifstream in(kGoldenDir + "/invalid.json");
    REQUIRE(in.good());
    const nlohmann::json cases = nlohmann::json::parse(in);
    REQUIRE(cases.is_array());
    REQUIRE(cases.size() == 48);  // tests/golden/README.md: 48 parameter sets
    for (const auto &c : cases) {
        REQUIRE(c.contains("kernel"));
        REQUIRE(c.contains("field"));
        const std::string name = c["kernel"]["name"].get<std::string>();
        const std::string field = c["field"].get<std::string>();
        DYNAMIC_SECTION(name) {
            INFO("case " << name << " (PyTorch: " << c["pytorch_error"].get<std::string>() << "; rule: "
                         << c["rule"].get<std::string>() << ")");
            const nlohmann::json doc = {{"version", 1}, {"kernels", nlohmann::json::array({c["kernel"]})}};
            poolgen::Manifest out;
            out.kernels.resize(1);  // must stay untouched on failure
            const Status s = poolgen::parse_manifest(doc.dump(), &out);
            INFO("message: " << s.message());
            REQUIRE_FALSE(s.ok());
            CHECK(s.message().find("field '" + field + "'") != std::string::npos);
            CHECK(s.message().find("kernel '" + name + "'") != std::string::npos);
            CHECK(s.message().find('\n') == std::string::npos);
            CHECK(out.kernels.size() == 1);
        }
    }
}

TEST_CASE("golden: the invalid cases become valid once the blamed value is PyTorch's default", "[golden]") {
    // Makes sure the rejections above are about the blamed field, not a side effect of the
    // wrapping: the kernel objects are otherwise well-formed manifest entries.
    std::ifstream in(kGoldenDir + "/invalid.json");
    REQUIRE(in.good());
    const nlohmann::json cases = nlohmann::json::parse(in);
    int fixed = 0;
    for (const auto &c : cases) {
        const std::string field = c["field"].get<std::string>();
        if (field != "divisor_override" && field != "padding") continue;
        nlohmann::json k = c["kernel"];
        if (field == "divisor_override") k["divisor_override"] = nullptr;
        else k["padding"] = 0;
        const nlohmann::json doc = {{"version", 1}, {"kernels", nlohmann::json::array({k})}};
        poolgen::Manifest out;
        const Status s = poolgen::parse_manifest(doc.dump(), &out);
        INFO(k.dump() << "\n" << s.message());
        // Fixing one field may expose another broken rule; it must then blame a different field.
        if (!s.ok()) CHECK(s.message().find("field '" + field + "'") == std::string::npos);
        else fixed++;
    }
    CHECK(fixed > 0);
}

TEST_CASE("golden: fixtures hold the worked examples of docs/semantics.md", "[golden]") {
    const float inf = std::numeric_limits<float>::infinity();
    const float nan = std::numeric_limits<float>::quiet_NaN();

    SECTION("4x4 seed, MaxPool2d(2, 2) -> [[6,5],[9,7]]") {
        require_bits(golden_input("max2d_k2s2_seed4x4"), {1, 3, 2, 1, 4, 6, 5, 0, 2, 9, 3, 4, 0, 1, 7, 2});
        require_bits(golden_output("max2d_k2s2_seed4x4"), {6, 5, 9, 7});
        CHECK(golden_indices("max2d_k2s2_seed4x4") == std::vector<int64_t>{5, 6, 9, 14});
        CHECK(golden_shape("max2d_k2s2_seed4x4", "output") == std::vector<int64_t>{1, 1, 2, 2});
    }
    SECTION("arange(9) 3x3: max k2 s1 -> [[4,5],[7,8]], avg -> [[2,3],[5,6]]") {
        require_bits(golden_output("max2d_k2s1_arange3x3"), {4, 5, 7, 8});
        require_bits(golden_output("avg2d_k2s1_arange3x3"), {2, 3, 5, 6});
    }
    SECTION("MaxPool2d(3, padding=1) on arange(16) 4x4 -> [[5,7],[13,15]] (stride defaults to kernel)") {
        require_bits(golden_output("max2d_k3p1_default_stride_arange4x4"), {5, 7, 13, 15});
    }
    SECTION("MaxPool2d(3, ceil_mode=True) on the 5x5 seed -> [[2,3],[5,1]]") {
        require_bits(golden_input("max2d_k3_ceil_seed5x5"),
                     {1, 2, 0, 3, 1, 0, 1, 2, 3, 1, 1, 2, 1, 0, 0, 5, 2, 3, 1, 1, 2, 1, 0, 1, 1});
        require_bits(golden_output("max2d_k3_ceil_seed5x5"), {2, 3, 5, 1});
    }
    SECTION("max padding acts as -inf, not 0") {
        require_bits(golden_output("max2d_k3s1p1_padding_is_not_zero"), {-1, -1, -2, -1, -1, -2, -4, -4, -5});
    }
    SECTION("ties: first maximum wins, sign of zero kept") {
        require_bits(golden_output("max2d_k2_signed_zero_ties"), {0.0f, -0.0f});
        CHECK(golden_indices("max2d_k2_signed_zero_ties") == std::vector<int64_t>{0, 2});
    }
    SECTION("NaN propagates, last NaN's index") {
        require_bits(golden_output("max1d_k3s1_nan_last_wins"), {nan, nan, nan});
        CHECK(golden_indices("max1d_k3s1_nan_last_wins") == std::vector<int64_t>{1, 3, 3});
    }
    SECTION("1D [3,1,4,1,5,9,2] k3 s2 p1 d2 -> [1,9,9], indices [1,5,5]") {
        require_bits(golden_input("max1d_k3s2p1_d2_example"), {3, 1, 4, 1, 5, 9, 2});
        require_bits(golden_output("max1d_k3s2p1_d2_example"), {1, 9, 9});
        CHECK(golden_indices("max1d_k3s2p1_d2_example") == std::vector<int64_t>{1, 5, 5});
    }
    SECTION("all -inf 3x3, k3 s2 p1 -> -inf at indices [[0,1],[3,4]]") {
        require_bits(golden_output("max2d_k3s2p1_all_neginf"), {-inf, -inf, -inf, -inf});
        CHECK(golden_indices("max2d_k3s2p1_all_neginf") == std::vector<int64_t>{0, 1, 3, 4});
    }
    SECTION("dilated windows entirely in padding give -inf") {
        for (float v : golden_output("max2d_k2p1_d4_window_all_padding")) CHECK(v == -inf);
    }
    SECTION("ceil mode: a kernel larger than the input (2x2, k3) -> 1x1") {
        require_bits(golden_output("max2d_k3_ceil_kernel_exceeds_input2x2"), {4});
        CHECK(golden_shape("max2d_k3_ceil_kernel_exceeds_input2x2", "output") == std::vector<int64_t>{1, 1, 1, 1});
    }
    SECTION("avg ceil overhang is never counted: ones 5x5 k2 s2 ceil -> all 1") {
        require_bits(golden_output("avg2d_k2s2_ceil_ones5x5"), std::vector<float>(9, 1.0f));
    }
    SECTION("ones 6x6 k3 s2 p1 ceil: count_include_pad row 0 [4/9,6/9,6/9,3/9], corner 1/4; without: all 1") {
        const auto cip = golden_output("avg2d_k3s2p1_ceil_ones6x6_cip");
        REQUIRE(cip.size() == 16);
        require_bits({cip[0], cip[1], cip[2], cip[3], cip[15]}, {4.0f / 9, 6.0f / 9, 6.0f / 9, 3.0f / 9, 0.25f});
        require_bits(golden_output("avg2d_k3s2p1_ceil_ones6x6_nocip"), std::vector<float>(16, 1.0f));
    }
    SECTION("[[1,2,3],[4,5,6],[7,8,9]] avg k2 s2 ceil -> [[3,4.5],[7.5,9]]") {
        require_bits(golden_output("avg2d_k2s2_ceil_1to9"), {3, 4.5f, 7.5f, 9});
    }
    SECTION("divisor_override=2, ones 5x5 k3 s2 p1 ceil -> [[2,3,2],[3,4.5,3],[2,3,2]]") {
        require_bits(golden_output("avg2d_k3s2p1_ceil_div2_ones5x5"), {2, 3, 2, 3, 4.5f, 3, 2, 3, 2});
    }
    SECTION("1D [1,2,3,4,5] avg k3 s2 p1: cip [1,3,3], no cip [1.5,3,4.5]") {
        require_bits(golden_output("avg1d_k3s2p1_cip_1to5"), {1, 3, 3});
        require_bits(golden_output("avg1d_k3s2p1_nocip_1to5"), {1.5f, 3, 4.5f});
    }
    SECTION("avg: NaN propagates, +inf and -inf in one window give NaN") {
        require_bits(golden_output("avg2d_k2s2_nan_inf"), {nan, inf, nan, -inf});
    }
    SECTION("contiguous avg stores 0 + sum/divisor: +0.0 even with a negative divisor") {
        const auto out = golden_output("avg2d_k3s2p1_ceil_divneg3_c3_ints_nhwc");
        int zeros = 0;
        for (float v : out)
            if (v == 0) {
                zeros++;
                CHECK_FALSE(std::signbit(v));
            }
        CHECK(zeros > 0);
    }
    SECTION("adaptive: arange(7) -> 3 averages [1,3,5]; [10,20,30] -> 5: [10,15,20,25,30]") {
        require_bits(golden_output("aavg1d_7to3_arange"), {1, 3, 5});
        require_bits(golden_output("aavg1d_3to5_upsample"), {10, 15, 20, 25, 30});
    }
    SECTION("adaptive max [1,5,5,2,7,0,3] -> 3: [5,7,7], indices [1,4,4]") {
        require_bits(golden_input("amax1d_7to3_example"), {1, 5, 5, 2, 7, 0, 3});
        require_bits(golden_output("amax1d_7to3_example"), {5, 7, 7});
        CHECK(golden_indices("amax1d_7to3_example") == std::vector<int64_t>{1, 4, 4});
    }
    SECTION("global average: ResNet 1x512x7x7 (nhwc) -> 1x1x1x512, NiN 1x10x5x5 -> 1x10x1x1") {
        CHECK(golden_shape("gavg2d_resnet_1x512x7x7_ints_nhwc", "input") == std::vector<int64_t>{1, 7, 7, 512});
        CHECK(golden_shape("gavg2d_resnet_1x512x7x7_ints_nhwc", "output") == std::vector<int64_t>{1, 1, 1, 512});
        CHECK(golden_shape("gavg2d_nin_1x10x5x5_normal", "output") == std::vector<int64_t>{1, 10, 1, 1});
        // Integer inputs: channel 0's mean is exactly the plain mean of its 49 values when the
        // sum is exact; check it against the input directly (nhwc: channel stride 1).
        const auto in = golden_input("gavg2d_resnet_1x512x7x7_ints_nhwc");
        const auto out = golden_output("gavg2d_resnet_1x512x7x7_ints_nhwc");
        REQUIRE(in.size() == 49 * 512);
        for (int c : {0, 1, 511}) {
            double sum = 0;
            for (int p = 0; p < 49; p++) sum += in[static_cast<size_t>(p) * 512 + c];
            INFO("channel " << c);
            CHECK(std::fabs(out[c] - sum / 49) <= 50 * FLT_EPSILON * std::fabs(sum / 49) + 1e-30);
        }
    }
}

TEST_CASE("golden: the comparison of f16 and bf16 results", "[golden]") {
    // NaN as "NaN" whatever its bits, every other max value bitwise (the sign of zero too, and
    // one step of the type), and averages no looser than their bound.
    const auto &m = golden_manifest();
    for (const char *name : {"max2d_k3s2p1_ceil_n2c17_special_nhwc_f16", "max2d_k3s2p1_ceil_n2c17_special_nhwc_bf16",
                             "avg2d_k3s2p1_n2c17_normal_nhwc_f16", "avg2d_k3s2p1_n2c17_normal_nhwc_bf16"}) {
        DYNAMIC_SECTION(name) {
            const ManifestKernel *k = nullptr;
            for (const auto &x : m.kernels)
                if (x.name == name) k = &x;
            REQUIRE(k);
            const DType t = k->spec.dtype;
            REQUIRE(t != DType::F32);
            const Fixture f = read_fixture(*k);
            CHECK(mismatches(k->spec, f.input, f.output, f.indices, f.output, f.indices).empty());
            // One step of the type up from a finite non-zero output (the value's next f16/bf16).
            size_t i = 0;
            while (i < f.output.size() && (!std::isfinite(f.output[i]) || f.output[i] == 0)) i++;
            REQUIRE(i < f.output.size());
            const double step = std::ldexp(poolgen::dtype_epsilon(t), std::ilogb(f.output[i]));
            std::vector<float> off = f.output;
            off[i] = poolgen::round_to(t, static_cast<float>(f.output[i] + step));
            REQUIRE(off[i] != f.output[i]);
            if (poolgen::is_max(k->spec.op)) {
                CHECK_FALSE(mismatches(k->spec, f.input, f.output, f.indices, off, f.indices).empty());
                // Another NaN (other sign, other payload) is still NaN.
                size_t j = 0;
                while (j < f.output.size() && !std::isnan(f.output[j])) j++;
                REQUIRE(j < f.output.size());
                std::vector<float> other = f.output;
                uint16_t nan_bits = t == DType::F16 ? 0xfd01 : 0xff81;
                other[j] = poolgen::load_element(t, &nan_bits, 0);
                REQUIRE(std::isnan(other[j]));
                REQUIRE(bits(other[j]) != bits(f.output[j]));
                CHECK(mismatches(k->spec, f.input, f.output, f.indices, other, f.indices).empty());
                // -0 for +0 (or +0 for -0) is a mismatch.
                size_t z = 0;
                while (z < f.output.size() && !(f.output[z] == 0)) z++;
                REQUIRE(z < f.output.size());
                other = f.output;
                other[z] = -other[z];
                CHECK_FALSE(mismatches(k->spec, f.input, f.output, f.indices, other, f.indices).empty());
            } else {
                // Just past the bound (error_bounds on the widened input), as a value of the type.
                std::vector<double> bounds;
                REQUIRE(poolgen::reference::error_bounds(k->spec, f.input.data(), &bounds).ok());
                REQUIRE(bounds.size() == f.output.size());
                off[i] = poolgen::round_to(t, static_cast<float>(f.output[i] + 2 * bounds[i] + step));
                REQUIRE(std::fabs(double(off[i]) - double(f.output[i])) > bounds[i]);
                CHECK_FALSE(mismatches(k->spec, f.input, f.output, {}, off, {}).empty());
                // One step of the type is within it (each result is rounded to the type).
                off[i] = poolgen::round_to(t, static_cast<float>(f.output[i] + step));
                CHECK(std::fabs(double(off[i]) - double(f.output[i])) <= bounds[i]);
            }
        }
    }
}

TEST_CASE("golden: f16 and bf16 fixtures hold where PyTorch rounds to the type", "[golden]") {
    const float inf = std::numeric_limits<float>::infinity();
    SECTION("bf16 is stored as its raw bits (<u2): the top half of the float32") {
        // 1 and 2^-8: 0x3f800000 and 0x3b800000.
        const auto in = golden_bits16("aavg1d_18to2_half_ulps_bf16", "input", DType::BF16);
        REQUIRE(in.size() == 18);
        CHECK(in[0] == 0x3f80);
        CHECK(in[1] == 0x3b80);
        CHECK(in[9] == 0x3f80);
        const auto in16 = golden_bits16("aavg1d_18to2_half_ulps_f16", "input", DType::F16);
        REQUIRE(in16.size() == 18);
        CHECK(in16[0] == 0x3c00);  // 1
        CHECK(in16[1] == 0x1000);  // 2^-11
    }
    SECTION("f16 averages sum in float32: 65504 + 65504 (beyond f16's range) over 2 is 65504") {
        // 60000 + 8000 = 68000, over 2: 34000, which rounds to 33984 in f16.
        require_bits(golden_output("aavg1d_4to2_sum_beyond_f16_max_f16", DType::F16), {65504, 33984});
        require_bits(golden_output("avg1d_k2_sum_beyond_f16_max_f16", DType::F16), {65504, 33984});
    }
    SECTION("f16 adaptive_avg_pool3d sums in f16 on PyTorch's CPU: the same windows overflow to inf") {
        require_bits(golden_output("aavg3d_4x1x1to2x1x1_sum_overflows_f16", DType::F16), {inf, inf});
    }
    SECTION("1 and eight half-ulps: each addition in the type rounds back to 1 in 3D, float32 sums do not") {
        for (DType t : {DType::F16, DType::BF16}) {
            const std::string sfx = t == DType::F16 ? "_f16" : "_bf16";
            const float half_ulp = static_cast<float>(poolgen::dtype_epsilon(t) / 2);
            const float in_type = poolgen::round_to(t, 1.0f / 9.0f);
            const float in_f32 = poolgen::round_to(t, (1.0f + 8 * half_ulp) / 9.0f);
            INFO(poolgen::to_string(t));
            REQUIRE(in_type != in_f32);
            require_bits(golden_output("aavg3d_18x1x1to2x1x1_half_ulps" + sfx, t), {in_type, in_type});
            require_bits(golden_output("aavg1d_18to2_half_ulps" + sfx, t), {in_f32, in_f32});
        }
    }
}
