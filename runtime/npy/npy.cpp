// Strict .npy reader/writer: files in and out, on top of npy_format (the header format).
#include "poolgen/npy.h"

#include "poolgen/util.h"
#include "npy_format.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <initializer_list>
#include <limits>
#include <new>
#include <system_error>
#include <utility>

namespace poolgen::npy {
namespace {

using namespace format;

std::string errno_text(int err) { return std::generic_category().message(err); }

Status with_path(const std::string &path, const Status &st) {
    return st.ok() ? st : Status::Error(path + ": " + st.message());
}

class Fd {
public:
    explicit Fd(int fd = -1) : fd_(fd) {}
    Fd(const Fd &) = delete;
    Fd &operator=(const Fd &) = delete;
    ~Fd() { reset(); }
    int get() const { return fd_; }
    void reset(int fd = -1) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = fd;
    }
    int release() { return std::exchange(fd_, -1); }

private:
    int fd_;
};

// Reads exactly n bytes at offset; a short read means the file shrank after fstat().
Status pread_exact(int fd, void *buf, size_t n, uint64_t offset) {
    auto *p = static_cast<uint8_t *>(buf);
    while (n > 0) {
        const ssize_t r = ::pread(fd, p, n < (size_t(1) << 30) ? n : (size_t(1) << 30), off_t(offset));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return Status::Error("read error: " + errno_text(errno));
        if (r == 0) return Status::Error("truncated: the file shrank while it was being read");
        p += r;
        n -= size_t(r);
        offset += uint64_t(r);
    }
    return Status::Ok();
}

// Writes the file into `file`; commits it (renames it into place) when `commit`.
Status write_impl(util::AtomicFile *file, const std::string &descr, const std::vector<int64_t> &shape,
                  const void *data, size_t bytes, bool commit) {
    Status st = check_descr(descr);
    if (!st.ok()) return st;
    int64_t elements = 0;
    st = check_shape(shape, &elements);
    if (!st.ok()) return st;
    const uint64_t want = uint64_t(elements) * descr_item_size(descr);
    if (bytes != want)
        return Status::Error("data size mismatch: shape " + shape_str(shape) + " of " +
                             quoted(descr) + " needs " + std::to_string(want) + " bytes but " +
                             std::to_string(bytes) + " were given");
    if (data == nullptr && bytes > 0) return Status::Error("data pointer is null");
    const std::string header = make_header(descr, shape);
    if (file->write(header) && (bytes == 0 || file->write(data, bytes)) && (!commit || file->commit()))
        return Status::Ok();
    const std::string why = errno_text(file->error_number());
    switch (file->failed_step()) {
    case util::AtomicFile::Step::Create: return Status::Error("cannot create temporary file " + file->temp_path() + ": " + why);
    case util::AtomicFile::Step::Close: return Status::Error("write error on close: " + why);
    case util::AtomicFile::Step::Rename: return Status::Error("cannot rename temporary file into place: " + why);
    default: return Status::Error("write error: " + why);
    }
}

Status read_impl(const std::string &path, Array *out) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));  // a FIFO must not hang open()
    if (fd.get() < 0) return Status::Error("cannot open: " + errno_text(errno));
    struct stat sb;
    if (::fstat(fd.get(), &sb) != 0) return Status::Error("cannot stat: " + errno_text(errno));
    if (!S_ISREG(sb.st_mode)) return Status::Error("not a regular file");
    const uint64_t file_size = uint64_t(sb.st_size);

    uint8_t pre[12];
    const size_t pre_len = file_size < sizeof pre ? size_t(file_size) : sizeof pre;
    Status st = pread_exact(fd.get(), pre, pre_len, 0);
    if (!st.ok()) return st;
    Preamble p;
    st = parse_preamble(pre, pre_len, file_size, &p);
    if (!st.ok()) return st;
    std::vector<uint8_t> dict(p.dict_len);  // bounded by the file size just checked
    st = pread_exact(fd.get(), dict.data(), dict.size(), p.dict_offset);
    if (!st.ok()) return st;
    const uint64_t data_offset = p.dict_offset + p.dict_len;
    Array a;
    size_t data_bytes = 0;
    st = decode_header(dict.data(), dict.size(), file_size - data_offset, &a, &data_bytes);
    if (!st.ok()) return st;
    a.data.resize(data_bytes);
    st = pread_exact(fd.get(), a.data.data(), data_bytes, data_offset);
    if (!st.ok()) return st;
    *out = std::move(a);
    return Status::Ok();
}

// For the catch-all of each entry point. The bare literals fit std::string's small buffer, so the
// fallback cannot throw again.
Status fail(const std::string *path, const char *what) {
    try {
        return Status::Error(path != nullptr ? *path + ": " + what : std::string(what));
    } catch (...) {
        return Status::Error(what);
    }
}

Status from_exception(const std::string *path) {
    try {
        throw;
    } catch (const std::bad_alloc &) {
        return fail(path, "out of memory");
    } catch (...) {
        return fail(path, "internal error");
    }
}

}  // namespace

size_t descr_item_size(const std::string &descr) {
    struct Entry {
        const char *descr;
        size_t size;
    };
    static const Entry kTable[] = {{"<f4", 4}, {"<f2", 2}, {"<u2", 2}, {"<i8", 8}, {"<i4", 4},
                                   {"<u1", 1}, {"<i1", 1}, {"|u1", 1}, {"|i1", 1}};
    for (const Entry &e : kTable)
        if (descr == e.descr) return e.size;
    return 0;
}

size_t Array::item_size() const { return descr_item_size(descr); }

int64_t Array::elements() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
}

Status parse(const uint8_t *bytes, size_t size, Array *out) {
    try {
        if (out == nullptr) return Status::Error("npy::parse: null output");
        if (bytes == nullptr && size > 0) return Status::Error("npy::parse: null input");
        Preamble p;
        Status st = parse_preamble(bytes, size, size, &p);
        if (!st.ok()) return st;
        const size_t data_offset = p.dict_offset + p.dict_len;
        Array a;
        size_t data_bytes = 0;
        st = decode_header(bytes + p.dict_offset, p.dict_len, size - data_offset, &a, &data_bytes);
        if (!st.ok()) return st;
        a.data.assign(bytes + data_offset, bytes + data_offset + data_bytes);
        *out = std::move(a);
        return Status::Ok();
    } catch (...) {
        return from_exception(nullptr);
    }
}

Status read(const std::string &path, Array *out) {
    try {
        if (out == nullptr) return Status::Error(path + ": npy::read: null output");
        return with_path(path, read_impl(path, out));
    } catch (...) {
        return from_exception(&path);
    }
}

Status write(const std::string &path, const std::string &descr, const std::vector<int64_t> &shape,
             const void *data, size_t bytes) {
    util::AtomicFile file(path);  // outlives the try so that its cleanup also runs after an exception
    try {
        return with_path(path, write_impl(&file, descr, shape, data, bytes, true));
    } catch (...) {
        return from_exception(&path);
    }
}

Status write(util::AtomicFile *file, const std::string &descr, const std::vector<int64_t> &shape,
             const void *data, size_t bytes) {
    try {
        if (file == nullptr) return Status::Error("npy::write: null file");
        return with_path(file->path(), write_impl(file, descr, shape, data, bytes, false));
    } catch (...) {
        return from_exception(file ? &file->path() : nullptr);
    }
}

}  // namespace poolgen::npy
