// The .npy header format, for npy.cpp's reader and writer: the preamble (magic, version,
// header length), the header dict as numpy writes it, and the checks on its descr and shape.
// Internal to runtime/npy.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "poolgen/npy.h"
#include "poolgen/status.h"

namespace poolgen::npy::format {

// Python's repr of a tuple, as numpy.save writes it: (), (3,), (2, 3).
std::string shape_str(const std::vector<int64_t> &shape);
// A descr as it appears in a message: quoted, made printable.
std::string quoted(const std::string &s);

// A descr this module reads and writes, or why not.
Status check_descr(const std::string &descr);
// Counts elements, refusing negative dims and sizes past 2^31-1.
Status check_shape(const std::vector<int64_t> &shape, int64_t *elements);

struct Preamble {
    size_t dict_offset = 0;  // where the header dict starts
    size_t dict_len = 0;
};
// Checks magic, version and header length; `n` bytes are available, `file_size` is the real total.
Status parse_preamble(const uint8_t *b, size_t n, uint64_t file_size, Preamble *p);
// Parses and validates the header dict against `data_avail`, the bytes actually present after it.
// Fills meta's descr and shape (not data) and the data size.
Status decode_header(const uint8_t *dict, size_t len, uint64_t data_avail, Array *meta, size_t *data_bytes);
// The whole header as numpy.save writes it, data 64-byte aligned.
std::string make_header(const std::string &descr, const std::vector<int64_t> &shape);

}  // namespace poolgen::npy::format
