// The .npy header format (numpy/lib/format.py, NEP 1): preamble, header dict, descr and shape.
#include "npy_format.h"

#include <cstring>
#include <limits>
#include <utility>

#include "poolgen/util.h"

namespace poolgen::npy::format {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;
constexpr int64_t kMaxElements = 2147483647;  // 2^31-1: extents and strides must fit Halide's int32
constexpr char kSupported[] = "<f4, <f2, <u2, <i8, <i4, <u1, <i1 (or |u1, |i1)";

// Text taken from a file, made safe for a one-line message.
std::string excerpt(const char *p, size_t n) { return util::printable(std::string(p, n), 40); }


}  // namespace

std::string quoted(const std::string &s) { return "'" + excerpt(s.data(), s.size()) + "'"; }

// Python's repr of a tuple, as numpy.save writes it: (), (3,), (2, 3).
std::string shape_str(const std::vector<int64_t> &shape) {
    std::string s = "(";
    for (size_t i = 0; i < shape.size(); ++i) {
        if (i > 0) s += ", ";
        s += std::to_string(shape[i]);
    }
    if (shape.size() == 1) s += ",";
    return s + ")";
}

Status check_descr(const std::string &descr) {
    if (descr_item_size(descr) != 0) return Status::Ok();
    const size_t body = (!descr.empty() && std::strchr("<>|=!", descr[0]) != nullptr) ? 1 : 0;
    if (descr.size() > body && descr[body] == 'O')
        return Status::Error("object arrays (dtype " + quoted(descr) +
                             ") need pickle and are not supported");
    if (!descr.empty() && (descr[0] == '>' || descr[0] == '!'))
        return Status::Error("big-endian data is not supported (dtype " + quoted(descr) +
                             "); save it as little-endian, e.g. arr.astype('<f4')");
    return Status::Error("unsupported dtype " + quoted(descr) + "; supported: " + kSupported);
}

// Counts elements, refusing negative dims and sizes past kMaxElements. Zero-size arrays still
// need their other dims bounded: consumers compute strides from them.
Status check_shape(const std::vector<int64_t> &shape, int64_t *elements) {
    int64_t nonzero = 1;
    bool any_zero = false;
    for (int64_t d : shape) {
        if (d < 0)
            return Status::Error("shape " + shape_str(shape) + " has negative dimension " +
                                 std::to_string(d));
        if (d == 0) {
            any_zero = true;
        } else if (nonzero > std::numeric_limits<int64_t>::max() / d) {
            return Status::Error("shape " + shape_str(shape) + ": element count overflows int64");
        } else {
            nonzero *= d;
        }
    }
    if (nonzero > kMaxElements)
        return Status::Error("shape " + shape_str(shape) + (any_zero ? ": non-zero dims multiply to "
                                                                     : " has ") +
                             std::to_string(nonzero) + " elements, more than the supported 2^31-1");
    *elements = any_zero ? 0 : nonzero;
    return Status::Ok();
}

namespace {

struct Header {
    std::string descr;
    bool fortran_order = false;
    std::vector<int64_t> shape;
};

// Parses the header dict exactly as numpy writes it (and any equivalent Python literal of the
// same plain form): no expressions, escapes, comments or nested tuples.
class DictParser {
public:
    DictParser(const char *p, size_t n) : p_(p), n_(n) {}

    Status parse(Header *h) {
        if (peek() != '{') return error("expected '{'");
        ++i_;
        bool have_descr = false, have_fortran = false, have_shape = false;
        skip_ws();
        while (peek() != '}') {
            std::string key;
            Status st = parse_string(&key);
            if (!st.ok()) return st;
            bool *seen = key == "descr"           ? &have_descr
                         : key == "fortran_order" ? &have_fortran
                         : key == "shape"         ? &have_shape
                                                  : nullptr;
            if (seen == nullptr)
                return Status::Error("header has unexpected key " + quoted(key) +
                                     "; only 'descr', 'fortran_order' and 'shape' are allowed");
            if (*seen) return Status::Error("header has duplicate key " + quoted(key));
            *seen = true;
            skip_ws();
            if (peek() != ':') return error("expected ':' after key " + quoted(key));
            ++i_;
            skip_ws();
            if (key == "descr") {
                if (peek() == '[')
                    return Status::Error("structured dtypes (a list as descr) are not supported");
                st = parse_string(&h->descr);
            } else if (key == "fortran_order") {
                st = parse_bool(&h->fortran_order);
            } else {
                st = parse_shape(&h->shape);
            }
            if (!st.ok()) return st;
            skip_ws();
            if (peek() == ',') {
                ++i_;
                skip_ws();
            } else if (peek() != '}') {
                return error("expected ',' or '}'");
            }
        }
        ++i_;
        for (; i_ < n_; ++i_)  // numpy pads with spaces and a final newline
            if (!is_ws(p_[i_])) return error("unexpected text after the closing '}'");
        if (!have_descr) return Status::Error("header is missing key 'descr'");
        if (!have_fortran) return Status::Error("header is missing key 'fortran_order'");
        if (!have_shape) return Status::Error("header is missing key 'shape'");
        return Status::Ok();
    }

private:
    static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }
    static bool is_digit(char c) { return c >= '0' && c <= '9'; }
    static bool is_ident(char c) {
        return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    }
    char peek() const { return i_ < n_ ? p_[i_] : '\0'; }
    void skip_ws() {
        while (i_ < n_ && is_ws(p_[i_])) ++i_;
    }
    Status error(const std::string &what) const {
        const std::string where = i_ >= n_ ? "at the end of the header"
                                           : "at header byte " + std::to_string(i_) + " ('" +
                                                 excerpt(p_ + i_, n_ - i_) + "')";
        return Status::Error("header is not a valid Python dict literal: " + what + " " + where);
    }

    Status parse_string(std::string *s) {
        const char quote = peek();
        if (quote != '\'' && quote != '"') return error("expected a quoted string");
        const size_t start = ++i_;
        for (; i_ < n_ && p_[i_] != quote; ++i_) {
            const unsigned char c = static_cast<unsigned char>(p_[i_]);
            if (c == '\\') return error("escape sequences in strings are not supported");
            if (c < 0x20 || c >= 0x7f) return error("non-printable or non-ASCII character in string");
        }
        if (i_ >= n_) return error("unterminated string");
        s->assign(p_ + start, i_ - start);
        ++i_;
        return Status::Ok();
    }

    Status parse_bool(bool *b) {
        for (const char *word : {"True", "False"}) {
            const size_t len = std::strlen(word);
            if (n_ - i_ >= len && std::memcmp(p_ + i_, word, len) == 0 &&
                !is_ident(i_ + len < n_ ? p_[i_ + len] : ' ')) {
                *b = word[0] == 'T';
                i_ += len;
                return Status::Ok();
            }
        }
        return error("'fortran_order' must be True or False");
    }

    Status parse_shape(std::vector<int64_t> *shape) {
        if (peek() != '(') return error("'shape' must be a tuple of non-negative integers");
        ++i_;
        skip_ws();
        bool trailing_comma = false;
        while (peek() != ')') {
            int64_t dim = 0;
            Status st = parse_dim(&dim);
            if (!st.ok()) return st;
            shape->push_back(dim);
            skip_ws();
            trailing_comma = peek() == ',';
            if (trailing_comma) {
                ++i_;
                skip_ws();
            } else if (peek() != ')') {
                return error("expected ',' or ')' in 'shape'");
            }
        }
        ++i_;
        // In Python "(3)" is the int 3, not a tuple.
        if (shape->size() == 1 && !trailing_comma)
            return Status::Error("'shape' (" + std::to_string((*shape)[0]) +
                                 ") is not a tuple: a 1-element tuple needs a trailing comma");
        return Status::Ok();
    }

    Status parse_dim(int64_t *dim) {
        const size_t start = i_;
        const bool negative = peek() == '-';
        if (negative) ++i_;
        if (!is_digit(peek())) return error("expected a non-negative integer in 'shape'");
        const size_t digits = i_;
        bool overflow = false;
        int64_t v = 0;
        for (; is_digit(peek()); ++i_) {
            const int d = peek() - '0';
            if (v > (std::numeric_limits<int64_t>::max() - d) / 10) overflow = true;
            else v = v * 10 + d;
        }
        const std::string text = excerpt(p_ + start, i_ - start);
        if (i_ - digits > 1 && p_[digits] == '0')
            return Status::Error("shape dimension " + text + " is not a valid integer (leading zero)");
        if (negative) return Status::Error("shape dimension " + text + " is negative");
        if (overflow) return Status::Error("shape dimension " + text + " overflows int64");
        *dim = v;
        return Status::Ok();
    }

    const char *p_;
    size_t n_;
    size_t i_ = 0;
};

}  // namespace

// Checks magic, version and header length; `n` bytes are available, `file_size` is the real total.
Status parse_preamble(const uint8_t *b, size_t n, uint64_t file_size, Preamble *p) {
    if (n < kMagicLen || std::memcmp(b, kMagic, kMagicLen) != 0)
        return Status::Error("not a .npy file (bad magic: it must start with \\x93NUMPY)");
    if (n < 8) return Status::Error("truncated .npy preamble: the file ends before the version");
    const int major = b[6], minor = b[7];
    if (major < 1 || major > 3 || minor != 0)
        return Status::Error("unsupported .npy format version " + std::to_string(major) + "." +
                             std::to_string(minor) + " (only 1.0, 2.0 and 3.0 are supported)");
    const size_t len_bytes = major == 1 ? 2 : 4;
    if (n < 8 + len_bytes)
        return Status::Error("truncated .npy preamble: the file ends inside the header length");
    uint64_t len = 0;
    for (size_t i = 0; i < len_bytes; ++i) len |= uint64_t(b[8 + i]) << (8 * i);
    p->dict_offset = 8 + len_bytes;
    if (len > file_size - p->dict_offset)
        return Status::Error("header length " + std::to_string(len) +
                             " runs past the end of the file (only " +
                             std::to_string(file_size - p->dict_offset) +
                             " bytes follow the preamble)");
    p->dict_len = static_cast<size_t>(len);
    return Status::Ok();
}

// Parses and validates the header dict against `data_avail`, the bytes actually present after it.
// Fills meta's descr and shape (not data) and the data size.
Status decode_header(const uint8_t *dict, size_t len, uint64_t data_avail, Array *meta,
                     size_t *data_bytes) {
    Header h;
    Status st = DictParser(reinterpret_cast<const char *>(dict), len).parse(&h);
    if (!st.ok()) return st;
    st = check_descr(h.descr);
    if (!st.ok()) return st;
    if (h.fortran_order)
        return Status::Error(
            "Fortran-order arrays are not supported; save with np.ascontiguousarray");
    int64_t elements = 0;
    st = check_shape(h.shape, &elements);
    if (!st.ok()) return st;
    const uint64_t want = uint64_t(elements) * descr_item_size(h.descr);
    if (data_avail != want)
        return Status::Error(std::string(data_avail < want ? "truncated data" : "trailing bytes") +
                             ": shape " + shape_str(h.shape) + " of " + quoted(h.descr) +
                             " needs " + std::to_string(want) + " data bytes but " +
                             std::to_string(data_avail) + " follow the header");
    meta->descr = std::move(h.descr);
    meta->shape = std::move(h.shape);
    *data_bytes = static_cast<size_t>(want);
    return Status::Ok();
}

// The whole header as numpy.save writes it: the dict, 21 - len(str(shape[0])) spaces of growth
// room, then spaces and a newline so the data starts 64-byte aligned.
std::string make_header(const std::string &descr, const std::vector<int64_t> &shape) {
    std::string dict =
        "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape_str(shape) + ", }";
    if (!shape.empty()) dict.append(21 - std::to_string(shape[0]).size(), ' ');
    for (int major = 1;; ++major) {
        const size_t prefix = major == 1 ? 10 : 12;
        const size_t hlen = dict.size() + 1;
        const size_t padlen = 64 - (prefix + hlen) % 64;
        const uint64_t total = hlen + padlen;
        if (major == 1 && total > 0xffff) continue;
        std::string out(kMagic, kMagicLen);
        out += static_cast<char>(major);
        out += '\0';
        for (size_t i = 0; i < prefix - 8; ++i) out += static_cast<char>((total >> (8 * i)) & 0xff);
        out += dict;
        out.append(padlen, ' ');
        out += '\n';
        return out;
    }
}

}  // namespace poolgen::npy::format
