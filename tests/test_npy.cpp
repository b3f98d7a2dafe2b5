// Tests for poolgen::npy: round trips, byte-exact compatibility with NumPy, and every refusal.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "poolgen/npy.h"

namespace fs = std::filesystem;
namespace npy = poolgen::npy;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using poolgen::Status;

namespace {

// Bytes written by NumPy 2.4 (np.save / np.lib.format.write_array), copied verbatim.
//   f4_2x3:     np.arange(6, dtype='<f4').reshape(2, 3) * 0.5
//   i8_3:       np.array([-1, 2, 3], dtype='<i8')
//   u2_scalar:  np.array(7, dtype='<u2')
//   i4_v2:      np.array([1, -2], dtype='<i4'), version=(2, 0)
//   u1_v3:      np.array([[1, 2]], dtype='u1'), version=(3, 0)
//   fortran:    np.asfortranarray(np.arange(6, dtype='<f4').reshape(2, 3))
//   bigendian:  np.array([1, 2], dtype='>f4')
//   object:     np.array([None, 1], dtype=object), allow_pickle=True
//   structured: np.zeros(1, dtype=[('a', '<f4'), ('b', '<i4')])
//   f8:         np.array([1.5], dtype='<f8')
//   f4_zero_16d: np.zeros((0,) + (1,) * 15, dtype='<f4'), whose header is a 64-byte block longer
//               only because of numpy's growth-room spaces
const char kNumpy_f4_2x3[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }       "
    "                                                   \x0a\x00\x00\x00\x00\x00\x00\x00?\x00"
    "\x00\x80?\x00\x00\xc0?\x00\x00\x00@\x00\x00 @";
const char kNumpy_i8_3[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }         "
    "                                                   \x0a\xff\xff\xff\xff\xff\xff\xff\xff"
    "\x02\x00\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00\x00\x00\x00\x00";
const char kNumpy_u2_scalar[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '<u2', 'fortran_order': False, 'shape': (), }           "
    "                                                   \x0a\x07\x00";
const char kNumpy_i4_v2[] =
    "\x93NUMPY\x02\x00t\x00\x00\x00{'descr': '<i4', 'fortran_order': False, 'shape': (2,), } "
    "                                                         \x0a\x01\x00\x00\x00\xfe\xff"
    "\xff\xff";
const char kNumpy_u1_v3[] =
    "\x93NUMPY\x03\x00t\x00\x00\x00{'descr': '|u1', 'fortran_order': False, 'shape': (1, 2), "
    "}                                                        \x0a\x01\x02";
const char kNumpy_fortran[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }        "
    "                                                   \x0a\x00\x00\x00\x00\x00\x00@@\x00"
    "\x00\x80?\x00\x00\x80@\x00\x00\x00@\x00\x00\xa0@";
const char kNumpy_bigendian[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }         "
    "                                                   \x0a?\x80\x00\x00@\x00\x00\x00";
const char kNumpy_object[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '|O', 'fortran_order': False, 'shape': (2,), }          "
    "                                                   \x0a\x80\x04\x95\x8d\x00\x00\x00\x00"
    "\x00\x00\x00\x8c\x16numpy._core.multiarray\x94\x8c\x0c_reconstruct\x94\x93\x94\x8c\x05nu"
    "mpy\x94\x8c\x07ndarray\x94\x93\x94K\x00\x85\x94" "C\x01" "b\x94\x87\x94R\x94(K\x01K\x02"
    "\x85\x94h\x03\x8c\x05" "dtype\x94\x93\x94\x8c\x02O8\x94\x89\x88\x87\x94R\x94(K\x03\x8c"
    "\x01|\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK?t\x94" "b\x89]\x94(NK\x01" "et\x94" "b.";
const char kNumpy_structured[] =
    "\x93NUMPY\x01\x00v\x00{'descr': [('a', '<f4'), ('b', '<i4')], 'fortran_order': False, 's"
    "hape': (1,), }                                     \x0a\x00\x00\x00\x00\x00\x00\x00\x00";
const char kNumpy_f8[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }         "
    "                                                   \x0a\x00\x00\x00\x00\x00\x00\xf8?";

const char kNumpy_f4_zero_16d[] =
    "\x93NUMPY\x01\x00\xb6\x00{'descr': '<f4', 'fortran_order': False, 'shape': (0, 1, 1, 1, "
    "1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1), }                                                  "
    "                              \x0a";

template <size_t N>
std::vector<uint8_t> lit(const char (&s)[N]) {
    return std::vector<uint8_t>(s, s + N - 1);  // drop the literal's terminating NUL
}

std::vector<uint8_t> as_bytes(const std::string &s) { return std::vector<uint8_t>(s.begin(), s.end()); }

// A .npy file with the header text taken verbatim (no padding added) and the given data.
std::vector<uint8_t> npy_file(const std::string &header, const std::string &data = "",
                              int major = 1, int minor = 0) {
    std::string s("\x93NUMPY", 6);
    s += static_cast<char>(major);
    s += static_cast<char>(minor);
    const size_t len_bytes = major == 1 ? 2 : 4;
    for (size_t i = 0; i < len_bytes; ++i) s += static_cast<char>((header.size() >> (8 * i)) & 0xff);
    return as_bytes(s + header + data);
}

// The header dict with each value given as Python source.
std::string dict(const std::string &descr, const std::string &fortran, const std::string &shape) {
    return "{'descr': " + descr + ", 'fortran_order': " + fortran + ", 'shape': " + shape + ", }\n";
}

// Parses `file`, requires a refusal with a one-line message and an untouched output; returns
// the message.
std::string refusal(const std::vector<uint8_t> &file) {
    npy::Array a;
    a.descr = "untouched";
    const Status st = npy::parse(file.data(), file.size(), &a);
    REQUIRE_FALSE(st.ok());
    CHECK(a.descr == "untouched");
    CHECK_FALSE(st.message().empty());
    CHECK(st.message().find('\n') == std::string::npos);
    return st.message();
}

npy::Array parsed(const std::vector<uint8_t> &file) {
    npy::Array a;
    const Status st = npy::parse(file.data(), file.size(), &a);
    INFO(st.message());
    REQUIRE(st.ok());
    return a;
}

template <typename T>
std::vector<T> values(const npy::Array &a) {
    REQUIRE(a.data.size() % sizeof(T) == 0);
    std::vector<T> v(a.data.size() / sizeof(T));
    if (!v.empty()) std::memcpy(v.data(), a.data.data(), a.data.size());
    return v;
}

std::vector<uint8_t> file_bytes(const fs::path &p) {
    std::ifstream in(p, std::ios::binary);
    REQUIRE(in.good());
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void put_file(const fs::path &p, const std::vector<uint8_t> &bytes) {
    std::ofstream out(p, std::ios::binary);
    out.write(reinterpret_cast<const char *>(bytes.data()), std::streamsize(bytes.size()));
    REQUIRE(out.good());
}

struct TempDir {
    fs::path path;
    TempDir() {
        std::string t = (fs::temp_directory_path() / "poolgen_npy_test.XXXXXX").string();
        REQUIRE(::mkdtemp(&t[0]) != nullptr);
        path = t;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    std::vector<std::string> entries() const {
        std::vector<std::string> names;
        for (const auto &e : fs::directory_iterator(path)) names.push_back(e.path().filename().string());
        std::sort(names.begin(), names.end());
        return names;
    }
};

const std::vector<std::vector<int64_t>> kShapes = {{}, {0}, {5}, {2, 3}, {2, 0, 3}, {1, 2, 3, 4}, {3, 1}};

int64_t product(const std::vector<int64_t> &shape) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
}

template <typename T>
void check_round_trip(const std::string &descr, T (*value)(int64_t)) {
    TempDir dir;
    for (const auto &shape : kShapes) {
        std::vector<T> v(static_cast<size_t>(product(shape)));
        for (size_t i = 0; i < v.size(); ++i) v[i] = value(int64_t(i));
        const fs::path p = dir.path / "a.npy";
        INFO("descr " << descr << ", " << shape.size() << "-d shape of " << v.size() << " elements");
        const Status w = npy::write(p.string(), descr, shape, v.data(), v.size() * sizeof(T));
        INFO(w.message());
        REQUIRE(w.ok());

        npy::Array a;
        const Status r = npy::read(p.string(), &a);
        INFO(r.message());
        REQUIRE(r.ok());
        CHECK(a.descr == descr);
        CHECK(a.shape == shape);
        CHECK(a.item_size() == sizeof(T));
        CHECK(a.elements() == int64_t(v.size()));
        CHECK(values<T>(a) == v);

        // parse() of the same bytes agrees, and the data starts 64-byte aligned as with numpy.save.
        const auto bytes = file_bytes(p);
        CHECK((bytes.size() - v.size() * sizeof(T)) % 64 == 0);
        const npy::Array b = parsed(bytes);
        CHECK(b.shape == shape);
        CHECK(b.data == a.data);
    }
    CHECK(dir.entries() == std::vector<std::string>{"a.npy"});
}

}  // namespace

TEST_CASE("npy: f4 arrays round-trip for several shapes, including () and zero-size", "[npy]") {
    check_round_trip<float>("<f4", [](int64_t i) { return float(i) * 0.25f - 3.0f; });
}

TEST_CASE("npy: i8 arrays round-trip for several shapes, including () and zero-size", "[npy]") {
    check_round_trip<int64_t>("<i8", [](int64_t i) {
        return (i % 2 ? -1 : 1) * (int64_t(1) << 40) * (i + 1) + i;
    });
}

TEST_CASE("npy: every supported descr round-trips with its item size", "[npy]") {
    TempDir dir;
    const std::vector<std::pair<std::string, size_t>> descrs = {
        {"<f4", 4}, {"<f2", 2}, {"<u2", 2}, {"<i8", 8}, {"<i4", 4},
        {"<u1", 1}, {"<i1", 1}, {"|u1", 1}, {"|i1", 1}};
    for (const auto &[descr, size] : descrs) {
        INFO(descr);
        CHECK(npy::descr_item_size(descr) == size);
        std::vector<uint8_t> data(3 * size);
        for (size_t i = 0; i < data.size(); ++i) data[i] = uint8_t(i * 37 + 1);
        const std::string p = (dir.path / "d.npy").string();
        REQUIRE(npy::write(p, descr, {3}, data.data(), data.size()).ok());
        npy::Array a;
        REQUIRE(npy::read(p, &a).ok());
        CHECK(a.descr == descr);
        CHECK(a.item_size() == size);
        CHECK(a.data == data);
    }
}

TEST_CASE("npy: parse() reads files written by NumPy", "[npy]") {
    SECTION("f4 (2, 3)") {
        const npy::Array a = parsed(lit(kNumpy_f4_2x3));
        CHECK(a.descr == "<f4");
        CHECK(a.shape == std::vector<int64_t>{2, 3});
        CHECK(values<float>(a) == std::vector<float>{0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 2.5f});
    }
    SECTION("i8 (3,)") {
        const npy::Array a = parsed(lit(kNumpy_i8_3));
        CHECK(a.descr == "<i8");
        CHECK(a.shape == std::vector<int64_t>{3});
        CHECK(values<int64_t>(a) == std::vector<int64_t>{-1, 2, 3});
    }
    SECTION("u2 ()") {
        const npy::Array a = parsed(lit(kNumpy_u2_scalar));
        CHECK(a.descr == "<u2");
        CHECK(a.shape.empty());
        CHECK(a.elements() == 1);
        CHECK(values<uint16_t>(a) == std::vector<uint16_t>{7});
    }
    SECTION("format 2.0") {
        const npy::Array a = parsed(lit(kNumpy_i4_v2));
        CHECK(a.descr == "<i4");
        CHECK(values<int32_t>(a) == std::vector<int32_t>{1, -2});
    }
    SECTION("format 3.0 with a '|u1' descr") {
        const npy::Array a = parsed(lit(kNumpy_u1_v3));
        CHECK(a.descr == "|u1");
        CHECK(a.shape == std::vector<int64_t>{1, 2});
        CHECK(a.data == std::vector<uint8_t>{1, 2});
    }
}

TEST_CASE("npy: write() produces exactly the bytes of numpy.save", "[npy]") {
    TempDir dir;
    const std::string p = (dir.path / "w.npy").string();
    SECTION("f4 (2, 3)") {
        const std::vector<float> v = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 2.5f};
        REQUIRE(npy::write(p, "<f4", {2, 3}, v.data(), v.size() * 4).ok());
        CHECK(file_bytes(p) == lit(kNumpy_f4_2x3));
    }
    SECTION("i8 (3,)") {
        const std::vector<int64_t> v = {-1, 2, 3};
        REQUIRE(npy::write(p, "<i8", {3}, v.data(), v.size() * 8).ok());
        CHECK(file_bytes(p) == lit(kNumpy_i8_3));
    }
    SECTION("u2 ()") {
        const uint16_t v = 7;
        REQUIRE(npy::write(p, "<u2", {}, &v, 2).ok());
        CHECK(file_bytes(p) == lit(kNumpy_u2_scalar));
    }
    SECTION("f4 zero-size with 16 dims, no data pointer") {
        std::vector<int64_t> shape(16, 1);
        shape[0] = 0;
        REQUIRE(npy::write(p, "<f4", shape, nullptr, 0).ok());
        CHECK(file_bytes(p) == lit(kNumpy_f4_zero_16d));
    }
}

TEST_CASE("npy: accepts other spellings of the same header dict", "[npy]") {
    const std::string data(8, '\0');
    const char *headers[] = {
        "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2,)}",
        "{'shape': (2,), 'fortran_order': False, 'descr': '<f4'}",
        "{'descr':'<f4','fortran_order':False,'shape':(2,),}",
        "{ 'descr' : '<f4' ,\n\t'fortran_order' : False ,\r\n 'shape' : ( 2 , ) }  \n\n",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, )}",
    };
    for (const char *h : headers) {
        INFO(h);
        const npy::Array a = parsed(npy_file(h, data));
        CHECK(a.descr == "<f4");
        CHECK(a.elements() == 2);
    }
    CHECK(parsed(npy_file(dict("'<f4'", "False", "()"), std::string(4, '\0'))).shape.empty());
}

TEST_CASE("npy: refuses bad magic", "[npy]") {
    const std::string good = dict("'<f4'", "False", "(2,)");
    auto file = npy_file(good, std::string(8, '\0'));
    SECTION("wrong letter") { file[5] = 'Z'; }
    SECTION("missing \\x93") { file[0] = 'N'; }
    SECTION("empty file") { file.clear(); }
    SECTION("shorter than the magic") { file.resize(4); }
    SECTION("a PNG") { file = as_bytes("\x89PNG\r\n\x1a\n0000"); }
    CHECK_THAT(refusal(file), Contains("magic"));
}

TEST_CASE("npy: refuses unsupported format versions", "[npy]") {
    const std::string good = dict("'<f4'", "False", "(2,)");
    const std::string data(8, '\0');
    CHECK_THAT(refusal(npy_file(good, data, 4, 0)), Contains("version 4.0"));
    CHECK_THAT(refusal(npy_file(good, data, 0, 0)), Contains("version 0.0"));
    CHECK_THAT(refusal(npy_file(good, data, 1, 1)), Contains("version 1.1"));
    CHECK_THAT(refusal(npy_file(good, data, 255, 0)), Contains("version 255.0"));
}

TEST_CASE("npy: refuses a header length that runs past the file", "[npy]") {
    const std::string good = dict("'<f4'", "False", "(2,)");
    SECTION("format 1.0") {
        auto file = npy_file(good);
        file.resize(file.size() - 1);  // header length now one past the end
        CHECK_THAT(refusal(file), Contains("header length") && Contains("past the end"));
    }
    SECTION("format 2.0 with a huge length") {
        auto file = npy_file(good, "", 2);
        file[8] = file[9] = file[10] = file[11] = 0xff;
        CHECK_THAT(refusal(file), Contains("header length 4294967295") && Contains("past the end"));
    }
    SECTION("file ends inside the length field") {
        auto file = npy_file(good, "", 2);
        file.resize(10);
        CHECK_THAT(refusal(file), Contains("header length"));
    }
}

TEST_CASE("npy: refuses a header that is not the strict dict literal", "[npy]") {
    const std::string d8(8, '\0');
    const std::string dict_msg = "not a valid Python dict literal";
    auto refused = [&](const std::string &header) { return refusal(npy_file(header, d8)); };

    CHECK_THAT(refused(""), Contains(dict_msg));
    CHECK_THAT(refused("[1, 2]\n"), Contains(dict_msg));
    CHECK_THAT(refused(" {'descr': '<f4', 'fortran_order': False, 'shape': (2,)}"), Contains(dict_msg));
    CHECK_THAT(refused("{descr: '<f4', 'fortran_order': False, 'shape': (2,)}"), Contains(dict_msg));
    CHECK_THAT(refused("{'descr' '<f4', 'fortran_order': False, 'shape': (2,)}"),
               Contains(dict_msg) && Contains("':'"));
    CHECK_THAT(refused("{'descr': '<f4' 'fortran_order': False, 'shape': (2,)}"),
               Contains(dict_msg) && Contains("','"));
    CHECK_THAT(refused("{'descr': '<f4\", 'fortran_order': False, 'shape': (2,)}"), Contains(dict_msg));
    CHECK_THAT(refused("{'descr': '<f4"), Contains("unterminated string"));
    CHECK_THAT(refused("{'descr': '<f\\x34', 'fortran_order': False, 'shape': (2,)}"),
               Contains("escape"));
    CHECK_THAT(refused("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)"),
               Contains(dict_msg) && Contains("end of the header"));
    CHECK_THAT(refused("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)}x\n"),
               Contains("after the closing '}'"));
    CHECK_THAT(refused("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)}" + std::string(2, '\0')),
               Contains("after the closing '}'"));
    CHECK_THAT(refused("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} # note\n"),
               Contains(dict_msg));
    CHECK_THAT(refused("{'descr': '<f\xc3\xa9" "4', 'fortran_order': False, 'shape': (2,)}"),
               Contains("non-ASCII"));

    // Exactly the three keys.
    CHECK_THAT(refused("{'descr': '<f4', 'fortran_order': False}"), Contains("missing key 'shape'"));
    CHECK_THAT(refused("{'fortran_order': False, 'shape': (2,)}"), Contains("missing key 'descr'"));
    CHECK_THAT(refused("{'descr': '<f4', 'shape': (2,)}"), Contains("missing key 'fortran_order'"));
    CHECK_THAT(refused("{}"), Contains("missing key"));
    CHECK_THAT(refused("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}"),
               Contains("unexpected key 'extra'"));
    CHECK_THAT(refused("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}"),
               Contains("duplicate key 'descr'"));

    // fortran_order must be a Python bool.
    for (const char *v : {"true", "0", "Truex", "'False'", "None"})
        CHECK_THAT(refused(dict("'<f4'", v, "(2,)")), Contains("True or False"));

    // shape must be a flat tuple of non-negative decimal integers.
    CHECK_THAT(refused(dict("'<f4'", "False", "[2]")), Contains("'shape' must be a tuple"));
    CHECK_THAT(refused(dict("'<f4'", "False", "2")), Contains("'shape' must be a tuple"));
    CHECK_THAT(refused(dict("'<f4'", "False", "(2)")), Contains("trailing comma"));
    CHECK_THAT(refused(dict("'<f4'", "False", "(,)")), Contains("non-negative integer"));
    CHECK_THAT(refused(dict("'<f4'", "False", "((2,),)")), Contains("non-negative integer"));
    CHECK_THAT(refused(dict("'<f4'", "False", "(+2,)")), Contains("non-negative integer"));
    CHECK_THAT(refused(dict("'<f4'", "False", "(2,,)")), Contains("non-negative integer"));
    CHECK_THAT(refused(dict("'<f4'", "False", "(2.0,)")), Contains("expected ',' or ')'"));
    CHECK_THAT(refused(dict("'<f4'", "False", "(0x2,)")), Contains("expected ',' or ')'"));
    CHECK_THAT(refused(dict("'<f4'", "False", "(2L,)")), Contains("expected ',' or ')'"));
    CHECK_THAT(refused(dict("'<f4'", "False", "(02,)")), Contains("leading zero"));
}

TEST_CASE("npy: refuses Fortran-order arrays", "[npy]") {
    const std::string msg = "Fortran-order arrays are not supported; save with np.ascontiguousarray";
    CHECK_THAT(refusal(lit(kNumpy_fortran)), Contains(msg));
    CHECK_THAT(refusal(npy_file(dict("'<f4'", "True", "(2,)"), std::string(8, '\0'))), Contains(msg));
}

TEST_CASE("npy: refuses object, structured, big-endian and unsupported dtypes", "[npy]") {
    auto crafted = [](const std::string &descr) {
        return refusal(npy_file(dict(descr, "False", "(1,)"), std::string(4, '\0')));
    };
    SECTION("object (needs pickle)") {
        CHECK_THAT(refusal(lit(kNumpy_object)), Contains("object") && Contains("pickle"));
        CHECK_THAT(crafted("'<O'"), Contains("object"));
        CHECK_THAT(crafted("'|O8'"), Contains("object"));
    }
    SECTION("structured (a list as descr)") {
        CHECK_THAT(refusal(lit(kNumpy_structured)), Contains("structured"));
        CHECK_THAT(crafted("[('a', '<f4')]"), Contains("structured"));
    }
    SECTION("big-endian") {
        CHECK_THAT(refusal(lit(kNumpy_bigendian)), Contains("big-endian data is not supported"));
        CHECK_THAT(crafted("'>i8'"), Contains("big-endian data is not supported"));
        CHECK_THAT(crafted("'!u2'"), Contains("big-endian data is not supported"));
    }
    SECTION("other dtypes") {
        CHECK_THAT(refusal(lit(kNumpy_f8)), Contains("unsupported dtype '<f8'"));
        for (const char *d : {"'<c8'", "'|b1'", "'|V4'", "'=f4'", "'f4'", "'<F4'", "''", "'<f4 '"})
            CHECK_THAT(crafted(d), Contains("unsupported dtype"));
    }
    SECTION("descr that is not a string") {
        CHECK_THAT(crafted("4"), Contains("expected a quoted string"));
    }
}

TEST_CASE("npy: refuses negative, overflowing and oversized shapes", "[npy]") {
    auto refused = [](const std::string &shape, const std::string &data = "") {
        return refusal(npy_file(dict("'|u1'", "False", shape), data));
    };
    CHECK_THAT(refused("(-1,)"), Contains("negative") && Contains("-1"));
    CHECK_THAT(refused("(2, -3)"), Contains("negative") && Contains("-3"));
    CHECK_THAT(refused("(-0,)"), Contains("negative"));
    CHECK_THAT(refused("(9223372036854775808,)"), Contains("overflows int64"));
    CHECK_THAT(refused("(4294967296, 4294967296)"), Contains("overflows int64"));
    CHECK_THAT(refused("(3037000500, 3037000500, 0)"), Contains("overflows int64"));
    CHECK_THAT(refused("(2147483648,)"), Contains("2^31-1"));
    CHECK_THAT(refused("(65536, 32768)"), Contains("2147483648 elements") && Contains("2^31-1"));
    CHECK_THAT(refused("(0, 4294967296)"), Contains("2^31-1"));
    // The largest allowed count passes the shape checks and is refused only for its missing data.
    CHECK_THAT(refused("(2147483647,)"), Contains("truncated data"));
    CHECK_THAT(refused("(9223372036854775807, 0)", "x"), Contains("2^31-1"));
}

TEST_CASE("npy: refuses truncated data and trailing bytes", "[npy]") {
    auto refused = [](const std::string &descr, const std::string &shape, size_t data_bytes) {
        return refusal(npy_file(dict(descr, "False", shape), std::string(data_bytes, '\x01')));
    };
    CHECK_THAT(refused("'<f4'", "(2,)", 7), Contains("truncated data") && Contains("needs 8") &&
                                                Contains("7 follow"));
    CHECK_THAT(refused("'<f4'", "(2,)", 9), Contains("trailing bytes") && Contains("9 follow"));
    CHECK_THAT(refused("'<i8'", "()", 0), Contains("truncated data"));
    CHECK_THAT(refused("'<i8'", "(0, 3)", 1), Contains("trailing bytes"));
    auto file = lit(kNumpy_f4_2x3);
    file.pop_back();
    CHECK_THAT(refusal(file), Contains("truncated data"));
    file.push_back(0);
    file.push_back(0);
    CHECK_THAT(refusal(file), Contains("trailing bytes"));
}

TEST_CASE("npy: parse() and read() refuse null or missing inputs", "[npy]") {
    const auto file = lit(kNumpy_i8_3);
    CHECK_FALSE(npy::parse(file.data(), file.size(), nullptr).ok());
    npy::Array a;
    CHECK_FALSE(npy::parse(nullptr, 10, &a).ok());
    CHECK_THAT(npy::parse(nullptr, 0, &a).message(), Contains("magic"));
    CHECK_FALSE(npy::read("/nonexistent", nullptr).ok());
}

TEST_CASE("npy: read() judges data against the file size and prefixes messages with the path",
          "[npy]") {
    TempDir dir;
    const std::string p = (dir.path / "in.npy").string();
    npy::Array a;
    a.descr = "untouched";
    auto refused = [&](const std::vector<uint8_t> &bytes) {
        put_file(p, bytes);
        const Status st = npy::read(p, &a);
        REQUIRE_FALSE(st.ok());
        CHECK(a.descr == "untouched");
        CHECK(st.message().find('\n') == std::string::npos);
        CHECK_THAT(st.message(), StartsWith(p + ": "));
        return st.message();
    };
    auto file = lit(kNumpy_f4_2x3);
    file.resize(file.size() - 4);
    CHECK_THAT(refused(file), Contains("truncated data") && Contains("needs 24") && Contains("20 follow"));
    file.resize(file.size() + 8);
    CHECK_THAT(refused(file), Contains("trailing bytes") && Contains("28 follow"));
    file.resize(100);
    CHECK_THAT(refused(file), Contains("header length") && Contains("past the end"));
    CHECK_THAT(refused({}), Contains("magic"));
    CHECK_THAT(refused(lit(kNumpy_bigendian)), Contains("big-endian data is not supported"));
    CHECK_THAT(refused(lit(kNumpy_fortran)), Contains("np.ascontiguousarray"));

    const std::string missing = (dir.path / "missing.npy").string();
    CHECK_THAT(npy::read(missing, &a).message(), StartsWith(missing + ": ") && Contains("cannot open"));
    CHECK_THAT(npy::read(dir.path.string(), &a).message(), StartsWith(dir.path.string() + ": "));

    put_file(p, lit(kNumpy_u1_v3));
    REQUIRE(npy::read(p, &a).ok());
    CHECK(a.data == std::vector<uint8_t>{1, 2});
}

TEST_CASE("npy: write() refuses bad arguments and leaves no file behind", "[npy]") {
    TempDir dir;
    const std::string p = (dir.path / "out.npy").string();
    const std::vector<float> v(6, 1.0f);
    Status st;
    SECTION("size mismatch") {
        st = npy::write(p, "<f4", {2, 3}, v.data(), 20);
        CHECK_THAT(st.message(), Contains("data size mismatch") && Contains("needs 24") &&
                                     Contains("20 were given"));
    }
    SECTION("size mismatch for a zero-size array") {
        st = npy::write(p, "<f4", {0, 3}, v.data(), 4);
        CHECK_THAT(st.message(), Contains("data size mismatch"));
    }
    SECTION("unsupported descr") {
        st = npy::write(p, "<f8", {3}, v.data(), 24);
        CHECK_THAT(st.message(), Contains("unsupported dtype '<f8'"));
    }
    SECTION("big-endian descr") {
        st = npy::write(p, ">f4", {6}, v.data(), 24);
        CHECK_THAT(st.message(), Contains("big-endian"));
    }
    SECTION("negative dimension") {
        st = npy::write(p, "<f4", {-2, -3}, v.data(), 24);
        CHECK_THAT(st.message(), Contains("negative"));
    }
    SECTION("too many elements") {
        st = npy::write(p, "|u1", {65536, 32768}, v.data(), 24);
        CHECK_THAT(st.message(), Contains("2^31-1"));
    }
    SECTION("null data") {
        st = npy::write(p, "<f4", {6}, nullptr, 24);
        CHECK_THAT(st.message(), Contains("null"));
    }
    SECTION("target is a directory: fails after the temporary was written") {
        fs::create_directory(p);
        st = npy::write(p, "<f4", {6}, v.data(), 24);
        CHECK_THAT(st.message(), Contains("rename"));
        CHECK(fs::is_directory(p));
        CHECK(fs::is_empty(p));
    }
    REQUIRE_FALSE(st.ok());
    CHECK_THAT(st.message(), StartsWith(p + ": "));
    CHECK(st.message().find('\n') == std::string::npos);
    CHECK(fs::exists(p) == fs::is_directory(p));
    // No stray temporary either: only the directory made by the last section may be there.
    const auto entries = dir.entries();
    CHECK(entries.size() == (fs::exists(p) ? 1u : 0u));
}

TEST_CASE("npy: write() into a missing directory fails cleanly", "[npy]") {
    TempDir dir;
    const std::string p = (dir.path / "no" / "such" / "dir.npy").string();
    const int32_t v = 1;
    const Status st = npy::write(p, "<i4", {}, &v, 4);
    REQUIRE_FALSE(st.ok());
    CHECK_THAT(st.message(), StartsWith(p + ": ") && Contains("temporary"));
    CHECK(dir.entries().empty());
}

TEST_CASE("npy: write() replaces an existing file atomically", "[npy]") {
    TempDir dir;
    const fs::path p = dir.path / "x.npy";
    const std::vector<float> first = {1.0f, 2.0f};
    REQUIRE(npy::write(p.string(), "<f4", {2}, first.data(), 8).ok());
    const auto first_bytes = file_bytes(p);

    // A reader holding the old file keeps seeing it whole: the new file is renamed over it rather
    // than truncated and rewritten in place.
    const int fd = ::open(p.c_str(), O_RDONLY);
    REQUIRE(fd >= 0);

    const std::vector<int64_t> second = {7, 8, 9};
    REQUIRE(npy::write(p.string(), "<i8", {3}, second.data(), 24).ok());
    std::vector<uint8_t> old(first_bytes.size() + 16);
    const ssize_t n = ::pread(fd, old.data(), old.size(), 0);
    ::close(fd);
    REQUIRE(n >= 0);
    old.resize(size_t(n));
    CHECK(old == first_bytes);

    npy::Array a;
    REQUIRE(npy::read(p.string(), &a).ok());
    CHECK(a.descr == "<i8");
    CHECK(values<int64_t>(a) == second);
    CHECK(dir.entries() == std::vector<std::string>{"x.npy"});

    // A failed write leaves the existing file exactly as it was.
    const auto second_bytes = file_bytes(p);
    CHECK_FALSE(npy::write(p.string(), "<i8", {3}, second.data(), 23).ok());
    CHECK(file_bytes(p) == second_bytes);
    CHECK(dir.entries() == std::vector<std::string>{"x.npy"});
}
