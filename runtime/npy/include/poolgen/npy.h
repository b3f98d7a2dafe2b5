// poolgen::npy: a strict, small reader and writer for NumPy .npy files (format 1.0, 2.0, 3.0),
// limited to the little-endian C-order numeric dtypes the kernels and tests exchange.
// No function throws; every failure comes back as a one-line Status message.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "poolgen/status.h"

namespace poolgen::util {
class AtomicFile;  // poolgen/util.h (libpoolgen_util)
}

namespace poolgen::npy {

struct Array {
    std::string descr;            // dtype as written in the header, e.g. "<f4", "<i8", "<u2", "<f2"
    std::vector<int64_t> shape;   // C order
    std::vector<uint8_t> data;    // raw little-endian bytes, size == product(shape) * item size
    size_t item_size() const;     // from descr (0 for a descr this module does not support)
    int64_t elements() const;     // product of shape (1 for shape ())
};

// Supported descrs: "<f4", "<f2", "<u2", "<i8", "<i4", "<u1", "<i1" ('|u1'/'|i1' also accepted for
// 1-byte). Anything else is refused. Returns 0 for an unsupported descr.
size_t descr_item_size(const std::string &descr);

// Whole file in memory; for fuzzing too. *out is only written on success.
Status parse(const uint8_t *bytes, size_t size, Array *out);

// Reads the file with exactly parse()'s checks (data size judged against the real file size, the
// header is never trusted for it); messages begin with the path. *out is only written on success.
Status read(const std::string &path, Array *out);

// Writes atomically: a temporary file in the same directory, then rename(); on any error the
// temporary is removed and `path` is untouched. Refuses descrs it does not support, bad shapes
// (negative dims, more than 2^31-1 elements) and data sizes that do not match
// product(shape) * item size. The header is laid out exactly as numpy.save() does.
Status write(const std::string &path, const std::string &descr, const std::vector<int64_t> &shape,
             const void *data, size_t bytes);

// The same checks and bytes, written into `file` (a temporary beside its path) and left for the
// caller to commit: for several files replaced together. Messages begin with file->path().
Status write(util::AtomicFile *file, const std::string &descr, const std::vector<int64_t> &shape,
             const void *data, size_t bytes);

}  // namespace poolgen::npy
