// No write outside the output: every kernel runs on buffers surrounded by poisoned guard
// bands, with the output pre-filled with a sentinel bit pattern no kernel produces, through
// every entry point (dense pointers at aligned and misaligned addresses, values only from an
// index-returning kernel, dense and strided halide_buffer_t). Afterwards the bands, the gaps
// of strided buffers and the input are untouched, and every output element was written.
#include <catch2/catch.hpp>

#include <cstring>
#include <optional>
#include <sstream>

#include "HalideRuntime.h"
#include "poolgen/poolgen.h"
#include "test_helpers.h"
#include "test_random.h"

using namespace poolgen;
using namespace testutil;

namespace {

constexpr size_t kBand = 64;                          // bytes before and after every buffer
constexpr uint32_t kGuard = 0x7f8badbdu;              // signalling NaN: the bands and gaps
constexpr uint32_t kUnwritten = 0x7fa5a5a5u;          // signalling NaN: output not yet written
// The same roles for 16-bit elements: signalling NaNs of f16 and of bf16. Every byte is a u8/i8
// code, so no fill is one no kernel writes: those kernels run twice, on outputs filled with
// `unwritten` and then `unwritten_alt`, and an element holding each run's fill was never written.
struct Sentinels {
    uint64_t guard, unwritten;
    size_t bytes;
    uint64_t unwritten_alt = 0;
    bool twice() const { return unwritten_alt != unwritten; }
};
Sentinels sentinels(DType d) {
    if (d == DType::F16) return {0x7d5b, 0x7ca5, 2, 0x7ca5};
    if (d == DType::BF16) return {0x7f8b, 0x7fa5, 2, 0x7fa5};
    if (poolgen::is_quantized(d)) return {0xbd, 0xa5, 1, 0x5a};
    return {kGuard, kUnwritten, 4, kUnwritten};
}
constexpr uint64_t kUnwrittenIndex = 0xa5a5a5a5a5a5a5a5ull;  // negative: never an index
constexpr uint64_t kGuardIndex = 0xbadbadbadbadbad1ull;

// A byte arena: [band][payload at byte offset `shift` from 64-byte alignment][band]; the
// payload and the bands are filled with 32- or 64-bit patterns.
struct Guarded {
    std::vector<uint64_t> storage;  // 8-byte aligned; the payload starts at band + shift
    size_t payload_bytes, shift;
    Guarded(size_t bytes, size_t shift_bytes, uint64_t band_pattern, uint64_t fill_pattern, size_t pattern_bytes)
        : storage((kBand * 2 + bytes + shift_bytes + 16) / 8 + 1), payload_bytes(bytes), shift(shift_bytes) {
        uint8_t *b = bytes_();
        const size_t total = storage.size() * 8;
        for (size_t i = 0; i < total; i += pattern_bytes) std::memcpy(b + i, &band_pattern, std::min(pattern_bytes, total - i));
        for (size_t i = 0; i < bytes; i += pattern_bytes) std::memcpy(payload() + i, &fill_pattern, pattern_bytes);
        snapshot_ = std::vector<uint8_t>(b, b + total);
    }
    uint8_t *bytes_() { return reinterpret_cast<uint8_t *>(storage.data()); }
    uint8_t *payload() { return bytes_() + kBand + shift; }
    // Offset from the payload's start of the first byte outside the payload that changed.
    std::optional<long> changed_outside() {
        const uint8_t *b = bytes_();
        const size_t lo = kBand + shift, hi = lo + payload_bytes, total = storage.size() * 8;
        for (size_t i = 0; i < total; i++)
            if ((i < lo || i >= hi) && b[i] != snapshot_[i]) return long(i) - long(lo);
        return std::nullopt;
    }

private:
    std::vector<uint8_t> snapshot_;
};

// `out_alt`: the same run's output from a buffer filled with sn.unwritten_alt (u8/i8), else null.
std::string check_outputs(const void *out, const int64_t *idx, size_t n, const Sentinels &sn = sentinels(DType::F32),
                          const void *out_alt = nullptr) {
    for (size_t i = 0; i < n; i++) {
        uint64_t bits = 0, alt = 0;
        std::memcpy(&bits, static_cast<const uint8_t *>(out) + i * sn.bytes, sn.bytes);
        if (out_alt) std::memcpy(&alt, static_cast<const uint8_t *>(out_alt) + i * sn.bytes, sn.bytes);
        const bool unwritten = out_alt ? bits == sn.unwritten && alt == sn.unwritten_alt : bits == sn.unwritten || bits == sn.guard;
        if (unwritten) return "output element " + std::to_string(i) + " was never written";
        if (idx && (uint64_t(idx[i]) == kUnwrittenIndex || uint64_t(idx[i]) == kGuardIndex))
            return "index element " + std::to_string(i) + " was never written";
    }
    return "";
}

// One run through the dense-pointer API with guard bands around input, output and indices.
// `values` stored in the kernel's dtype; `shift` bytes off alignment.
// `first`: the output of a first run (on the other fill) for kernels that run twice.
std::string dense_run(const Kernel &k, const std::vector<float> &values, size_t shift, bool with_indices,
                      const std::vector<uint8_t> *first = nullptr) {
    const PoolSpec &s = k.spec();
    const Sentinels sn = sentinels(s.dtype);
    const std::vector<uint8_t> stored = as_elements(s, values);
    const size_t in_n = values.size(), out_n = static_cast<size_t>(s.output_elements()), e = sn.bytes;
    Guarded in(in_n * e, shift, sn.guard, 0, e), out(out_n * e, shift, sn.guard, first ? sn.unwritten_alt : sn.unwritten, e);
    Guarded idx(with_indices ? out_n * 8 : 0, shift ? 8 : 0, kGuardIndex, kUnwrittenIndex, 8);
    std::memcpy(in.payload(), stored.data(), stored.size());
    const std::vector<uint8_t> before(in.payload(), in.payload() + stored.size());
    Status st = k.run(in.payload(), out.payload(), with_indices ? reinterpret_cast<int64_t *>(idx.payload()) : nullptr,
                      Device::CPU);
    if (!st.ok()) return "run failed: " + st.message();
    if (auto b = in.changed_outside()) return "input guard band written at byte offset " + std::to_string(*b);
    if (std::memcmp(in.payload(), before.data(), before.size()) != 0) return "the input was modified";
    if (auto b = out.changed_outside()) return "output guard band written at byte offset " + std::to_string(*b);
    if (with_indices)
        if (auto b = idx.changed_outside()) return "indices guard band written at byte offset " + std::to_string(*b);
    const std::vector<uint8_t> o(out.payload(), out.payload() + out_n * e);
    if (sn.twice() && !first) {
        if (std::string err = dense_run(k, values, shift, with_indices, &o); !err.empty()) return err;
    }
    std::vector<int64_t> ix(with_indices ? out_n : 0);
    if (with_indices) std::memcpy(ix.data(), idx.payload(), out_n * 8);
    if (sn.twice() && !first) return "";  // the second run has checked both
    if (std::string err = check_outputs(first ? first->data() : o.data(), with_indices ? ix.data() : nullptr, out_n, sn,
                                        first ? o.data() : nullptr);
        !err.empty())
        return err;
    const CheckResult r = check(k, stored.data(), o.data(), with_indices ? ix.data() : nullptr);
    if (!r.status.ok()) return "wrong result: " + r.status.message();
    return "";
}

// A halide_buffer_t over a guarded arena in memory order; `gap` unused elements after every
// innermost row (0: dense, the kernel writes in place; > 0: the runtime repacks).
struct GuardedBuffer {
    Guarded arena;
    halide_buffer_t buf{};
    halide_dimension_t dims[5]{};
    std::vector<int64_t> shape;
    size_t elem;
    static size_t span(const std::vector<int64_t> &shape, size_t gap) {
        size_t rows = 1;
        for (size_t i = 0; i + 1 < shape.size(); i++) rows *= size_t(shape[i]);
        return rows * (size_t(shape.back()) + gap);
    }
    GuardedBuffer(const std::vector<int64_t> &shape_, halide_type_t type, size_t gap, uint64_t band, uint64_t fill)
        : arena(span(shape_, gap) * ((type.bits + 7) / 8), 0, band, fill, (type.bits + 7) / 8), shape(shape_),
          elem((type.bits + 7) / 8) {
        const int n = static_cast<int>(shape.size());
        int64_t stride = 1;
        for (int d = 0; d < n; d++) {
            const int64_t extent = shape[n - 1 - d];
            dims[d] = halide_dimension_t{0, int32_t(extent), int32_t(stride), 0};
            stride *= extent + (d == 0 ? int64_t(gap) : 0);
        }
        buf.host = arena.payload();
        buf.type = type;
        buf.dimensions = n;
        buf.dim = dims;
        // Gaps hold the band pattern too: they must survive like the bands.
        const size_t row = size_t(shape.back());
        for (size_t r = 0, rows = span(shape, gap) / (row + gap); r < rows; r++)
            for (size_t g = 0; g < gap; g++) std::memcpy(arena.payload() + ((r * (row + gap)) + row + g) * elem, &band, elem);
        gap_ = gap;
        band_ = band;
    }
    template <typename T>
    std::vector<T> dense() {
        const size_t row = size_t(shape.back());
        std::vector<T> v(span(shape, 0));
        for (size_t i = 0; i < v.size(); i++) std::memcpy(&v[i], arena.payload() + ((i / row) * (row + gap_) + i % row) * elem, elem);
        return v;
    }
    // The elements as dense bytes, and dense bytes (elem each) into the buffer.
    std::vector<uint8_t> dense_bytes() {
        const size_t row = size_t(shape.back()), n = span(shape, 0);
        std::vector<uint8_t> v(n * elem);
        for (size_t i = 0; i < n; i++) std::memcpy(&v[i * elem], arena.payload() + ((i / row) * (row + gap_) + i % row) * elem, elem);
        return v;
    }
    void fill_bytes(const std::vector<uint8_t> &v) {
        const size_t row = size_t(shape.back());
        for (size_t i = 0; i < v.size() / elem; i++)
            std::memcpy(arena.payload() + ((i / row) * (row + gap_) + i % row) * elem, &v[i * elem], elem);
    }
    std::string gaps_intact() {
        const size_t row = size_t(shape.back());
        for (size_t r = 0, rows = span(shape, gap_) / (row + gap_); r < rows; r++)
            for (size_t g = 0; g < gap_; g++)
                if (std::memcmp(arena.payload() + ((r * (row + gap_)) + row + g) * elem, &band_, elem) != 0)
                    return "gap after row " + std::to_string(r) + " written";
        if (auto b = arena.changed_outside()) return "guard band written at byte offset " + std::to_string(*b);
        return "";
    }

private:
    size_t gap_ = 0;
    uint64_t band_ = 0;
};

std::string buffer_run(const Kernel &k, const std::vector<float> &values, size_t gap, const std::vector<uint8_t> *first = nullptr) {
    const PoolSpec &s = k.spec();
    const Sentinels sn = sentinels(s.dtype);
    const halide_type_t type = halide_type_of(s.dtype), i64(halide_type_int, 64);
    const std::vector<uint8_t> stored = as_elements(s, values);
    GuardedBuffer in(s.input_memory_shape(), type, gap, sn.guard, 0),
        out(s.output_memory_shape(), type, gap, sn.guard, first ? sn.unwritten_alt : sn.unwritten);
    GuardedBuffer idx(s.output_memory_shape(), i64, gap, kGuardIndex, kUnwrittenIndex);
    in.fill_bytes(stored);
    Status st = k.run(&in.buf, &out.buf, s.return_indices ? &idx.buf : nullptr, Device::CPU);
    if (!st.ok()) return "run failed: " + st.message();
    if (std::string e = in.gaps_intact(); !e.empty()) return "input: " + e;
    if (in.dense_bytes() != stored) return "the input was modified";
    if (std::string e = out.gaps_intact(); !e.empty()) return "output: " + e;
    if (s.return_indices)
        if (std::string e = idx.gaps_intact(); !e.empty()) return "indices: " + e;
    const auto o = out.dense_bytes();
    if (sn.twice() && !first) return buffer_run(k, values, gap, &o);  // checks both runs' outputs
    const auto ix = s.return_indices ? idx.dense<int64_t>() : std::vector<int64_t>();
    if (std::string e = check_outputs(first ? first->data() : o.data(), s.return_indices ? ix.data() : nullptr, o.size() / sn.bytes,
                                      sn, first ? o.data() : nullptr);
        !e.empty())
        return e;
    const CheckResult r = check(k, stored.data(), o.data(), s.return_indices ? ix.data() : nullptr);
    if (!r.status.ok()) return "wrong result: " + r.status.message();
    return "";
}

}  // namespace

TEST_CASE("guard bands: no kernel writes outside its output, every output element is written", "[guard]") {
    REQUIRE(registry().kernels().size() >= 30);
    for (const Kernel *k : registry().kernels()) {
        const PoolSpec &s = k->spec();
        const auto values = random_values(s, Dist::NaNHeavy, 7);
        struct Variant {
            const char *what;
            std::string error;
        };
        std::vector<Variant> v;
        v.push_back({"dense, malloc-aligned", dense_run(*k, values, 0, s.return_indices)});
        v.push_back({"dense, misaligned by 4 bytes", dense_run(*k, values, 4, s.return_indices)});
        if (s.return_indices) v.push_back({"dense, values only", dense_run(*k, values, 4, false)});
        v.push_back({"halide_buffer_t, dense", buffer_run(*k, values, 0)});
        v.push_back({"halide_buffer_t, rows with 3-element gaps", buffer_run(*k, values, 3)});
        for (const auto &x : v) {
            INFO("kernel '" << k->name() << "' (" << s.describe() << "), " << x.what);
            CHECK(x.error == "");
        }
    }
}

TEST_CASE("guard bands: the harness sees a write past the end and an unwritten element", "[guard]") {
    Guarded g(16, 0, kGuard, kUnwritten, 4);
    CHECK_FALSE(g.changed_outside().has_value());
    g.payload()[16] = 0;  // one byte past the payload
    CHECK(g.changed_outside() == std::optional<long>(16));
    Guarded h(16, 4, kGuard, kUnwritten, 4);
    h.payload()[-1] = 0;  // one byte before
    CHECK(h.changed_outside() == std::optional<long>(-1));
    float out[2] = {1.0f, from_bits(kUnwritten)};
    CHECK(check_outputs(out, nullptr, 2) == "output element 1 was never written");
    // u8/i8: two runs on different fills; an element holding each run's fill was never written,
    // one holding the same code in both was (whatever the code).
    const uint8_t run_a[2] = {0x07, 0xa5}, run_b[2] = {0x07, 0x5a}, same[2] = {0x07, 0xa5};
    CHECK(check_outputs(run_a, nullptr, 2, sentinels(DType::U8), run_b) == "output element 1 was never written");
    CHECK(check_outputs(run_a, nullptr, 2, sentinels(DType::I8), same) == "");
}
